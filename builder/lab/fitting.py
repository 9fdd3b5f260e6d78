"""Fitting the learned picture model (builder.picture.feeling.FeelingModel) and cross-validating it:
what `builder fit` runs and what `builder evaluate` refits when it measures photos the model was
fitted on.

- the label tables: each classifier label and COCO class read through word ratings (`LabelReader`);
- `fit`: PCA, scaler and the two ridge regressions, each rated set weighing as much as the others;
- the quadrant origin: drawn by one of `ORIGIN_RULES`, the rule chosen for the best decision score
  (builder.lab.metrics.decision_score) under cross-validation (`choose_origin`), every rated set
  scored by its own people's quadrants (`quadrant_sets`);
- `out_of_fold` and `cross_validate`: readings of photos by models that never saw their theme;
- `fit_on_sets`: all of it on rated sets read through the pipeline, with the calibration of feeling
  to music that a build reads.

A build never runs any of this: it loads the model file the fit wrote.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from builder.errors import UsageError
from builder.lab.metrics import balanced, decision_score
from builder.lab.ratings import check_trainable, read_rated
from builder.music.matching import calibration_table
from builder.picture.feeling import FeelingModel, Ingredients, Spec
from builder.plane import quadrants

if TYPE_CHECKING:
    from builder.lab.ratings import RatedSet

ALPHAS = (1.0, 10.0, 100.0, 1000.0, 10000.0)  # ridge's alphas, chosen by efficient leave-one-out


def load_warriner(path: Path) -> dict[str, tuple[float, float]]:
    """lemma -> (valence, arousal) mapped from 1..9 to [-1, 1]."""
    out = {}
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            out[r["Word"]] = ((float(r["V.Mean.Sum"]) - 5) / 4, (float(r["A.Mean.Sum"]) - 5) / 4)
    return out


class LabelReader:
    """Valence/arousal and a unit GloVe vector for any label ("great white shark, white shark,
    ...")."""

    def __init__(
        self,
        vectors: Any,
        nrc: dict[str, tuple[float, float]],
        warriner: dict[str, tuple[float, float]],
    ):
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
        v = np.mean(
            [np.asarray(self.kv[t], dtype=np.float64) / np.linalg.norm(self.kv[t]) for t in toks],
            axis=0,
        )
        return v / (np.linalg.norm(v) + 1e-12)


def build_tables(
    labels: list[str], coco_labels: list[str], reader: LabelReader
) -> dict[str, np.ndarray]:
    return {
        "label_va": np.array([reader.va(lb) for lb in labels]),
        "label_vec": np.stack([reader.vector(lb) for lb in labels]).astype(
            np.float16
        ),  # small file
        "coco_labels": np.array(coco_labels),
        "coco_va": np.array([reader.va(lb) for lb in coco_labels]),
    }


def set_weights(
    sets: np.ndarray | None, rows: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray | None:
    """Sample weights that give each rated set the same total weight among `rows` (mean 1, so
    ridge's alpha keeps its meaning), shared within a set in proportion to `weights` (a picture
    placed by more of an exhibition's visitors weighs more; default: alike); None when one set of
    photos alike is all there is."""
    if weights is None:
        if sets is None or len(np.unique(sets[rows])) < 2:
            return None
        ids, counts = np.unique(sets[rows], return_counts=True)
        per = dict(zip(ids.tolist(), (rows.sum() / (len(ids) * counts)).tolist()))
        return np.array([per[s] for s in sets[rows].tolist()])
    w = np.asarray(weights, dtype=np.float64)[rows]
    ids, inverse = np.unique(
        np.zeros(len(w), int) if sets is None else sets[rows], return_inverse=True
    )
    return w * rows.sum() / (len(ids) * np.bincount(inverse, weights=w)[inverse])


def fit(
    ings: list[Ingredients],
    targets: np.ndarray,
    tables: dict[str, np.ndarray],
    meta: dict | None = None,
    spec: Spec | None = None,
    arousal_rows: np.ndarray | None = None,
    sets: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> FeelingModel:
    """Fit PCA, scaler and the two ridge regressions (alpha by efficient leave-one-out) on rated
    pictures. arousal_rows (boolean): the pictures whose arousal ratings train the arousal model
    (default: all); sets: which rated set each picture comes from, so that each set weighs as much
    as the others; weights: each picture's weight within its set (set_weights)."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import RidgeCV

    spec = spec or Spec()
    pooled = spec.pooled(ings)
    pm, ps = pooled.mean(axis=0), pooled.std(axis=0) + 1e-6
    pca = PCA(n_components=min(spec.components, len(ings) - 1), random_state=0).fit(
        (pooled - pm) / ps
    )
    rows = [
        np.ones(len(ings), bool),
        np.ones(len(ings), bool) if arousal_rows is None else arousal_rows,
    ]
    centre = np.array(
        [
            np.average(targets[rows[j], j], weights=set_weights(sets, rows[j], weights))
            for j in range(2)
        ]
    )
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
            xs[rows[j]], targets[rows[j], j], sample_weight=set_weights(sets, rows[j], weights)
        )
        coefs.append(r.coef_)
        intercepts.append(r.intercept_)
        alphas.append(r.alpha_)
    model.coef, model.intercept = np.array(coefs), np.array(intercepts)
    model.meta.update(alpha_valence=alphas[0], alpha_arousal=alphas[1], n=len(ings))
    return model


def _balanced_axis(p: np.ndarray, y: np.ndarray, sets: np.ndarray | None = None) -> float:
    """Per axis: the threshold (a quantile of the readings) where the sign agrees best with
    people's, each sign weighing as much as the other, and each rated set as much as the others (the
    mean of the sets' scores)."""
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
    p: np.ndarray,
    y: np.ndarray,
    sets: np.ndarray,
    score=balanced,
    step: float = 0.02,
    reach: float = 0.3,
) -> np.ndarray:
    """The origin on a grid around the mean reading with the best `score`, averaged over the rated
    sets."""
    people_q, centre = quadrants(y), p.mean(axis=0)
    offsets = np.arange(-reach, reach + step / 2, step)
    best, best_score = centre, -1.0
    for dv in offsets:
        for da in offsets:
            q = quadrants(p - centre - (dv, da))
            value = np.mean([score(people_q[sets == s], q[sets == s]) for s in np.unique(sets)])
            if value > best_score + 1e-12:
                best, best_score = centre + (dv, da), value
    return best


# Whose quadrants the decision is drawn and scored on. "every set" (the default): each rated set's
# photos by that set's own people's quadrants, each set weighing the same; the photos kept apart are
# judged by their own lab's quadrants (GAPED's arousal falls as valence rises, OASIS's rises with
# distance from neutral), so the lines are drawn where they serve every lab seen. "arousal sets"
# (the rule of models fitted before it): only the sets whose arousal ratings train.
DECIDE_ON = ("every set", "arousal sets")


def quadrant_sets(
    sets: np.ndarray, trained: np.ndarray, decide_on: str = "every set"
) -> np.ndarray:
    """The photos whose people's quadrant a decision is drawn and scored on (DECIDE_ON); all photos
    when no set trains arousal."""
    if decide_on == "every set":
        return np.ones(len(sets), bool)
    scored = np.isin(sets, np.unique(sets[trained[:, 1]]))
    return scored if scored.any() else np.ones(len(sets), bool)


def _weighted_share(x: np.ndarray, sets: np.ndarray) -> float:
    w = set_weights(sets, np.ones(len(x), bool))
    return float(np.average(x, weights=w))


# How the quadrant origin may be drawn through readings `p` of rated photos `y`, from rated sets
# `sets`; trained[:, j]: whether a photo's rating of axis j trains the model (a set may train
# valence only); d: the photos whose quadrants the decision is drawn on (quadrant_sets). The rules
# that read people's ratings for the lines read them there, each set weighing the same.
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
    """Per axis, the mean over the photos whose ratings trained that axis, each rated set weighing
    the same."""
    return np.array(
        [
            np.average(v[trained[:, j], j], weights=set_weights(sets, trained[:, j]))
            for j in range(2)
        ]
    )


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
    """Quadrants of out-of-fold readings, each fold's origin drawn by `rule` through the other
    folds' readings: neither the reading nor the lines through it have seen the photo."""
    sets = np.zeros(len(y), int) if sets is None else sets
    trained = np.ones(y.shape, bool) if trained is None else trained
    quads = np.zeros(len(pred), dtype=int)
    for k in np.unique(folds):
        other = folds != k
        quads[folds == k] = quadrants(
            pred[folds == k]
            - origin(rule, pred[other], y[other], sets[other], trained[other], decide_on)
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
    """The origin rule with the best decision_score (balanced agreement and the smallest
    per-quadrant recall) under cross-validation, averaged over the rated sets the decision is drawn
    on (quadrant_sets: by default every set, by its own people's quadrants; so that no set's mix of
    quadrants rules), and the origin it draws through all the out-of-fold readings. Ties go to the
    simpler rule (the order of ORIGIN_RULES)."""
    trained = np.ones(y.shape, bool) if trained is None else trained
    people_q, scored = quadrants(y), quadrant_sets(sets, trained, decide_on)
    scores = {}
    for rule in ORIGIN_RULES:
        q = rule_quadrants(rule, pred, y, folds, sets, trained, decide_on)
        scores[rule] = float(
            np.mean(
                [decision_score(people_q[sets == s], q[sets == s]) for s in np.unique(sets[scored])]
            )
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
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold readings and each photo's fold, folds grouped by theme (no near-duplicate on both
    sides). tested (boolean): the photos read out of fold (default: all); the others are in every
    fold's training (another rated set, as `builder fit` trains with it). Readings and folds are of
    the tested photos, in order. weights: each photo's weight within its set (fit)."""
    from sklearn.model_selection import GroupKFold

    tested = np.ones(len(ings), bool) if tested is None else np.asarray(tested, bool)
    rows_tested, always = np.flatnonzero(tested), np.flatnonzero(~tested)
    pred = np.zeros((len(rows_tested), 2))
    fold_of = np.zeros(len(rows_tested), dtype=int)
    for k, (train, test) in enumerate(
        GroupKFold(n_splits=folds).split(rows_tested, groups=groups[rows_tested])
    ):
        idx = np.r_[rows_tested[train], always]
        m = fit(
            [ings[i] for i in idx],
            targets[idx],
            tables,
            spec=spec,
            arousal_rows=None if arousal_rows is None else arousal_rows[idx],
            sets=None if sets is None else sets[idx],
            weights=None if weights is None else weights[idx],
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
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold estimates and quadrants (origin by `rule`, see rule_quadrants) of one rated set.
    others: rated sets in every fold's training as (ingredients, ratings, whether their arousal
    trains[, fold groups]), each weighing as much as the tested set (as `builder fit` weighs them);
    arousal: whether the tested set's own arousal ratings train (False for a set the model was
    fitted on for valence only: its arousal is then read as the others taught).

    With others, each fold's quadrant lines are drawn as `builder fit` draws the model's: by `rule`
    through out-of-fold readings of every set (folds grouped over all the sets at once; decide_on:
    whose quadrants they are drawn on), none of them of this fold's photos. Drawn through the tested
    set alone, they would be fitted to its own people's quadrants, which the shipped model's lines
    never saw in that form (GAPED's).

    lines (a dict, filled when given): where each photo's lines were drawn, as a build of these
    photos would read them: "fold", each photo's fold; "origin", each fold's origin; "through", each
    fold's readings the lines were drawn through (of the other folds), relative to that origin, as
    the model's calibration is made from its training photos' readings.

    weights: each tested photo's weight within its set, as `builder fit` weighs it (an exhibition's
    pictures by how many visitors placed them); the others' photos weigh alike within their sets."""
    if not others and not arousal:
        raise UsageError("a set that does not train arousal needs another rated set that does")
    origins: dict[int, np.ndarray] = {}
    through: dict[int, np.ndarray] = {}
    if not others:
        pred, fold_of = out_of_fold(ings, targets, groups, tables, folds, spec, weights=weights)
        for k in np.unique(fold_of).tolist():
            other = fold_of != k
            origins[k] = origin(rule, pred[other], targets[other])
            through[k] = pred[other] - origins[k]
        if lines is not None:
            lines.update(fold=fold_of, origin=origins, through=through)
        return pred, quadrants(pred - np.array([origins[k] for k in fold_of.tolist()]))
    all_ings = list(ings) + [i for o in others for i in o[0]]
    y = np.vstack([targets] + [o[1] for o in others])
    sets = np.concatenate(
        [np.zeros(len(ings), int)] + [np.full(len(o[0]), k + 1) for k, o in enumerate(others)]
    )
    rows = np.concatenate(
        [np.full(len(ings), arousal)] + [np.full(len(o[0]), o[2]) for o in others]
    )
    groups_all = np.concatenate(
        [np.array([f"0:{g}" for g in groups], dtype=object)]
        + [
            np.array(
                [f"{k + 1}:{g}" for g in (o[3] if len(o) > 3 else range(len(o[0])))], dtype=object
            )
            for k, o in enumerate(others)
        ]
    )
    trained = np.c_[np.ones(len(y), bool), rows]
    all_weights = (
        None if weights is None else np.r_[np.asarray(weights, float), np.ones(len(y) - len(ings))]
    )
    # every set read out of fold, folds grouped over all of them: where the lines are drawn, as in
    # `builder fit`
    lines_oof, fold_all = out_of_fold(
        all_ings,
        y,
        groups_all,
        tables,
        folds,
        spec,
        arousal_rows=rows,
        sets=sets,
        weights=all_weights,
    )
    tested, rest = np.flatnonzero(sets == 0), np.flatnonzero(sets != 0)
    pred, fold_of = np.zeros((len(ings), 2)), fold_all[tested]
    for k in np.unique(fold_of).tolist():
        here, other = tested[fold_of == k], fold_all != k
        idx = np.r_[tested[fold_of != k], rest]  # the other sets whole, as the model was fitted
        m = fit(
            [all_ings[i] for i in idx],
            y[idx],
            tables,
            spec=spec,
            arousal_rows=rows[idx],
            sets=sets[idx],
            weights=None if all_weights is None else all_weights[idx],
        )
        pred[here] = m.predict([all_ings[i] for i in here])
        origins[k] = origin(
            rule, lines_oof[other], y[other], sets[other], trained[other], decide_on
        )
        through[k] = lines_oof[other] - origins[k]
    if lines is not None:
        lines.update(fold=fold_of, origin=origins, through=through)
    return pred, quadrants(pred - np.array([origins[k] for k in fold_of.tolist()]))


def ratings_fingerprint(images: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(images)).encode()).hexdigest()[:16]


def photo_digests(readings) -> list[str]:
    """What a model records of the photos it was fitted on: 64-bit prefixes of their sha256 (by
    content, so a copy under another name or a subset is still recognised)."""
    return sorted({r.sha256[:16] for r in readings if r.sha256})


def fit_on_sets(
    context_for, sets: list[RatedSet], spec=None, progress=None, decide_on: str = "every set"
):
    """Fit the learned feeling model on one or more rated sets (what `builder fit` runs).
    context_for(images) gives the Context that reads a set's photos. Every set's ratings are already
    in one frame ([-1, 1] around its scale's midpoint). The quadrant origin and the calibration of
    feeling -> music come from out-of-fold readings (folds grouped by theme within each set), the
    origin fitted for balance and the smallest recall averaged over the sets (decide_on, one of
    DECIDE_ON: every set by its own people's quadrants, or the sets whose arousal trains). A set
    whose ratings carry weights (an exhibition's visitors' placements) shares its weight among its
    photos by them; its themes group the folds as they are where it says they are no
    near-duplicates."""
    from builder.picture.words import load_nrc_vad

    ings, targets, groups, set_ids, arousal, weights = [], [], [], [], [], []
    ctx = None
    digests = []
    for k, rated in enumerate(sets):
        check_trainable(rated.ratings.va, rated.name, rated.arousal)
        ctx = context_for(rated.images)
        readings = read_rated(ctx, rated.ratings.images, progress)
        ings += [r.ingredients for r in readings]
        digests += photo_digests(readings)
        targets.append(rated.ratings.va)
        themes = rated.ratings.themes
        groups += [f"{k}:{g}" for g in (theme_groups(themes) if rated.near_duplicates else themes)]
        set_ids += [k] * len(rated.ratings.images)
        arousal += [rated.arousal] * len(rated.ratings.images)
        n = len(rated.ratings.images)
        weights.append(np.ones(n) if rated.ratings.weights is None else rated.ratings.weights)
    y, groups, set_ids, arousal = (
        np.vstack(targets),
        np.array(groups),
        np.array(set_ids),
        np.array(arousal),
    )
    # photos alike (every set but an exhibition's): the weights of the fits before there were any
    w = None if all(s.ratings.weights is None for s in sets) else np.concatenate(weights)
    if not arousal.any():
        raise UsageError("no rated set trains the arousal model (all are marked :valence)")
    reader = LabelReader(
        ctx.mapper.vectors,
        load_nrc_vad(ctx.store.resolve("nrc-vad")),
        load_warriner(ctx.store.resolve("warriner")),
    )
    names = getattr(ctx.detector, "names", None) or ctx.detector.categories
    tables = build_tables(ctx.scene.synonyms, list(names), reader)
    rows = None if arousal.all() else arousal
    meta = {
        "fingerprint": "+".join(ratings_fingerprint(s.ratings.images) for s in sets),
        "ratings": "+".join(s.name for s in sets),
        "scale": "; ".join(s.scale for s in sets),
        "arousal_from": "+".join(s.name for s in sets if s.arousal),
        "photos_sha256": ",".join(
            sorted(set(digests))
        ),  # what `builder evaluate` checks photos against
    }
    model = fit(ings, y, tables, meta, spec, rows, set_ids, w)
    oof, folds = out_of_fold(
        ings, y, groups, tables, spec=spec, arousal_rows=rows, sets=set_ids, weights=w
    )
    trained = np.c_[np.ones(len(y), bool), arousal]
    rule, model.reference, scores = choose_origin(oof, y, folds, set_ids, trained, decide_on)
    # what the chosen rule gave each set whose quadrants were scored, out of fold: every quadrant
    # reachable?
    quads = rule_quadrants(rule, oof, y, folds, set_ids, trained, decide_on)
    people_q, scored = quadrants(y), quadrant_sets(set_ids, trained, decide_on)
    model.meta.update(
        origin_rule=rule,
        origin_decided_on=decide_on,
        origin_criterion="(balanced agreement + smallest per-quadrant recall) / 2, mean over "
        + (
            "every set, by its own people's quadrants"
            if decide_on == "every set"
            else "the sets training arousal"
        ),
        origin_scores=", ".join(f"{r}: {v:.3f}" for r, v in scores.items()),
        origin_recalls="; ".join(
            f"{rated.name}: "
            + " ".join(
                f"{100 * np.mean(quads[(set_ids == k) & (people_q == q)] == q):.0f}"
                if ((set_ids == k) & (people_q == q)).any()
                else "-"
                for q in (1, 2, 3, 4)
            )
            for k, rated in enumerate(sets)
            if scored[set_ids == k].any()
        ),
    )
    model.calibration = calibration_table(oof - model.reference)
    return model
