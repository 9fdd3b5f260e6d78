"""builder.lab.fitting: the learned picture model's fitting, its quadrant origin (the rules and the
choice between them under cross-validation) and its cross-validation."""

import csv

import numpy as np
import pytest

from builder import plane
from builder.lab import fitting, ratings
from builder.lab.metrics import balanced, decision_score, recalls
from builder.picture import feeling

from .conftest import MIRROR
from .lab_fixtures import synthetic_ingredients


def test_theme_groups_join_numbered_near_duplicates():
    assert fitting.theme_groups(["Beach 1", "Beach 8", "Dog 2", "Lake"]).tolist() == [
        "beach",
        "beach",
        "dog",
        "lake",
    ]


def test_fit_learns_a_linear_signal_and_survives_a_save(tmp_path):
    ings, targets, tables = synthetic_ingredients(120)
    groups = np.repeat(np.arange(40), 3)
    pred, quads = fitting.cross_validate(ings, targets, groups, tables)
    assert np.corrcoef(pred[:, 0], targets[:, 0])[0, 1] > 0.5
    model = fitting.fit(ings, targets, tables, {"fingerprint": "abc"})
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
        model.meta["origin_rule"] in fitting.ORIGIN_RULES
        and model.meta["arousal_from"] == "oasis-dev"
    )
    assert "smallest" in model.meta["origin_criterion"] and model.meta["origin_recalls"].startswith(
        "oasis-dev: "
    )
    # the lines were drawn on every set, each by its own people's quadrants
    assert (
        model.meta["origin_decided_on"] == "every set"
        and "gaped-dev: " in model.meta["origin_recalls"]
    )
    for name, column in (("oasis-dev", "image"), ("gaped-dev", "file")):
        folder = MIRROR.parent / "eval" / name
        if folder.is_dir():
            images = [r[column] for r in csv.DictReader(open(folder / "ratings.csv"))]
            assert fitting.ratings_fingerprint(images) in model.meta["fingerprint"].split("+")


