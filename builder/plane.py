"""The valence/arousal plane every wing shares: how its quadrants are numbered and named.

Quadrants: 1 = V+A+, 2 = V-A+, 3 = V-A-, 4 = V+A-; a coordinate of exactly 0 counts as positive. Pictures
(builder.picture), music (builder.music) and the gallery (builder.gallery) all speak of quadrants, so the
numbering lives here, below the three wings, not in any one of them.
"""

from __future__ import annotations

from builder.records import Point

QUADRANT_NAMES = {
    1: "excited-pleasant",
    2: "excited-unpleasant",
    3: "calm-unpleasant",
    4: "calm-pleasant",
}
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
