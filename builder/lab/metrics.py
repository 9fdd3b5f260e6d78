"""The figures of a reading against people's quadrants, in one place: per-quadrant agreement
(recall), balanced agreement (the mean of the recalls of the quadrants people used, so always
answering the commonest quadrant scores 25 %), the smallest recall, the decision score the quadrant
lines are fitted for, Pearson r, the confusion matrix, their 95 % intervals from resampling groups
(themes, artists, an exhibition's visitors), and the baselines every table shows beside the methods.

Two shapes of the same figures: from one quadrant per item (`metrics`, `recalls`, `balanced`), and
from counts of quadrant pairs that may be weighted and carry a leading axis of draws
(`quadrant_figures`, which the study's report reads, its answers summed per visitor).

Quadrants are numbered as builder.plane numbers them (`plane.quadrants` for many points at once).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from builder.plane import quadrant_signs, quadrants

if TYPE_CHECKING:
    from builder.lab.ratings import Ratings

QUADRANTS = (1, 2, 3, 4)


def recalls(people_q: np.ndarray, predicted_q: np.ndarray) -> list[float]:
    """Per-quadrant agreement (recall) of each quadrant people used."""
    return [
        float(np.mean(predicted_q[people_q == q] == q)) for q in QUADRANTS if (people_q == q).any()
    ]


def balanced(people_q: np.ndarray, predicted_q: np.ndarray) -> float:
    """Mean per-quadrant agreement (the quadrants people used)."""
    return float(np.mean(recalls(people_q, predicted_q)))


def decision_score(people_q: np.ndarray, predicted_q: np.ndarray) -> float:
    """What the quadrant decision is fitted for: the mean of balanced agreement and the smallest
    per-quadrant recall. Balance alone lets a rule give up a rare quadrant (GAPED's few
    excited-pleasant photos) for a few points on the common ones; the smallest recall keeps every
    quadrant reachable."""
    r = recalls(people_q, predicted_q)
    return float((np.mean(r) + min(r)) / 2)


def metrics(
    people: np.ndarray,
    predicted_q: np.ndarray,
    predicted_va: np.ndarray | None,
    true_va: np.ndarray,
    groups: np.ndarray | None = None,
) -> dict:
    """The figures of one method; with groups (themes), also their 95 % intervals (`intervals`)."""
    n = len(people)
    recall = [
        float(np.mean(predicted_q[people == q] == q)) if (people == q).any() else None
        for q in QUADRANTS
    ]
    confusion = [
        [int(np.sum((people == t) & (predicted_q == p))) for p in QUADRANTS] for t in QUADRANTS
    ]
    out = {
        "n": n,
        "people_shares": [float(np.mean(people == q)) for q in QUADRANTS],
        "method_shares": [float(np.mean(predicted_q == q)) for q in QUADRANTS],
        "per_quadrant_agreement": recall,
        "overall_agreement": float(np.mean(people == predicted_q)),
        "balanced_agreement": float(np.mean([r for r in recall if r is not None])),
        # the quadrant people used that the method finds least often: is every quadrant reachable?
        "smallest_recall": float(min(r for r in recall if r is not None)),
        "r_valence": None,
        "r_arousal": None,
        "confusion": confusion,  # rows: people's quadrant 1-4; columns: the method's
    }
    if (
        predicted_va is not None
        and np.ptp(predicted_va[:, 0]) > 0
        and np.ptp(predicted_va[:, 1]) > 0
    ):
        out["r_valence"] = float(np.corrcoef(predicted_va[:, 0], true_va[:, 0])[0, 1])
        out["r_arousal"] = float(np.corrcoef(predicted_va[:, 1], true_va[:, 1])[0, 1])
    if groups is not None:
        out["interval_95"] = intervals(
            people,
            predicted_q,
            predicted_va if out["r_valence"] is not None else None,
            true_va,
            groups,
        )
    return out


def resample_groups(groups: np.ndarray, draws: int = 1000, seed: int = 0) -> np.ndarray:
    """(draws, items): how often each item is drawn when its groups are drawn with replacement, as
    many groups as there are, so that an item's near-duplicates (a theme, an artist) are drawn
    together."""
    _, index = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    k = index.max() + 1
    counts = np.random.default_rng(seed).multinomial(k, np.full(k, 1 / k), size=draws)
    return counts[:, index].astype(np.float64)


def recall_draws(
    w: np.ndarray, people: np.ndarray, predicted_q: np.ndarray
) -> dict[int, np.ndarray]:
    """Each used quadrant's recall in every draw of `resample_groups` (NaN in a draw without any
    item of that quadrant)."""
    out = {}
    for q in QUADRANTS:
        if (people == q).any():
            total = w @ (people == q)
            out[q] = np.where(
                total > 0, w @ ((people == q) & (predicted_q == q)) / np.maximum(total, 1), np.nan
            )
    return out


def resampled_sums(
    per_group, draws: int = 1000, seed: int = 0, cells: int = 4_000_000
) -> np.ndarray:
    """The column sums of per_group ((groups, k): an array or a scipy sparse matrix, one row per
    group, e.g. what each visitor answered), first as they are, then in each of `draws` draws of as
    many groups with replacement: (draws + 1, k). The draws are resample_groups' (the same seed
    draws the same groups), made a few at a time (at most `cells` weights at once), so that memory
    stays bounded however many groups there are."""
    n = per_group.shape[0]
    rng = np.random.default_rng(seed)
    rows = [np.asarray(per_group.sum(axis=0), dtype=np.float64).reshape(1, -1)]
    step = max(1, cells // max(n, 1))
    for start in range(0, draws, step):
        w = rng.multinomial(n, np.full(n, 1 / n), size=min(step, draws - start))
        rows.append(np.asarray(per_group.T @ w.T.astype(np.float64)).T)
    return np.vstack(rows)


def quadrant_figures(confusion: np.ndarray) -> dict[str, np.ndarray]:
    """The agreement figures of counts of quadrant pairs: confusion (..., 4, 5), rows people's
    quadrant 1-4, columns the reading's 0-4 (0: it read none, which counts as disagreeing); the
    counts may be weights, and any leading axes (one row per draw) are kept. Returns arrays of
    shape (...): "overall", "balanced" (the mean of the recalls of the quadrants people used, as
    `balanced`), "smallest" (the smallest of them), and of shape (..., 4): "recall" (NaN for a
    quadrant people did not use), "people_shares", "reading_shares". NaN where nothing was
    counted."""
    import warnings

    c = np.asarray(confusion, dtype=np.float64)
    total = c.sum(axis=(-2, -1))
    people = c.sum(axis=-1)
    hits = np.diagonal(c[..., :, 1:], axis1=-2, axis2=-1)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no quadrant used: no balanced figure
        recall = np.where(people > 0, hits / np.where(people > 0, people, 1), np.nan)
        some = total > 0
        share = np.where(some, 1 / np.where(some, total, 1), np.nan)[..., None]
        return {
            "overall": np.where(some, hits.sum(axis=-1) * share[..., 0], np.nan),
            "balanced": np.nanmean(recall, axis=-1),
            "smallest": np.nanmin(recall, axis=-1),
            "recall": recall,
            "people_shares": people * share,
            "reading_shares": c[..., :, 1:].sum(axis=-2) * share,
        }


def weighted_r(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of x and y in each row of weights w (draws, items); x and y are the items' values,
    the same in every draw (n,) or each draw's own (draws, n). NaN where a draw has no spread."""
    sw = w.sum(axis=1, keepdims=True)

    def mean(v: np.ndarray) -> np.ndarray:
        return (w @ v)[:, None] / sw if v.ndim == 1 else (w * v).sum(1, keepdims=True) / sw

    dx, dy = x - mean(x), y - mean(y)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w * dx * dy).sum(1) / np.sqrt((w * dx * dx).sum(1) * (w * dy * dy).sum(1))


