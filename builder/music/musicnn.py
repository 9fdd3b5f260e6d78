"""musicnn (Pons & Serra 2019), the musically motivated audio tagger: re-implemented in torch, and
run in the builder's runtime.

Listening runs `Tagger`: the network as an ONNX file (package data, assets `musicnn-mtt-onnx` and
`musicnn-msd-onnx`) in the builder's runtime (builder.assets.runtime: OpenVINO, one thread), without
torch. `builder/lab/convert.py` makes those files from the torch port below (`build_musicnn`, which
`TorchTagger` runs): it exports it to ONNX and, for the MTT tagger, quantises its front end's
convolutions to int8 (weights per channel, activations per tensor), calibrated on the CC BY clips
of the mirror's DEAM audio; the MSD tagger stays float32 (quantised, it moved the music head's
readings too far). `benchmarks/runtime_readings.py` compares the readings of the two.

The weights are the Keras HDF5 files of the musicnn_keras project (ISC; the same weights as the PyPI
wheel `musicnn==0.1.0`), read with h5py, so TensorFlow is not needed. The graph follows musicnn's
`models.py` (`build_musicnn`, with the '7774timbraltemporal' front end) exactly as the HDF5 file's
own layer list records it:

- front end: a one-channel batch norm, then timbral filters 7x38 and 7x67 over (time, mel) with the
  time axis zero-padded by 3 and the mel axis valid, and temporal filters 128x1, 64x1, 32x1 with
  TensorFlow's 'same' padding (the odd pad goes after); each conv is ReLU then batch norm, then a
  max over the mel axis; 204 + 204 + 51 x 3 = 561 channels a frame;
- mid end: three 1-D convolutions over time (kernel 7, zero pad 3) with 64 filters, ReLU then batch
  norm, the second and third with a residual connection; the four feature maps are stacked to 753
  channels;
- back end: max and mean over time, *interleaved* (TensorFlow concatenates [max, mean] on a trailing
  axis and flattens), batch norm, dense 200 with ReLU, batch norm (the 'penultimate' embedding),
  dense 50, sigmoid.

Input: patches of 187 frames x 96 mel bands of log10(10000 * mel power + 1) at 16 kHz
(builder.music.audio makes them). A test reproduces the tags published upstream for the example
clips in the mirror.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

PATCH_FRAMES = 187
N_MELS = 96
EMBEDDING = 200
BN_EPS = 1e-3

MTT_TAGS = (
    "guitar",
    "classical",
    "slow",
    "techno",
    "strings",
    "drums",
    "electronic",
    "rock",
    "fast",
    "piano",
    "ambient",
    "beat",
    "violin",
    "vocal",
    "synth",
    "female",
    "indian",
    "opera",
    "male",
    "singing",
    "vocals",
    "no vocals",
    "harpsichord",
    "loud",
    "quiet",
    "flute",
    "woman",
    "male vocal",
    "no vocal",
    "pop",
    "soft",
    "sitar",
    "solo",
    "man",
    "classic",
    "choir",
    "voice",
    "new age",
    "dance",
    "male voice",
    "female vocal",
    "beats",
    "harp",
    "cello",
    "no voice",
    "weird",
    "country",
    "metal",
    "female voice",
    "choral",
)
MSD_TAGS = (
    "rock",
    "pop",
    "alternative",
    "indie",
    "electronic",
    "female vocalists",
    "dance",
    "00s",
    "alternative rock",
    "jazz",
    "beautiful",
    "metal",
    "chillout",
    "male vocalists",
    "classic rock",
    "soul",
    "indie rock",
    "Mellow",
    "electronica",
    "80s",
    "folk",
    "90s",
    "chill",
    "instrumental",
    "punk",
    "oldies",
    "blues",
    "hard rock",
    "ambient",
    "acoustic",
    "experimental",
    "female vocalist",
    "guitar",
    "Hip-Hop",
    "70s",
    "party",
    "country",
    "easy listening",
    "sexy",
    "catchy",
    "funk",
    "electro",
    "heavy metal",
    "Progressive rock",
    "60s",
    "rnb",
    "indie pop",
    "sad",
    "House",
    "happy",
)
TAGS = {"MTT": MTT_TAGS, "MSD": MSD_TAGS}


def _read_h5(path: Path) -> dict[str, np.ndarray]:
    """layer name -> {weight kind: array}, flattened as 'layer/kind' (kind: kernel, bias, gamma,
    beta, mean, var)."""
    import h5py

    kinds = {
        "kernel": "kernel",
        "bias": "bias",
        "gamma": "gamma",
        "beta": "beta",
        "moving_mean": "mean",
        "moving_variance": "var",
    }
    out: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as f:
        group = f["model_weights"]
        for layer in group:
            if layer not in group[layer]:  # layers without weights (activations, pads, pools)
                continue
            for name, ds in group[layer][layer].items():
                kind = name.split(":")[0]
                kind = kind.removesuffix("_1")
                out[f"{layer}/{kinds[kind]}"] = np.asarray(ds, dtype=np.float32)
    return out


def build_musicnn(weights: dict[str, np.ndarray]) -> Any:
    """The torch module with the Keras weights loaded, in eval mode."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    def bn(name: str, n: int) -> nn.BatchNorm1d:
        layer = nn.BatchNorm1d(n, eps=BN_EPS)
        for attr, kind in (
            ("weight", "gamma"),
            ("bias", "beta"),
            ("running_mean", "mean"),
            ("running_var", "var"),
        ):
            getattr(layer, attr).data.copy_(torch.from_numpy(weights[f"{name}/{kind}"]))
        return layer

    def conv2d(name: str) -> nn.Conv2d:
        k = weights[f"{name}/kernel"]  # Keras: (kh, kw, in, out)
        layer = nn.Conv2d(k.shape[2], k.shape[3], k.shape[:2])
        layer.weight.data.copy_(torch.from_numpy(k.transpose(3, 2, 0, 1).copy()))
        assert layer.bias is not None  # made with a bias
        layer.bias.data.copy_(torch.from_numpy(weights[f"{name}/bias"]))
        return layer

    def conv1d(name: str) -> nn.Conv1d:
        # Keras kernel (7, channels, 1, out) over a (time, channels, 1) map is a 1-D convolution
        # over time
        k = weights[f"{name}/kernel"][:, :, 0, :]
        layer = nn.Conv1d(k.shape[1], k.shape[2], k.shape[0])
        layer.weight.data.copy_(torch.from_numpy(k.transpose(2, 1, 0).copy()))
        assert layer.bias is not None  # made with a bias
        layer.bias.data.copy_(torch.from_numpy(weights[f"{name}/bias"]))
        return layer

    def dense(name: str) -> nn.Linear:
        k = weights[f"{name}/kernel"]
        layer = nn.Linear(k.shape[0], k.shape[1])
        layer.weight.data.copy_(torch.from_numpy(k.T.copy()))
        layer.bias.data.copy_(torch.from_numpy(weights[f"{name}/bias"]))
        return layer

    class Musicnn(nn.Module):
        def __init__(self):
            super().__init__()
            self.input_bn = bn("batch_normalization", 1)
            self.timbral = nn.ModuleList([conv2d("conv2d"), conv2d("conv2d_1")])
            self.temporal = nn.ModuleList(
                [conv2d("conv2d_2"), conv2d("conv2d_3"), conv2d("conv2d_4")]
            )
            self.front_bn = nn.ModuleList(
                [
                    bn(f"batch_normalization_{i}", n)
                    for i, n in zip(range(1, 6), (204, 204, 51, 51, 51))
                ]
            )
            self.mid = nn.ModuleList([conv1d(f"midend_conv{i}") for i in (1, 2, 3)])
            self.mid_bn = nn.ModuleList([bn(f"bn_midend_conv{i}", 64) for i in (1, 2, 3)])
            self.pool_bn = bn("bn_flatpool", 1506)
            self.dense = dense("dense")
            self.dense_bn = bn("bn_dense", EMBEDDING)
            self.out = dense("dense_1")

        @staticmethod
        def _bn2d(layer: nn.BatchNorm1d, x):
            return F.batch_norm(
                x,
                layer.running_mean,
                layer.running_var,
                layer.weight,
                layer.bias,
                False,
                0.0,
                layer.eps,
            )

        @staticmethod
        def _bn_max(layer: nn.BatchNorm1d, y):
            """max over the mel axis of batch_norm(relu(y)), reduced first: batch norm is a
            per-channel affine map, so its maximum is the map of the maximum where the scale is
            positive and of the minimum where it is negative, and ReLU commutes with both. Same
            numbers, without two passes over the (B, C, T, F) map."""
            assert (
                layer.running_var is not None and layer.running_mean is not None
            )  # tracked statistics
            scale = layer.weight / torch.sqrt(layer.running_var + layer.eps)
            top, bottom = y.amax(dim=3), y.amin(dim=3)
            pick = torch.where((scale >= 0)[None, :, None], top, bottom)
            return (
                F.relu(pick) * scale[None, :, None]
                + (layer.bias - layer.running_mean * scale)[None, :, None]
            )

        def forward(self, mel):
            """mel: (batch, 187, 96) -> (tag probabilities (batch, 50), penultimate embedding
            (batch, 200))."""
            x = self._bn2d(self.input_bn, mel[:, None])  # (B, 1, T, F)
            padded = F.pad(x, (0, 0, 3, 3))
            front = []
            for i, conv in enumerate(self.timbral):
                front.append(self._bn_max(self.front_bn[i], conv(padded)))
            for i, conv in enumerate(self.temporal, start=2):
                k = conv.kernel_size[0]
                front.append(
                    self._bn_max(
                        self.front_bn[i], conv(F.pad(x, (0, 0, (k - 1) // 2, k - 1 - (k - 1) // 2)))
                    )
                )
            f = torch.cat(front, dim=1)  # (B, 561, T)
            maps = [f]
            h = f
            for i, (conv, norm) in enumerate(zip(self.mid, self.mid_bn)):
                y = norm(F.relu(conv(F.pad(h, (3, 3)))))
                h = y if i == 0 else y + h
                maps.append(h)
            m = torch.cat(maps, dim=1)  # (B, 753, T)
            pooled = torch.stack([m.amax(dim=2), m.mean(dim=2)], dim=2).flatten(
                1
            )  # interleaved max, mean
            penultimate = self.dense_bn(F.relu(self.dense(self.pool_bn(pooled))))
            return torch.sigmoid(self.out(penultimate)), penultimate

    return Musicnn().eval()


class TorchTagger:
    """The torch port: what the ONNX files are made from, and the reference they are compared
    with."""

    def __init__(self, weights_path: Path, dataset: str = "MTT"):
        self.dataset = dataset
        self.tags = TAGS[dataset]
        self.net = build_musicnn(_read_h5(weights_path))

    def __call__(self, patches: np.ndarray, batch: int = 16) -> tuple[np.ndarray, np.ndarray]:
        """patches (n, 187, 96) -> (tag probabilities (n, 50), embeddings (n, 200)), one row a
        patch."""
        import torch

        probs, embs = [], []
        with torch.inference_mode():
            for i in range(0, len(patches), batch):
                p, e = self.net(
                    torch.from_numpy(np.ascontiguousarray(patches[i : i + batch], dtype=np.float32))
                )
                probs.append(p.numpy())
                embs.append(e.numpy())
        if not probs:
            return np.zeros((0, len(self.tags)), np.float32), np.zeros((0, EMBEDDING), np.float32)
        return np.concatenate(probs), np.concatenate(embs)

    def top_tags(self, probs: np.ndarray, k: int) -> list[str]:
        return top_tags(self.tags, probs, k)


class Tagger:
    """A musicnn network in the builder's runtime, ready to read mel patches; one instance per
    process."""

    def __init__(self, model_path: Path, dataset: str = "MTT", cache: Path | None = None):
        from builder.assets.runtime import load

        self.dataset = dataset
        self.tags = TAGS[dataset]
        self.net = load(model_path, cache)

    def __call__(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """patches (n, 187, 96) -> (tag probabilities (n, 50), embeddings (n, 200)), one row a
        patch. The network takes one patch at a time: as fast as batches of ten in the runtime, and
        its shape is fixed."""
        if not len(patches):
            return np.zeros((0, len(self.tags)), np.float32), np.zeros((0, EMBEDDING), np.float32)
        out = [self.net(np.ascontiguousarray(p[None], dtype=np.float32)) for p in patches]
        return np.concatenate([p for p, _ in out]), np.concatenate([e for _, e in out])

    def top_tags(self, probs: np.ndarray, k: int) -> list[str]:
        return top_tags(self.tags, probs, k)


def top_tags(tags: tuple[str, ...], probs: np.ndarray, k: int) -> list[str]:
    mean = probs.mean(axis=0)
    return [tags[i] for i in np.argsort(-mean, kind="stable")[:k]]


@lru_cache(maxsize=2)
def load_tagger(model_path: Path, dataset: str = "MTT", cache: Path | None = None) -> Tagger:
    return Tagger(model_path, dataset, cache)
