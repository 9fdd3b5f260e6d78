"""Feeling -> music for a whole exhibition: where to look for each picture's music, and who gets
which track.

Calibration. The learned model's readings shrink towards the average photo (on held-out photos they
spread half as wide in arousal as the music does), so a plain nearest-track search gives calm and
excited pictures the same middling music. Instead each picture's reading is mapped onto the
catalogue's own distribution, axis by axis and side by side: a reading that is more pleasant than
the reference by more than u of the training photos that are more pleasant than the reference (their
out-of-fold readings, stored with the model) is sent to the u-quantile of the catalogue's pleasant
tracks (valence > 0); likewise below the reference, and for arousal. The mapping is monotone (ranks
are kept), the reference goes to 0, and signs are kept, so the point where music is looked for (the
`target`) lies in the picture's own quadrant, and the most excited pictures meet the most excited
music.

Assignment. First tracks are chosen for the whole collection at once, as a minimum-cost flow of
pictures to tracks. Quadrants first: a picture's first track lies in the picture's quadrant whenever
the catalogue has a track there (a picture whose quadrant has none takes the nearest track anywhere,
and is flagged off-quadrant: a curator would rather hear a fitting track twice than a wrong one
once). Within its quadrant each picture costs its track's distance from the target, and the u-th use
of one track costs a repeat penalty of lam x (u - 1) more. The penalty is fitted per collection: the
largest lam (most variety) whose assignment keeps the summed distance within BOUND (1.5) times the
nearest-track total (every picture's nearest track in its quadrant, which is lam = 0), found by
halving lam from MAX_PENALTY (a repeat dearer than any one move across the plane: repeats as few as
the quadrants allow). Because a larger penalty never lowers the summed distance, the halving finds
the largest grid value within the bound. An optional cap (--repeats N) bounds the uses of any track;
a quadrant with fewer tracks than pictures raises its own cap to the least that seats them, since
the quadrant is kept first.

Pins. A picture whose first track the curator pinned (--curation's track column) is not solved for:
its first track is the pin. Each pinned track starts with the uses its pins make of it (`used`), so
the next use of that track is charged as the (used + 1)-th: another picture takes a pinned track
only where it would also have taken a track that many uses deep (e.g. its quadrant has no other
track), and --repeats N counts the pins among the N (a quadrant's raised cap is the least that seats
its pictures beside the pins on its tracks). The summed distances (and so the fitted penalty's
bound) are those of the pictures solved for: a pin is the curator's choice, not a distance to trade.

The flow is solved exactly by linear_sum_assignment over one column per use of a track worth opening
(each quadrant on its own), while that matrix is small; else as a linear programme (scipy's HiGHS
dual simplex; its matrix is a network's, so basic solutions are whole assignments): x[i, j] sends
picture i to candidate track j (every track of its quadrant, or its CANDIDATES nearest ones when the
whole would be large), y opens blocks of uses of track j at their penalty, and an overflow use per
track at a prohibitive cost keeps the programme feasible when candidates or caps cannot seat every
picture. Its size grows with pictures x candidates plus at most BLOCKS blocks per track, not with
the repeat count: 10,000 pictures on 10 tracks stay a small programme.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

QUANTILES = 101
DENSE_LIMIT = (
    400_000  # picture-track pairs up to which every track of a picture's quadrant is a candidate
)
CANDIDATES = 48  # nearest tracks per picture considered beyond DENSE_LIMIT
# the fitted penalty keeps the summed distance within this many times the nearest-track total
BOUND = 1.5
MAX_PENALTY = 2 * math.sqrt(2)  # the plane's diagonal: a repeat dearer than any single move
HALVINGS = 8  # the penalty grid: MAX_PENALTY / 2**k, k = 0..HALVINGS, then 0
OVERFLOW = 100.0  # cost of a use beyond a track's slots (only when nothing else can seat a picture)
# cost-matrix cells (pictures x possible uses) of one quadrant for linear_sum_assignment
DENSE_CELLS = 4_000_000
BLOCKS = (
    64  # the linear programme charges the penalty in at most this many blocks of uses per track
)


def side_quantiles(values: np.ndarray, n: int = QUANTILES) -> np.ndarray:
    """(2, n) quantiles of |x| for x < 0 (row 0) and x >= 0 (row 1); a side with no value gets
    zeros."""
    out = np.zeros((2, n))
    for side, mask in enumerate((values < 0, values >= 0)):
        if mask.any():
            out[side] = np.quantile(np.abs(values[mask]), np.linspace(0, 1, n))
    return out


def calibration_table(readings: np.ndarray) -> np.ndarray:
    """(2 axes, 2 sides, QUANTILES) table of readings relative to the reference (valence,
    arousal)."""
    return np.stack([side_quantiles(readings[:, k]) for k in range(2)])


def _map_axis(x: float, src: np.ndarray, dst: np.ndarray) -> float:
    side = 0 if x < 0 else 1
    s, d = src[side], dst[side]
    if not s.any() or not d.any():
        return 0.0
    grid = np.linspace(0, 1, len(s))
    u = np.interp(
        abs(x), s, grid
    )  # rank among the training readings on this side, clamped to [0, 1]
    return float((1 if side else -1) * np.interp(u, grid, d))


def calibrate(
    relative: tuple[float, float], training: np.ndarray, catalogue: np.ndarray
) -> tuple[float, float]:
    """Map a reading relative to the reference onto the catalogue's distribution (see the module
    docstring).

    training: calibration_table of the training photos' out-of-fold readings; catalogue:
    calibration_table of the catalogue's (valence, arousal)."""
    return (
        _map_axis(relative[0], training[0], catalogue[0]),
        _map_axis(relative[1], training[1], catalogue[1]),
    )


