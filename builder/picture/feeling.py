"""The learned reading of a picture's feeling (the default method, `--method learned`): the model a
build loads and applies. Its fitting and cross-validation live in the lab (builder.lab.fitting).

A linear model (ridge regression, one for valence and one for arousal) over features that generalise
from a few thousand rated photos (which ones: `Spec`, stored in the model file):

- the pooled 1280-d features of the MobileNetV2 (averaged over the picture and its mirror image) and
  EfficientNet-Lite2 (the picture) ImageNet classifiers, standardised side by side and reduced to
  128 principal components;
- what the classifiers see, read through word ratings: the expected valence/arousal of their labels
  (the mean of the two classifiers' probabilities; all labels weighted by probability, and the top
  5), where a label's valence/arousal comes from Warriner et al. (2013), else NRC-VAD, else a ridge
  map from GloVe vectors to NRC-VAD ratings fitted on the 20k lexicon words; and the
  probability-weighted GloVe vector of the labels (the labels' tables are made when the model is
  fitted and stored in its file);
- the COCO detections read the same way (area-weighted), and whether there were any;
- colour statistics (mean and spread of HSV brightness and saturation).

Fitted by `builder fit` on rated sets, each mapped to [-1, 1] around its scale's midpoint and
weighing as much as the others (the shipped file: oasis-dev, and Emotion6 and GAPED for valence
only). Quadrants are read relative to an origin (the "reference") drawn by the rule that gave the
best balanced agreement and smallest per-quadrant recall under cross-validation, every rated set
scored by its own people's quadrants and weighing the same (builder.lab.fitting.choose_origin): the
model's estimates shrink towards the training photos' mean, so reading them against the scale's
midpoint would put almost every picture in the commonest quadrant, and balance alone may give up a
rare quadrant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from builder.errors import UsageError

MODEL_PATH = Path(__file__).resolve().parent / "data" / "feeling-model.npz"
N_COMPONENTS = 32  # of a model file written before Spec (MobileNetV2 only)


@dataclass
class Ingredients:
    """What the recognisers give for one picture, before any fitted parameter is applied."""

    pooled: np.ndarray  # (1280,) MobileNetV2
    probs: np.ndarray  # (1001,) MobileNetV2, index 0 = background
    colour: np.ndarray  # (4,) mean/std of HSV value and saturation
    detections: list[tuple[str, tuple[float, float, float, float]]]
    lite_pooled: np.ndarray | None = None  # (1280,) EfficientNet-Lite2
    lite_probs: np.ndarray | None = (
        None  # (1000,) EfficientNet-Lite2: MobileNetV2's labels without background
    )

    @classmethod
    def make(
        cls,
        pooled: np.ndarray,
        probs: np.ndarray,
        colour: np.ndarray,
        detections: Sequence[tuple[str, tuple[float, float, float, float]]],
        lite_pooled: np.ndarray | None = None,
        lite_probs: np.ndarray | None = None,
    ) -> Ingredients:
        """Rounded as they are cached, so a fresh reading and a cached one give the same
        estimate."""
        return cls(
            np.round(pooled, 4),
            np.round(probs, 5),
            np.round(colour, 5),
            list(detections),
            None if lite_pooled is None else np.round(lite_pooled, 4),
            None if lite_probs is None else np.round(lite_probs, 5),
        )

    def to_json(self) -> dict:
        d = {
            "pooled": self.pooled.tolist(),
            "probs": self.probs.tolist(),
            "colour": self.colour.tolist(),
            "detections": [[lb, list(b)] for lb, b in self.detections],
        }
        if self.lite_pooled is not None and self.lite_probs is not None:
            d["lite_pooled"], d["lite_probs"] = self.lite_pooled.tolist(), self.lite_probs.tolist()
        return d

    @classmethod
    def from_json(cls, d: dict) -> Ingredients:
        lite = [
            np.asarray(d[k]) if d.get(k) is not None else None
            for k in ("lite_pooled", "lite_probs")
        ]
        return cls(
            np.asarray(d["pooled"]),
            np.asarray(d["probs"]),
            np.asarray(d["colour"]),
            [(lb, tuple(b)) for lb, b in d["detections"]],
            *lite,
        )


def colour_stats(rgb: np.ndarray) -> np.ndarray:
    x = rgb[:: max(1, rgb.shape[0] // 256), :: max(1, rgb.shape[1] // 256)].reshape(-1, 3)
    # the channels' maximum and minimum taken on the bytes, then scaled: the same numbers as scaling
    # first, in a fifth of the time (a reduction over an axis of 3 is numpy's slow case)
    mx = np.maximum(np.maximum(x[:, 0], x[:, 1]), x[:, 2]) / 255
    mn = np.minimum(np.minimum(x[:, 0], x[:, 1]), x[:, 2]) / 255
    sat = np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-12), 0.0)
    return np.array([mx.mean(), sat.mean(), mx.std(), sat.std()])


BACKBONES = ("mobilenet_v2", "efficientnet_lite2")


@dataclass(frozen=True)
class Spec:
    """Which features the model reads: the backbones whose pooled features are reduced by PCA (side
    by side), whose label probabilities the word ratings read ("none": no word ratings at all, only
    colour besides the look), and how many principal components."""

    backbones: tuple[str, ...] = BACKBONES
    lexicon: str = "mean"
    components: int = 128

    @classmethod
    def from_meta(
        cls, meta: dict
    ) -> Spec:  # a model file without these keys is a MobileNetV2-only model
        return cls(
            tuple(meta.get("backbones", "mobilenet_v2").split("+")),
            meta.get("lexicon", "mobilenet_v2"),
            int(meta.get("components", N_COMPONENTS)),
        )

    def to_meta(self) -> dict:
        return {
            "backbones": "+".join(self.backbones),
            "lexicon": self.lexicon,
            "components": self.components,
        }

    def pooled(self, ings: list[Ingredients]) -> np.ndarray:
        parts = {"mobilenet_v2": lambda i: i.pooled, "efficientnet_lite2": lambda i: i.lite_pooled}
        return np.stack([np.concatenate([parts[b](i) for b in self.backbones]) for i in ings])

    def label_probs(self, ing: Ingredients) -> np.ndarray:
        """Probabilities over MobileNetV2's 1001 labels (Lite2's 1000 classes are the same without
        background)."""
        if self.lexicon in ("mobilenet_v2", "none"):
            return ing.probs
        lite = np.r_[0.0, ing.lite_probs]
        return lite if self.lexicon == "efficientnet_lite2" else (ing.probs + lite) / 2


def label_features(
    ing: Ingredients,
    label_va: np.ndarray,
    label_vec: np.ndarray,
    coco_va: dict,
    probs: np.ndarray | None = None,
) -> np.ndarray:
    p = ing.probs if probs is None else probs
    p = p / max(p.sum(), 1e-12)
    top = np.argsort(-p)[:5]
    top_va = (p[top, None] * label_va[top]).sum(axis=0) / max(p[top].sum(), 1e-12)
    if ing.detections:
        w = np.array([max(1e-6, (b[2] - b[0]) * (b[3] - b[1])) for _, b in ing.detections])
        va = np.array([coco_va.get(lb, (0.0, 0.0)) for lb, _ in ing.detections])
        det = np.r_[(w[:, None] * va).sum(axis=0) / w.sum(), 1.0]
    else:
        det = np.zeros(3)
    return np.concatenate([p @ label_va, top_va, det, p @ label_vec, ing.colour])


@dataclass
class FeelingModel:
    tables: dict[str, np.ndarray]  # label_va, label_vec, coco_labels, coco_va
    pooled_mean: np.ndarray
    pooled_scale: np.ndarray
    components: np.ndarray
    x_mean: np.ndarray
    x_scale: np.ndarray
    coef: np.ndarray  # (2, n_features): valence, arousal
    intercept: np.ndarray  # (2,)
    # the quadrant origin, drawn by the rule (meta "origin_rule") that gave the best decision score
    # under cross-validation (builder.lab.fitting.choose_origin); the mean rating of the training
    # photos until then
    reference: np.ndarray
    meta: dict
    # builder.music.matching.calibration_table of the training photos' out-of-fold readings relative
    # to the reference (None in a model fitted without it: music is then looked for at the relative
    # reading itself)
    calibration: np.ndarray | None = None

    @cached_property
    def spec(self) -> Spec:
        return Spec.from_meta(self.meta)

    @cached_property
    def coco_va(self) -> dict[str, tuple[float, float]]:
        return {
            str(lb): tuple(va) for lb, va in zip(self.tables["coco_labels"], self.tables["coco_va"])
        }

    def label_probs(self, ing: Ingredients) -> np.ndarray:
        return self.spec.label_probs(ing)

    def features(self, ings: list[Ingredients]) -> np.ndarray:
        spec, coco_va = self.spec, self.coco_va
        pcs = ((spec.pooled(ings) - self.pooled_mean) / self.pooled_scale) @ self.components.T
        if spec.lexicon == "none":
            return np.hstack([pcs, np.stack([i.colour for i in ings])])
        rest = np.stack(
            [
                label_features(
                    i,
                    self.tables["label_va"],
                    self.tables["label_vec"],
                    coco_va,
                    spec.label_probs(i),
                )
                for i in ings
            ]
        )
        return np.hstack([pcs, rest])

    def predict(self, ings: list[Ingredients]) -> np.ndarray:
        x = (self.features(ings) - self.x_mean) / self.x_scale
        return np.clip(x @ self.coef.T + self.intercept, -1.0, 1.0)

    def relative(self, av: Sequence[float] | np.ndarray) -> tuple[float, float]:
        """A reading in the frame its quadrant is read in: relative to the reference (the quadrant
        origin)."""
        return (
            round(float(av[0] - self.reference[0]), 4),
            round(float(av[1] - self.reference[1]), 4),
        )

    def feature_groups(self) -> list[tuple[str, slice]]:
        """The feature vector's parts, in order (see label_features), named for the person reading
        the page."""
        n_pc = len(self.components)
        if self.spec.lexicon == "none":
            return [
                ("the look of the picture (classifier features)", slice(0, n_pc)),
                ("colour", slice(n_pc, n_pc + 4)),
            ]
        edges = np.cumsum([0, n_pc, 4, 3, self.tables["label_vec"].shape[1], 4])
        names = (
            "the look of the picture (classifier features)",
            "word ratings of what the classifier saw",
            "detected objects",
            "word vectors of what the classifier saw",
            "colour",
        )
        return [(name, slice(int(a), int(b))) for name, a, b in zip(names, edges[:-1], edges[1:])]

    def contributions(self, ing: Ingredients) -> list[tuple[str, float, float]]:
        """(group, valence, arousal) contributions to the reading relative to the reference. Exact:
        the model is linear, so they add up to `relative(predict(...))` unless the reading was
        clipped to [-1, 1]. The intercept is the mean training rating; where the quadrant origin was
        moved from it (for balance), the difference is its own line."""
        x = (self.features([ing])[0] - self.x_mean) / self.x_scale
        out = [
            (name, float(self.coef[0, g] @ x[g]), float(self.coef[1, g] @ x[g]))
            for name, g in self.feature_groups()
        ]
        offset = self.intercept - self.reference
        if np.abs(offset).max() > 5e-4:
            out.append(("where the quadrant lines are drawn", float(offset[0]), float(offset[1])))
        else:  # rounding only: given to the largest group so sums are exact
            name, v, a = out[0]
            out[0] = (name, v + float(offset[0]), a + float(offset[1]))
        return out

    def save(self, path: Path) -> None:
        """Write the model through builder.files (a full disk leaves the old model, never one
        without its tables), as exactly `path` (no .npz added) and with the same bytes for the same
        arrays (save_npz)."""
        arrays = {f"table_{k}": v for k, v in self.tables.items()}
        if self.calibration is not None:
            arrays["calibration"] = self.calibration
        save_npz(
            path,
            pooled_mean=self.pooled_mean.astype(np.float32),
            pooled_scale=self.pooled_scale.astype(np.float32),
            components=self.components.astype(np.float32),
            x_mean=self.x_mean,
            x_scale=self.x_scale,
            coef=self.coef,
            intercept=self.intercept,
            reference=self.reference,
            meta=np.array([f"{k}={v}" for k, v in sorted(self.meta.items())]),
            **arrays,
        )

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> FeelingModel:
        if not path.is_file():
            raise UsageError(
                f"the learned feeling model {path} is missing; regenerate it with `builder fit`"
            )
        import zipfile

        try:
            z = np.load(path, allow_pickle=False)
            tables = {k[6:]: z[k] for k in z.files if k.startswith("table_")}
            meta = dict(s.split("=", 1) for s in z["meta"].tolist())
            return cls(
                tables,
                z["pooled_mean"].astype(np.float64),
                z["pooled_scale"].astype(np.float64),
                z["components"].astype(np.float64),
                z["x_mean"],
                z["x_scale"],
                z["coef"],
                z["intercept"],
                z["reference"],
                meta,
                z["calibration"] if "calibration" in z.files else None,
            )
        except (OSError, ValueError, KeyError, AttributeError, zipfile.BadZipFile) as exc:
            # a file given as --model that `builder fit` did not write
            why = "not a .npz file" if isinstance(exc, (ValueError, zipfile.BadZipFile)) else exc
            raise UsageError(
                f"{path} is not a model `builder fit` wrote ({why}); give the file its --out wrote"
            ) from None

    def quadrant(self, av: Sequence[float] | np.ndarray) -> int:
        from builder.plane import quadrant

        return quadrant((float(av[0] - self.reference[0]), float(av[1] - self.reference[1])))


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """np.savez_compressed with every zip entry stamped 1980-01-01, in name order: the same arrays
    give the same bytes, so refitting the shipped model with the same command reproduces the file
    bit for bit (savez stamps entries with the time of writing). np.load reads it as any .npz."""
    import zipfile

    from builder.files import atomic_path

    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with z.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(arrays[name]), allow_pickle=False)
