"""An exhibition's visitors as a rated set (builder.lab.study.placed, rated_set, placed_intervals):
`builder fit --study` fits on each picture's mean placed point, weighted by how many visitors placed
it, without touching the shipped model; `builder evaluate --study` reports how a model reads the
visitors, with intervals from resampling them."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from builder.cli import app
from builder.errors import UsageError
from builder.lab import fitting
from builder.lab.metrics import metrics
from builder.lab.study import NothingToReport, placed, placed_intervals, rated_set, read_answers
from builder.picture import feeling
from builder.plane import quadrants

from .conftest import MIRROR, requires_mirror
from .lab_fixtures import synthetic_ingredients
from .study_fixtures import GID, design, gallery_with_study, simulate, write


def test_each_pictures_point_is_the_mean_of_its_visitors_last_placements(tmp_path):
    d = design(n=3)
    at = "2026-12-01T10:00:00Z"
    base = {"gallery": GID, "kind": "place", "at": at}
    lines = [
        {**base, "visitor": "a", "picture": "p00.jpg", "valence": 0.2, "arousal": 0.4},
        {**base, "visitor": "b", "picture": "p00.jpg", "valence": 0.6, "arousal": -0.2},
        {**base, "visitor": "b", "picture": "p01.jpg", "valence": -0.5, "arousal": 0.1},
        # b placed p00 again later: that point replaces the first
        {**base, "visitor": "b", "picture": "p00.jpg", "valence": 1.0, "arousal": 0.0}
        | {"at": "2026-12-01T10:05:00Z"},
    ]
    write(tmp_path / "a.jsonl", lines)
    where = placed(d, read_answers([tmp_path / "a.jsonl"], d))
    assert where.pictures == ["p00.jpg", "p01.jpg"] and where.visitors == 2
    assert where.va.ravel().tolist() == pytest.approx([0.6, 0.2, -0.5, 0.1])
    assert where.counts.tolist() == [2, 1] and where.placements == 3
    random.Random(0).shuffle(lines)  # the same figures whatever order the lines come in
    write(tmp_path / "b.jsonl", lines)
    again = placed(d, read_answers([tmp_path / "b.jsonl"], d))
    assert again.va.tobytes() == where.va.tobytes()
    write(tmp_path / "one.jsonl", [x for x in lines if x["visitor"] == "a"])
    with pytest.raises(NothingToReport, match="1 visitor placed"):
        placed(d, read_answers([tmp_path / "one.jsonl"], d))


def test_a_sets_weight_is_shared_among_its_photos_by_their_weights():
    sets = np.array([0, 0, 0, 1, 1])
    rows = np.ones(5, bool)
    assert fitting.set_weights(sets, rows).tolist() == pytest.approx([5 / 6] * 3 + [5 / 4] * 2)
    w = fitting.set_weights(sets, rows, np.array([1.0, 1.0, 1.0, 3.0, 1.0]))
    assert w[:3].sum() == pytest.approx(w[3:].sum()) and w[3] == pytest.approx(3 * w[4])
    assert w.mean() == pytest.approx(1.0)  # so ridge's alpha keeps its meaning
    alone = fitting.set_weights(None, rows, np.array([2.0, 2.0, 1.0, 1.0, 4.0]))
    assert alone.tolist() == pytest.approx([1.0, 1.0, 0.5, 0.5, 2.0])


def test_a_fit_weighs_pictures_by_their_visitors():
    ings, targets, tables = synthetic_ingredients(60, seed=2)
    plain = fitting.fit(ings, targets, tables)
    alike = fitting.fit(ings, targets, tables, weights=np.full(60, 7.0))
    assert alike.predict(ings) == pytest.approx(plain.predict(ings), abs=1e-6)
    counts = np.random.default_rng(0).integers(1, 30, 60).astype(float)
    weighted = fitting.fit(ings, targets, tables, weights=counts)
    assert np.abs(weighted.predict(ings) - plain.predict(ings)).max() > 1e-3


def test_intervals_from_resampling_visitors_hold_the_figures_as_answered(tmp_path):
    d = design(n=20)
    lines = simulate(d, visitors=30, seed=4)
    write(tmp_path / "a.jsonl", lines)
    where = placed(d, read_answers([tmp_path / "a.jsonl"], d))
    rng = np.random.default_rng(1)
    pred = where.va + rng.normal(scale=0.3, size=where.va.shape)  # a reading that mostly agrees
    read_q = quadrants(pred)
    row = metrics(quadrants(where.va), read_q, pred, where.va)
    iv = placed_intervals(where, pred, read_q)
    for key in ("balanced_agreement", "overall_agreement", "r_valence", "r_arousal"):
        low, high = iv[key]
        assert low <= round(row[key], 4) <= high and low < high, key
    for recall, span in zip(row["per_quadrant_agreement"], iv["per_quadrant_agreement"]):
        assert (span is None) == (recall is None)
        assert span is None or span[0] <= round(recall, 4) <= span[1]
    assert iv == placed_intervals(where, pred, read_q)  # seeded


def shipped_sha() -> str:
    return hashlib.sha256(feeling.MODEL_PATH.read_bytes()).hexdigest()


@requires_mirror
def test_fit_on_visitors_makes_another_model_which_evaluate_reports(
    tmp_path, study_gallery, session_cache
):
    from builder.lab.study import Design

    d = Design.of_gallery(study_gallery)
    lines = simulate(d, visitors=30, seed=6)
    write(tmp_path / "answers.jsonl", lines)
    random.Random(1).shuffle(lines)
    write(tmp_path / "shuffled.jsonl", lines)
    common = ["--mirror", str(MIRROR), "--cache-dir", str(session_cache), "--offline"]
    study = ["--study", str(tmp_path / "answers.jsonl"), "--gallery", str(study_gallery)]
    shipped = shipped_sha()
    # without --out the shipped model is never replaced
    result = CliRunner().invoke(app, ["fit", *study, *common])
    assert result.exit_code == 2 and "name the file to write with --out" in result.output
    out = tmp_path / "visitors.npz"
    result = CliRunner().invoke(app, ["fit", *study, "--out", str(out), *common])
    assert result.exit_code == 0, result.output
    assert "30 visitors placed 13 pictures of the study of gallery" in result.output
    assert shipped_sha() == shipped
    model = feeling.FeelingModel.load(out)
    assert model.meta["ratings"] == f"study-{GID}" and int(model.meta["n"]) == 13
    assert "30 visitors" in model.meta["scale"]
    assert not np.array_equal(model.coef, feeling.FeelingModel.load().coef)
    # the same answers in another order: the same model, bit for bit
    again = tmp_path / "again.npz"
    shuffled = ["--study", str(tmp_path / "shuffled.jsonl"), "--gallery", str(study_gallery)]
    result = CliRunner().invoke(app, ["fit", *shuffled, "--out", str(again), *common])
    assert result.exit_code == 0, result.output
    assert again.read_bytes() == out.read_bytes()

    # the shipped model read against the visitors, then the model fitted on them (out of fold)
    for given, row in (([], "learned"), (["--model", str(out)], "learned (5-fold CV by picture)")):
        table = tmp_path / "evaluate.json"
        result = CliRunner().invoke(
            app, ["evaluate", *study, *given, "--json", str(table), *common]
        )
        assert result.exit_code == 0, result.output
        assert "30 visitors placed 13 pictures" in result.output
        assert "visitors resampled with replacement" in result.output
        figures = orjson.loads(table.read_bytes())
        assert figures["visitors"] == 30 and figures["pictures"] == 13
        learned = figures["results"][row]
        assert learned["n"] == 13 and "chance (expected)" in figures["results"]
        low, high = learned["interval_95"]["balanced_agreement"]
        assert low <= round(learned["balanced_agreement"], 4) <= high
    assert "grouped by picture" in figures["notes"]["learned"]
    assert shipped_sha() == shipped


@requires_mirror
def test_a_study_whose_copies_leave_the_gallery_is_refused(tmp_path, demo_build):
    gallery = gallery_with_study(demo_build[0], tmp_path / "dist")
    data = orjson.loads((gallery / "gallery.json").read_bytes())
    data["images"][0]["image"] = "../../outside.jpg"
    (gallery / "gallery.json").write_bytes(orjson.dumps(data))
    from builder.lab.study import Design

    d = Design.of_gallery(gallery)
    write(tmp_path / "a.jsonl", simulate(d, visitors=3, per_visitor=13))
    where = placed(d, read_answers([tmp_path / "a.jsonl"], d))
    with pytest.raises(UsageError, match="names no copy of the study's picture"):
        rated_set(where, gallery)
    result = CliRunner().invoke(
        app,
        ["evaluate", "--study", str(tmp_path / "a.jsonl"), "--gallery", str(gallery), "--offline"],
    )
    assert result.exit_code == 2 and "names no copy" in result.output
