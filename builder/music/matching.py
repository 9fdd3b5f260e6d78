"""Feeling -> music for a whole exhibition: where to look for each picture's music, and who gets which track.

Calibration. The learned model's readings shrink towards the average photo (on held-out photos they spread half
as wide in arousal as the music does), so a plain nearest-track search gives calm and excited pictures the same
middling music. Instead each picture's reading is mapped onto the catalogue's own distribution, axis by axis and
side by side: a reading that is more pleasant than the reference by more than u of the training photos that are
more pleasant than the reference (their out-of-fold readings, stored with the model) is sent to the u-quantile of
the catalogue's pleasant tracks (valence > 0); likewise below the reference, and for arousal. The mapping is
monotone (ranks are kept), the reference goes to 0, and signs are kept, so the point where music is looked for
(the `target`) lies in the picture's own quadrant, and the most excited pictures meet the most excited music.

Assignment. First tracks are chosen for the whole collection at once: a minimum-cost assignment of pictures to
tracks (Euclidean distance from each target) that first repeats tracks as little as possible (each at most
ceil(pictures / tracks) times, and as many different tracks as the catalogue allows) and then minimises the
summed distance. Dense for moderate sizes
(scipy's linear_sum_assignment); for large ones, a sparse matching over each picture's nearest candidates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

QUANTILES = 101
DENSE_LIMIT = 8_000_000  # cost-matrix cells solved exactly (about 6 s for 2000 pictures x 1802 tracks x 2)
CANDIDATES = 48  # nearest tracks per picture considered by the sparse matching


def side_quantiles(values: np.ndarray, n: int = QUANTILES) -> np.ndarray:
    """(2, n) quantiles of |x| for x < 0 (row 0) and x >= 0 (row 1); a side with no value gets zeros."""
    out = np.zeros((2, n))
    for side, mask in enumerate((values < 0, values >= 0)):
        if mask.any():
            out[side] = np.quantile(np.abs(values[mask]), np.linspace(0, 1, n))
    return out


def calibration_table(readings: np.ndarray) -> np.ndarray:
    """(2 axes, 2 sides, QUANTILES) table of readings relative to the reference (valence, arousal)."""
    return np.stack([side_quantiles(readings[:, k]) for k in range(2)])


def _map_axis(x: float, src: np.ndarray, dst: np.ndarray) -> float:
    side = 0 if x < 0 else 1
    s, d = src[side], dst[side]
    if not s.any() or not d.any():
        return 0.0
    grid = np.linspace(0, 1, len(s))
    u = np.interp(abs(x), s, grid)  # rank among the training readings on this side, clamped to [0, 1]
    return float((1 if side else -1) * np.interp(u, grid, d))


def calibrate(relative: tuple[float, float], training: np.ndarray, catalogue: np.ndarray) -> tuple[float, float]:
    """Map a reading relative to the reference onto the catalogue's distribution (see the module docstring).

    training: calibration_table of the training photos' out-of-fold readings; catalogue: calibration_table of
    the catalogue's (valence, arousal)."""
    return (_map_axis(relative[0], training[0], catalogue[0]), _map_axis(relative[1], training[1], catalogue[1]))


def quadrant_middle(q: int, catalogue: np.ndarray) -> tuple[float, float]:
    """The median music of quadrant q: per axis, the median distance from 0 of the catalogue's tracks on that
    side (0.5 where the catalogue has none there)."""
    mid = catalogue.shape[2] // 2
    sides = (1 if q in (1, 4) else 0, 1 if q in (1, 2) else 0)
    out = []
    for axis, side in enumerate(sides):
        m = float(catalogue[axis, side, mid]) or 0.5
        out.append(m if side else -m)
    return out[0], out[1]


@dataclass(frozen=True)
class Assignment:
    first: list[int]  # track index per picture
    total: float  # summed distance of the first tracks to the targets
    nearest_total: float  # the same with every picture's own nearest track (no variety)
    capacity: int  # how often a track may be a first track


