"""The learned reading of a picture's feeling (the default method, `--method learned`).

A linear model (ridge regression, one for valence and one for arousal) over features that generalise from a
few hundred rated photos:

- the MobileNetV2 ImageNet classifier's pooled 1280-d features (averaged over the picture and its mirror
  image), reduced to 32 principal components;
- what the classifier sees, read through word ratings: the expected valence/arousal of its labels (all labels
  weighted by probability, and the top 5), where a label's valence/arousal comes from Warriner et al. (2013),
  else NRC-VAD, else a ridge map from GloVe vectors to NRC-VAD ratings fitted on the 20k lexicon words;
  and the probability-weighted GloVe vector of the labels (50-d);
- the COCO detections read the same way (area-weighted), and whether there were any;
- colour statistics (mean and spread of HSV brightness and saturation).

Fitted on ../shared/eval/oasis-dev by `builder fit` (the parameters ship as builder/data/feeling-model.npz).
Quadrants are read relative to the mean feeling of the training photos (the "reference"): the model's
estimates shrink towards that mean, so reading them against the scale's midpoint would put almost every
picture in the commonest quadrant. The reference is part of the fitted file.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from builder.errors import UsageError

MODEL_PATH = Path(__file__).resolve().parent / "data" / "feeling-model.npz"
N_COMPONENTS = 32
ALPHAS = (1.0, 10.0, 100.0, 1000.0, 10000.0)


@dataclass
class Ingredients:
    """What the recognisers give for one picture, before any fitted parameter is applied."""

    pooled: np.ndarray  # (1280,)
    probs: np.ndarray  # (1001,)
    colour: np.ndarray  # (4,) mean/std of HSV value and saturation
    detections: list[tuple[str, tuple[float, float, float, float]]]

    @classmethod
    def make(cls, pooled, probs, colour, detections) -> Ingredients:
        """Rounded as they are cached, so a fresh reading and a cached one give the same estimate."""
        return cls(np.round(pooled, 4), np.round(probs, 5), np.round(colour, 5), list(detections))

    def to_json(self) -> dict:
        return {"pooled": self.pooled.tolist(), "probs": self.probs.tolist(), "colour": self.colour.tolist(),
                "detections": [[lb, list(b)] for lb, b in self.detections]}

    @classmethod
    def from_json(cls, d: dict) -> Ingredients:
        return cls(np.asarray(d["pooled"]), np.asarray(d["probs"]), np.asarray(d["colour"]),
                   [(lb, tuple(b)) for lb, b in d["detections"]])


def colour_stats(rgb: np.ndarray) -> np.ndarray:
    x = rgb[:: max(1, rgb.shape[0] // 256), :: max(1, rgb.shape[1] // 256)].reshape(-1, 3).astype(np.float64) / 255
    mx, mn = x.max(axis=1), x.min(axis=1)
    sat = np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-12), 0.0)
    return np.array([mx.mean(), sat.mean(), mx.std(), sat.std()])


# ---- word ratings for labels ---------------------------------------------------------------------------


def load_warriner(path: Path) -> dict[str, tuple[float, float]]:
    """lemma -> (valence, arousal) mapped from 1..9 to [-1, 1]."""
    out = {}
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            out[r["Word"]] = ((float(r["V.Mean.Sum"]) - 5) / 4, (float(r["A.Mean.Sum"]) - 5) / 4)
    return out


class LabelReader:
    """Valence/arousal and a unit GloVe vector for any label ("great white shark, white shark, ...")."""

    def __init__(self, vectors, nrc: dict[str, tuple[float, float]], warriner: dict[str, tuple[float, float]]):
        from sklearn.linear_model import Ridge

        self.kv, self.nrc, self.warriner = vectors, nrc, warriner
        words = [w for w in nrc if w in vectors.key_to_index]
        x = np.stack([np.asarray(vectors[w], dtype=np.float64) for w in words])
        self.word_model = Ridge(alpha=10.0).fit(x, np.array([nrc[w] for w in words]))

    def _tokens(self, phrase: str) -> list[str]:
        return [t for t in re.split(r"[\s\-']+", phrase.lower()) if t in self.kv.key_to_index]

    def va(self, label: str) -> tuple[float, float]:
        synonyms = [s.strip().lower() for s in label.split(",") if s.strip()]
        for s in synonyms:
            if s in self.warriner:
                return self.warriner[s]
            if s in self.nrc:
                return self.nrc[s]
        toks = [t for s in synonyms for t in self._tokens(s)]
        if not toks:
            return (0.0, 0.0)
        v = np.mean([np.asarray(self.kv[t], dtype=np.float64) for t in toks], axis=0)
        return tuple(float(x) for x in self.word_model.predict(v[None])[0])

    def vector(self, label: str) -> np.ndarray:
        toks = [t for s in label.split(",") for t in self._tokens(s)]
        if not toks:
            return np.zeros(self.kv.vector_size)
        v = np.mean([np.asarray(self.kv[t], dtype=np.float64) / np.linalg.norm(self.kv[t]) for t in toks], axis=0)
        return v / (np.linalg.norm(v) + 1e-12)


# ---- features and the model ----------------------------------------------------------------------------


def label_features(ing: Ingredients, label_va: np.ndarray, label_vec: np.ndarray, coco_va: dict) -> np.ndarray:
    p = ing.probs / max(ing.probs.sum(), 1e-12)
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
    reference: np.ndarray  # (2,) mean feeling of the training photos: the quadrant origin
    meta: dict
    # builder.matching.calibration_table of the training photos' out-of-fold readings relative to the reference
    # (None in a model fitted without it: music is then looked for at the relative reading itself)
    calibration: np.ndarray | None = None

    @cached_property
    def coco_va(self) -> dict[str, tuple[float, float]]:
        return {str(lb): tuple(va) for lb, va in zip(self.tables["coco_labels"], self.tables["coco_va"])}

    def features(self, ings: list[Ingredients]) -> np.ndarray:
        coco_va = self.coco_va
        pooled = np.stack([i.pooled for i in ings])
        pcs = ((pooled - self.pooled_mean) / self.pooled_scale) @ self.components.T
        rest = np.stack([label_features(i, self.tables["label_va"], self.tables["label_vec"], coco_va) for i in ings])
        return np.hstack([pcs, rest])

    def predict(self, ings: list[Ingredients]) -> np.ndarray:
        x = (self.features(ings) - self.x_mean) / self.x_scale
        return np.clip(x @ self.coef.T + self.intercept, -1.0, 1.0)

    def relative(self, av) -> tuple[float, float]:
        """A reading in the frame its quadrant is read in: relative to the reference (the training photos' mean)."""
        return (round(float(av[0] - self.reference[0]), 4), round(float(av[1] - self.reference[1]), 4))

    def feature_groups(self) -> list[tuple[str, slice]]:
        """The feature vector's parts, in order (see label_features), named for the person reading the page."""
        n_pc, n_vec = len(self.components), self.tables["label_vec"].shape[1]
        edges = np.cumsum([0, n_pc, 4, 3, n_vec, 4])
        names = ("the look of the picture (classifier features)", "word ratings of what the classifier saw",
                 "detected objects", "word vectors of what the classifier saw", "colour")
        return [(name, slice(int(a), int(b))) for name, a, b in zip(names, edges[:-1], edges[1:])]

    def contributions(self, ing: Ingredients) -> list[tuple[str, float, float]]:
        """(group, valence, arousal) contributions to the reading relative to the reference. Exact: the model is
        linear and its intercept is the reference (ridge on standardised features), so they add up to
        `relative(predict(...))` unless the reading was clipped to [-1, 1]."""
        x = (self.features([ing])[0] - self.x_mean) / self.x_scale
        offset = self.intercept - self.reference  # 0 up to rounding; given to the largest group so sums are exact
        out = [(name, float(self.coef[0, g] @ x[g]), float(self.coef[1, g] @ x[g])) for name, g in
               self.feature_groups()]
        name, v, a = out[0]
        out[0] = (name, v + float(offset[0]), a + float(offset[1]))
        return out

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"table_{k}": v for k, v in self.tables.items()}
        if self.calibration is not None:
            arrays["calibration"] = self.calibration
        np.savez_compressed(
            path, pooled_mean=self.pooled_mean.astype(np.float32), pooled_scale=self.pooled_scale.astype(np.float32),
            components=self.components.astype(np.float32), x_mean=self.x_mean, x_scale=self.x_scale, coef=self.coef,
            intercept=self.intercept, reference=self.reference,
            meta=np.array([f"{k}={v}" for k, v in sorted(self.meta.items())]), **arrays)

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> FeelingModel:
        if not path.is_file():
            raise UsageError(f"the learned feeling model {path} is missing; regenerate it with `builder fit`")
        z = np.load(path, allow_pickle=False)
        tables = {k[6:]: z[k] for k in z.files if k.startswith("table_")}
        meta = dict(s.split("=", 1) for s in z["meta"].tolist())
        return cls(tables, z["pooled_mean"].astype(np.float64), z["pooled_scale"].astype(np.float64),
                   z["components"].astype(np.float64), z["x_mean"], z["x_scale"], z["coef"], z["intercept"],
                   z["reference"], meta, z["calibration"] if "calibration" in z.files else None)

    def quadrant(self, av) -> int:
        from builder.affect import quadrant

        return quadrant((float(av[0] - self.reference[0]), float(av[1] - self.reference[1])))


