import numpy as np
import pytest

from builder.picture import affect
from builder.records import Detection, Impression


def imp(v, a, w=1.0, word="w", source="s"):
    return Impression(word, v, a, w, source, 1.0)


def test_class_weight_is_summed_area_over_the_largest_class():
    dets = [
        Detection("person", 0.9, (0, 0, 0.5, 0.5)),  # 0.25
        Detection("person", 0.8, (0.5, 0.5, 1, 1)),  # 0.25 -> person 0.5
        Detection("dog", 0.7, (0, 0, 0.5, 0.2)),
    ]  # 0.1
    w = affect.class_weights(dets)
    assert w["person"] == pytest.approx(1.0)
    assert w["dog"] == pytest.approx(0.1 / 0.5)


def test_points_are_scaled_by_weight_and_mean_is_weighted():
    imps = [imp(0.8, 0.4, 1.0), imp(-0.4, -0.6, 0.5)]
    np.testing.assert_allclose(affect.points(imps), [[0.8, 0.4], [-0.2, -0.3]])
    v, a = affect.weighted_mean(imps)
    assert v == pytest.approx((0.8 - 0.2) / 1.5)
    assert a == pytest.approx((0.4 - 0.3) / 1.5)
    assert affect.weighted_mean([]) is None


def test_spherical_kmeans_groups_by_angle_not_distance():
    # two directions; magnitudes differ wildly within each direction
    pts = np.array([[0.9, 0.9], [0.1, 0.1], [0.5, 0.5], [-0.8, 0.1], [-0.08, 0.01]])
    labels, centres = affect.spherical_kmeans(pts, k=2)
    assert labels[0] == labels[1] == labels[2] != labels[3] == labels[4]
    np.testing.assert_allclose(centres[labels[0]], pts[:3].mean(axis=0))
    labels2, centres2 = affect.spherical_kmeans(pts, k=2)
    assert np.array_equal(labels, labels2) and np.allclose(centres, centres2)


def test_spherical_kmeans_never_makes_more_clusters_than_directions():
    pts = np.array([[0.5, 0.5], [0.25, 0.25], [0.5, 0.5]])
    labels, centres = affect.spherical_kmeans(pts, k=4)
    assert len(centres) == 1 and set(labels) == {0}


def test_vote_normalises_by_the_collection_means():
    # raw counts favour quadrant 1, but quadrant 3 is rare in the collection, so it wins the ratio
    counts_a, counts_b = (6, 0, 2, 0), (6, 0, 0, 2)
    means = affect.collection_means([counts_a, counts_b, (6, 2, 0, 0)])
    assert means == pytest.approx((6, 2 / 3, 2 / 3, 2 / 3))
    assert affect.vote(counts_a, means) == 3
    assert affect.vote((0, 0, 0, 0), means) is None


def test_valdez_mehrabian_orders_bright_calm_and_saturated_excited():
    bright_grey = affect.valdez_mehrabian(1.0, 0.0)
    dark_vivid = affect.valdez_mehrabian(0.2, 1.0)
    assert bright_grey[0] > dark_vivid[0]  # brightness raises pleasure
    assert dark_vivid[1] > bright_grey[1]  # saturation raises arousal
    for p in (
        bright_grey,
        dark_vivid,
        affect.valdez_mehrabian(0, 0),
        affect.valdez_mehrabian(1, 1),
    ):
        assert -1 <= p[0] <= 1 and -1 <= p[1] <= 1
