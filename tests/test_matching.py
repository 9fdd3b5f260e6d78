"""Feeling -> music for a whole exhibition: calibration, the collection-wide assignment, one frame, explanations."""

from __future__ import annotations

import itertools

import numpy as np
import orjson
import pytest

from builder import plane
from builder.music.matching import assign, calibrate, calibration_table, quadrant_middle

from .conftest import MIRROR, requires_mirror


def test_calibration_keeps_signs_and_ranks_and_reaches_the_catalogues_extremes():
    rng = np.random.default_rng(0)
    training = calibration_table(rng.normal(0, [0.2, 0.1], size=(400, 2)))  # readings shrink, arousal more
    music = rng.uniform(-1, 1, size=(300, 2)) * [0.8, 0.9]
    table = calibration_table(music)
    xs = np.linspace(-0.6, 0.6, 61)
    mapped = np.array([calibrate((x, x / 2), training, table) for x in xs])
    assert (np.diff(mapped[:, 0]) >= 0).all() and (np.diff(mapped[:, 1]) >= 0).all()  # monotone per axis
    assert all(plane.quadrant(tuple(m)) == plane.quadrant((x, x / 2)) for m, x in zip(mapped, xs))
    assert calibrate((0.0, 0.0), training, table) == pytest.approx(
        (music[:, 0][music[:, 0] >= 0].min(), music[:, 1][music[:, 1] >= 0].min())
    )
    far = calibrate((5.0, -5.0), training, table)  # beyond every training photo: the catalogue's most extreme
    assert far == pytest.approx((music[:, 0].max(), music[:, 1].min()))
    # the widened targets spread as the music does, although the readings spread 3-9 times less
    readings = rng.normal(0, [0.2, 0.1], size=(2000, 2))
    targets = np.array([calibrate(tuple(r), training, table) for r in readings])
    assert targets.std(axis=0) == pytest.approx(music.std(axis=0), rel=0.1)


def test_a_side_without_music_maps_to_zero_and_quadrant_middle_is_the_sides_median():
    table = calibration_table(np.array([[0.2, 0.3], [0.4, 0.5], [0.6, 0.7]]))  # only pleasant, excited music
    training = calibration_table(np.array([[-0.1, 0.1], [0.1, -0.1], [0.2, 0.2]]))
    assert calibrate((-0.05, -0.05), training, table) == (0.0, 0.0)
    assert quadrant_middle(1, table) == pytest.approx((0.4, 0.5))
    assert quadrant_middle(3, table) == pytest.approx((-0.5, -0.5))  # no music there: the quadrant's middle


def brute_force(targets, tracks, cap):
    best = None
    slots = [j for j in range(len(tracks)) for _ in range(cap)]
    for perm in itertools.permutations(slots, len(targets)):
        repeats = len(perm) - len(set(perm))
        cost = sum(np.linalg.norm(targets[i] - tracks[j]) for i, j in enumerate(perm))
        key = (repeats, round(cost, 9))
        best = key if best is None or key < best else best
    return best


@pytest.mark.parametrize("n, m, seed", [(4, 6, 0), (5, 5, 1), (6, 3, 2), (5, 2, 3)])
def test_the_assignment_is_optimal_repeats_first_then_distance(n, m, seed):
    rng = np.random.default_rng(seed)
    targets, tracks = rng.uniform(-1, 1, (n, 2)), rng.uniform(-1, 1, (m, 2))
    a = assign(targets, tracks)
    repeats = n - len(set(a.first))
    assert repeats == max(0, n - m)  # as few repeats as the catalogue allows
    assert (repeats, round(a.total, 9)) == brute_force(targets, tracks, a.capacity)
    assert a.total >= a.nearest_total - 1e-12


def test_sparse_matching_is_close_to_the_dense_one(monkeypatch):
    """Large collections match over each picture's 48 nearest tracks: an approximation, within 1 % here."""
    from builder.music import matching

    rng = np.random.default_rng(4)
    targets, tracks = rng.normal(0, 0.3, (300, 2)), rng.uniform(-1, 1, (700, 2))
    dense = assign(targets, tracks)
    monkeypatch.setattr(matching, "DENSE_LIMIT", 0)
    sparse = assign(targets, tracks)
    assert len(set(sparse.first)) == 300 and dense.total <= sparse.total <= 1.01 * dense.total


def test_many_pictures_on_few_tracks_share_them_evenly_at_the_least_distance(monkeypatch):
    """The transportation form (no copy of a track per repeat) finds the dense form's optimum when every track
    is a candidate: 1000 pictures on 8 tracks use each exactly 125 times, at the same summed distance."""
    from builder.music import matching

    rng = np.random.default_rng(9)
    targets, tracks = rng.normal(0, 0.4, (1000, 2)), rng.uniform(-1, 1, (8, 2))
    dense = assign(targets, tracks)
    monkeypatch.setattr(matching, "DENSE_LIMIT", 0)
    sparse = assign(targets, tracks)
    assert np.bincount(sparse.first, minlength=8).tolist() == [125] * 8 == np.bincount(dense.first).tolist()
    assert sparse.total == pytest.approx(dense.total, rel=1e-9)


