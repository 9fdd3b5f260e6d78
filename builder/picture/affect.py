"""Pure functions of the published method: weights, points, spherical k-means, quadrants and the
vote.

Quadrants are numbered and named in builder.plane, which every wing shares.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from builder.plane import quadrant
from builder.records import Detection, Impression, Point


def class_weights(detections: Sequence[Detection]) -> dict[str, float]:
    """Each class's summed box area divided by the largest class's (the published object
    weighting)."""
    areas: dict[str, float] = defaultdict(float)
    for d in detections:
        x0, y0, x1, y1 = d.box
        areas[d.label] += max(0.0, x1 - x0) * max(0.0, y1 - y0)
    top = max(areas.values(), default=0.0)
    if top <= 0:
        return {label: 1.0 for label in areas}
    return {label: area / top for label, area in areas.items()}


def points(impressions: Sequence[Impression]) -> np.ndarray:
    """Each impression plotted at (valence * weight, arousal * weight)."""
    if not impressions:
        return np.zeros((0, 2))
    return np.array(
        [(i.valence * i.weight, i.arousal * i.weight) for i in impressions], dtype=np.float64
    )


def weighted_mean(impressions: Sequence[Impression]) -> Point | None:
    """The picture's feeling: the weight-weighted mean of its impression words' (valence,
    arousal)."""
    total = sum(i.weight for i in impressions)
    if total <= 0:
        return None
    v = sum(i.valence * i.weight for i in impressions) / total
    a = sum(i.arousal * i.weight for i in impressions) / total
    return (float(v), float(a))


def spherical_kmeans(pts: np.ndarray, k: int = 4, iters: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Cluster points by angle. Deterministic: farthest-angle initialisation from the longest point.

    Returns (labels, centres) where centres are the mean positions of each cluster's points (so a
    centre keeps the magnitude of its points, which is what the nearest-track query needs). Points
    at the origin have no angle and go to the cluster nearest in position. Empty clusters are
    dropped.
    """
    n = len(pts)
    if n == 0:
        return np.zeros(0, dtype=int), np.zeros((0, 2))
    norms = np.linalg.norm(pts, axis=1)
    has_angle = norms > 1e-12
    if not has_angle.any():
        return np.zeros(n, dtype=int), pts.mean(axis=0, keepdims=True)
    unit = np.zeros_like(pts)
    unit[has_angle] = pts[has_angle] / norms[has_angle, None]
    distinct = np.unique(np.round(unit[has_angle], 9), axis=0)
    k = max(1, min(k, len(distinct)))
    idx = [int(np.argmax(norms))]
    while len(idx) < k:
        sim = (unit[has_angle] @ unit[idx].T).max(axis=1)
        candidates = np.flatnonzero(has_angle)
        idx.append(int(candidates[np.argmin(sim)]))
    dirs = unit[idx].copy()
    labels = np.full(n, -1)
    for _ in range(iters):
        new = np.argmax(unit @ dirs.T, axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            members = unit[(labels == j) & has_angle]
            if len(members):
                s = members.sum(axis=0)
                ns = np.linalg.norm(s)
                if ns > 1e-12:
                    dirs[j] = s / ns
    if (~has_angle).any():
        centres_tmp = np.array(
            [pts[labels == j].mean(axis=0) if (labels == j).any() else dirs[j] for j in range(k)]
        )
        for i in np.flatnonzero(~has_angle):
            labels[i] = int(np.argmin(np.linalg.norm(centres_tmp - pts[i], axis=1)))
    used = [j for j in range(k) if (labels == j).any()]
    remap = {j: r for r, j in enumerate(used)}
    labels = np.array([remap[j] for j in labels])
    centres = np.array([pts[labels == r].mean(axis=0) for r in range(len(used))])
    return labels, centres


def quadrant_counts(pts: np.ndarray) -> tuple[int, int, int, int]:
    counts = [0, 0, 0, 0]
    for p in pts:
        counts[quadrant((float(p[0]), float(p[1]))) - 1] += 1
    return (counts[0], counts[1], counts[2], counts[3])


def collection_means(all_counts: Sequence[Sequence[int]]) -> tuple[float, float, float, float]:
    if not all_counts:
        return (0.0, 0.0, 0.0, 0.0)
    m = np.asarray(all_counts, dtype=np.float64).mean(axis=0)
    return (float(m[0]), float(m[1]), float(m[2]), float(m[3]))


def vote(counts: Sequence[int], means: Sequence[float]) -> int | None:
    """The published quadrant vote: count / collection mean count, largest ratio wins.

    Ties go to the larger raw count, then the lower quadrant number. None when the picture has no
    points.
    """
    if sum(counts) == 0:
        return None
    ratios = [c / m if m > 0 else 0.0 for c, m in zip(counts, means)]
    best = max(range(4), key=lambda q: (ratios[q], counts[q], -q))
    return best + 1


def valdez_mehrabian(brightness: float, saturation: float) -> Point:
    """Colour model of Valdez & Mehrabian (1994), rescaled to [-1, 1] over brightness, saturation in
    [0, 1].

    pleasure = 0.69 B + 0.22 S spans [0, 0.91]; arousal = -0.31 B + 0.60 S spans [-0.31, 0.60].
    """
    p = 0.69 * brightness + 0.22 * saturation
    a = -0.31 * brightness + 0.60 * saturation
    return (
        float(np.clip(2 * p / 0.91 - 1, -1, 1)),
        float(np.clip(2 * (a + 0.31) / 0.91 - 1, -1, 1)),
    )