def build_tables(labels: list[str], coco_labels: list[str], reader: LabelReader) -> dict[str, np.ndarray]:
    return {
        "label_va": np.array([reader.va(lb) for lb in labels]),
        "label_vec": np.stack([reader.vector(lb) for lb in labels]).astype(np.float16),  # small file
        "coco_labels": np.array(coco_labels),
        "coco_va": np.array([reader.va(lb) for lb in coco_labels]),
    }


def fit(ings: list[Ingredients], targets: np.ndarray, tables: dict[str, np.ndarray], meta: dict | None = None
        ) -> FeelingModel:
    """Fit PCA, scaler and the two ridge regressions (alpha by efficient leave-one-out) on rated pictures."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import RidgeCV

    pooled = np.stack([i.pooled for i in ings])
    pm, ps = pooled.mean(axis=0), pooled.std(axis=0) + 1e-6
    pca = PCA(n_components=min(N_COMPONENTS, len(ings) - 1), random_state=0).fit((pooled - pm) / ps)
    model = FeelingModel(tables, pm, ps, pca.components_, np.zeros(1), np.ones(1), np.zeros((2, 1)), np.zeros(2),
                         targets.mean(axis=0), dict(meta or {}))
    x = model.features(ings)
    model.x_mean, model.x_scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    xs = (x - model.x_mean) / model.x_scale
    coefs, intercepts, alphas = [], [], []
    for j in range(2):
        r = RidgeCV(alphas=np.array(ALPHAS)).fit(xs, targets[:, j])
        coefs.append(r.coef_)
        intercepts.append(r.intercept_)
        alphas.append(r.alpha_)
    model.coef, model.intercept = np.array(coefs), np.array(intercepts)
    model.meta.update(alpha_valence=alphas[0], alpha_arousal=alphas[1], n=len(ings))
    return model


def theme_groups(themes: list[str]) -> np.ndarray:
    """OASIS themes "Beach 1" ... "Beach 8" are near-duplicates: group them as "Beach"."""
    return np.array([re.sub(r"\s*\d+$", "", t).strip().lower() for t in themes])


def cross_validate(ings: list[Ingredients], targets: np.ndarray, groups: np.ndarray, tables, folds: int = 5
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold estimates and quadrants, folds grouped by theme (no near-duplicate on both sides)."""
    from sklearn.model_selection import GroupKFold

    pred = np.zeros_like(targets)
    quads = np.zeros(len(ings), dtype=int)
    for train, test in GroupKFold(n_splits=folds).split(targets, groups=groups):
        m = fit([ings[i] for i in train], targets[train], tables)
        pred[test] = m.predict([ings[i] for i in test])
        quads[test] = [m.quadrant(p) for p in pred[test]]
    return pred, quads


def ratings_fingerprint(images: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(images)).encode()).hexdigest()[:16]
