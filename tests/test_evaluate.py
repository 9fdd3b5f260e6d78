import csv
from pathlib import Path

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from builder import plane
from builder.cli import app
from builder.errors import UsageError
from builder.lab import evaluate as ev
from builder.picture import feeling

from .conftest import DEMO, MIRROR, requires_mirror


def test_metrics_match_hand_computation():
    people = np.array([1, 1, 2, 3, 4, 4, 4, 4])
    pred = np.array([1, 2, 2, 4, 4, 4, 3, 4])
    va = np.random.default_rng(0).uniform(-1, 1, (8, 2))
    m = ev.metrics(people, pred, va + 0.01, va)
    assert m["per_quadrant_agreement"] == [0.5, 1.0, 0.0, 0.75]
    assert m["overall_agreement"] == pytest.approx(5 / 8)
    assert m["balanced_agreement"] == pytest.approx((0.5 + 1 + 0 + 0.75) / 4)
    assert m["people_shares"] == [0.25, 0.125, 0.125, 0.5]
    assert sum(map(sum, m["confusion"])) == 8 and m["confusion"][0] == [1, 1, 0, 0]
    assert m["r_valence"] == pytest.approx(1.0)


def test_always_the_commonest_quadrant_scores_a_quarter_balanced():
    people = np.array([1, 2, 3, 4, 4, 4, 4])
    m = ev.metrics(people, np.full(7, 4), None, np.zeros((7, 2)))
    assert m["overall_agreement"] == pytest.approx(4 / 7) and m[
        "balanced_agreement"
    ] == pytest.approx(0.25)