def span(x: np.ndarray) -> list[float]:
    """The 95 % interval of the draws, NaN draws left out."""
    return [round(float(v), 4) for v in np.nanpercentile(x, [2.5, 97.5])]


def intervals(
    people: np.ndarray,
    predicted_q: np.ndarray,
    predicted_va: np.ndarray | None,
    true_va: np.ndarray,
    groups: np.ndarray,
    draws: int = 1000,
    seed: int = 0,
) -> dict[str, list[float]]:
    """95 % intervals of balanced agreement, of each quadrant's recall (None for a quadrant people
    did not use), of the smallest recall and of Pearson r, from resampling the groups (themes) with
    replacement, so near-duplicates are drawn together: how far the figures could move on another
    draw of such photos."""
    w = resample_groups(groups, draws, seed)  # (draws, photos): how often each photo is drawn
    by_quadrant = recall_draws(w, people, predicted_q)
    stacked = np.stack(list(by_quadrant.values()))
    # a draw without any photo of a quadrant has no recall for it: the mean and minimum skip it
    out = {
        "balanced_agreement": span(np.nanmean(stacked, axis=0)),
        "per_quadrant_agreement": [
            span(by_quadrant[q]) if q in by_quadrant else None for q in QUADRANTS
        ],
        "smallest_recall": span(np.nanmin(stacked, axis=0)),
    }
    if predicted_va is not None:
        for j, key in ((0, "r_valence"), (1, "r_arousal")):
            # a draw of one theme has no spread: r undefined there; nanpercentile leaves it out
            out[key] = span(weighted_r(w, predicted_va[:, j], true_va[:, j]))
    return out