def assign(targets: np.ndarray, tracks: np.ndarray) -> Assignment:
    """Minimum-cost first tracks for all pictures at once, each track used at most `capacity` times."""
    from scipy.optimize import linear_sum_assignment

    n, m = len(targets), len(tracks)
    if n == 0:
        return Assignment([], 0.0, 0.0, 1)
    cap = max(1, math.ceil(n / m))
    nearest = _nearest(targets, tracks, 1)[:, 0]
    nearest_total = float(np.linalg.norm(targets - tracks[nearest], axis=1).sum())
    if n * m * cap <= DENSE_LIMIT:
        cost = np.linalg.norm(targets[:, None, :] - tracks[None, :, :], axis=2)
        # the c-th use of a track costs c x (more than any assignment's whole distance): repeats come first
        # to be minimised, distance second
        penalty = _repeat_penalty(n)
        rows, cols = linear_sum_assignment(np.hstack([cost + c * penalty for c in range(cap)]))
        first = np.empty(n, dtype=int)
        first[rows] = cols % m
    else:
        first = _sparse_assign(targets, tracks, cap)
    total = float(np.linalg.norm(targets - tracks[first], axis=1).sum())
    return Assignment([int(i) for i in first], total, nearest_total, cap)


def _repeat_penalty(n: int) -> float:
    return 3.0 * n + 1.0  # any distance in [-1, 1]^2 is below 2.83, so a whole assignment costs less than 3 n


def _nearest(targets: np.ndarray, tracks: np.ndarray, k: int) -> np.ndarray:
    """(n, k) indices of the k nearest tracks, ties by catalogue order; chunked to bound memory."""
    out = np.empty((len(targets), k), dtype=int)
    for start in range(0, len(targets), 2048):
        d = np.linalg.norm(targets[start : start + 2048, None, :] - tracks[None, :, :], axis=2)
        idx = (
            np.argpartition(d, k - 1, axis=1)[:, :k]
            if k < len(tracks)
            else np.tile(np.arange(len(tracks)), (len(d), 1))
        )
        order = np.lexsort((idx, np.take_along_axis(d, idx, axis=1)), axis=1)
        out[start : start + 2048] = np.take_along_axis(idx, order, axis=1)
    return out


def _sparse_assign(targets: np.ndarray, tracks: np.ndarray, cap: int) -> np.ndarray:
    """The same optimum over each picture's nearest candidates, as a transportation problem (HiGHS dual simplex,
    whose basic solutions are whole assignments): each picture gets one track; each track is used between
    floor(n / m) and cap times (as evenly as possible, which is what the dense costs' repeat penalty asks
    for) when the candidates allow it, else at most cap times; greedy by distance if even that fails. Its size
    grows with pictures x candidates, not with the repeats (the dense form copies every track cap times)."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix, vstack

    n, m = len(targets), len(tracks)
    k = min(m, CANDIDATES)
    cand = _nearest(targets, tracks, k)
    dist = np.linalg.norm(targets[:, None, :] - tracks[cand], axis=2)
    pairs = np.arange(n * k)
    picture = csr_matrix((np.ones(n * k), (np.repeat(np.arange(n), k), pairs)), shape=(n, n * k))
    track = csr_matrix((np.ones(n * k), (cand.ravel(), pairs)), shape=(m, n * k))
    reachable = np.bincount(cand.ravel(), minlength=m)
    for low in (np.where(reachable >= n // m, n // m, 0), np.zeros(m)):
        got = linprog(
            dist.ravel(),
            A_ub=vstack([track, -track]),
            b_ub=np.r_[np.full(m, cap), -low],
            A_eq=picture,
            b_eq=np.ones(n),
            bounds=(0, 1),
            method="highs-ds",
        )
        if got.status == 0:
            x = got.x.reshape(n, k)
            first = cand[np.arange(n), np.argmax(x, axis=1)]
            if x.max(axis=1).min() > 0.5 and np.bincount(first, minlength=m).max() <= cap:
                return first
    return _greedy(targets, tracks, cand, dist, cap)


def _greedy(targets: np.ndarray, tracks: np.ndarray, cand: np.ndarray, dist: np.ndarray, cap: int) -> np.ndarray:
    """Fill by distance among the candidates, then the nearest track with room."""
    n, m = len(targets), len(tracks)
    k = cand.shape[1]
    used = np.zeros(m, dtype=int)
    first = np.full(n, -1)
    for flat in np.argsort(dist, axis=None, kind="stable"):
        i, j = divmod(int(flat), k)
        t = cand[i, j]
        if first[i] < 0 and used[t] < cap:
            first[i], used[t] = t, used[t] + 1
    for i in np.flatnonzero(first < 0):  # left over: the nearest track with room
        order = _nearest(targets[i : i + 1], tracks, m)[0]
        t = next(int(t) for t in order if used[t] < cap)
        first[i], used[t] = t, used[t] + 1
    return first
