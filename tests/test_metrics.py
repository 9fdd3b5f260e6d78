"""builder.lab.metrics: agreement per quadrant, balanced agreement, the smallest recall, Pearson r,
their intervals from resampling groups, and the music rows' figures."""

import numpy as np
import pytest

from builder import plane
from builder.lab.metrics import (
    intervals,
    metrics,
    music_baseline,
    music_metrics,
    quadrant_figures,
    resample_groups,
    resampled_sums,
    sign_metrics,
    weighted_r,
)
from builder.lab.report import format_intervals


def test_metrics_match_hand_computation():
    people = np.array([1, 1, 2, 3, 4, 4, 4, 4])
    pred = np.array([1, 2, 2, 4, 4, 4, 3, 4])
    va = np.random.default_rng(0).uniform(-1, 1, (8, 2))
    m = metrics(people, pred, va + 0.01, va)
    assert m["per_quadrant_agreement"] == [0.5, 1.0, 0.0, 0.75]
    assert m["overall_agreement"] == pytest.approx(5 / 8)
    assert m["balanced_agreement"] == pytest.approx((0.5 + 1 + 0 + 0.75) / 4)
    assert m["people_shares"] == [0.25, 0.125, 0.125, 0.5]
    assert sum(map(sum, m["confusion"])) == 8 and m["confusion"][0] == [1, 1, 0, 0]
    assert m["r_valence"] == pytest.approx(1.0)


def test_always_the_commonest_quadrant_scores_a_quarter_balanced():
    people = np.array([1, 2, 3, 4, 4, 4, 4])
    m = metrics(people, np.full(7, 4), None, np.zeros((7, 2)))
    assert m["overall_agreement"] == pytest.approx(4 / 7) and m[
        "balanced_agreement"
    ] == pytest.approx(0.25)


def test_intervals_hold_the_figure_and_widen_when_near_duplicates_are_drawn_together():
    rng = np.random.default_rng(1)
    true = rng.uniform(-1, 1, (60, 2))
    pred = true + rng.normal(scale=0.6, size=true.shape)
    people, q = plane.quadrants(true), plane.quadrants(pred)
    m = metrics(people, q, pred, true, np.arange(60))
    iv = m["interval_95"]
    for key in ("balanced_agreement", "r_valence", "r_arousal"):
        assert iv[key][0] < m[key] < iv[key][1]
    for recall, span in zip(m["per_quadrant_agreement"], iv["per_quadrant_agreement"]):
        assert span[0] <= recall <= span[1] and span[0] < span[1]
    assert iv["smallest_recall"][0] <= m["smallest_recall"] <= iv["smallest_recall"][1]
    assert m["smallest_recall"] == min(m["per_quadrant_agreement"])
    line = format_intervals({"x": m})
    assert "q1-q4 " in line and "smallest" in line
    perfect = metrics(people, people, true, true, np.arange(60))["interval_95"]
    assert perfect["balanced_agreement"] == [1.0, 1.0] and perfect["r_valence"] == [1.0, 1.0]
    assert perfect["smallest_recall"] == [1.0, 1.0]
    # a quadrant nobody chose has no recall and no interval
    no_q2 = np.where(people == 2, 1, people)
    assert (
        metrics(no_q2, q, pred, true, np.arange(60))["interval_95"]["per_quadrant_agreement"][1]
        is None
    )

    # each photo four times: as one theme per photo, or as 240 independent photos (too sure of
    # itself)
    def four(x):
        return np.repeat(x, 4, axis=0)

    grouped = intervals(four(people), four(q), four(pred), four(true), np.repeat(np.arange(60), 4))
    loose = intervals(four(people), four(q), four(pred), four(true), np.arange(240))
    assert grouped["r_valence"][1] - grouped["r_valence"][0] > 1.5 * (
        loose["r_valence"][1] - loose["r_valence"][0]
    )
    assert (
        "balanced" in format_intervals({"x": m})
        and format_intervals({"y": {"interval_95": None}}) == ""
    )


def test_music_agreement_counts_the_first_tracks_labels_per_peoples_quadrant():
    people = np.array([1, 1, 2, 3, 4, 4])
    labels = {"a": 1, "b": 2, "c": 3, "d": 4}
    m = music_metrics(
        people, ["a", "b", "b", "x", "d", "c"], labels, np.zeros((6, 2)), np.arange(6)
    )
    # q1: a yes, b no -> 0.5; q2: b yes -> 1; q3: unlabelled x -> 0; q4: d yes, c no -> 0.5
    assert m["per_quadrant_agreement"] == [0.5, 1.0, 0.0, 0.5] and m[
        "balanced_agreement"
    ] == pytest.approx(0.5)
    assert m["unlabelled_first"] == 1 and m["method_shares"] == pytest.approx(
        [1 / 6, 2 / 6, 1 / 6, 1 / 6]
    )
    lo, hi = m["interval_95"]["balanced_agreement"]
    assert 0 <= lo <= 0.5 <= hi <= 1 and hi - lo > 0.1  # six photos: a wide interval
    base = music_baseline(people, ["a", "b", "c", "d", "a", "a"], labels)
    assert base["per_quadrant_agreement"] == pytest.approx([0.5, 1 / 6, 1 / 6, 1 / 6])
    assert base["balanced_agreement"] == pytest.approx(0.25)