def write_ratings(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", "theme", "valence_mean", "arousal_mean"])
        w.writerows(rows)


def test_ratings_are_mapped_by_the_given_scale(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    write_ratings(tmp_path / "r.csv", [["a.jpg", "A 1", 7, 1], ["missing.jpg", "B 1", 4, 4]])
    r = ev.read_ratings(tmp_path / "r.csv", tmp_path, 1, 7, 4)
    assert r.images == ["a.jpg"] and r.va.tolist() == [[1.0, -1.0]]
    r9 = ev.read_ratings(tmp_path / "r.csv", tmp_path, 1, 9, 5)
    assert r9.va.tolist() == [[0.5, -1.0]]


def test_theme_groups_join_numbered_near_duplicates():
    assert feeling.theme_groups(["Beach 1", "Beach 8", "Dog 2", "Lake"]).tolist() == [
        "beach",
        "beach",
        "dog",
        "lake",
    ]


def synthetic_ingredients(n, seed=0):
    rng = np.random.default_rng(seed)
    latent = rng.normal(
        size=(n, 4)
    )  # pooled features that vary along a few directions, as real ones do
    pooled = latent @ rng.normal(size=(4, 1280)) + 0.1 * rng.normal(size=(n, 1280))
    lite = latent @ rng.normal(size=(4, 1280)) + 0.1 * rng.normal(
        size=(n, 1280)
    )  # the second backbone
    ings = [
        feeling.Ingredients.make(
            p,
            rng.dirichlet(np.ones(1001)),
            rng.uniform(0, 1, 4),
            [],
            q,
            rng.dirichlet(np.ones(1000)),
        )
        for p, q in zip(pooled, lite)
    ]
    targets = np.tanh(np.c_[latent[:, 0] + latent[:, 1], latent[:, 2] - latent[:, 3]] / 2)
    tables = {
        "label_va": rng.uniform(-1, 1, (1001, 2)),
        "label_vec": rng.normal(size=(1001, 50)),
        "coco_labels": np.array(["person"]),
        "coco_va": np.zeros((1, 2)),
    }
    return ings, targets, tables


def test_fit_learns_a_linear_signal_and_survives_a_save(tmp_path):
    ings, targets, tables = synthetic_ingredients(120)
    groups = np.repeat(np.arange(40), 3)
    pred, quads = feeling.cross_validate(ings, targets, groups, tables)
    assert np.corrcoef(pred[:, 0], targets[:, 0])[0, 1] > 0.5
    model = feeling.fit(ings, targets, tables, {"fingerprint": "abc"})
    model.save(tmp_path / "m.npz")
    again = feeling.FeelingModel.load(tmp_path / "m.npz")
    again.save(
        tmp_path / "again.npz"
    )  # the same parameters written later: the same bytes (no time stamps)
    assert (tmp_path / "again.npz").read_bytes() == (tmp_path / "m.npz").read_bytes()
    np.testing.assert_allclose(again.predict(ings[:10]), model.predict(ings[:10]), atol=1e-5)
    assert again.meta["fingerprint"] == "abc" and np.allclose(again.reference, targets.mean(axis=0))
    assert (
        model.quadrant(model.reference + [0.01, 0.01]) == 1
        and model.quadrant(model.reference - 0.01) == 3
    )


def test_shipped_model_loads_and_knows_what_it_was_fitted_on():
    model = feeling.FeelingModel.load()
    spec = model.spec
    assert spec.backbones == feeling.BACKBONES and spec.lexicon == "mean"
    assert model.components.shape == (spec.components, 2 * 1280)
    assert model.tables["label_va"].shape == (1001, 2) and len(model.tables["coco_labels"]) == 80
    assert model.meta["ratings"] == "oasis-dev+emotion6+gaped-dev" and int(model.meta["n"]) >= 2700
    assert (
        model.meta["origin_rule"] in feeling.ORIGIN_RULES
        and model.meta["arousal_from"] == "oasis-dev"
    )
    assert "smallest" in model.meta["origin_criterion"] and model.meta["origin_recalls"].startswith(
        "oasis-dev: "
    )
    # round 2: the lines were drawn on every set, each by its own people's quadrants
    assert (
        model.meta["origin_decided_on"] == "every set"
        and "gaped-dev: " in model.meta["origin_recalls"]
    )
    for name, column in (("oasis-dev", "image"), ("gaped-dev", "file")):
        folder = MIRROR.parent / "eval" / name
        if folder.is_dir():
            images = [r[column] for r in csv.DictReader(open(folder / "ratings.csv"))]
            assert feeling.ratings_fingerprint(images) in model.meta["fingerprint"].split("+")


def test_two_rated_sets_weigh_alike_and_a_valence_only_set_leaves_arousal_alone():
    ings, targets, tables = synthetic_ingredients(160)
    sets = np.r_[np.zeros(40, int), np.ones(120, int)]
    w = feeling.set_weights(sets, np.ones(160, bool))
    assert w[:40].sum() == pytest.approx(w[40:].sum()) and w.mean() == pytest.approx(1.0)
    assert feeling.set_weights(sets, sets == 0) is None  # one set alone: no weights
    shifted = targets.copy()
    shifted[40:, 1] = (
        0.9  # the second set's arousal ratings are useless (another lab, another scale)...
    )
    rows = sets == 0  # ...so they do not train arousal
    model = feeling.fit(
        ings, shifted, tables, spec=feeling.Spec(components=8), arousal_rows=rows, sets=sets
    )
    alone = feeling.fit(
        [ings[i] for i in range(40)], targets[:40], tables, spec=feeling.Spec(components=8)
    )
    assert model.reference[1] == pytest.approx(
        targets[:40, 1].mean()
    )  # arousal centre from the first set only
    assert abs(model.intercept[1] - alone.intercept[1]) < 0.1
    pred = model.predict(ings)
    assert np.corrcoef(pred[:, 1], targets[:, 1])[0, 1] > 0.5


def test_the_origin_rule_is_chosen_for_balance_under_cross_validation():
    rng = np.random.default_rng(3)
    y = rng.normal(size=(400, 2)) * 0.4
    y[:, 0] += (
        0.3  # people mostly pleasant: the midpoint would put most photos in quadrants 1 and 4
    )
    pred = 0.5 * y + 0.1 * rng.normal(size=y.shape) + [0.05, 0.0]  # shrunk, shifted readings
    folds, sets = np.arange(400) % 5, np.zeros(400, int)
    rule, origin, scores = feeling.choose_origin(pred, y, folds, sets)
    assert set(scores) == set(feeling.ORIGIN_RULES) and scores[rule] == max(scores.values())
    q = feeling.rule_quadrants(rule, pred, y, folds, sets)
    people = feeling.quadrant_codes(y)
    assert feeling.decision_score(people, q) == pytest.approx(scores[rule])
    assert feeling.decision_score(people, q) == pytest.approx(
        (feeling.balanced(people, q) + min(feeling.recalls(people, q))) / 2
    )
    # drawing the lines through (0, 0) of the shrunk readings is worse than the chosen rule
    assert scores[rule] > feeling.decision_score(people, feeling.quadrant_codes(pred)) + 0.02
    assert np.allclose(origin, feeling.origin(rule, pred, y), atol=1e-4)


def test_a_rated_set_is_named_by_folder_scale_and_midpoint(tmp_path):
    assert ev.parse_rated_set("a:b/oasis:1-7:4") == (Path("a:b/oasis"), 1.0, 7.0, 4.0, True)
    assert ev.parse_rated_set("e6:1-9:5:valence") == (Path("e6"), 1.0, 9.0, 5.0, False)
    assert ev.parse_rated_set("x:-3-3:0")[1:4] == (-3.0, 3.0, 0.0)
    for bad in ("x:1:2", "x", "x:1-9", "x:a-b:5"):
        with pytest.raises(UsageError, match="FOLDER:MIN-MAX:MIDPOINT"):
            ev.parse_rated_set(bad)
    with pytest.raises(UsageError, match="images/ folder"):
        ev.read_rated_set(f"{tmp_path}:1-9:5")
    (tmp_path / "images" / "joy").mkdir(parents=True)
    (tmp_path / "images" / "joy" / "1.jpg").write_bytes(b"x")
    (tmp_path / "ground_truth.txt").write_text(
        "[image_filename]\t[valence]\t[arousal]\njoy/1.jpg\t8.0\t3.0\njoy/2.jpg\t1\t1\n"
    )
    rated = ev.read_rated_set(f"{tmp_path}:1-9:5:valence")
    assert rated.ratings.images == ["joy/1.jpg"] and rated.ratings.va.tolist() == [[0.75, -0.5]]
    assert not rated.arousal and rated.scale == "1-9 midpoint 5"
    with pytest.raises(UsageError, match="--scale-min < --midpoint"):
        ev.read_ratings(tmp_path / "ground_truth.txt", tmp_path / "images", 5, 9, 5)


@requires_mirror
def test_evaluate_and_fit_commands_on_a_small_rated_set(tmp_path, session_cache):
    rows = [
        ["astronaut.jpg", "Astronaut 1", 5.8, 4.6],
        ["cat.jpg", "Cat 1", 5.5, 3.0],
        ["storm.jpg", "Storm 1", 3.0, 4.8],
        ["wood.jpg", "Wood 1", 3.6, 2.0],
        ["coffee.jpg", "Coffee 1", 5.2, 3.5],
        ["dune.jpg", "Dune 1", 5.0, 2.5],
        ["rain-drops.jpg", "Rain 1", 4.5, 2.2],
        ["rocket-launch.jpg", "Rocket 1", 4.4, 5.5],
    ]
    write_ratings(tmp_path / "ratings.csv", rows)
    common = ["--mirror", str(MIRROR), "--cache-dir", str(session_cache), "--offline"]
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(DEMO),
            str(tmp_path / "ratings.csv"),
            "--methods",
            "learned,objects,random",
            "--json",
            str(tmp_path / "t.json"),
            "--plot",
            str(tmp_path / "t.png"),
            *common,
        ],
    )
    assert result.exit_code == 0, result.output
    for name in (
        "learned",
        "objects (published)",
        "random tracks",
        "chance (expected)",
        "always quadrant",
        "colour (Valdez & Mehrabian)",
        "balanced",
        "smallest",
        "q1-q4",
    ):
        assert name in result.output
    table = orjson.loads((tmp_path / "t.json").read_bytes())
    assert table["n"] == len(rows) and "learned" in table["results"]
    # people: astronaut, rocket in q1; storm q2; wood q3; cat, coffee, dune, rain in q4
    assert table["results"]["learned"]["people_shares"] == pytest.approx([0.25, 0.125, 0.125, 0.5])
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    out = tmp_path / "model.npz"
    result = CliRunner().invoke(
        app, ["fit", str(DEMO), str(tmp_path / "ratings.csv"), "--out", str(out), *common]
    )
    assert result.exit_code == 0, result.output
    m = feeling.FeelingModel.load(out)
    assert int(m.meta["n"]) == len(rows) and m.meta["fingerprint"] == feeling.ratings_fingerprint(
        [r[0] for r in rows]
    )
    # two rated sets: the same photos on another scale (0-100, in Emotion6's format), trained on valence only
    other = tmp_path / "other"
    other.mkdir()
    (other / "images").symlink_to(DEMO)
    (other / "ground_truth.txt").write_text(
        "[image_filename]\t[valence]\t[arousal]\n"
        + "".join(
            f"{r[0]}\t{(r[2] - 1) / 6 * 100:.1f}\t{(r[3] - 1) / 6 * 100:.1f}\n" for r in rows[:6]
        )
    )
    result = CliRunner().invoke(
        app,
        [
            "fit",
            "--set",
            f"{tmp_path}/other:0-100:50:valence",
            str(DEMO),
            str(tmp_path / "ratings.csv"),
            "--out",
            str(out),
            *common,
        ],
    )
    assert result.exit_code == 0, result.output
    m = feeling.FeelingModel.load(out)
    assert int(m.meta["n"]) == len(rows) + 6 and m.meta["ratings"] == "ratings.csv+other"
    assert (
        m.meta["arousal_from"] == "ratings.csv"
        and m.meta["scale"] == "1-7 midpoint 4; 0-100 midpoint 50"
    )
    assert m.meta["origin_rule"] in feeling.ORIGIN_RULES
    result = CliRunner().invoke(app, ["fit", "--out", str(out), *common])
    assert result.exit_code == 2 and "nothing to fit on" in result.output


