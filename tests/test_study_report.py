"""The study's report (builder.lab.study, `builder study report`): answers simulated with a known
effect are reported as an independent computation from the same lines finds them, with intervals
that cover the effect; hostile files are refused line by line, never guessed at."""

from __future__ import annotations

import os

import orjson
import pytest
from typer.testing import CliRunner

from builder.cli import app
from builder.errors import UsageError
from builder.lab.study import Design, NothingToReport, csv_text, format_report, read_answers, report

from .conftest import requires_mirror
from .study_fixtures import (
    CONDITIONS,
    GID,
    SHIFTS,
    design,
    expected_score,
    independent,
    simulate,
    write,
)


def test_a_known_effect_is_reported_as_computed_independently_and_covered(tmp_path):
    d = design()
    lines = simulate(d, effect=1.0)
    write(tmp_path / "answers.jsonl", lines)
    result = report(d, read_answers([tmp_path / "answers.jsonl"], d))
    truth = independent(d, lines)
    for c in CONDITIONS:
        assert result["table2"][c]["mean"]["value"] == pytest.approx(truth["mean"][c], abs=0.01)
        assert result["table2"][c]["fits"]["value"] == pytest.approx(truth["fits"][c], abs=0.01)
    for q in (1, 2, 3, 4):
        shares = result["table1"]["visitors"][f"q{q}"]
        assert shares["value"] == pytest.approx(truth["visitors"][q], abs=0.01)
    for c in ("gallery", "objects"):
        entry = result["table1"]["conditions"][c]
        for q in (1, 2, 3, 4):
            read = entry["distribution"][f"q{q}"]["value"]
            assert read == pytest.approx(truth["reads"][c][q], abs=0.01)
            recall = entry["agreement"][f"q{q}"]
            assert recall["value"] == pytest.approx(truth["recall"][c][q], abs=0.01)
            assert recall["low"] <= recall["value"] <= recall["high"]
        for key in ("overall", "balanced"):
            assert entry["agreement"][key]["value"] == pytest.approx(truth[key][c], abs=0.01)
    assert "random" not in result["table1"]["conditions"]  # it reads no quadrant
    for name in ("gallery-random", "gallery-objects"):
        f = result["paired"][name]
        assert f["value"] == pytest.approx(truth[name], abs=0.01)
        assert f["low"] <= f["value"] <= f["high"]
    # the simulated effect: the difference of the expected scores, rounding and the scale's ends in
    for name, other in (("gallery-random", "random"), ("gallery-objects", "objects")):
        effect = expected_score(1.0) - expected_score(SHIFTS[other])
        assert result["paired"][name]["low"] < effect < result["paired"][name]["high"]
    assert result["visitors"] == 40 and result["placements"] == 400
    assert result["ratings"] == sum(x["kind"] == "rate" for x in lines)
    assert result["table2"]["objects"]["failures"] == {"value": 0.1, "pictures": 2}
    text = format_report(result)
    assert "Table 1" in text and "Table 2" in text and "gallery-random" in text


def test_no_effect_gives_an_interval_around_zero(tmp_path):
    d = design()
    write(tmp_path / "a.jsonl", simulate(d, effect=0.0, seed=3))
    f = report(d, read_answers([tmp_path / "a.jsonl"], d))["paired"]["gallery-random"]
    assert f["low"] < 0 < f["high"]


def test_repeated_exports_count_once_and_a_later_judgement_replaces_an_earlier(tmp_path):
    d = design()
    lines = simulate(d, visitors=5)
    write(tmp_path / "one.jsonl", lines)
    write(tmp_path / "two.jsonl", lines + lines[:7])  # the same device exported twice
    answers = read_answers([tmp_path / "one.jsonl", tmp_path / "two.jsonl"], d)
    assert answers.duplicates == len(lines) + 7
    assert len(answers.places) == 50
    first = next(x for x in lines if x["kind"] == "rate")
    later = {**first, "score": 6 - first["score"], "at": "2026-12-31T23:59:00Z"}
    write(tmp_path / "three.jsonl", [later])
    answers = read_answers([tmp_path / "one.jsonl", tmp_path / "three.jsonl"], d)
    assert (
        answers.scores[(first["visitor"], first["picture"], first["condition"])] == later["score"]
    )


