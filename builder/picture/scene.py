"""Scene and object labels from the MobileNetV2 ImageNet classifier (TFLite, 1001 labels: scenes
such as seashore, alp and valley as well as animals and objects the COCO detector cannot name)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from builder.assets import AssetStore
from builder.picture.colours import _tflite


@dataclass(frozen=True)
class Label:
    # the first synonym of the ImageNet label ("seashore" for "seashore, coast, seacoast,
    # sea-coast")
    label: str
    score: float


POOL_TENSOR = "MobilenetV2/Logits/AvgPool"


def label_lines(store: AssetStore) -> list[str]:
    """The classifier's 1001 label lines ("seashore, coast, seacoast, sea-coast"), without loading
    the model."""
    return [
        ln.strip()
        for ln in store.resolve("mobilenet-v2-labels").read_text(encoding="utf-8").splitlines()
    ]


def first_name(line: str) -> str:
    return line.split(",")[0].strip()


class SceneClassifier:
    def __init__(self, model_path: str, labels: list[str]):
        """labels: the full label lines ("seashore, coast, seacoast, sea-coast"); .labels keeps the
        first name."""
        # all tensors are kept so the 1280-d pooled features can be read after invoke() (about 10
        # MB)
        self.it = _tflite(model_path, preserve_all_tensors=True)
        self.inp = self.it.get_input_details()[0]
        self.out = self.it.get_output_details()[0]
        self.pool = next(t for t in self.it.get_tensor_details() if t["name"] == POOL_TENSOR)
        self.size = int(self.inp["shape"][1])
        self.synonyms = labels
        self.labels = [first_name(ln) for ln in labels]

    @classmethod
    def from_store(cls, store: AssetStore) -> SceneClassifier:
        return cls(str(store.resolve("mobilenet-v2")), label_lines(store))

    def probabilities(self, rgb: np.ndarray) -> np.ndarray:
        """Softmax over the 1001 outputs (index 0 = background), central 87.5 % crop as in
        training."""
        return self.run(rgb)[0]

    def run(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(softmax over the 1001 outputs, the 1280-d average-pooled features before the
        classifier)."""
        from PIL import Image

        h, w = rgb.shape[:2]
        side = int(min(h, w) * 0.875)
        top, left = (h - side) // 2, (w - side) // 2
        crop = Image.fromarray(rgb[top : top + side, left : left + side]).resize(
            (self.size, self.size), Image.Resampling.BILINEAR
        )
        self.it.set_tensor(
            self.inp["index"], np.asarray(crop, np.uint8)[None].astype(self.inp["dtype"])
        )
        self.it.invoke()
        return _dequantise(self.it, self.out), _dequantise(self.it, self.pool).reshape(-1)

    def top(self, rgb: np.ndarray, k: int = 5) -> list[Label]:
        p = self.probabilities(rgb)
        order = np.argsort(-p)
        return [Label(self.labels[i], round(float(p[i]), 4)) for i in order if i != 0][:k]


def _dequantise(it, detail) -> np.ndarray:
    raw = it.get_tensor(detail["index"])[0]
    if detail["dtype"] != np.float32:
        scale, zero = detail["quantization"]
        raw = (raw.astype(np.float32) - zero) * scale
    return raw.astype(np.float64)
