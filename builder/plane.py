"""The valence/arousal plane every wing shares: how its quadrants are numbered and named.

Quadrants: 1 = V+A+, 2 = V-A+, 3 = V-A-, 4 = V+A-; a coordinate of exactly 0 counts as positive.
Pictures (builder.picture), music (builder.music) and the gallery (builder.gallery) all speak of
quadrants, so the numbering lives here, below the three wings, not in any one of them: `quadrant`
for one point, `quadrants` for many at once (the same rule, for arrays), `quadrant_signs` the other
way round."""

from __future__ import annotations

import numpy as np

from builder.records import Point

QUADRANT_CENTRES: dict[int, Point] = {
    1: (0.5, 0.5),
    2: (-0.5, 0.5),
    3: (-0.5, -0.5),
    4: (0.5, -0.5),
}


def quadrant(point: Point) -> int:
    v, a = point
    if a >= 0:
        return 1 if v >= 0 else 2
    return 4 if v >= 0 else 3


def quadrants(points: np.ndarray) -> np.ndarray:
    """`quadrant` of each row of an (n, 2) array of (valence, arousal), as an (n,) integer array."""
    va = np.asarray(points, dtype=float).reshape(-1, 2)
    v, a = va[:, 0] >= 0, va[:, 1] >= 0
    return np.where(a, np.where(v, 1, 2), np.where(v, 4, 3))


def quadrant_signs(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quadrants 1-4 -> (valence positive, arousal positive), as boolean arrays."""
    q = np.asarray(q)
    return np.isin(q, (1, 4)), np.isin(q, (1, 2))