def test_music_sign_intervals_resample_artists_and_hold_the_figures():
    """Per-axis sign accuracy and balanced agreement with 95 % intervals drawn over artists: the
    interval holds the figure, and an artist whose clips are all right or all wrong together widens
    it against one clip each."""
    rng = np.random.default_rng(5)
    true_q = rng.integers(1, 5, 200)
    va = (
        np.where(rng.random((200, 2)) < 0.8, 1.0, -1.0)
        * np.c_[
            np.where(np.isin(true_q, (1, 4)), 1.0, -1.0),
            np.where(np.isin(true_q, (1, 2)), 1.0, -1.0),
        ]
    )  # each sign right 80 % of the time
    single = sign_metrics(true_q, va, np.arange(200))
    for key in ("balanced_agreement", "valence_sign_accuracy", "arousal_sign_accuracy"):
        lo, hi = single["interval_95"][key]
        assert lo <= single[key] <= hi and 0.02 < hi - lo < 0.3
    lumped = np.repeat(
        np.arange(20), 10
    )  # ten clips per artist, sorted so an artist's clips are alike
    order = np.argsort(va[:, 0] == np.where(np.isin(true_q, (1, 4)), 1.0, -1.0), kind="stable")
    grouped = sign_metrics(true_q[order], va[order], lumped)
    width = lambda m: np.subtract(*m["interval_95"]["valence_sign_accuracy"][::-1])  # noqa: E731
    assert grouped["valence_sign_accuracy"] == pytest.approx(single["valence_sign_accuracy"])
    assert width(grouped) > 1.5 * width(single)


def test_figures_from_counts_of_quadrant_pairs_are_those_of_one_quadrant_per_item():
    rng = np.random.default_rng(4)
    people = rng.integers(1, 5, 200)
    people[people == 3] = 2  # a quadrant nobody used
    read = np.where(rng.random(200) < 0.6, people, rng.integers(0, 5, 200))  # 0: read none
    confusion = np.zeros((4, 5))
    np.add.at(confusion, (people - 1, read), 1)
    f, m = quadrant_figures(confusion), metrics(people, read, None, np.zeros((200, 2)))
    assert f["overall"] == pytest.approx(m["overall_agreement"])
    assert f["balanced"] == pytest.approx(m["balanced_agreement"])
    assert f["smallest"] == pytest.approx(m["smallest_recall"])
    assert np.isnan(f["recall"][2]) and m["per_quadrant_agreement"][2] is None
    assert [f["recall"][q] for q in (0, 1, 3)] == pytest.approx(
        [m["per_quadrant_agreement"][q] for q in (0, 1, 3)]
    )
    assert f["people_shares"].tolist() == pytest.approx(m["people_shares"])
    assert f["reading_shares"].tolist() == pytest.approx(m["method_shares"])
    # a leading axis of draws is kept; a draw with nothing counted has no figure
    stacked = quadrant_figures(np.stack([confusion, 2 * confusion, np.zeros((4, 5))]))
    assert stacked["balanced"][:2] == pytest.approx([m["balanced_agreement"]] * 2)
    assert np.isnan(stacked["overall"][2]) and np.isnan(stacked["balanced"][2])


def test_resampled_sums_draw_the_groups_resample_groups_draws_a_few_at_a_time():
    from scipy import sparse

    per_group = sparse.random(50, 7, density=0.3, random_state=1, format="csr")
    names = np.array([f"g{i:02d}" for i in range(50)])
    whole = resample_groups(names, draws=100, seed=3) @ per_group.toarray()
    for cells in (120, 10**6):  # two draws at a time, or all at once: the same draws
        sums = resampled_sums(per_group, draws=100, seed=3, cells=cells)
        assert sums.shape == (101, 7)
        assert np.allclose(sums[0], per_group.toarray().sum(axis=0))
        assert np.allclose(sums[1:], whole)


def test_weighted_r_is_pearson_r_of_the_items_each_draw_holds():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=30), rng.normal(size=(3, 30))
    held = rng.random((3, 30)) < 0.7
    r = weighted_r(held.astype(float), x, y)
    for k in range(3):
        assert r[k] == pytest.approx(np.corrcoef(x[held[k]], y[k, held[k]])[0, 1])