def quadrant_middle(q: int, catalogue: np.ndarray) -> tuple[float, float]:
    """The median music of quadrant q: per axis, the median distance from 0 of the catalogue's
    tracks on that side (0.5 where the catalogue has none there)."""
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
    nearest_total: float  # the same with every picture's nearest track in its quadrant (no variety)
    capacity: int  # how often the most used track is a first track
    off_quadrant: list[
        bool
    ]  # per picture: its first track lies outside its quadrant (no track there)
    penalty: float = (
        0.0  # the repeat penalty used (distance units per earlier use of the same track)
    )
    cap: int = 0  # the --repeats cap asked for (0: none)
    bound: float = (
        BOUND  # the summed distance the penalty was fitted to, as a multiple of nearest_total
    )
    # first, total, nearest_total, off_quadrant and kept are of the pictures solved for (pinned ones
    # are not); capacity counts the pins' uses too

    @property
    def kept(self) -> int:
        """Pictures whose first track lies in their own quadrant."""
        return len(self.first) - sum(self.off_quadrant)


def assign(
    targets: np.ndarray,
    tracks: np.ndarray,
    *,
    quadrants: np.ndarray | list[int] | None = None,
    repeats: int = 0,
    bound: float = BOUND,
    penalty: float | None = None,
    used: np.ndarray | list[int] | None = None,
) -> Assignment:
    """First tracks for all pictures at once (see the module docstring).

    quadrants: each picture's quadrant (default: its target's); repeats: the most uses of one
    track (0: no cap, the penalty alone decides); bound: the summed distance the fitted penalty
    may reach, as a multiple of the nearest-track total; penalty: a repeat penalty to use instead
    of fitting one; used: per track, the uses already made of it as a first track (the curator's
    pins; their pictures are not among the targets)."""
    from builder import plane

    targets = np.asarray(targets, dtype=np.float64).reshape(-1, 2)
    tracks = np.asarray(tracks, dtype=np.float64).reshape(-1, 2)
    n, m = len(targets), len(tracks)
    used = np.zeros(m, dtype=int) if used is None else np.asarray(used, dtype=int).reshape(m)
    if n == 0:
        return Assignment([], 0.0, 0.0, int(used.max(initial=0)), [], 0.0, repeats, bound)
    pq = (
        plane.quadrants(targets)
        if quadrants is None
        else np.asarray(quadrants, dtype=int).reshape(n)
    )
    tq = plane.quadrants(tracks)
    cand, dist, off, fair, groups, complete = _candidates(targets, tracks, pq, tq, used)
    nearest_total = float(dist[:, 0].sum())
    stray = np.bincount(cand[off, 0], minlength=m)
    caps = _caps(pq, tq, m, repeats, stray, used)
    solve = _Flow(targets, tracks, cand, dist, caps, fair, groups, complete, used, stray)
    best = None if penalty is None else (solve(penalty), penalty)
    if best is None and (
        n > 1 or used.any()
    ):  # one picture alone has no repeat to trade, unless against a pin
        limit = bound * nearest_total + 1e-9
        grid = [
            MAX_PENALTY / 2**k for k in range(HALVINGS + 1)
        ]  # descending: the first within the bound wins
        first = solve(
            grid[0]
        )  # the common case: fewest repeats already within the bound, one solve
        if _total(targets, tracks, first) <= limit:
            best = (first, grid[0])
        else:  # a binary search for the first (largest) grid value whose total is within the limit
            lo, hi = 1, len(grid) - 1
            while lo <= hi:
                mid = (lo + hi) // 2
                first = solve(grid[mid])
                if _total(targets, tracks, first) <= limit:
                    best, hi = (first, grid[mid]), mid - 1
                else:
                    lo = mid + 1
    if (
        best is None
    ):  # no penalty at all: every picture its nearest track, unless the cap stands in the way
        nearest = cand[:, 0]
        capped = (np.bincount(nearest, minlength=m) > caps).any()
        best = (solve(0.0) if capped else nearest, 0.0)
    first, lam = best
    total = _total(targets, tracks, first)
    uses = np.bincount(first, minlength=m) + used
    return Assignment(
        [int(i) for i in first],
        total,
        nearest_total,
        int(uses.max()),
        [bool(o or tq[f] != q) for o, f, q in zip(off, first, pq)],
        lam,
        repeats,
        bound,
    )