@requires_mirror
def test_a_large_collection_meets_the_whole_catalogue_wide_and_in_order(deam):
    """Readings spread like the learned model's on photos it never saw (drawn from the shipped calibration's own
    out-of-fold quantiles, either side of the origin), mapped with that calibration onto all 1802 DEAM tracks:
    wide, rank-faithful, all different first tracks."""
    from scipy.stats import spearmanr

    from builder.picture.feeling import FeelingModel

    model = FeelingModel.load()
    cat = np.array([(t.valence, t.arousal) for t in deam.tracks])
    rng = np.random.default_rng(7)
    grid = np.linspace(0, 1, model.calibration.shape[2])
    sides = rng.integers(0, 2, size=(518, 2))
    readings = np.array(
        [
            [
                (1 if sd else -1) * np.interp(u, grid, model.calibration[k, sd])
                for k, (sd, u) in enumerate(zip(side, us))
            ]
            for side, us in zip(sides, rng.uniform(0, 1, size=(518, 2)))
        ]
    )
    assert 0.1 < readings.std(axis=0).min() and readings.std(axis=0).max() < 0.5
    targets = np.array([calibrate(tuple(r), model.calibration, calibration_table(cat)) for r in readings])
    a = assign(targets, cat)
    first = cat[a.first]
    assert len(set(a.first)) == 518
    for k in range(2):
        assert first[:, k].std() >= 0.8 * cat[:, k].std()
        assert spearmanr(readings[:, k], first[:, k]).statistic >= 0.9


@pytest.fixture(scope="module")
def learned(demo_build):
    out, result = demo_build
    return out, orjson.loads((out / "gallery.json").read_bytes()), result


def test_av_target_and_quadrant_share_one_frame(learned):
    from builder.picture.feeling import FeelingModel

    _, g, _ = learned
    ref = FeelingModel.load().reference
    assert g["reference"] == pytest.approx(ref.tolist(), abs=1e-4)
    for im in g["images"]:
        assert im["quadrant_rule"] == "reading"
        assert plane.quadrant(tuple(im["av"])) == im["quadrant"] == plane.quadrant(tuple(im["target"]))
        assert im["impressions"] == [] and im["clusters"] == []  # no impression word played a part


def test_contributions_add_up_to_the_reading_and_name_what_was_seen(learned):
    from builder.picture.feeling import FeelingModel

    _, g, _ = learned
    for im in g["images"]:
        groups = [c["group"] for c in im["contributions"]]
        assert groups[:5] == [name for name, _ in FeelingModel.load().feature_groups()]
        assert groups[5:] in ([], ["where the quadrant lines are drawn"])  # the origin moved from the mean
        total = np.sum([[c["valence"], c["arousal"]] for c in im["contributions"]], axis=0)
        if all(abs(x + r) < 0.999 for x, r in zip(im["av"], g["reference"])):  # not clipped to [-1, 1]
            assert total == pytest.approx(im["av"], abs=2e-3)
        assert 1 <= len(im["seen"]) <= 5 and all(s["label"] and 0.01 <= s["score"] <= 1 for s in im["seen"])
        assert [s["score"] for s in im["seen"]] == sorted((s["score"] for s in im["seen"]), reverse=True)


def test_first_tracks_are_different_and_the_summary_prints_both_totals(learned):
    _, g, result = learned
    m = g["matching"]
    n = len(g["images"])
    firsts = [im["tracks"][0]["id"] for im in g["images"]]
    assert m["pictures"] == n and m["distinct_first"] == len(set(firsts)) == min(n, g["catalogue"]["size"])
    assert m["total"] >= m["nearest_total"] > 0
    assert f"{m['distinct_first']} different for {n} pictures" in result.output
    assert f"{m['total']:.3f} against {m['nearest_total']:.3f}" in result.output


def test_picture_pages_explain_in_the_frame_of_their_quadrant(learned):
    out, g, _ = learned
    for im in g["images"]:
        html = (out / im["page"]).read_text(encoding="utf-8")
        assert f"valence {im['av'][0]:+.2f}, arousal {im['av'][1]:+.2f}" in html
        assert "relative to the average rated photo" in html and "What moved the reading" in html
        assert "Impression words" not in html and 'class="word"' not in html
        assert f"valence {im['target'][0]:+.2f}, arousal {im['target'][1]:+.2f} of the catalogue" in html


def test_published_methods_say_their_quadrant_is_a_vote(tmp_path, session_cache):
    from typer.testing import CliRunner

    from builder.cli import app

    from .conftest import DEMO

    out = tmp_path / "o"
    result = CliRunner().invoke(
        app,
        [
            "build",
            str(DEMO),
            "--out",
            str(out),
            "--mirror",
            str(MIRROR),
            "--cache-dir",
            str(session_cache),
            "--offline",
            "--method",
            "objects",
        ],
    )
    assert result.exit_code == 0, result.output
    g = orjson.loads((out / "gallery.json").read_bytes())
    voted = [im for im in g["images"] if im["quadrant_rule"] == "vote"]
    assert voted
    for im in voted:
        assert "published vote" in (out / im["page"]).read_text(encoding="utf-8")
    for im in g["images"]:
        if im["quadrant_rule"] == "av":
            assert plane.quadrant(tuple(im["av"])) == im["quadrant"]
