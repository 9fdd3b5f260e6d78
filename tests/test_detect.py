"""Every detector backend runs for real on a real photo."""

import numpy as np
import pytest
from PIL import Image

from builder.images import read_rgb

from .conftest import DEMO, requires_import, requires_mirror


def check_boxes(dets):
    for d in dets:
        x0, y0, x1, y1 = d.box
        assert 0 <= x0 <= x1 <= 1 and 0 <= y0 <= y1 <= 1
        assert 0 <= d.score <= 1 and d.label


@requires_mirror
@requires_import("cv2")
def test_yolo_fastest_finds_the_astronaut(store):
    from builder.picture.detect import make_detector

    det = make_detector("yolo-fastest", store)
    rgb, w, h = read_rgb(DEMO / "astronaut.jpg", 1024)
    dets = det.detect(rgb)
    check_boxes(dets)
    people = [d for d in dets if d.label == "person"]
    assert people and people[0].score > 0.5
    x0, y0, x1, y1 = people[0].box
    assert (x1 - x0) * (y1 - y0) > 0.2  # she fills much of the frame
    assert det.detect(np.zeros((200, 300, 3), np.uint8)) == []


@requires_mirror
def test_yolo_labels_use_official_coco_names(store):
    from builder.picture.detect import make_detector

    names = make_detector("yolo-fastest", store).names
    assert len(names) == 80 and "dining table" in names and "diningtable" not in names


@requires_mirror
@requires_import("cv2", "openvino")
def test_yolo_fastest_in_the_runtime_finds_what_opencv_dnn_found(store):
    """The ONNX file against the Darknet network in OpenCV DNN, as the builder ran it before: the
    same labels in the same order, scores and corners within a thousandth."""
    from builder.picture.detect import YoloFastestOpenCV, make_detector

    runtime, reference = make_detector("yolo-fastest", store), YoloFastestOpenCV.from_store(store)
    found = 0
    for photo in ("astronaut.jpg", "coffee.jpg", "yellow-flower.jpg", "storm.jpg"):
        rgb = read_rgb(DEMO / photo, 1024)[0]
        a, b = reference.detect(rgb), runtime.detect(rgb)
        assert [d.label for d in b] == [d.label for d in a]
        for x, y in zip(a, b):
            assert abs(x.score - y.score) < 1e-3 and np.allclose(x.box, y.box, atol=1e-3)
        found += len(a)
    assert found >= 6  # a person, a bowl, a cup, a table, bananas


@pytest.mark.slow
@requires_import("torch", "torchvision")
@pytest.mark.parametrize("kind", ["ssd300", "maskrcnn"])
def test_torchvision_detectors_run_randomly_initialised_on_a_real_photo(kind):
    import torch

    from builder.picture.detect import TorchvisionDetector

    torch.manual_seed(0)
    det = TorchvisionDetector(kind, None, conf=0.0, random_init=True)
    rgb, _, _ = read_rgb(DEMO / "cat.jpg", 320)
    dets = det.detect(rgb)
    check_boxes(dets)
    assert all(d.label in det.categories for d in dets)
    if kind == "maskrcnn":
        assert len(det.last_masks) == len(dets)
        assert all(m.shape == rgb.shape[:2] for m in det.last_masks)


@requires_import("torch", "torchvision")
def test_torchvision_detector_loads_a_state_dict_file(tmp_path):
    """The weights path is really read: a state dict saved from a model loads back into the same
    shape."""
    import torch
    from torchvision.models import detection as tvd

    from builder.picture.detect import TorchvisionDetector

    torch.manual_seed(0)
    model = tvd.ssd300_vgg16(weights=None, weights_backbone=None, num_classes=91)
    path = tmp_path / "w.pth"
    torch.save(model.state_dict(), path)
    det = TorchvisionDetector("ssd300", str(path))
    for k, v in model.state_dict().items():
        assert torch.equal(det.model.state_dict()[k], v)
    torch.save({"nope": torch.zeros(1)}, path)
    with pytest.raises(RuntimeError, match="state_dict"):
        TorchvisionDetector("ssd300", str(path))


def test_exif_rotation_is_applied(tmp_path):
    img = Image.new("RGB", (40, 20), "red")
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    img.save(tmp_path / "r.jpg", exif=exif)
    rgb, w, h = read_rgb(tmp_path / "r.jpg", 1024)
    assert (w, h) == (20, 40) and rgb.shape[:2] == (40, 20)
