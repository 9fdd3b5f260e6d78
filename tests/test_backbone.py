"""EfficientNet-Lite2, the learned method's second eye, run for real on demo photos in the builder's
runtime, and against the torch network it was made from."""

import numpy as np
import pytest

from builder.images import read_rgb
from builder.picture.scene import label_lines

from .conftest import DEMO, requires_import, requires_mirror


@pytest.fixture(scope="module")
def lite(store):
    from builder.picture.backbone import Lite2

    return Lite2.from_store(store)


@requires_mirror
def test_lite2_sees_the_demo_photos_with_mobilenets_labels_shifted_by_the_background(lite, store):
    lines = label_lines(store)  # MobileNetV2's 1001 labels; Lite2's class i is line i + 1
    for photo, expected in (
        ("cat.jpg", "cat"),
        ("ladybird.jpg", "ladybug"),
        ("coffee.jpg", "espresso"),
    ):
        probs, pooled = lite.run(read_rgb(DEMO / photo, 1024)[0])
        assert probs.shape == (1000,) and pooled.shape == (1280,)
        assert probs.sum() == pytest.approx(1.0, abs=1e-4) and np.isfinite(pooled).all()
        assert expected in lines[int(np.argmax(probs)) + 1]


@requires_mirror
def test_lite2_reads_a_picture_and_its_mirror_as_the_same_thing(lite):
    rgb = read_rgb(DEMO / "cat.jpg", 1024)[0]
    a, b = lite.run(rgb), lite.run(np.ascontiguousarray(rgb[:, ::-1]))
    # one view (no mirror averaging): close, not equal; another photo is far
    assert np.argmax(a[0]) == np.argmax(b[0]) and np.corrcoef(a[1], b[1])[0, 1] > 0.9
    other = lite.run(read_rgb(DEMO / "coffee.jpg", 1024)[0])
    assert np.corrcoef(a[1], other[1])[0, 1] < 0.5


@requires_mirror
@requires_import("torch", "efficientnet_lite_pytorch")
def test_lite2_in_the_runtime_reads_as_the_torch_network_it_was_made_from(lite, store):
    """The shipped ONNX file (float16 weights, float32 arithmetic) against torch eager on the same
    photos: features within a hundredth, the same top class."""
    from builder.picture.backbone import Lite2Torch

    reference = Lite2Torch.from_store(store)
    for photo in ("cat.jpg", "storm.jpg", "dune.jpg"):
        rgb = read_rgb(DEMO / photo, 1024)[0]
        (p0, f0), (p1, f1) = reference.run(rgb), lite.run(rgb)
        assert np.abs(f1 - f0).max() < 0.02 and np.abs(p1 - p0).max() < 0.01
        assert np.argmax(p1) == np.argmax(p0)