def test_ratings_files_of_other_shapes_are_read_alike(tmp_path):
    for name in ("a.bmp", "b.bmp"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "semi.csv").write_text(
        "File; Valence; Arousal\na.bmp;75,5;25\nb.bmp;50;100\n", encoding="utf-8"
    )
    r = ev.read_ratings(tmp_path / "semi.csv", tmp_path, 0, 100, 50)
    assert r.images == ["a.bmp", "b.bmp"] and r.va.tolist() == [[0.51, -0.5], [0.0, 1.0]]
    assert r.themes == ["a", "b"]  # no themes: each photo is its own group
    # a file with both a summary and a mean column: the mean is the rating
    (tmp_path / "both.csv").write_text(
        "image,valence,valence_mean,arousal_mean\na.bmp,1,100,0\n", encoding="utf-8"
    )
    assert ev.read_ratings(tmp_path / "both.csv", tmp_path, 0, 100, 50).va.tolist() == [[1.0, -1.0]]
    (tmp_path / "bad.csv").write_text("image,pleasure,arousal\na.bmp,1,2\n", encoding="utf-8")
    with pytest.raises(UsageError, match="needs the columns"):
        ev.read_ratings(tmp_path / "bad.csv", tmp_path, 0, 100, 50)


def test_cross_validation_with_another_set_trains_on_it_in_every_fold_and_never_tests_it(
    monkeypatch,
):
    ings, targets, tables = synthetic_ingredients(160)
    groups = np.repeat(np.arange(20), 2)
    seen: list[int] = []
    real_fit = feeling.fit

    def counting_fit(fold_ings, *args, **kw):
        seen.append(sum(any(i is o for o in ings[40:]) for i in fold_ings))
        return real_fit(fold_ings, *args, **kw)

    monkeypatch.setattr(feeling, "fit", counting_fit)
    drawn: list[
        tuple
    ] = []  # which sets each fold's quadrant lines were drawn through, and on whose quadrants
    real_origin = feeling.origin

    def spying_origin(rule, pred, y, sets=None, trained=None, decide_on="every set"):
        drawn.append((len(y), tuple(np.unique(sets)), decide_on))
        return real_origin(rule, pred, y, sets, trained, decide_on)

    monkeypatch.setattr(feeling, "origin", spying_origin)
    pred, quads = feeling.cross_validate(
        ings[:40],
        targets[:40],
        groups,
        tables,
        spec=feeling.Spec(components=8),
        others=[(ings[40:], targets[40:], False)],
    )
    monkeypatch.setattr(feeling, "fit", real_fit)
    monkeypatch.setattr(feeling, "origin", real_origin)
    # each fold's lines: through both sets' out-of-fold readings, none of this fold's photos (4/5 of 160)
    assert len(drawn) == 5 and all(
        sets == (0, 1) and mode == "every set" for _, sets, mode in drawn
    )
    assert sum(n for n, _, _ in drawn) == 4 * 160
    # all of the other set in each of the 5 folds' training of the readings; the lines are drawn through readings
    # of both sets out of fold, as `builder fit` draws them (5 more fits, each without a fold of either set)
    assert seen.count(120) == 5 and len(seen) == 10 and all(n < 120 for n in seen if n != 120)
    assert pred.shape == (40, 2) and quads.shape == (40,)  # readings of the tested set only
    alone, _ = feeling.cross_validate(
        ings[:40], targets[:40], groups, tables, spec=feeling.Spec(components=8)
    )
    # 120 more photos of the same kind read valence better than 32 alone
    assert (
        np.corrcoef(pred[:, 0], targets[:40, 0])[0, 1]
        > np.corrcoef(alone[:, 0], targets[:40, 0])[0, 1]
    )