def test_two_rated_sets_weigh_alike_and_a_valence_only_set_leaves_arousal_alone():
    ings, targets, tables = synthetic_ingredients(160)
    sets = np.r_[np.zeros(40, int), np.ones(120, int)]
    w = fitting.set_weights(sets, np.ones(160, bool))
    assert w[:40].sum() == pytest.approx(w[40:].sum()) and w.mean() == pytest.approx(1.0)
    assert fitting.set_weights(sets, sets == 0) is None  # one set alone: no weights
    shifted = targets.copy()
    shifted[40:, 1] = (
        0.9  # the second set's arousal ratings are useless (another lab, another scale)...
    )
    rows = sets == 0  # ...so they do not train arousal
    model = fitting.fit(
        ings, shifted, tables, spec=feeling.Spec(components=8), arousal_rows=rows, sets=sets
    )
    alone = fitting.fit(
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
    rule, origin, scores = fitting.choose_origin(pred, y, folds, sets)
    assert set(scores) == set(fitting.ORIGIN_RULES) and scores[rule] == max(scores.values())
    q = fitting.rule_quadrants(rule, pred, y, folds, sets)
    people = plane.quadrants(y)
    assert decision_score(people, q) == pytest.approx(scores[rule])
    assert decision_score(people, q) == pytest.approx(
        (balanced(people, q) + min(recalls(people, q))) / 2
    )
    # drawing the lines through (0, 0) of the shrunk readings is worse than the chosen rule
    assert scores[rule] > decision_score(people, plane.quadrants(pred)) + 0.02
    assert np.allclose(origin, fitting.origin(rule, pred, y), atol=1e-4)


def test_cross_validation_with_another_set_trains_on_it_in_every_fold_and_never_tests_it(
    monkeypatch,
):
    ings, targets, tables = synthetic_ingredients(160)
    groups = np.repeat(np.arange(20), 2)
    seen: list[int] = []
    real_fit = fitting.fit

    def counting_fit(fold_ings, *args, **kw):
        seen.append(sum(any(i is o for o in ings[40:]) for i in fold_ings))
        return real_fit(fold_ings, *args, **kw)

    monkeypatch.setattr(fitting, "fit", counting_fit)
    drawn: list[
        tuple
    ] = []  # which sets each fold's quadrant lines were drawn through, and on whose quadrants
    real_origin = fitting.origin

    def spying_origin(rule, pred, y, sets=None, trained=None, decide_on="every set"):
        drawn.append((len(y), tuple(np.unique(sets)), decide_on))
        return real_origin(rule, pred, y, sets, trained, decide_on)

    monkeypatch.setattr(fitting, "origin", spying_origin)
    pred, quads = fitting.cross_validate(
        ings[:40],
        targets[:40],
        groups,
        tables,
        spec=feeling.Spec(components=8),
        others=[(ings[40:], targets[40:], False)],
    )
    monkeypatch.setattr(fitting, "fit", real_fit)
    monkeypatch.setattr(fitting, "origin", real_origin)
    # each fold's lines: through both sets' out-of-fold readings, none of this fold's photos
    # (4/5 of 160)
    assert len(drawn) == 5 and all(
        sets == (0, 1) and mode == "every set" for _, sets, mode in drawn
    )
    assert sum(n for n, _, _ in drawn) == 4 * 160
    # all of the other set in each of the 5 folds' training of the readings; the lines are drawn
    # through readings of both sets out of fold, as `builder fit` draws them (5 more fits, each
    # without a fold of either set)
    assert seen.count(120) == 5 and len(seen) == 10 and all(n < 120 for n in seen if n != 120)
    assert pred.shape == (40, 2) and quads.shape == (40,)  # readings of the tested set only
    alone, _ = fitting.cross_validate(
        ings[:40], targets[:40], groups, tables, spec=feeling.Spec(components=8)
    )
    # 120 more photos of the same kind read valence better than 32 alone
    assert (
        np.corrcoef(pred[:, 0], targets[:40, 0])[0, 1]
        > np.corrcoef(alone[:, 0], targets[:40, 0])[0, 1]
    )


@pytest.mark.parametrize("seed", range(3))
def test_the_max_min_decision_reaches_a_rare_quadrant_that_balance_alone_gives_up(seed):
    # GAPED-like ratings: arousal falls as valence rises, so excited-pleasant photos are few
    rng = np.random.default_rng(seed)
    v = 0.5 * rng.normal(size=400)
    y = np.c_[v, -0.8 * v + 0.3 * rng.normal(size=400)]
    pred = 0.5 * y + 0.15 * rng.normal(size=y.shape)  # shrunk, noisy readings
    people, sets = plane.quadrants(y), np.zeros(400, int)
    assert np.bincount(people, minlength=5)[1:].min() < 0.15 * 400

    def recall_of(rule):
        return recalls(people, plane.quadrants(pred - fitting.origin(rule, pred, y, sets)))

    by_balance, by_max_min = recall_of("balanced grid"), recall_of("max-min grid")
    assert min(by_max_min) > min(by_balance) + 0.02  # the rarest quadrant is found more often...
    assert np.mean(by_max_min) > np.mean(by_balance) - 0.02  # ...for at most a little balance
    # under cross-validation the chosen rule keeps the smallest recall at least where balance alone
    # puts it
    folds = np.arange(400) % 5
    rule, _, scores = fitting.choose_origin(pred, y, folds, sets)
    chosen = recalls(people, fitting.rule_quadrants(rule, pred, y, folds, sets))
    balanced_only = recalls(people, fitting.rule_quadrants("balanced grid", pred, y, folds, sets))
    assert min(chosen) >= min(balanced_only) and scores[rule] >= scores["balanced grid"]


def test_quadrants_are_scored_on_every_set_or_on_the_sets_whose_arousal_trains():
    sets = np.r_[np.zeros(3, int), np.ones(2, int)]
    trained = np.c_[np.ones(5, bool), sets == 0]
    assert fitting.quadrant_sets(sets, trained).all()  # the default
    assert fitting.quadrant_sets(sets, trained, "arousal sets").tolist() == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert fitting.quadrant_sets(
        sets, np.c_[np.ones(5, bool), np.zeros(5, bool)], "arousal sets"
    ).all()


def two_labs(seed: int, n: int = 400):
    """Readings of two labs' photos: OASIS-like (arousal rises with distance from neutral) and
    GAPED-like (arousal falls as valence rises: excited-pleasant photos are rare), the second read
    partly with the first's notion of arousal, as a model trained on the first lab's arousal reads
    it; the second lab trains valence only."""
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
        people = plane.quadrants(y)
        # the second lab's smallest recall, lines drawn by the max-min grid on each mode's photos
        smallest = {}
        for mode in fitting.DECIDE_ON:
            q = plane.quadrants(pred - fitting.origin("max-min grid", pred, y, sets, trained, mode))
            smallest[mode] = min(recalls(people[sets == 1], q[sets == 1]))
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
        weighted = fitting.origin(rule, pred, y, sets)
        pooled = fitting.origin(rule, pred, y, np.zeros(1100, int))  # one set: the large one rules
        assert np.all(pooled > 0.3), rule  # where the large set's lines belong
        assert np.all(np.abs(weighted - 0.2) < np.abs(pooled - 0.2)), (
            rule
        )  # between the two sets' own lines
    # people's shares: the share of pleasant photos is the mean of the sets' shares (all of the
    # small set's, none of the large set's: a half), not the pooled share (100 of 1100)
    y2 = np.c_[np.r_[np.full(100, 0.5), np.full(1000, -0.5)], y[:, 1]]
    for s, share in ((sets, 0.5), (np.zeros(1100, int), 100 / 1100)):
        assert np.mean(
            pred[:, 0] >= fitting.origin("people's shares", pred, y2, s)[0]
        ) == pytest.approx(share, abs=0.01)


def test_a_set_with_categories_beside_its_photos_folds_by_category(tmp_path, monkeypatch):
    # GAPED's layout: photos beside ratings.csv, a category per photo (spiders with spiders), a
    # 0-100 scale
    categories = ["A", "H", "N", "P", "Sn", "Sp"]
    rng = np.random.default_rng(0)
    with open(tmp_path / "ratings.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "category", "valence", "arousal"])
        for c in categories:
            for i in range(8):
                (tmp_path / f"{c}{i:03d}.jpg").write_bytes(b"x")
                w.writerow([f"{c}{i:03d}.jpg", c, *rng.uniform(0, 100, 2).round(2)])
    rated = ratings.read_rated_set(f"{tmp_path}:0-100:50")
    assert rated.images == tmp_path and len(rated.ratings.images) == 48
    assert rated.ratings.themes[:9] == ["A"] * 8 + ["H"]
    groups = fitting.theme_groups(rated.ratings.themes)
    assert sorted(set(groups)) == ["a", "h", "n", "p", "sn", "sp"]

    ings, _, tables = synthetic_ingredients(48)
    position = {id(i): k for k, i in enumerate(ings)}
    trained_on: list[set] = []
    real_fit = fitting.fit

    def recording_fit(fold_ings, *args, **kw):
        trained_on.append({groups[position[id(i)]] for i in fold_ings})
        return real_fit(fold_ings, *args, **kw)

    monkeypatch.setattr(fitting, "fit", recording_fit)
    pred, folds = fitting.out_of_fold(
        ings, rated.ratings.va, groups, tables, spec=feeling.Spec(components=8)
    )
    assert len(trained_on) == 5 and pred.shape == (48, 2)
    for k, seen in enumerate(trained_on):
        tested = set(groups[folds == k])
        assert tested and not tested & seen  # no category on both sides of a fold
        assert tested | seen == set(groups)