def test_hostile_lines_are_refused_and_counted_by_why(tmp_path):
    d = design()
    good = simulate(d, visitors=3)
    rate = next(x for x in good if x["kind"] == "rate")
    place = next(x for x in good if x["kind"] == "place")
    bad = [
        orjson.dumps({**rate, "score": 0}),
        orjson.dumps({**rate, "score": 6}),
        orjson.dumps({**rate, "score": 2.5}),
        orjson.dumps({**rate, "score": True}),
        orjson.dumps({**rate, "score": "3"}),
        orjson.dumps({**place, "valence": "high"}),
        orjson.dumps({**place, "arousal": 1.5}),
        orjson.dumps({**place, "at": "yesterday"}),
        orjson.dumps({**rate, "condition": "mine"}),
        orjson.dumps({**rate, "picture": "elsewhere.jpg"}),
        orjson.dumps({**rate, "kind": "like"}),
        orjson.dumps([1, 2, 3]),
        b'{"gallery": "' + GID.encode() + b'", "visitor": "v1", "pic',  # cut short
        b"\xff\xfe not even text",
        b'{"x": "' + b"a" * 5000 + b'"}',
        orjson.dumps({**rate, "gallery": "g-another"}),
        orjson.dumps({**place, "gallery": "g-another"}),
    ]
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in good) + b"\n".join(bad))
    answers = read_answers([path], d)
    assert sum(answers.malformed.values()) == len(bad) - 2
    assert answers.other_galleries == {"g-another": 2}
    refusals = answers.refusals()
    assert refusals[0] == "2 answers from another gallery's build (g-another) were not counted"
    assert any(
        "`score` is not a whole number from 1 to 5" in r and r.startswith("5 lines")
        for r in refusals
    )
    assert len(answers.first_malformed) == 5 and answers.first_malformed[0].startswith(
        "hostile.jsonl:"
    )
    clean = tmp_path / "clean.jsonl"
    write(clean, good)
    figures, clean_figures = report(d, answers), report(d, read_answers([clean], d))
    assert figures.pop("answers")["other_galleries"] == {"g-another": 2}
    clean_figures.pop("answers")
    assert figures == clean_figures  # what was refused changed nothing


def test_too_few_visitors_or_no_ratings_is_a_sentence(tmp_path):
    d = design()
    lines = simulate(d, visitors=1)
    write(tmp_path / "one.jsonl", lines)
    with pytest.raises(NothingToReport, match="1 visitor answered"):
        report(d, read_answers([tmp_path / "one.jsonl"], d))
    write(tmp_path / "places.jsonl", [x for x in simulate(d, visitors=3) if x["kind"] == "place"])
    with pytest.raises(NothingToReport, match="no visitor rated"):
        report(d, read_answers([tmp_path / "places.jsonl"], d))


