"""The study's report (builder.lab.study): answers simulated with a known effect are reported as an independent
computation from the same lines finds them, with intervals that cover the effect; hostile files are refused
line by line, never guessed at."""

from __future__ import annotations

import random
from statistics import mean

import orjson
import pytest

from builder.errors import UsageError
from builder.lab.study import Design, NothingToReport, csv_text, format_report, read_answers, report

GID = "g-0123456789abcdef"
CONDITIONS = ("gallery", "objects", "random")
QUADRANT_POINTS = {1: (0.5, 0.5), 2: (-0.5, 0.5), 3: (-0.5, -0.5), 4: (0.5, -0.5)}


def design(n: int = 20, fail_objects: int = 2) -> Design:
    """n pictures; the gallery reads each picture's true quadrant, the object method every other one right;
    the object method could not recommend for the first fail_objects pictures."""
    pictures = {}
    for i in range(n):
        q = i % 4 + 1
        pictures[f"p{i:02d}.jpg"] = {
            "gallery": {"track": f"t{i}", "quadrant": q},
            "objects": {
                "track": None if i < fail_objects else f"o{i}",
                "quadrant": q if i % 2 == 0 else q % 4 + 1,
            },
            "random": {"track": f"r{i}", "quadrant": None},
        }
    return Design.from_json({"gallery": GID, "conditions": list(CONDITIONS), "pictures": pictures})


def simulate(d: Design, visitors: int = 40, effect: float = 1.0, seed: int = 1) -> list[dict]:
    """Each visitor judges 10 pictures: a point near the picture's true quadrant's centre (wrong quadrant one
    time in five), and scores: random around 2.5, objects 0.3 higher, the gallery `effect` higher."""
    rng = random.Random(seed)
    lines = []
    files = sorted(d.pictures)
    for v in range(visitors):
        visitor = f"v{v:03d}"
        for k, p in enumerate(rng.sample(files, 10)):
            q = d.pictures[p]["gallery"].quadrant
            if rng.random() < 0.2:
                q = rng.choice([x for x in (1, 2, 3, 4) if x != q])
            x, y = QUADRANT_POINTS[q]
            at = f"2026-12-0{1 + v % 9}T10:{k:02d}:00Z"
            base = {"gallery": GID, "visitor": visitor, "picture": p, "at": at}
            lines.append(
                {
                    **base,
                    "kind": "place",
                    "valence": round(x + rng.uniform(-0.4, 0.4), 2),
                    "arousal": round(y + rng.uniform(-0.4, 0.4), 2),
                }
            )
            for c, shift in (("gallery", effect), ("objects", 0.3), ("random", 0.0)):
                pick = d.pictures[p][c]
                if pick.track is None:
                    lines.append({**base, "kind": "fail", "condition": c})
                    continue
                score = min(5, max(1, round(2.5 + shift + rng.gauss(0, 0.8))))
                lines.append(
                    {**base, "kind": "rate", "condition": c, "track": pick.track, "score": score}
                )
    return lines


def write(path, lines: list[dict]) -> None:
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))


def independent(d: Design, lines: list[dict]) -> dict:
    """The figures computed plainly, from the lines as they are (no duplicates, one judgement each)."""
    scores: dict[tuple[str, str], list[int]] = {}
    agree = {c: [] for c in ("gallery", "objects")}
    for x in lines:
        if x["kind"] == "rate":
            scores.setdefault((x["picture"], x["condition"]), []).append(x["score"])
        elif x["kind"] == "place":
            v, a = x["valence"], x["arousal"]
            q = (1 if v >= 0 else 2) if a >= 0 else (4 if v >= 0 else 3)
            for c in agree:
                agree[c].append(d.pictures[x["picture"]][c].quadrant == q)
    per = {c: {p: mean(s) for (p, cc), s in scores.items() if cc == c} for c in CONDITIONS}
    out = {
        "mean": {c: mean(per[c].values()) for c in CONDITIONS},
        "fits": {c: mean(m >= 4 for m in per[c].values()) for c in CONDITIONS},
        "overall": {c: mean(agree[c]) for c in agree},
    }
    for b in ("random", "objects"):
        both = [p for p in per["gallery"] if p in per[b]]
        out[f"gallery-{b}"] = mean(per["gallery"][p] - per[b][p] for p in both)
    return out


def test_a_known_effect_is_reported_as_computed_independently_and_covered(tmp_path):
    d = design()
    lines = simulate(d, effect=1.0)
    write(tmp_path / "answers.jsonl", lines)
    result = report(d, read_answers([tmp_path / "answers.jsonl"], d))
    truth = independent(d, lines)
    for c in CONDITIONS:
        assert result["table2"][c]["mean"]["value"] == pytest.approx(truth["mean"][c], abs=0.01)
        assert result["table2"][c]["fits"]["value"] == pytest.approx(truth["fits"][c], abs=0.01)
    for c in ("gallery", "objects"):
        overall = result["table1"]["conditions"][c]["agreement"]["overall"]
        assert overall["value"] == pytest.approx(truth["overall"][c], abs=0.01)
    assert "random" not in result["table1"]["conditions"]  # it reads no quadrant
    for name in ("gallery-random", "gallery-objects"):
        f = result["paired"][name]
        assert f["value"] == pytest.approx(truth[name], abs=0.01)
        assert f["low"] <= f["value"] <= f["high"]
    # the simulated effect (1.0 against random, 0.7 against objects, before rounding to whole scores)
    assert (
        result["paired"]["gallery-random"]["low"] < 1.0 < result["paired"]["gallery-random"]["high"]
    )
    assert (
        result["paired"]["gallery-objects"]["low"]
        < 0.7
        < result["paired"]["gallery-objects"]["high"]
    )
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
    assert report(d, answers) == report(
        d, read_answers([clean], d)
    )  # what was refused changed nothing


def test_a_million_lines_are_read_and_reported(tmp_path):
    d = design()
    lines = simulate(d, visitors=40)
    body = b"".join(orjson.dumps(x) + b"\n" for x in lines)
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as fh:
        for _ in range(-(-1_000_000 // len(lines))):
            fh.write(body)
    answers = read_answers([path], d)
    assert answers.lines >= 1_000_000
    assert answers.duplicates == answers.lines - len(lines)
    assert (
        report(d, answers)["ratings"] == report(d, read_answers_of(tmp_path, d, lines))["ratings"]
    )


def read_answers_of(tmp_path, d, lines):
    path = tmp_path / "small.jsonl"
    write(path, lines)
    return read_answers([path], d)


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
    import os

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
