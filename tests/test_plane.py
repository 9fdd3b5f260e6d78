"""builder.plane: the one rule that numbers the quadrants, for one point and for many."""

import numpy as np
import pytest

from builder import plane

POINTS = [
    ((0.3, 0.2), 1),
    ((-0.3, 0.2), 2),
    ((-0.3, -0.2), 3),
    ((0.3, -0.2), 4),
    ((0.0, 0.0), 1),
    ((-0.1, 0.0), 2),
    ((0.0, -0.1), 4),
]


@pytest.mark.parametrize("point,q", POINTS)
def test_quadrants_follow_the_published_numbering(point, q):
    assert plane.quadrant(point) == q


def test_many_points_get_the_quadrant_of_each_point_zero_counting_as_positive():
    rng = np.random.default_rng(0)
    edges = [0.0, -0.0, 1e-12, -1e-12, 0.5, -0.5]
    points = np.r_[
        np.array([p for p, _ in POINTS]),
        np.array([(v, a) for v in edges for a in edges]),
        rng.uniform(-1, 1, (200, 2)),
    ]
    got = plane.quadrants(points)
    assert got.shape == (len(points),) and got.dtype.kind == "i"
    assert got.tolist() == [plane.quadrant((float(v), float(a))) for v, a in points]
    assert got[: len(POINTS)].tolist() == [q for _, q in POINTS]
    assert plane.quadrants(np.zeros((0, 2))).shape == (0,)
    assert plane.quadrants([0.2, -0.1]).tolist() == [4]  # one point, as a flat pair


def test_quadrant_signs_undo_the_numbering():
    q = np.array([1, 2, 3, 4])
    positive_v, positive_a = plane.quadrant_signs(q)
    assert positive_v.tolist() == [True, False, False, True]
    assert positive_a.tolist() == [True, True, False, False]
    centres = np.array([plane.QUADRANT_CENTRES[k] for k in q])
    assert plane.quadrants(centres).tolist() == q.tolist()
    assert (positive_v == (centres[:, 0] > 0)).all() and (positive_a == (centres[:, 1] > 0)).all()