def _total(targets: np.ndarray, tracks: np.ndarray, first: np.ndarray) -> float:
    return float(np.linalg.norm(targets - tracks[first], axis=1).sum())


def _candidates(
    targets: np.ndarray, tracks: np.ndarray, pq: np.ndarray, tq: np.ndarray, used: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list, bool]:
    """(candidates, their distances, whether the picture's quadrant has no track, each track's
    fair share of uses: its groups' pictures and pinned uses per track, summed; the groups as
    (pictures, allowed tracks, no track there); whether every track of a picture's quadrant is
    its candidate), candidates nearest first. A picture's candidates are the tracks of its
    quadrant (all of them up to DENSE_LIMIT pairs, else the CANDIDATES nearest); where its
    quadrant has none, only the nearest track anywhere. Rows are padded with their last
    candidate."""
    n, m = len(targets), len(tracks)
    groups = []
    for q in (1, 2, 3, 4):
        rows = np.flatnonzero(pq == q)
        if len(rows):
            allowed = np.flatnonzero(tq == q)
            groups.append((rows, allowed if len(allowed) else np.arange(m), not len(allowed)))
    pairs = sum(len(r) * len(a) for r, a, empty in groups if not empty)
    width = max(
        1 if e else len(a) if pairs <= DENSE_LIMIT else min(len(a), CANDIDATES)
        for _, a, e in groups
    )
    cand = np.empty((n, width), dtype=int)
    off = np.zeros(n, dtype=bool)
    fair = np.zeros(m, dtype=int)
    for rows, allowed, empty in groups:
        # a picture whose quadrant has no music takes the nearest track anywhere: no variety is
        # worth a second step away from its feeling
        k = 1 if empty else len(allowed) if pairs <= DENSE_LIMIT else min(len(allowed), CANDIDATES)
        local = allowed[_nearest(targets[rows], tracks[allowed], k)]
        cand[rows] = np.pad(local, ((0, 0), (0, width - k)), mode="edge")
        off[rows] = empty
        if empty:
            fair += np.bincount(local[:, 0], minlength=m)
        else:
            # the pins on the quadrant's tracks share it too: the least used track has at most this
            # many uses
            fair[allowed] += math.ceil((len(rows) + used[allowed].sum()) / len(allowed))
    dist = np.linalg.norm(targets[:, None, :] - tracks[cand], axis=2)
    return cand, dist, off, fair, groups, pairs <= DENSE_LIMIT