def test_the_learned_note_names_the_sets_left_out():
    ratings = ev.Ratings(["a.jpg"], ["a"], np.zeros((1, 2)))
    other = ev.Ratings(["b.jpg"], ["b"], np.zeros((1, 2)))
    meta = {
        "fingerprint": f"{feeling.ratings_fingerprint(['a.jpg'])}+{feeling.ratings_fingerprint(['b.jpg'])}",
        "ratings": "mine+theirs",
        "scale": "1-7 midpoint 4; 1-9 midpoint 5",
        "arousal_from": "mine",
    }
    assert "theirs (1-9 midpoint 5, valence only): add it with --with-set" in ev.learned_note(
        meta, ratings, []
    )
    with_it = ev.learned_note(
        meta, ratings, [ev.RatedSet("theirs", Path("x"), other, "1-9 midpoint 5", False)]
    )
    assert "with theirs in every fold's training" in with_it and "--with-set" not in with_it
    # measuring the set that trained valence only: its folds leave its arousal ratings out too
    assert ev.trains_arousal(meta, ratings) and not ev.trains_arousal(meta, other)
    assert "valence only" in ev.learned_note(meta, other, [])
    assert ev.trains_arousal(
        meta, ev.Ratings(["c.jpg"], ["c"], np.zeros((1, 2)))
    )  # not fitted on: read as is


