"""Scene and object labels from the MobileNetV2 ImageNet classifier (TFLite, 1001 labels: scenes such as
seashore, alp and valley as well as animals and objects the COCO detector cannot name)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from builder.assets import AssetStore
from builder.colours import _tflite


@dataclass(frozen=True)
class Label:
    label: str  # the first synonym of the ImageNet label ("seashore" for "seashore, coast, seacoast, sea-coast")
    score: float


class SceneClassifier:
    def __init__(self, model_path: str, labels: list[str]):
        self.it = _tflite(model_path)
        self.inp = self.it.get_input_details()[0]
        self.out = self.it.get_output_details()[0]
        self.size = int(self.inp["shape"][1])
        self.labels = labels

    @classmethod
    def from_store(cls, store: AssetStore) -> SceneClassifier:
        lines = store.resolve("mobilenet-v2-labels").read_text(encoding="utf-8").splitlines()
        return cls(str(store.resolve("mobilenet-v2")), [ln.split(",")[0].strip() for ln in lines])

    def probabilities(self, rgb: np.ndarray) -> np.ndarray:
        """Softmax over the 1001 outputs (index 0 = background), central 87.5 % crop as in training."""
        from PIL import Image

        h, w = rgb.shape[:2]
        side = int(min(h, w) * 0.875)
        top, left = (h - side) // 2, (w - side) // 2
        crop = Image.fromarray(rgb[top:top + side, left:left + side]).resize((self.size, self.size),
                                                                           Image.Resampling.BILINEAR)
        self.it.set_tensor(self.inp["index"], np.asarray(crop, np.uint8)[None].astype(self.inp["dtype"]))
        self.it.invoke()
        raw = self.it.get_tensor(self.out["index"])[0]
        if self.out["dtype"] != np.float32:
            scale, zero = self.out["quantization"]
            raw = (raw.astype(np.float32) - zero) * scale
        return raw.astype(np.float64)

    def top(self, rgb: np.ndarray, k: int = 5) -> list[Label]:
        p = self.probabilities(rgb)
        order = np.argsort(-p)
        return [Label(self.labels[i], round(float(p[i]), 4)) for i in order if i != 0][:k]