def _caps(
    pq: np.ndarray, tq: np.ndarray, m: int, repeats: int, stray: np.ndarray, used: np.ndarray
) -> np.ndarray:
    """Per track: the most uses the pictures solved for may make of it. With --repeats N that is
    N less its pinned uses (used), the N raised in a quadrant with too few free uses to the least
    that seats its pictures beside the pins, and by the pictures whose quadrant has no music and
    who take it as their nearest (stray: their count per track), since quadrants are kept first;
    without a cap, every picture."""
    if not repeats:
        return np.full(m, len(pq))
    caps = np.full(m, repeats)
    for q in (1, 2, 3, 4):
        here, k = tq == q, int((pq == q).sum())
        if here.any() and k:
            lo, hi = repeats, repeats + k + int(used[here].max())  # hi seats them all on one track
            while (
                lo < hi
            ):  # the least cap c whose free uses, sum of max(0, c - used), seat the k pictures
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if np.maximum(0, mid - used[here]).sum() >= k else (mid + 1, hi)
            caps[here] = lo
    return np.maximum(0, caps - used) + stray


class _Flow:
    """The minimum-cost flow of the module docstring for one set of candidates, solved for a
    given penalty: exactly by linear_sum_assignment over one column per possible use of a track
    while that matrix is small (each quadrant on its own when no picture lacks a track in its
    quadrant), else as a linear programme."""

    def __init__(self, targets, tracks, cand, dist, caps, fair, groups, complete, used, stray):
        n, k = cand.shape
        keep = np.ones((n, k), dtype=bool)
        keep[:, 1:] = cand[:, 1:] != cand[:, :-1]  # padding repeats the last candidate: drop it
        self.pic, self.trk, self.dist = np.nonzero(keep)[0], cand[keep], dist[keep]
        self.targets, self.tracks = targets, tracks
        self.n, self.m, self.caps, self.fair, self.cand = n, len(tracks), caps, fair, cand
        self.used, self.stray = (
            used,
            stray,
        )  # pinned uses per track; pictures that can take only that track
        reach = np.bincount(self.trk, minlength=self.m)
        self.reach = np.minimum(
            caps, np.maximum(1, reach)
        )  # a track its pins filled to the cap opens no use
        # quadrants share no track unless some picture's quadrant has none (it may take any track)
        self.parts = (
            groups if all(len(a) < len(tracks) or len(groups) == 1 for _, a, _ in groups) else None
        )
        self.dense = complete  # every track of a picture's quadrant is its candidate
        self.distances: dict[tuple, np.ndarray] = {}

    def spare(self, lam: float) -> np.ndarray:
        """Uses worth opening per track: more uses (pinned ones included) than its fair share
        plus MAX_PENALTY / lam would give one of its pictures a move that pays (to a less used
        track of its quadrant); never fewer than the pictures that can take no other track."""
        if lam <= 0:
            return self.reach
        worth = np.maximum(self.stray, self.fair + 1 + int(MAX_PENALTY / lam) - self.used)
        return np.minimum(self.reach, worth)

    def __call__(self, lam: float) -> np.ndarray:
        spare = self.spare(lam)
        parts = self.parts or [(np.arange(self.n), np.arange(self.m), False)]
        small = all(len(r) * spare[a].sum() <= DENSE_CELLS for r, a, _ in parts)
        if self.dense and small and all(spare[a].sum() >= len(r) for r, a, _ in parts):
            first = np.empty(self.n, dtype=int)
            for rows, allowed, _ in parts:
                first[rows] = self._dense(rows, allowed, spare, lam)
            return first
        return self._programme(spare, lam)

    def _dense(
        self, rows: np.ndarray, allowed: np.ndarray, spare: np.ndarray, lam: float
    ) -> np.ndarray:
        from scipy.optimize import linear_sum_assignment

        key = (rows[0], len(rows), len(allowed))
        if key not in self.distances:  # a part's distances serve every penalty tried
            self.distances[key] = np.linalg.norm(
                self.targets[rows, None, :] - self.tracks[None, allowed, :], axis=2
            )
        local = np.repeat(np.arange(len(allowed)), spare[allowed])
        cols = allowed[local]
        use = np.concatenate([np.arange(s) for s in spare[allowed]])
        cost = self.distances[key][:, local] + lam * (
            use + self.used[cols]
        )  # a pin's uses come first
        if (
            len(rows) == self.n and len(allowed) == self.m
        ):  # one joint problem: only a picture's own candidates
            allowed_pairs = np.zeros((self.n, self.m), dtype=bool)
            allowed_pairs[self.pic, self.trk] = True
            cost = np.where(allowed_pairs[rows][:, cols], cost, OVERFLOW * (1 + len(rows)))
        r, c = linear_sum_assignment(cost)
        out = np.empty(len(rows), dtype=int)
        out[r] = cols[c]
        return out

    def _programme(self, spare: np.ndarray, lam: float) -> np.ndarray:
        """x[i, j] for each candidate pair, y per block of uses of a track (blocks of `size` uses
        past the first ones, so the programme stays small when tracks are used hundreds of times:
        the penalty is then charged per block, within lam x size / 2 of the exact one), an
        overflow per track."""
        from scipy.optimize import linprog
        from scipy.sparse import coo_matrix, hstack

        n, m = self.n, self.m
        size = max(1, int(spare.max()) // BLOCKS)
        counts = -(-spare // size)  # blocks per track
        block_track = np.repeat(np.arange(m), counts)
        block_index = np.concatenate([np.arange(c) for c in counts])
        block_cap = np.minimum(size, spare[block_track] - block_index * size)
        # the mean penalty of the block's uses, counted after the track's pinned uses
        block_cost = lam * (self.used[block_track] + block_index * size + (block_cap - 1) / 2)
        nx, ny = len(self.dist), len(block_track)
        a = hstack(
            [
                coo_matrix(  # shaped: the last tracks may be no picture's candidate
                    (
                        np.ones(2 * nx),
                        (np.r_[self.pic, n + self.trk], np.r_[np.arange(nx), np.arange(nx)]),
                    ),
                    shape=(n + m, nx),
                ),
                coo_matrix((-np.ones(ny), (n + block_track, np.arange(ny))), shape=(n + m, ny)),
                coo_matrix((-np.ones(m), (n + np.arange(m), np.arange(m))), shape=(n + m, m)),
            ]
        ).tocsr()
        got = linprog(
            np.r_[
                self.dist, block_cost, np.full(m, OVERFLOW + lam * (n + self.used.max(initial=0)))
            ],
            A_eq=a,
            b_eq=np.r_[np.ones(n), np.zeros(m)],
            bounds=np.c_[np.zeros(nx + ny + m), np.r_[np.ones(nx), block_cap, np.full(m, n)]],
            method="highs-ds",
        )
        if (
            got.status != 0
        ):  # not expected (the overflow seats everyone): each picture its nearest candidate
            return self.cand[:, 0].copy()
        order = np.lexsort((-got.x[:nx], self.pic))  # per picture, its largest x first
        starts = np.r_[0, np.flatnonzero(np.diff(self.pic[order])) + 1]
        return self.trk[order[starts]]


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