def test_intervals_hold_the_figure_and_widen_when_near_duplicates_are_drawn_together():
    rng = np.random.default_rng(1)
    true = rng.uniform(-1, 1, (60, 2))
    pred = true + rng.normal(scale=0.6, size=true.shape)
    people, q = ev.quadrants(true), ev.quadrants(pred)
    m = ev.metrics(people, q, pred, true, np.arange(60))
    iv = m["interval_95"]
    for key in ("balanced_agreement", "r_valence", "r_arousal"):
        assert iv[key][0] < m[key] < iv[key][1]
    for recall, span in zip(m["per_quadrant_agreement"], iv["per_quadrant_agreement"]):
        assert span[0] <= recall <= span[1] and span[0] < span[1]
    assert iv["smallest_recall"][0] <= m["smallest_recall"] <= iv["smallest_recall"][1]
    assert m["smallest_recall"] == min(m["per_quadrant_agreement"])
    line = ev.format_intervals({"x": m})
    assert "q1-q4 " in line and "smallest" in line
    perfect = ev.metrics(people, people, true, true, np.arange(60))["interval_95"]
    assert perfect["balanced_agreement"] == [1.0, 1.0] and perfect["r_valence"] == [1.0, 1.0]
    assert perfect["smallest_recall"] == [1.0, 1.0]
    # a quadrant nobody chose has no recall and no interval
    no_q2 = np.where(people == 2, 1, people)
    assert (
        ev.metrics(no_q2, q, pred, true, np.arange(60))["interval_95"]["per_quadrant_agreement"][1]
        is None
    )

    # each photo four times: as one theme per photo, or as 240 independent photos (too sure of itself)
    def four(x):
        return np.repeat(x, 4, axis=0)

    grouped = ev.intervals(
        four(people), four(q), four(pred), four(true), np.repeat(np.arange(60), 4)
    )
    loose = ev.intervals(four(people), four(q), four(pred), four(true), np.arange(240))
    assert grouped["r_valence"][1] - grouped["r_valence"][0] > 1.5 * (
        loose["r_valence"][1] - loose["r_valence"][0]
    )
    assert (
        "balanced" in ev.format_intervals({"x": m})
        and ev.format_intervals({"y": {"interval_95": None}}) == ""
    )


@requires_mirror
def test_evaluate_refuses_the_measured_set_as_a_training_set(tmp_path):
    oasis = MIRROR.parent / "eval" / "oasis-dev"
    if not oasis.is_dir():
        pytest.skip("oasis-dev is not beside the mirror")
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(oasis / "images"),
            str(oasis / "ratings.csv"),
            "--methods",
            "learned",
            "--with-set",
            f"{oasis}:1-7:4",
            "--mirror",
            str(MIRROR),
            "--cache-dir",
            str(tmp_path),
            "--offline",
        ],
    )
    assert result.exit_code == 2 and "is the set being measured" in result.output
    bad = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(oasis / "images"),
            str(oasis / "ratings.csv"),
            "--methods",
            "learned",
            "--with-set",
            "nowhere:1-9",
            "--offline",
        ],
    )
    assert bad.exit_code == 2 and "FOLDER:MIN-MAX:MIDPOINT" in bad.output


