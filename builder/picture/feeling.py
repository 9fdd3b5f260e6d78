"""The learned reading of a picture's feeling (the default method, `--method learned`).

A linear model (ridge regression, one for valence and one for arousal) over features that generalise from a
few thousand rated photos (which ones: `Spec`, stored in the model file):

- the pooled 1280-d features of the MobileNetV2 (averaged over the picture and its mirror image) and
  EfficientNet-Lite2 (the picture) ImageNet classifiers, standardised side by side and reduced to 128
  principal components;
- what the classifiers see, read through word ratings: the expected valence/arousal of their labels (the mean
  of the two classifiers' probabilities; all labels weighted by probability, and the top 5), where a label's
  valence/arousal comes from Warriner et al. (2013), else NRC-VAD, else a ridge map from GloVe vectors to
  NRC-VAD ratings fitted on the 20k lexicon words; and the probability-weighted GloVe vector of the labels;
- the COCO detections read the same way (area-weighted), and whether there were any;
- colour statistics (mean and spread of HSV brightness and saturation).

Fitted by `builder fit` on rated sets, each mapped to [-1, 1] around its scale's midpoint and weighing as much
as the others (the shipped file: oasis-dev, and Emotion6 and GAPED for valence only). Quadrants are read
relative to an origin (the "reference") drawn by the rule that gave the best balanced agreement and smallest
per-quadrant recall under cross-validation, every rated set scored by its own people's quadrants and weighing the
same (`choose_origin`, `decision_score`, `quadrant_sets`): the model's estimates shrink
towards the training photos' mean, so reading them against the scale's midpoint would put almost every picture
in the commonest quadrant, and balance alone may give up a rare quadrant.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from builder.errors import UsageError

MODEL_PATH = Path(__file__).resolve().parent / "data" / "feeling-model.npz"
N_COMPONENTS = 32  # of a model file written before Spec (MobileNetV2 only)
ALPHAS = (1.0, 10.0, 100.0, 1000.0, 10000.0)


@dataclass
class Ingredients:
    """What the recognisers give for one picture, before any fitted parameter is applied."""

    pooled: np.ndarray  # (1280,) MobileNetV2
    probs: np.ndarray  # (1001,) MobileNetV2, index 0 = background
    colour: np.ndarray  # (4,) mean/std of HSV value and saturation
    detections: list[tuple[str, tuple[float, float, float, float]]]
    lite_pooled: np.ndarray | None = None  # (1280,) EfficientNet-Lite2
    lite_probs: np.ndarray | None = None  # (1000,) EfficientNet-Lite2: MobileNetV2's labels without background

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
        """Rounded as they are cached, so a fresh reading and a cached one give the same estimate."""
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
        lite = [np.asarray(d[k]) if d.get(k) is not None else None for k in ("lite_pooled", "lite_probs")]
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

    def __init__(self, vectors: Any, nrc: dict[str, tuple[float, float]], warriner: dict[str, tuple[float, float]]):
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
        va = self.word_model.predict(v[None])[0]
        return float(va[0]), float(va[1])

    def vector(self, label: str) -> np.ndarray:
        toks = [t for s in label.split(",") for t in self._tokens(s)]
        if not toks:
            return np.zeros(self.kv.vector_size)
        v = np.mean([np.asarray(self.kv[t], dtype=np.float64) / np.linalg.norm(self.kv[t]) for t in toks], axis=0)
        return v / (np.linalg.norm(v) + 1e-12)


# ---- features and the model ----------------------------------------------------------------------------

BACKBONES = ("mobilenet_v2", "efficientnet_lite2")
LEXICONS = ("mobilenet_v2", "efficientnet_lite2", "mean", "none")  # whose label probabilities the words read


@dataclass(frozen=True)
class Spec:
    """Which features the model reads: the backbones whose pooled features are reduced by PCA (side by side),
    whose label probabilities the word ratings read ("none": no word ratings at all, only colour besides the
    look), and how many principal components."""

    backbones: tuple[str, ...] = BACKBONES
    lexicon: str = "mean"
    components: int = 128

    @classmethod
    def from_meta(cls, meta: dict) -> Spec:  # a model file without these keys is a MobileNetV2-only model
        return cls(
            tuple(meta.get("backbones", "mobilenet_v2").split("+")),
            meta.get("lexicon", "mobilenet_v2"),
            int(meta.get("components", N_COMPONENTS)),
        )

    def to_meta(self) -> dict:
        return {"backbones": "+".join(self.backbones), "lexicon": self.lexicon, "components": self.components}

    def pooled(self, ings: list[Ingredients]) -> np.ndarray:
        parts = {"mobilenet_v2": lambda i: i.pooled, "efficientnet_lite2": lambda i: i.lite_pooled}
        return np.stack([np.concatenate([parts[b](i) for b in self.backbones]) for i in ings])

    def label_probs(self, ing: Ingredients) -> np.ndarray:
        """Probabilities over MobileNetV2's 1001 labels (Lite2's 1000 classes are the same without background)."""
        if self.lexicon in ("mobilenet_v2", "none"):
            return ing.probs
        lite = np.r_[0.0, ing.lite_probs]
        return lite if self.lexicon == "efficientnet_lite2" else (ing.probs + lite) / 2


def label_features(
    ing: Ingredients, label_va: np.ndarray, label_vec: np.ndarray, coco_va: dict, probs: np.ndarray | None = None
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
    # the quadrant origin, drawn by the rule (meta "origin_rule") that gave the best decision_score under
    # cross-validation (choose_origin); the mean rating of the training photos until then
    reference: np.ndarray
    meta: dict
    # builder.music.matching.calibration_table of the training photos' out-of-fold readings relative to the reference
    # (None in a model fitted without it: music is then looked for at the relative reading itself)
    calibration: np.ndarray | None = None

    @cached_property
    def spec(self) -> Spec:
        return Spec.from_meta(self.meta)

    @cached_property
    def coco_va(self) -> dict[str, tuple[float, float]]:
        return {str(lb): tuple(va) for lb, va in zip(self.tables["coco_labels"], self.tables["coco_va"])}

    def label_probs(self, ing: Ingredients) -> np.ndarray:
        return self.spec.label_probs(ing)

    def features(self, ings: list[Ingredients]) -> np.ndarray:
        spec, coco_va = self.spec, self.coco_va
        pcs = ((spec.pooled(ings) - self.pooled_mean) / self.pooled_scale) @ self.components.T
        if spec.lexicon == "none":
            return np.hstack([pcs, np.stack([i.colour for i in ings])])
        rest = np.stack(
            [
                label_features(i, self.tables["label_va"], self.tables["label_vec"], coco_va, spec.label_probs(i))
                for i in ings
            ]
        )
        return np.hstack([pcs, rest])

    def predict(self, ings: list[Ingredients]) -> np.ndarray:
        x = (self.features(ings) - self.x_mean) / self.x_scale
        return np.clip(x @ self.coef.T + self.intercept, -1.0, 1.0)

    def relative(self, av: Sequence[float] | np.ndarray) -> tuple[float, float]:
        """A reading in the frame its quadrant is read in: relative to the reference (the quadrant origin)."""
        return (round(float(av[0] - self.reference[0]), 4), round(float(av[1] - self.reference[1]), 4))

    def feature_groups(self) -> list[tuple[str, slice]]:
        """The feature vector's parts, in order (see label_features), named for the person reading the page."""
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
        """(group, valence, arousal) contributions to the reading relative to the reference. Exact: the model is
        linear, so they add up to `relative(predict(...))` unless the reading was clipped to [-1, 1]. The
        intercept is the mean training rating; where the quadrant origin was moved from it (for balance), the
        difference is its own line."""
        x = (self.features([ing])[0] - self.x_mean) / self.x_scale
        out = [
            (name, float(self.coef[0, g] @ x[g]), float(self.coef[1, g] @ x[g])) for name, g in self.feature_groups()
        ]
        offset = self.intercept - self.reference
        if np.abs(offset).max() > 5e-4:
            out.append(("where the quadrant lines are drawn", float(offset[0]), float(offset[1])))
        else:  # rounding only: given to the largest group so sums are exact
            name, v, a = out[0]
            out[0] = (name, v + float(offset[0]), a + float(offset[1]))
        return out

    def save(self, path: Path) -> None:
        """Write the model through builder.files (a full disk leaves the old model, never one without its tables),
        as exactly `path` (no .npz added) and with the same bytes for the same arrays (save_npz)."""
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
            raise UsageError(f"the learned feeling model {path} is missing; regenerate it with `builder fit`")
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

    def quadrant(self, av: Sequence[float] | np.ndarray) -> int:
        from builder.plane import quadrant

        return quadrant((float(av[0] - self.reference[0]), float(av[1] - self.reference[1])))


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """np.savez_compressed with every zip entry stamped 1980-01-01, in name order: the same arrays give the same
    bytes, so refitting the shipped model with the same command reproduces the file bit for bit (savez stamps
    entries with the time of writing). np.load reads it as any .npz."""
    import zipfile

    from builder.files import atomic_path

    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with z.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(arrays[name]), allow_pickle=False)


