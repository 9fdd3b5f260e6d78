"""Feeling -> music for a whole exhibition: calibration, the collection-wide assignment, one frame,
explanations."""

from __future__ import annotations

import itertools
from html import unescape

import numpy as np
import orjson
import pytest

from builder import plane
from builder.music.matching import assign, calibrate, calibration_table, quadrant_middle

from .conftest import MIRROR, cli_build, requires_mirror


def test_calibration_keeps_signs_and_ranks_and_reaches_the_catalogues_extremes():
    rng = np.random.default_rng(0)
    training = calibration_table(
        rng.normal(0, [0.2, 0.1], size=(400, 2))
    )  # readings shrink, arousal more
    music = rng.uniform(-1, 1, size=(300, 2)) * [0.8, 0.9]
    table = calibration_table(music)
    xs = np.linspace(-0.6, 0.6, 61)
    mapped = np.array([calibrate((x, x / 2), training, table) for x in xs])
    assert (np.diff(mapped[:, 0]) >= 0).all() and (
        np.diff(mapped[:, 1]) >= 0
    ).all()  # monotone per axis
    assert all(plane.quadrant(tuple(m)) == plane.quadrant((x, x / 2)) for m, x in zip(mapped, xs))
    assert calibrate((0.0, 0.0), training, table) == pytest.approx(
        (music[:, 0][music[:, 0] >= 0].min(), music[:, 1][music[:, 1] >= 0].min())
    )
    far = calibrate(
        (5.0, -5.0), training, table
    )  # beyond every training photo: the catalogue's most extreme
    assert far == pytest.approx((music[:, 0].max(), music[:, 1].min()))
    # the widened targets spread as the music does, although the readings spread 3-9 times less
    readings = rng.normal(0, [0.2, 0.1], size=(2000, 2))
    targets = np.array([calibrate(tuple(r), training, table) for r in readings])
    assert targets.std(axis=0) == pytest.approx(music.std(axis=0), rel=0.1)


def test_a_side_without_music_maps_to_zero_and_quadrant_middle_is_the_sides_median():
    table = calibration_table(
        np.array([[0.2, 0.3], [0.4, 0.5], [0.6, 0.7]])
    )  # only pleasant, excited music
    training = calibration_table(np.array([[-0.1, 0.1], [0.1, -0.1], [0.2, 0.2]]))
    assert calibrate((-0.05, -0.05), training, table) == (0.0, 0.0)
    assert quadrant_middle(1, table) == pytest.approx((0.4, 0.5))
    assert quadrant_middle(3, table) == pytest.approx(
        (-0.5, -0.5)
    )  # no music there: the quadrant's middle


def brute_force(targets, tracks, lam, quadrants, cap=None):
    """The least distance + lam x (earlier uses of the same track) over every assignment that keeps
    each picture's quadrant where the catalogue has a track there, else gives it its nearest track
    (and, with cap, uses no track j more than cap[j] times)."""
    tq = [plane.quadrant(tuple(t)) for t in tracks]
    options = [  # a picture whose quadrant has no music: its nearest track
        [j for j in range(len(tracks)) if tq[j] == q]
        or [int(np.argmin(np.linalg.norm(tracks - t, axis=1)))]
        for q, t in zip(quadrants, targets)
    ]
    best = None
    for choice in itertools.product(*options):
        uses = np.bincount(choice, minlength=len(tracks))
        if cap is not None and (uses > cap).any():
            continue
        cost = sum(
            np.linalg.norm(targets[i] - tracks[j]) for i, j in enumerate(choice)
        ) + lam * sum(u * (u - 1) / 2 for u in uses)
        best = cost if best is None or cost < best else best
    return best


def objective(a, targets, tracks, lam):
    uses = np.bincount(a.first, minlength=len(tracks))
    return a.total + lam * sum(u * (u - 1) / 2 for u in uses)