def baselines(ratings: Ratings, colour_va: np.ndarray) -> dict[str, dict]:
    """The rows every picture table ends with: chance, always the commonest quadrant, and the colour
    reading (Valdez & Mehrabian)."""
    people = quadrants(ratings.va)
    commonest = int(np.bincount(people, minlength=5)[1:].argmax() + 1)
    chance = {
        "n": len(people),
        "people_shares": [float(np.mean(people == q)) for q in QUADRANTS],
        "method_shares": [0.25] * 4,
        "per_quadrant_agreement": [0.25] * 4,
        "overall_agreement": 0.25,
        "balanced_agreement": 0.25,
        "smallest_recall": 0.25,
        "r_valence": None,
        "r_arousal": None,
        "confusion": None,
    }
    return {
        "chance (expected)": chance,
        f"always quadrant {commonest}": metrics(
            people, np.full(len(people), commonest), None, ratings.va
        ),
        "colour (Valdez & Mehrabian)": metrics(people, quadrants(colour_va), colour_va, ratings.va),
    }


def music_metrics(
    people: np.ndarray, first_ids: list[str], labels: dict[str, int], va, groups
) -> dict:
    """How often the first track's label agrees with people's quadrant of the picture (per quadrant,
    balanced, with 95 % intervals from resampling themes); a first track without a label counts as
    disagreeing."""
    got = np.array([labels.get(i, 0) for i in first_ids])
    m = metrics(people, got, None, va, groups)
    m["unlabelled_first"] = int(np.sum(got == 0))
    m["method_shares"] = [float(np.mean(got == q)) for q in QUADRANTS]
    return m


def music_baseline(people: np.ndarray, catalogue_ids: list[str], labels: dict[str, int]) -> dict:
    """A track drawn at random from the catalogue: per quadrant, the share of the catalogue labelled
    so."""
    lab = np.array([labels.get(i, 0) for i in catalogue_ids])
    shares = [float(np.mean(lab == q)) for q in QUADRANTS]
    present = [q for q in QUADRANTS if (people == q).any()]
    return {
        "n": len(people),
        "people_shares": [float(np.mean(people == q)) for q in QUADRANTS],
        "method_shares": shares,
        "per_quadrant_agreement": shares,
        "overall_agreement": float(sum(np.mean(people == q) * shares[q - 1] for q in QUADRANTS)),
        "balanced_agreement": float(np.mean([shares[q - 1] for q in present])),
        "r_valence": None,
        "r_arousal": None,
        "confusion": None,
    }


def sign_metrics(true_q: np.ndarray, va: np.ndarray, artists: np.ndarray | None = None) -> dict:
    """Quadrant agreement (`metrics`) of readings `va` against labelled quadrants, plus the accuracy
    of each sign; with artists, their 95 % intervals from resampling artists (`interval_95`)."""
    pred_q = quadrants(va)
    m = metrics(true_q, pred_q, None, np.zeros((len(true_q), 2)))
    tv, ta = quadrant_signs(true_q)
    pv, pa = quadrant_signs(pred_q)
    m["valence_sign_accuracy"] = float(np.mean(tv == pv))
    m["arousal_sign_accuracy"] = float(np.mean(ta == pa))
    if artists is not None:
        m["interval_95"] = sign_intervals(true_q, pred_q, artists)
    return m


def sign_intervals(
    true_q: np.ndarray, pred_q: np.ndarray, artists: np.ndarray, draws: int = 1000, seed: int = 0
) -> dict[str, list[float]]:
    """95 % intervals of balanced agreement and of each sign's accuracy, drawing artists with
    replacement (an artist's clips sound alike, so they are drawn together): how far the figures
    could move on other artists."""
    w = resample_groups(artists, draws, seed)
    tv, ta = quadrant_signs(true_q)
    pv, pa = quadrant_signs(pred_q)
    by_quadrant = recall_draws(w, true_q, pred_q)
    sw = w.sum(axis=1)
    return {
        "balanced_agreement": span(np.nanmean(np.stack(list(by_quadrant.values())), axis=0)),
        "valence_sign_accuracy": span(w @ (tv == pv) / sw),
        "arousal_sign_accuracy": span(w @ (ta == pa) / sw),
    }