def build_tables(labels: list[str], coco_labels: list[str], reader: LabelReader) -> dict[str, np.ndarray]:
    return {
        "label_va": np.array([reader.va(lb) for lb in labels]),
        "label_vec": np.stack([reader.vector(lb) for lb in labels]).astype(np.float16),  # small file
        "coco_labels": np.array(coco_labels),
        "coco_va": np.array([reader.va(lb) for lb in coco_labels]),
    }


def set_weights(sets: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
    """Sample weights that give each rated set the same total weight among `rows` (mean 1, so ridge's alpha keeps
    its meaning); None when one set is all there is."""
    if sets is None or len(np.unique(sets[rows])) < 2:
        return None
    ids, counts = np.unique(sets[rows], return_counts=True)
    per = dict(zip(ids.tolist(), (rows.sum() / (len(ids) * counts)).tolist()))
    return np.array([per[s] for s in sets[rows].tolist()])


def fit(
    ings: list[Ingredients],
    targets: np.ndarray,
    tables: dict[str, np.ndarray],
    meta: dict | None = None,
    spec: Spec | None = None,
    arousal_rows: np.ndarray | None = None,
    sets: np.ndarray | None = None,
) -> FeelingModel:
    """Fit PCA, scaler and the two ridge regressions (alpha by efficient leave-one-out) on rated pictures.
    arousal_rows (boolean): the pictures whose arousal ratings train the arousal model (default: all);
    sets: which rated set each picture comes from, so that each set weighs as much as the others."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import RidgeCV

    spec = spec or Spec()
    pooled = spec.pooled(ings)
    pm, ps = pooled.mean(axis=0), pooled.std(axis=0) + 1e-6
    pca = PCA(n_components=min(spec.components, len(ings) - 1), random_state=0).fit((pooled - pm) / ps)
    rows = [np.ones(len(ings), bool), np.ones(len(ings), bool) if arousal_rows is None else arousal_rows]
    centre = np.array([np.average(targets[rows[j], j], weights=set_weights(sets, rows[j])) for j in range(2)])
    model = FeelingModel(
        tables,
        pm,
        ps,
        pca.components_,
        np.zeros(1),
        np.ones(1),
        np.zeros((2, 1)),
        np.zeros(2),
        centre,
        {**(meta or {}), **spec.to_meta()},
    )
    x = model.features(ings)
    model.x_mean, model.x_scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    xs = (x - model.x_mean) / model.x_scale
    coefs, intercepts, alphas = [], [], []
    for j in range(2):
        r = RidgeCV(alphas=np.array(ALPHAS)).fit(
            xs[rows[j]], targets[rows[j], j], sample_weight=set_weights(sets, rows[j])
        )
        coefs.append(r.coef_)
        intercepts.append(r.intercept_)
        alphas.append(r.alpha_)
    model.coef, model.intercept = np.array(coefs), np.array(intercepts)
    model.meta.update(alpha_valence=alphas[0], alpha_arousal=alphas[1], n=len(ings))
    return model


def recalls(people_q: np.ndarray, predicted_q: np.ndarray) -> list[float]:
    """Per-quadrant agreement (recall) of each quadrant people used."""
    return [float(np.mean(predicted_q[people_q == q] == q)) for q in (1, 2, 3, 4) if (people_q == q).any()]


def balanced(people_q: np.ndarray, predicted_q: np.ndarray) -> float:
    """Mean per-quadrant agreement (the quadrants people used)."""
    return float(np.mean(recalls(people_q, predicted_q)))


def decision_score(people_q: np.ndarray, predicted_q: np.ndarray) -> float:
    """What the quadrant decision is fitted for: the mean of balanced agreement and the smallest per-quadrant
    recall. Balance alone lets a rule give up a rare quadrant (GAPED's few excited-pleasant photos) for a
    few points on the common ones; the smallest recall keeps every quadrant reachable."""
    r = recalls(people_q, predicted_q)
    return float((np.mean(r) + min(r)) / 2)


def quadrant_codes(va: np.ndarray) -> np.ndarray:
    """plane.quadrant for many points at once."""
    v, a = va[:, 0] >= 0, va[:, 1] >= 0
    return np.where(a, np.where(v, 1, 2), np.where(v, 4, 3))


def _balanced_axis(p: np.ndarray, y: np.ndarray, sets: np.ndarray | None = None) -> float:
    """Per axis: the threshold (a quantile of the readings) where the sign agrees best with people's, each sign
    weighing as much as the other, and each rated set as much as the others (the mean of the sets' scores)."""
    sets = np.zeros(len(p), int) if sets is None else sets
    best, best_t = -1.0, float(np.median(p))
    pos = y >= 0
    for q in np.arange(0.2, 0.801, 0.02):
        t = float(np.quantile(p, q))
        s = p >= t
        score = 0.0
        for k in np.unique(sets):
            m = sets == k
            score += float(np.mean(s[m & pos]) if (m & pos).any() else 0.0)
            score += float(np.mean(~s[m & ~pos]) if (m & ~pos).any() else 0.0)
        if score > best + 1e-12:
            best, best_t = score, t
    return best_t


def _grid(
    p: np.ndarray, y: np.ndarray, sets: np.ndarray, score=balanced, step: float = 0.02, reach: float = 0.3
) -> np.ndarray:
    """The origin on a grid around the mean reading with the best `score`, averaged over the rated sets."""
    people_q, centre = quadrant_codes(y), p.mean(axis=0)
    offsets = np.arange(-reach, reach + step / 2, step)
    best, best_score = centre, -1.0
    for dv in offsets:
        for da in offsets:
            q = quadrant_codes(p - centre - (dv, da))
            value = np.mean([score(people_q[sets == s], q[sets == s]) for s in np.unique(sets)])
            if value > best_score + 1e-12:
                best, best_score = centre + (dv, da), value
    return best


# Whose quadrants the decision is drawn and scored on. "every set" (issue 22, round 2): each rated set's photos
# by that set's own people's quadrants, each set weighing the same; the photos kept apart are judged by their own
# lab's quadrants (GAPED's arousal falls as valence rises, OASIS's rises with distance from neutral), so the lines
# are drawn where they serve every lab seen. "arousal sets" (round 1): only the sets whose arousal ratings train.
DECIDE_ON = ("every set", "arousal sets")


def quadrant_sets(sets: np.ndarray, trained: np.ndarray, decide_on: str = "every set") -> np.ndarray:
    """The photos whose people's quadrant a decision is drawn and scored on (DECIDE_ON); all photos when no set
    trains arousal."""
    if decide_on == "every set":
        return np.ones(len(sets), bool)
    scored = np.isin(sets, np.unique(sets[trained[:, 1]]))
    return scored if scored.any() else np.ones(len(sets), bool)


def _weighted_share(x: np.ndarray, sets: np.ndarray) -> float:
    w = set_weights(sets, np.ones(len(x), bool))
    return float(np.average(x, weights=w))


# How the quadrant origin may be drawn through readings `p` of rated photos `y`, from rated sets `sets`;
# trained[:, j]: whether a photo's rating of axis j trains the model (a set may train valence only); d: the photos
# whose quadrants the decision is drawn on (quadrant_sets). The rules that read people's ratings for the lines
# read them there, each set weighing the same.
ORIGIN_RULES = {
    "mean rating": lambda p, y, sets, trained, d: _axis_means(y, sets, trained),
    "mean reading": lambda p, y, sets, trained, d: _axis_means(p, sets, trained),
    "median reading": lambda p, y, sets, trained, d: np.median(p, axis=0),
    "people's shares": lambda p, y, sets, trained, d: np.array(
        [np.quantile(p[d, j], 1 - _weighted_share(y[d, j] >= 0, sets[d])) for j in range(2)]
    ),
    "balanced per axis": lambda p, y, sets, trained, d: np.array(
        [_balanced_axis(p[d, j], y[d, j], sets[d]) for j in range(2)]
    ),
    "balanced grid": lambda p, y, sets, trained, d: _grid(p[d], y[d], sets[d]),
    "max-min grid": lambda p, y, sets, trained, d: _grid(p[d], y[d], sets[d], decision_score),
}


def _axis_means(v: np.ndarray, sets: np.ndarray, trained: np.ndarray) -> np.ndarray:
    """Per axis, the mean over the photos whose ratings trained that axis, each rated set weighing the same."""
    return np.array([np.average(v[trained[:, j], j], weights=set_weights(sets, trained[:, j])) for j in range(2)])


def origin(
    rule: str,
    pred: np.ndarray,
    y: np.ndarray,
    sets: np.ndarray | None = None,
    trained: np.ndarray | None = None,
    decide_on: str = "every set",
) -> np.ndarray:
    sets = np.zeros(len(y), int) if sets is None else sets
    trained = np.ones(y.shape, bool) if trained is None else trained
    return ORIGIN_RULES[rule](pred, y, sets, trained, quadrant_sets(sets, trained, decide_on))


def rule_quadrants(
    rule: str,
    pred: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    sets: np.ndarray | None = None,
    trained: np.ndarray | None = None,
    decide_on: str = "every set",
) -> np.ndarray:
    """Quadrants of out-of-fold readings, each fold's origin drawn by `rule` through the other folds' readings:
    neither the reading nor the lines through it have seen the photo."""
    sets = np.zeros(len(y), int) if sets is None else sets
    trained = np.ones(y.shape, bool) if trained is None else trained
    quads = np.zeros(len(pred), dtype=int)
    for k in np.unique(folds):
        other = folds != k
        quads[folds == k] = quadrant_codes(
            pred[folds == k] - origin(rule, pred[other], y[other], sets[other], trained[other], decide_on)
        )
    return quads


def choose_origin(
    pred: np.ndarray,
    y: np.ndarray,
    folds: np.ndarray,
    sets: np.ndarray,
    trained: np.ndarray | None = None,
    decide_on: str = "every set",
) -> tuple[str, np.ndarray, dict[str, float]]:
    """The origin rule with the best decision_score (balanced agreement and the smallest per-quadrant recall)
    under cross-validation, averaged over the rated sets the decision is drawn on (quadrant_sets: by default
    every set, by its own people's quadrants; so that no set's mix of quadrants rules), and the origin it draws
    through all the out-of-fold readings. Ties go to the simpler rule (the order of ORIGIN_RULES)."""
    trained = np.ones(y.shape, bool) if trained is None else trained
    people_q, scored = quadrant_codes(y), quadrant_sets(sets, trained, decide_on)
    scores = {}
    for rule in ORIGIN_RULES:
        q = rule_quadrants(rule, pred, y, folds, sets, trained, decide_on)
        scores[rule] = float(
            np.mean([decision_score(people_q[sets == s], q[sets == s]) for s in np.unique(sets[scored])])
        )
    rule = max(ORIGIN_RULES, key=lambda r: (round(scores[r], 6), -list(ORIGIN_RULES).index(r)))
    return rule, np.round(origin(rule, pred, y, sets, trained, decide_on), 4), scores


def theme_groups(themes: list[str]) -> np.ndarray:
    """OASIS themes "Beach 1" ... "Beach 8" are near-duplicates: group them as "Beach"."""
    return np.array([re.sub(r"\s*\d+$", "", t).strip().lower() for t in themes])


def out_of_fold(
    ings: list[Ingredients],
    targets: np.ndarray,
    groups: np.ndarray,
    tables: dict[str, np.ndarray],
    folds: int = 5,
    spec: Spec | None = None,
    arousal_rows: np.ndarray | None = None,
    sets: np.ndarray | None = None,
    tested: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold readings and each photo's fold, folds grouped by theme (no near-duplicate on both sides).
    tested (boolean): the photos read out of fold (default: all); the others are in every fold's training (another
    rated set, as `builder fit` trains with it). Readings and folds are of the tested photos, in order."""
    from sklearn.model_selection import GroupKFold

    tested = np.ones(len(ings), bool) if tested is None else np.asarray(tested, bool)
    rows_tested, always = np.flatnonzero(tested), np.flatnonzero(~tested)
    pred = np.zeros((len(rows_tested), 2))
    fold_of = np.zeros(len(rows_tested), dtype=int)
    for k, (train, test) in enumerate(GroupKFold(n_splits=folds).split(rows_tested, groups=groups[rows_tested])):
        idx = np.r_[rows_tested[train], always]
        m = fit(
            [ings[i] for i in idx],
            targets[idx],
            tables,
            spec=spec,
            arousal_rows=None if arousal_rows is None else arousal_rows[idx],
            sets=None if sets is None else sets[idx],
        )
        pred[test] = m.predict([ings[i] for i in rows_tested[test]])
        fold_of[test] = k
    return pred, fold_of


def cross_validate(
    ings: list[Ingredients],
    targets: np.ndarray,
    groups: np.ndarray,
    tables: dict[str, np.ndarray],
    folds: int = 5,
    spec: Spec | None = None,
    rule: str = "mean rating",
    others: Sequence[tuple] = (),
    arousal: bool = True,
    decide_on: str = "every set",
    lines: dict | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold estimates and quadrants (origin by `rule`, see rule_quadrants) of one rated set. others: rated
    sets in every fold's training as (ingredients, ratings, whether their arousal trains[, fold groups]), each
    weighing as much as the tested set (as `builder fit` weighs them); arousal: whether the tested set's own arousal
    ratings train (False for a set the model was fitted on for valence only: its arousal is then read as the
    others taught).

    With others, each fold's quadrant lines are drawn as `builder fit` draws the model's: by `rule` through
    out-of-fold readings of every set (folds grouped over all the sets at once; decide_on: whose quadrants they are
    drawn on), none of them of this fold's photos. Drawn through the tested set alone, they would be fitted to its
    own people's quadrants, which the shipped model's lines never saw in that form (GAPED's, round 1).

    lines (a dict, filled when given): where each photo's lines were drawn, as a build of these photos would read
    them: "fold", each photo's fold; "origin", each fold's origin; "through", each fold's readings the lines were
    drawn through (of the other folds), relative to that origin, as the model's calibration is made from its
    training photos' readings."""
    if not others and not arousal:
        raise UsageError("a set that does not train arousal needs another rated set that does")
    origins: dict[int, np.ndarray] = {}
    through: dict[int, np.ndarray] = {}
    if not others:
        pred, fold_of = out_of_fold(ings, targets, groups, tables, folds, spec)
        for k in np.unique(fold_of).tolist():
            other = fold_of != k
            origins[k] = origin(rule, pred[other], targets[other])
            through[k] = pred[other] - origins[k]
        if lines is not None:
            lines.update(fold=fold_of, origin=origins, through=through)
        return pred, quadrant_codes(pred - np.array([origins[k] for k in fold_of.tolist()]))
    all_ings = list(ings) + [i for o in others for i in o[0]]
    y = np.vstack([targets] + [o[1] for o in others])
    sets = np.concatenate([np.zeros(len(ings), int)] + [np.full(len(o[0]), k + 1) for k, o in enumerate(others)])
    rows = np.concatenate([np.full(len(ings), arousal)] + [np.full(len(o[0]), o[2]) for o in others])
    groups_all = np.concatenate(
        [np.array([f"0:{g}" for g in groups], dtype=object)]
        + [
            np.array([f"{k + 1}:{g}" for g in (o[3] if len(o) > 3 else range(len(o[0])))], dtype=object)
            for k, o in enumerate(others)
        ]
    )
    trained = np.c_[np.ones(len(y), bool), rows]
    # every set read out of fold, folds grouped over all of them: where the lines are drawn, as in `builder fit`
    lines_oof, fold_all = out_of_fold(all_ings, y, groups_all, tables, folds, spec, arousal_rows=rows, sets=sets)
    tested, rest = np.flatnonzero(sets == 0), np.flatnonzero(sets != 0)
    pred, fold_of = np.zeros((len(ings), 2)), fold_all[tested]
    for k in np.unique(fold_of).tolist():
        here, other = tested[fold_of == k], fold_all != k
        idx = np.r_[tested[fold_of != k], rest]  # the other sets whole, as the model was fitted
        m = fit([all_ings[i] for i in idx], y[idx], tables, spec=spec, arousal_rows=rows[idx], sets=sets[idx])
        pred[here] = m.predict([all_ings[i] for i in here])
        origins[k] = origin(rule, lines_oof[other], y[other], sets[other], trained[other], decide_on)
        through[k] = lines_oof[other] - origins[k]
    if lines is not None:
        lines.update(fold=fold_of, origin=origins, through=through)
    return pred, quadrant_codes(pred - np.array([origins[k] for k in fold_of.tolist()]))


def ratings_fingerprint(images: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(images)).encode()).hexdigest()[:16]