def random_case(seed, n, m, empty=None):
    """Targets spread over the plane; tracks too, but none in quadrant `empty` (when given)."""
    rng = np.random.default_rng(seed)
    targets, tracks = rng.uniform(-1, 1, (n, 2)), rng.uniform(-1, 1, (m, 2))
    if empty is not None:
        v, a = {1: (1, 1), 2: (-1, 1), 3: (-1, -1), 4: (1, -1)}[empty]
        inside = np.array([plane.quadrant(tuple(t)) == empty for t in tracks])
        tracks[inside] *= (
            [-1, 1] if rng.random() < 0.5 else [1, -1]
        )  # mirrored into a neighbouring quadrant
    return targets, tracks


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize(
    "n, m, seed, lam, empty", [(5, 6, 0, 0.3, None), (6, 4, 1, 0.1, None), (6, 5, 2, 2.0, 2)]
)
def test_the_assignment_is_optimal_for_its_penalty(n, m, seed, lam, empty, dense, monkeypatch):
    """Distance plus lam per earlier use of a track, least over all quadrant-keeping assignments
    (brute force), by linear_sum_assignment and by the linear programme alike."""
    from builder.music import matching

    if not dense:
        monkeypatch.setattr(matching, "DENSE_CELLS", 0)
    targets, tracks = random_case(seed, n, m, empty)
    quadrants = [plane.quadrant(tuple(t)) for t in targets]
    a = assign(targets, tracks, penalty=lam)
    assert objective(a, targets, tracks, lam) == pytest.approx(
        brute_force(targets, tracks, lam, quadrants), abs=1e-6
    )
    capped = assign(targets, tracks, penalty=lam, repeats=2)
    # the cap of 2, raised in a quadrant with more than twice as many pictures as tracks to seat
    # them there
    tq = np.array([plane.quadrant(tuple(t)) for t in tracks])
    cap = np.array([max(2, -(-quadrants.count(q) // (tq == q).sum())) for q in tq])
    cap += np.bincount([a.first[i] for i in range(n) if a.off_quadrant[i]], minlength=m).astype(int)
    assert (np.bincount(capped.first, minlength=m) <= cap).all()
    assert objective(capped, targets, tracks, lam) == pytest.approx(
        brute_force(targets, tracks, lam, quadrants, cap=cap), abs=1e-6
    )


@pytest.mark.parametrize("repeats", [0, 1])
@pytest.mark.parametrize("seed", range(6))
def test_first_tracks_keep_the_pictures_quadrant_where_the_catalogue_has_music_there(seed, repeats):
    rng = np.random.default_rng(100 + seed)
    empty = [None, 1, 2, 3, 4, 2][seed]
    targets, tracks = random_case(seed, int(rng.integers(20, 120)), int(rng.integers(8, 60)), empty)
    a = assign(targets, tracks, repeats=repeats)
    tq = np.array([plane.quadrant(tuple(t)) for t in tracks])
    for i, (t, f) in enumerate(zip(targets, a.first)):
        q = plane.quadrant(tuple(t))
        if (tq == q).any():
            assert tq[f] == q and not a.off_quadrant[i]
        else:  # no music in its quadrant: the nearest track anywhere, and the flag that says so
            assert a.off_quadrant[i] and q == empty
            assert np.linalg.norm(t - tracks[f]) == pytest.approx(
                np.linalg.norm(tracks - t, axis=1).min()
            )
    assert a.kept == sum(plane.quadrant(tuple(t)) != empty for t in targets)
    # the picture's quadrant is the one given, not its target's
    flipped = [(plane.quadrant(tuple(t)) % 4) + 1 for t in targets]
    b = assign(targets, tracks, quadrants=flipped)
    assert all(tq[f] == q or b.off_quadrant[i] for i, (f, q) in enumerate(zip(b.first, flipped)))


@pytest.mark.parametrize("seed", range(5))
def test_the_fitted_penalty_keeps_the_summed_distance_within_the_bound(seed):
    """Crowded quadrants (many pictures where few tracks lie): fewest repeats would cost far more
    distance, so the penalty falls until the summed distance is within 1.5 times the nearest-track
    total, and not lower than it must (one halving more would still be within it only if it were the
    last grid value)."""
    from builder.music import matching

    rng = np.random.default_rng(seed)
    targets = rng.normal([-0.4, 0.5], 0.2, (150, 2)).clip(
        -1, 1
    )  # excited-unpleasant pictures, mostly
    tracks = np.r_[rng.uniform(-1, 1, (120, 2)), rng.uniform([-1, 0], [0, 1], (15, 2))]
    a = assign(targets, tracks)
    assert a.total <= 1.5 * a.nearest_total + 1e-9
    fewest = assign(targets, tracks, penalty=matching.MAX_PENALTY)
    assert (
        fewest.total > 1.5 * fewest.nearest_total
    )  # the case is one where variety had to give way
    assert a.penalty < matching.MAX_PENALTY and len(set(a.first)) > len(
        set(assign(targets, tracks, penalty=0).first)
    )
    if a.penalty > 0:  # twice the penalty would break the bound
        assert assign(targets, tracks, penalty=2 * a.penalty).total > 1.5 * a.nearest_total
    assert a.nearest_total == pytest.approx(
        sum(
            min(
                np.linalg.norm(t - x)
                for x in tracks
                if plane.quadrant(tuple(x)) == plane.quadrant(tuple(t))
            )
            for t in targets
        )
    )


def test_a_spread_out_collection_repeats_nothing():
    targets, tracks = random_case(7, 60, 200)
    a = assign(targets, tracks)
    assert len(set(a.first)) == 60 and a.capacity == 1 and a.total <= 1.5 * a.nearest_total


@pytest.mark.parametrize("seed", range(4))
def test_repeats_1_never_repeats_and_keeps_quadrants(seed):
    targets, tracks = random_case(seed, 40, 400)
    a = assign(targets, tracks, repeats=1)
    assert len(set(a.first)) == 40 and a.capacity == 1 and a.kept == 40
    # a quadrant with fewer tracks than pictures repeats there, as little as it can, and nowhere
    # else
    q2 = np.array([plane.quadrant(tuple(t)) == 2 for t in tracks])
    few = np.r_[tracks[~q2], tracks[q2][:2]]
    b = assign(targets, few, repeats=1)
    fq = np.array([plane.quadrant(tuple(t)) for t in few])
    uses = np.bincount(b.first, minlength=len(few))
    pictures_q2 = sum(plane.quadrant(tuple(t)) == 2 for t in targets)
    assert b.kept == 40 and uses[fq != 2].max() <= 1 and uses[fq == 2].max() == -(-pictures_q2 // 2)


def test_sparse_matching_is_close_to_the_dense_one(monkeypatch):
    """Large collections match over each picture's 48 nearest tracks of its quadrant as a linear
    programme: an approximation, within 1 % here, quadrants kept alike."""
    from builder.music import matching

    rng = np.random.default_rng(4)
    targets, tracks = rng.normal(0, 0.3, (300, 2)), rng.uniform(-1, 1, (700, 2))
    dense = assign(targets, tracks, penalty=matching.MAX_PENALTY)
    monkeypatch.setattr(matching, "DENSE_LIMIT", 0)
    monkeypatch.setattr(matching, "DENSE_CELLS", 0)
    sparse = assign(targets, tracks, penalty=matching.MAX_PENALTY)
    assert len(set(sparse.first)) == 300 and dense.total <= sparse.total <= 1.01 * dense.total
    assert sparse.kept == dense.kept == 300


def test_many_pictures_on_few_tracks_share_them_evenly_within_each_quadrant(monkeypatch):
    """1000 pictures on 8 tracks, two per quadrant: the linear programme (uses charged in blocks)
    seats them within their quadrants about as evenly as the exact solution, at nearly the same
    summed distance."""
    from builder.music import matching

    rng = np.random.default_rng(9)
    targets = rng.normal(0, 0.4, (1000, 2))
    tracks = np.array(
        [
            [0.3, 0.4],
            [0.7, 0.2],
            [-0.3, 0.5],
            [-0.6, 0.2],
            [-0.4, -0.3],
            [-0.2, -0.7],
            [0.5, -0.5],
            [0.2, -0.2],
        ]
    )
    dense = assign(targets, tracks, penalty=matching.MAX_PENALTY)
    monkeypatch.setattr(matching, "DENSE_CELLS", 0)
    sparse = assign(targets, tracks, penalty=matching.MAX_PENALTY)
    pq = np.array([plane.quadrant(tuple(t)) for t in targets])
    for a in (dense, sparse):
        uses = np.bincount(a.first, minlength=8)
        assert a.kept == 1000
        for q in (1, 2, 3, 4):
            pair = uses[2 * q - 2 : 2 * q]
            assert pair.sum() == (pq == q).sum() and abs(pair[0] - pair[1]) <= max(
                2, 0.05 * pair.sum()
            )
    assert sparse.total == pytest.approx(dense.total, rel=0.02)


@requires_mirror
def test_a_large_collection_meets_the_whole_catalogue_wide_and_in_order(deam):
    """Readings spread like the learned model's on photos it never saw (drawn from the shipped
    calibration's own out-of-fold quantiles, either side of the origin), mapped with that
    calibration onto all 1802 DEAM tracks: wide, rank-faithful, all different first tracks."""
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
    targets = np.array(
        [calibrate(tuple(r), model.calibration, calibration_table(cat)) for r in readings]
    )
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
        assert (
            plane.quadrant(tuple(im["av"])) == im["quadrant"] == plane.quadrant(tuple(im["target"]))
        )
        assert im["impressions"] == [] and im["clusters"] == []  # no impression word played a part


def test_contributions_add_up_to_the_reading_and_name_what_was_seen(learned):
    from builder.picture.feeling import FeelingModel

    _, g, _ = learned
    for im in g["images"]:
        groups = [c["group"] for c in im["contributions"]]
        assert groups[:5] == [name for name, _ in FeelingModel.load().feature_groups()]
        assert groups[5:] in (
            [],
            ["where the quadrant lines are drawn"],
        )  # the origin moved from the mean
        total = np.sum([[c["valence"], c["arousal"]] for c in im["contributions"]], axis=0)
        if all(
            abs(x + r) < 0.999 for x, r in zip(im["av"], g["reference"])
        ):  # not clipped to [-1, 1]
            assert total == pytest.approx(im["av"], abs=2e-3)
        assert 1 <= len(im["seen"]) <= 5 and all(
            s["label"] and 0.01 <= s["score"] <= 1 for s in im["seen"]
        )
        assert [s["score"] for s in im["seen"]] == sorted(
            (s["score"] for s in im["seen"]), reverse=True
        )


def test_first_tracks_keep_quadrants_and_the_summary_says_so(learned):
    out, g, result = learned
    m = g["matching"]
    n = len(g["images"])
    firsts = [im["tracks"][0] for im in g["images"]]
    assert m["pictures"] == n and m["distinct_first"] == len({t["id"] for t in firsts})
    kept = [
        plane.quadrant((t["valence"], t["arousal"])) == im["quadrant"]
        for t, im in zip(firsts, g["images"])
    ]
    assert m["in_quadrant"] == sum(kept) and m["off_quadrant"] == sum(
        im["off_quadrant"] for im in g["images"]
    )
    assert all(k or im["off_quadrant"] for k, im in zip(kept, g["images"]))
    assert m["nearest_total"] - 1e-3 <= m["total"] <= m["bound"] * m["nearest_total"] + 1e-3
    assert m["capacity"] == max(firsts.count(t) for t in firsts)
    assert f"{m['distinct_first']} different for {n} pictures" in result.output
    assert f"{m['in_quadrant']} of {n} in their picture's quadrant" in result.output
    assert f"{m['total']:.3f} against {m['nearest_total']:.3f}" in result.output
    for im in g[
        "images"
    ]:  # the page says so when (and only when) the catalogue had no music in its quadrant
        html = unescape(
            (out / im["page"]).read_text(encoding="utf-8")
        )  # the sentence comes escaped (')
        assert ("has no track in this picture's quadrant" in html) == im["off_quadrant"]


def test_picture_pages_explain_in_the_frame_of_their_quadrant(learned):
    from builder.gallery.text import Words, feeling_words

    out, g, _ = learned
    for im in g["images"]:
        html = (out / im["page"]).read_text(encoding="utf-8")
        # the reading and the target in words, never as decimals
        assert f"the picture reads as {feeling_words(tuple(im['av']), Words())}" in html
        assert "Compared with the average rated photo" in html and "What moved the reading" in html
        assert "Impression words" not in html and 'class="word"' not in html
        assert "as far along each axis among the catalogue" in html
        assert f"{im['target'][0]:+.2f}" not in html


def test_published_methods_say_their_quadrant_is_a_vote(tmp_path, session_cache):

    from .conftest import DEMO

    out = tmp_path / "o"
    result = cli_build(DEMO, out, session_cache, "--method", "objects")
    assert result.exit_code == 0, result.output
    g = orjson.loads((out / "gallery.json").read_bytes())
    voted = [im for im in g["images"] if im["quadrant_rule"] == "vote"]
    assert voted
    for im in voted:
        assert "published vote" in (out / im["page"]).read_text(encoding="utf-8")
    for im in g["images"]:
        if im["quadrant_rule"] == "av":
            assert plane.quadrant(tuple(im["av"])) == im["quadrant"]


def test_build_with_repeats_1_repeats_only_where_a_quadrant_lacks_tracks(
    tmp_path, session_cache, deam
):
    """The demo's pictures on DEAM's mirrored clips (more pictures than clips in some quadrants):
    with --repeats 1 a track is used twice only in a quadrant with fewer tracks than pictures, as
    little as seats them there."""
    from typer.testing import CliRunner

    from builder.cli import app

    from .conftest import DEMO

    out = tmp_path / "o"
    common = ["--mirror", str(MIRROR), "--cache-dir", str(session_cache), "--offline"]
    result = CliRunner().invoke(
        app, ["build", str(DEMO), "--out", str(out), "--repeats", "1", *common]
    )
    assert result.exit_code == 0, result.output
    g = orjson.loads((out / "gallery.json").read_bytes())
    m = g["matching"]
    assert m["repeats"] == 1 and "capped at 1 by --repeats" in result.output
    firsts = [im["tracks"][0] for im in g["images"]]
    playable = [plane.quadrant((t.valence, t.arousal)) for t in deam.playable().tracks]
    assert g["catalogue"]["size"] == len(playable)
    for q in (1, 2, 3, 4):
        used = [
            t["id"]
            for t, im in zip(firsts, g["images"])
            if im["quadrant"] == q and not im["off_quadrant"]
        ]
        assert all(
            plane.quadrant((t["valence"], t["arousal"])) == q for t in firsts if t["id"] in used
        )
        if len(set(used)) < len(
            used
        ):  # repeats only where the quadrant's tracks cannot seat its pictures once
            assert playable.count(q) < len(used)
            assert max(used.count(i) for i in used) == -(-len(used) // playable.count(q))
    bad = CliRunner().invoke(
        app, ["build", str(DEMO), "--out", str(out), "--repeats", "-1", *common]
    )
    assert bad.exit_code == 2


def brute_force_pinned(targets, tracks, lam, used, cap=None):
    """brute_force with pins: track j starts at used[j] uses, so its s further uses cost lam x
    (used[j] + ... + used[j] + s - 1); with cap, no track's uses (pins included) exceed cap[j]."""
    tq = [plane.quadrant(tuple(t)) for t in tracks]
    options = [
        [j for j in range(len(tracks)) if tq[j] == plane.quadrant(tuple(t))]
        or [int(np.argmin(np.linalg.norm(tracks - t, axis=1)))]
        for t in targets
    ]
    best = None
    for choice in itertools.product(*options):
        s = np.bincount(choice, minlength=len(tracks))
        if cap is not None and (s + used > cap).any():
            continue
        cost = sum(
            np.linalg.norm(targets[i] - tracks[j]) for i, j in enumerate(choice)
        ) + lam * sum(k * u + k * (k - 1) / 2 for k, u in zip(s, used))
        best = cost if best is None or cost < best else best
    return best


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize(
    "n, m, seed, lam, empty", [(5, 6, 3, 0.3, None), (6, 4, 4, 0.1, None), (5, 5, 5, 2.0, 2)]
)
def test_pinned_uses_are_charged_first_and_the_assignment_stays_optimal(
    n, m, seed, lam, empty, dense, monkeypatch
):
    """With pins (used[j] uses of track j already made), each further use is charged after them: the
    least distance plus penalty over every quadrant-keeping assignment (brute force), by either
    solver."""
    from builder.music import matching

    if not dense:
        monkeypatch.setattr(matching, "DENSE_CELLS", 0)
    targets, tracks = random_case(seed, n, m, empty)
    used = np.random.default_rng(seed).integers(0, 3, m)
    a = assign(targets, tracks, penalty=lam, used=used)
    s = np.bincount(a.first, minlength=m)
    got = a.total + lam * sum(k * u + k * (k - 1) / 2 for k, u in zip(s, used))
    assert got == pytest.approx(brute_force_pinned(targets, tracks, lam, used), abs=1e-6)
    assert a.capacity == (s + used).max()  # the pins' uses count in how often a track is first


# Five tracks: two pleasant-excited (quadrant 1), one in each other quadrant.
PIN_TRACKS = np.array([[0.5, 0.5], [0.58, 0.5], [-0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]])
# Five pictures, one per quadrant and a second in quadrant 2, each a little off its quadrant's
# track.
PIN_TARGETS = np.array([[0.53, 0.5], [-0.4, 0.4], [-0.6, -0.4], [0.4, -0.6], [-0.6, 0.6]])


def test_a_pinned_track_is_not_another_pictures_first_where_its_quadrant_offers_another():
    """Picture 0's nearest track is track 0. A pin of track 0 (another picture's) sends it to track
    1, the other track of its quadrant; track 2, pinned too, is the only track of quadrant 2, so
    pictures 1 and 4 still take it (quadrant first)."""
    plain = assign(PIN_TARGETS, PIN_TRACKS)
    assert (
        plain.first[0] == 0 and plain.first[1] == plain.first[4] == 2
    )  # without pins: the nearest
    used = [1, 0, 1, 0, 0]
    a = assign(PIN_TARGETS, PIN_TRACKS, used=used)
    assert a.first == [1, 2, 3, 4, 2] and a.kept == 5 and not any(a.off_quadrant)
    assert a.capacity == 3  # track 2: its pin and two pictures of the quadrant
    # the distances are the solved pictures' own: the pins are the curator's, not traded against
    # distance
    assert a.nearest_total == plain.nearest_total and a.total > plain.total
    assert a.total <= 1.5 * a.nearest_total


def test_the_fitted_bound_still_lets_a_picture_keep_a_pinned_track_far_nearer_than_any_other():
    """The pin is a use like any other: where the quadrant's other track is much farther than the
    summed distance's bound allows, the picture keeps the pinned track, as it would keep a repeated
    one."""
    tracks = PIN_TRACKS.copy()
    tracks[1] = (0.95, 0.95)
    a = assign(PIN_TARGETS, tracks, used=[1, 0, 0, 0, 0])
    assert (
        a.first[0] == 0
        and a.penalty < assign(PIN_TARGETS, PIN_TRACKS, used=[1, 0, 0, 0, 0]).penalty
    )


@pytest.mark.parametrize("dense", [True, False])
def test_repeats_1_counts_the_pin(dense, monkeypatch):
    """--repeats 1: a pinned track is used up by its pin, whatever the distance (track 1 is far); a
    quadrant whose only track is pinned still seats its pictures there, its cap raised to the least
    that does."""
    from builder.music import matching

    if not dense:
        monkeypatch.setattr(matching, "DENSE_CELLS", 0)
    tracks = PIN_TRACKS.copy()
    tracks[1] = (0.95, 0.95)
    used = np.array([1, 0, 1, 0, 0])
    a = assign(PIN_TARGETS, tracks, repeats=1, used=used)
    assert a.first == [1, 2, 3, 4, 2] and a.kept == 5 and a.capacity == 3
    uses = np.bincount(a.first, minlength=5) + used
    assert uses[[0, 1, 3, 4]].max() == 1
    assert a.total == pytest.approx(
        brute_force_pinned(PIN_TARGETS, tracks, 0.0, used, cap=[1, 1, 3, 1, 1])
    )
    # every picture pinned: nothing to solve, and the pins alone say how often a track is first
    none = assign(np.empty((0, 2)), tracks, repeats=1, used=used)
    assert none.first == [] and none.capacity == 1