def test_music_agreement_counts_the_first_tracks_labels_per_peoples_quadrant():
    people = np.array([1, 1, 2, 3, 4, 4])
    labels = {"a": 1, "b": 2, "c": 3, "d": 4}
    m = ev.music_metrics(
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
    base = ev.music_baseline(people, ["a", "b", "c", "d", "a", "a"], labels)
    assert base["per_quadrant_agreement"] == pytest.approx([0.5, 1 / 6, 1 / 6, 1 / 6])
    assert base["balanced_agreement"] == pytest.approx(0.25)


@pytest.mark.parametrize("with_other", [False, True])
def test_out_of_fold_targets_lie_in_the_cross_validated_quadrants(with_other):
    """The music row of `builder evaluate` looks for each picture's music in the quadrant of the cross-validated
    picture row, with the origin and calibration of that photo's fold; with another rated set in training too,
    whose readings the lines are then drawn through (a set judged alone would get other lines)."""
    from builder.music.matching import calibrate, calibration_table

    ings, targets, tables = synthetic_ingredients(100, seed=3)
    groups = np.repeat(np.arange(20), 3)  # themes of three near-duplicates
    others = [(ings[60:], targets[60:], True)] if with_other else []
    ings, targets = ings[:60], targets[:60]
    lines: dict = {}
    pred, quads = feeling.cross_validate(
        ings, targets, groups, tables, spec=feeling.Spec(components=8), others=others, lines=lines
    )
    music = calibration_table(np.random.default_rng(3).uniform(-1, 1, (80, 2)))
    got = ev.out_of_fold_targets(pred, quads, lines, music)
    origin = np.array([lines["origin"][k] for k in lines["fold"].tolist()])
    assert (feeling.quadrant_codes(pred - origin) == quads).all()  # the row's own lines
    assert all(plane.quadrant(tuple(t)) == q for t, q in zip(got, quads))
    n_seen = {k: len(seen) for k, seen in lines["through"].items()}
    assert set(n_seen) == set(lines["fold"].tolist()) and len(n_seen) == 5
    everyone = len(ings) + (40 if with_other else 0)
    for (
        k,
        n,
    ) in n_seen.items():  # a fold's lines are drawn through the other folds' photos, never its own
        assert n <= everyone - np.sum(lines["fold"] == k) and (
            with_other or n == len(ings) - np.sum(lines["fold"] == k)
        )
    if with_other:
        assert min(n_seen.values()) > len(ings)  # the other set's readings drew the lines too
    kept = 0
    for i, k in enumerate(
        lines["fold"].tolist()
    ):  # each picture: its fold's origin and calibration, as a build
        t = calibrate(
            tuple(pred[i] - lines["origin"][k]), calibration_table(lines["through"][k]), music
        )
        if plane.quadrant(t) == quads[i]:
            assert got[i] == pytest.approx(t)
            kept += 1
    assert kept > len(pred) / 2


def test_evaluate_with_music_chooses_tracks_as_a_build_and_scores_their_labels(
    tmp_path, session_cache
):
    """Clips made in code, all labelled quadrant 1: every first track agrees exactly with the pictures people
    put in quadrant 1 and with no other, whichever the method."""
    from .audio_fixtures import tone, write_audio

    rows = [
        ["astronaut.jpg", "Astronaut 1", 5.8, 4.6],
        ["cat.jpg", "Cat 1", 5.5, 3.0],
        ["storm.jpg", "Storm 1", 3.0, 4.8],
        ["wood.jpg", "Wood 1", 3.6, 2.0],
        ["rocket-launch.jpg", "Rocket 1", 4.4, 5.5],
    ]
    write_ratings(tmp_path / "ratings.csv", rows)
    music = tmp_path / "music"
    for k, (freq, beat) in enumerate([(220, 0), (880, 4), (330, 2), (523, 0)]):
        write_audio(music / f"clip{k}.wav", tone(4, freq=freq, beat_hz=beat, noise=0.1 * k, seed=k))
    labels = tmp_path / "labels.csv"
    labels.write_text("file,quadrant,artist\n" + "".join(f"clip{k}.wav,1,a{k}\n" for k in range(4)))
    common = ["--mirror", str(MIRROR), "--cache-dir", str(session_cache), "--offline"]
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            str(DEMO),
            str(tmp_path / "ratings.csv"),
            "--methods",
            "learned,random",
            "--music",
            str(music),
            "--music-labels",
            str(labels),
            "--json",
            str(tmp_path / "t.json"),
            *common,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "agreement of the track's label with people's quadrant" in result.output
    table = orjson.loads((tmp_path / "t.json").read_bytes())
    # people: astronaut, rocket in q1; storm q2; wood q3; cat q4
    rows_music = table["music"]
    assert {"learned", "random tracks", "a catalogue track at random (expected)"} <= set(rows_music)
    for m in rows_music.values():
        assert (
            m["per_quadrant_agreement"] == [1.0, 0.0, 0.0, 0.0] and m["balanced_agreement"] == 0.25
        )
    assert "music" not in table["results"]  # the picture table is unchanged
    bad = CliRunner().invoke(
        app, ["evaluate", str(DEMO), str(tmp_path / "ratings.csv"), "--music", str(music), *common]
    )
    assert bad.exit_code == 2 and "go together" in bad.output


@pytest.mark.parametrize("seed", range(3))
def test_the_max_min_decision_reaches_a_rare_quadrant_that_balance_alone_gives_up(seed):
    # GAPED-like ratings: arousal falls as valence rises, so excited-pleasant photos are few
    rng = np.random.default_rng(seed)
    v = 0.5 * rng.normal(size=400)
    y = np.c_[v, -0.8 * v + 0.3 * rng.normal(size=400)]
    pred = 0.5 * y + 0.15 * rng.normal(size=y.shape)  # shrunk, noisy readings
    people, sets = feeling.quadrant_codes(y), np.zeros(400, int)
    assert np.bincount(people, minlength=5)[1:].min() < 0.15 * 400

    def recall_of(rule):
        return feeling.recalls(
            people, feeling.quadrant_codes(pred - feeling.origin(rule, pred, y, sets))
        )

    by_balance, by_max_min = recall_of("balanced grid"), recall_of("max-min grid")
    assert min(by_max_min) > min(by_balance) + 0.02  # the rarest quadrant is found more often...
    assert np.mean(by_max_min) > np.mean(by_balance) - 0.02  # ...for at most a little balance
    # under cross-validation the chosen rule keeps the smallest recall at least where balance alone puts it
    folds = np.arange(400) % 5
    rule, _, scores = feeling.choose_origin(pred, y, folds, sets)
    chosen = feeling.recalls(people, feeling.rule_quadrants(rule, pred, y, folds, sets))
    balanced_only = feeling.recalls(
        people, feeling.rule_quadrants("balanced grid", pred, y, folds, sets)
    )
    assert min(chosen) >= min(balanced_only) and scores[rule] >= scores["balanced grid"]


def test_quadrants_are_scored_on_every_set_or_on_the_sets_whose_arousal_trains():
    sets = np.r_[np.zeros(3, int), np.ones(2, int)]
    trained = np.c_[np.ones(5, bool), sets == 0]
    assert feeling.quadrant_sets(sets, trained).all()  # the default since issue 22 round 2
    assert feeling.quadrant_sets(sets, trained, "arousal sets").tolist() == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert feeling.quadrant_sets(
        sets, np.c_[np.ones(5, bool), np.zeros(5, bool)], "arousal sets"
    ).all()


def two_labs(seed: int, n: int = 400):
    """Readings of two labs' photos: OASIS-like (arousal rises with distance from neutral) and GAPED-like (arousal
    falls as valence rises: excited-pleasant photos are rare), the second read partly with the first's notion of
    arousal, as a model trained on the first lab's arousal reads it; the second lab trains valence only."""
    rng = np.random.default_rng(seed)
    v0, v1 = 0.5 * rng.normal(size=n), 0.5 * rng.normal(size=n)
    y = np.r_[
        np.c_[v0, 0.8 * np.abs(v0) - 0.35 + 0.25 * rng.normal(size=n)],
        np.c_[v1, -0.8 * v1 + 0.3 * rng.normal(size=n)],
    ]
    pred = 0.5 * y + 0.15 * rng.normal(size=y.shape)
    pred[n:, 1] = 0.5 * (0.8 * np.abs(v1) - 0.35) + 0.15 * rng.normal(size=n) + 0.2
    sets = np.r_[np.zeros(n, int), np.ones(n, int)]
    return pred, y, sets, np.c_[np.ones(2 * n, bool), sets == 0]


def test_lines_drawn_on_every_set_reach_the_other_labs_rare_quadrant():
    gains = []
    for seed in range(8):
        pred, y, sets, trained = two_labs(seed)
        people = feeling.quadrant_codes(y)
        smallest = {}  # the second lab's smallest recall, lines drawn by the max-min grid on each mode's photos
        for mode in feeling.DECIDE_ON:
            q = feeling.quadrant_codes(
                pred - feeling.origin("max-min grid", pred, y, sets, trained, mode)
            )
            smallest[mode] = min(feeling.recalls(people[sets == 1], q[sets == 1]))
        gains.append(smallest["every set"] - smallest["arousal sets"])
    assert np.mean(gains) > 0.03 and np.mean(np.array(gains) > 0) >= 0.75


def test_each_set_weighs_the_same_in_the_lines_however_many_photos_it_has():
    rng = np.random.default_rng(0)
    small = 0.5 * rng.normal(size=(100, 2))  # read as rated
    large = 0.5 * rng.normal(size=(1000, 2))
    pred = np.r_[small, large + [0.4, 0.4]] + 0.3 * rng.normal(
        size=(1100, 2)
    )  # the large set reads 0.4 too high
    y, sets = np.r_[small, large], np.r_[np.zeros(100, int), np.ones(1000, int)]
    for rule in ("balanced per axis", "balanced grid"):
        weighted = feeling.origin(rule, pred, y, sets)
        pooled = feeling.origin(rule, pred, y, np.zeros(1100, int))  # one set: the large one rules
        assert np.all(pooled > 0.3), rule  # where the large set's lines belong
        assert np.all(np.abs(weighted - 0.2) < np.abs(pooled - 0.2)), (
            rule
        )  # between the two sets' own lines
    # people's shares: the share of pleasant photos is the mean of the sets' shares (all of the small set's, none of
    # the large set's: a half), not the pooled share (100 of 1100)
    y2 = np.c_[np.r_[np.full(100, 0.5), np.full(1000, -0.5)], y[:, 1]]
    for s, share in ((sets, 0.5), (np.zeros(1100, int), 100 / 1100)):
        assert np.mean(
            pred[:, 0] >= feeling.origin("people's shares", pred, y2, s)[0]
        ) == pytest.approx(share, abs=0.01)


def test_a_set_with_categories_beside_its_photos_folds_by_category(tmp_path, monkeypatch):
    # GAPED's layout: photos beside ratings.csv, a category per photo (spiders with spiders), a 0-100 scale
    categories = ["A", "H", "N", "P", "Sn", "Sp"]
    rng = np.random.default_rng(0)
    with open(tmp_path / "ratings.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "category", "valence", "arousal"])
        for c in categories:
            for i in range(8):
                (tmp_path / f"{c}{i:03d}.jpg").write_bytes(b"x")
                w.writerow([f"{c}{i:03d}.jpg", c, *rng.uniform(0, 100, 2).round(2)])
    rated = ev.read_rated_set(f"{tmp_path}:0-100:50")
    assert rated.images == tmp_path and len(rated.ratings.images) == 48
    assert rated.ratings.themes[:9] == ["A"] * 8 + ["H"]
    groups = feeling.theme_groups(rated.ratings.themes)
    assert sorted(set(groups)) == ["a", "h", "n", "p", "sn", "sp"]

    ings, _, tables = synthetic_ingredients(48)
    position = {id(i): k for k, i in enumerate(ings)}
    trained_on: list[set] = []
    real_fit = feeling.fit

    def recording_fit(fold_ings, *args, **kw):
        trained_on.append({groups[position[id(i)]] for i in fold_ings})
        return real_fit(fold_ings, *args, **kw)

    monkeypatch.setattr(feeling, "fit", recording_fit)
    pred, folds = feeling.out_of_fold(
        ings, rated.ratings.va, groups, tables, spec=feeling.Spec(components=8)
    )
    assert len(trained_on) == 5 and pred.shape == (48, 2)
    for k, seen in enumerate(trained_on):
        tested = set(groups[folds == k])
        assert tested and not tested & seen  # no category on both sides of a fold
        assert tested | seen == set(groups)