def test_an_answers_file_that_is_not_a_file_is_refused(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(UsageError, match="named pipe"):
        read_answers([tmp_path / "pipe"], design())


def test_the_csv_is_formula_safe(tmp_path):
    d = Design.from_json(
        {
            "gallery": GID,
            "conditions": ["=cmd|x", "random"],
            "pictures": {
                "a.jpg": {"=cmd|x": {"track": "t", "quadrant": 1}, "random": {"track": "r"}}
            },
        }
    )
    lines = []
    for v in ("v1", "v2"):
        base = {"gallery": GID, "visitor": v, "picture": "a.jpg", "at": "2026-12-01T10:00:00Z"}
        lines += [
            {**base, "kind": "place", "valence": 0.5, "arousal": 0.5},
            {**base, "kind": "rate", "condition": "=cmd|x", "track": "t", "score": 4},
            {**base, "kind": "rate", "condition": "random", "track": "r", "score": 2},
        ]
    write(tmp_path / "a.jsonl", lines)
    text = csv_text(report(d, read_answers([tmp_path / "a.jsonl"], d)))
    assert "'=cmd|x" in text and ",=cmd" not in text


def test_a_track_played_once_for_two_conditions_counts_for_both(tmp_path):
    d = Design.from_json(
        {
            "gallery": GID,
            "conditions": list(CONDITIONS),
            "pictures": {
                "a.jpg": {
                    "gallery": {"track": "t", "quadrant": 1},
                    "objects": {"track": "t", "quadrant": 1},
                    "random": {"track": "r", "quadrant": None},
                }
            },
        }
    )
    lines = []
    for v, score in (("v1", 5), ("v2", 3)):
        base = {"gallery": GID, "visitor": v, "picture": "a.jpg", "kind": "rate", "track": "t"}
        both = {**base, "score": score, "shared": ["gallery", "objects"]}
        # as the study page writes it: a line for each condition, a moment apart
        lines.append({**both, "condition": "gallery", "at": "2026-12-01T10:00:00.118Z"})
        lines.append({**both, "condition": "objects", "at": "2026-12-01T10:00:00.119Z"})
        lines.append(
            {**base, "condition": "random", "track": "r", "score": 1, "at": "2026-12-01T10:00:09Z"}
        )
    # or one line that names the other condition
    lines.append({**lines[0], "visitor": "v3", "shared": ["objects"], "score": 4})
    write(tmp_path / "a.jsonl", lines)
    answers = read_answers([tmp_path / "a.jsonl"], d)
    assert answers.scores[("v1", "a.jpg", "objects")] == 5
    assert answers.scores[("v2", "a.jpg", "objects")] == 3
    assert answers.scores[("v3", "a.jpg", "objects")] == 4
    assert answers.replaced == 0 and answers.duplicates == 0 and not answers.malformed
    result = report(d, answers)
    assert result["table2"]["objects"]["mean"]["value"] == 4.0
    assert result["paired"]["gallery-objects"]["value"] == 0.0
    # a later score of the shared track replaces the earlier one for both conditions
    later = {**lines[0], "score": 1, "at": "2026-12-01T11:00:00Z"}
    write(tmp_path / "later.jsonl", [*lines, later])
    answers = read_answers([tmp_path / "later.jsonl"], d)
    assert (
        answers.scores[("v1", "a.jpg", "gallery")]
        == answers.scores[("v1", "a.jpg", "objects")]
        == 1
    )
    assert answers.replaced == 2
    # a rating of a track the study does not play for that condition is not guessed at
    wrong = {**lines[0], "visitor": "v4", "track": "r"}
    shared_wrongly = {**lines[0], "visitor": "v4", "shared": ["random"]}
    write(tmp_path / "b.jsonl", [wrong, shared_wrongly, {**lines[0], "shared": "objects"}])
    refused = read_answers([tmp_path / "b.jsonl"], d).malformed
    assert refused == {
        "`track` is not the track the study plays for that condition": 2,
        "`shared` is not a list of the gallery's conditions": 1,
    }


def test_the_later_judgement_counts_whatever_zone_or_precision_its_time_is_written_in(tmp_path):
    d = design()
    base = {"gallery": GID, "visitor": "v1", "picture": "p00.jpg", "kind": "place"}
    lines = [
        {**base, "at": "2026-12-01T10:00:00.500Z", "valence": 0.5, "arousal": 0.5},
        {**base, "at": "2026-12-01T10:00:00Z", "valence": -0.5, "arousal": 0.5},  # earlier
        {**base, "at": "2026-12-01T11:00:00+01:00", "valence": -0.9, "arousal": 0.5},  # too
    ]
    write(tmp_path / "a.jsonl", lines)
    answers = read_answers([tmp_path / "a.jsonl"], d)
    assert answers.places[("v1", "p00.jpg")] == (0.5, 0.5)
    assert answers.replaced == 2 and "2 judgements made again later" in answers.refusals()[-1]


def run_report(*args) -> object:
    return CliRunner().invoke(app, ["study", "report", *map(str, args)])


def demo_answers(gallery, **simulated) -> tuple[Design, list[dict]]:
    d = Design.of_gallery(gallery)
    return d, simulate(d, **simulated)


@requires_mirror
def test_the_report_command_prints_and_writes_what_an_independent_computation_finds(
    tmp_path, study_gallery
):
    d, lines = demo_answers(study_gallery, visitors=60, effect=1.0, seed=5)
    write(tmp_path / "monday.jsonl", lines[: len(lines) // 2])
    write(tmp_path / "tuesday.jsonl", lines)  # the device exported again, with Monday's answers
    csv_out, json_out = tmp_path / "tables.csv", tmp_path / "tables.json"
    answers = [tmp_path / "monday.jsonl", tmp_path / "tuesday.jsonl"]
    result = run_report(*answers, "--gallery", study_gallery, "--csv", csv_out, "--json", json_out)
    assert result.exit_code == 0, result.output
    assert "duplicate lines counted once" in result.output
    assert "Table 1" in result.output and "Table 2" in result.output
    figures = orjson.loads(json_out.read_bytes())
    truth = independent(d, lines)
    assert figures["gallery"] == GID and figures["visitors"] == 60
    assert figures["answers"]["duplicates"] == len(lines) // 2
    for name in ("gallery-random", "gallery-objects"):
        paired = figures["paired"][name]
        assert paired["value"] == pytest.approx(truth[name], abs=0.01)
        effect = expected_score(1.0) - expected_score(SHIFTS[name.split("-")[1]])
        assert paired["low"] < effect < paired["high"]
        assert f"{paired['value']:+.2f} ({paired['low']:+.2f} to {paired['high']:+.2f})" in (
            result.output
        )
    for c in CONDITIONS:
        assert figures["table2"][c]["mean"]["value"] == pytest.approx(truth["mean"][c], abs=0.01)
    for c in ("gallery", "objects"):
        agreement = figures["table1"]["conditions"][c]["agreement"]
        assert agreement["balanced"]["value"] == pytest.approx(truth["balanced"][c], abs=0.01)
    rows = csv_out.read_text().splitlines()
    assert rows[0] == "table,row,column,value,low,high"
    assert any(r.startswith("paired,gallery-random,mean difference,") for r in rows)


@requires_mirror
def test_the_report_command_refuses_hostile_lines_and_another_gallerys_answers(
    tmp_path, study_gallery
):
    d, good = demo_answers(study_gallery, visitors=4)
    rate = next(x for x in good if x["kind"] == "rate")
    place = next(x for x in good if x["kind"] == "place")
    hostile = [
        orjson.dumps({**rate, "score": 0}),
        orjson.dumps({**rate, "score": 6}),
        orjson.dumps({**rate, "score": "4"}),
        orjson.dumps({**place, "valence": None}),
        orjson.dumps({**place, "visitor": 12}),
        orjson.dumps({**rate, "gallery": "g-\x1b[2Jwiped"}),  # a terminal's escape in a name
        orjson.dumps(good[-1])[:25],  # cut short
    ]
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in good) + b"\n".join(hostile))
    result = run_report(path, "--gallery", study_gallery)
    assert result.exit_code == 0, result.output
    assert "not counted: 3 lines refused: `score` is not a whole number from 1 to 5" in (
        result.output
    )
    for why in ("`valence` is not a number", "`visitor` is not a name", "not JSON"):
        assert f"1 line refused: {why}" in result.output
    assert "e.g. hostile.jsonl:" in result.output
    assert "1 answer from another gallery's build (g-\\x1b[2Jwiped)" in result.output
    assert "\x1b" not in result.output
    # only another build's answers: refused by name, and nothing to report (exit 4)
    elsewhere = tmp_path / "elsewhere.jsonl"
    write(elsewhere, [{**x, "gallery": "g-another-build"} for x in good])
    result = run_report(elsewhere, "--gallery", study_gallery)
    assert result.exit_code == 4, result.output
    assert f"{len(good)} answers from another gallery's build (g-another-build)" in result.output
    assert "give --gallery the gallery whose study page collected them" in result.output
    one = tmp_path / "one.jsonl"
    write(one, [x for x in good if x["visitor"] == "v000"])
    result = run_report(one, "--gallery", study_gallery)
    assert result.exit_code == 4 and "1 visitor answered" in result.output
    places = tmp_path / "places.jsonl"
    write(places, [x for x in good if x["kind"] == "place"])
    result = run_report(places, "--gallery", study_gallery)
    assert result.exit_code == 4 and "no visitor rated any music" in result.output


@requires_mirror
def test_the_report_command_reads_a_million_lines(tmp_path, study_gallery):
    d, lines = demo_answers(study_gallery, visitors=400)
    body = b"".join(orjson.dumps(x) + b"\n" for x in lines)
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as fh:
        for _ in range(-(-1_000_000 // len(lines))):
            fh.write(body)
    json_out = tmp_path / "big.json"
    result = run_report(path, "--gallery", study_gallery, "--json", json_out)
    assert result.exit_code == 0, result.output
    figures = orjson.loads(json_out.read_bytes())
    assert figures["answers"]["lines"] >= 1_000_000
    assert figures["answers"]["duplicates"] == figures["answers"]["lines"] - len(lines)
    assert figures["visitors"] == 400 and figures["ratings"] == sum(
        x["kind"] == "rate" for x in lines
    )


@requires_mirror
def test_the_report_command_needs_a_gallery_with_a_study(tmp_path, demo_build):
    write(tmp_path / "a.jsonl", simulate(design(), visitors=2))
    result = run_report(tmp_path / "a.jsonl", "--gallery", demo_build[0])
    assert result.exit_code == 2 and "has no study; build it with --study" in result.output
    (tmp_path / "mine").mkdir()
    result = run_report(tmp_path / "a.jsonl", "--gallery", tmp_path / "mine")
    assert result.exit_code == 2 and "not a gallery written by `builder build`" in result.output
