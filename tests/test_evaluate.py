"""builder.lab.evaluate and the `builder evaluate` and `builder fit` commands: every method against
people's ratings, the learned method cross-validated where it was fitted on the photos, and the
music chosen for the pictures against its labels."""

from pathlib import Path

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from builder import plane
from builder.cli import app
from builder.lab import evaluate, fitting
from builder.lab.ratings import RatedSet, Ratings
from builder.picture import feeling

from .conftest import DEMO, MIRROR, requires_mirror
from .lab_fixtures import synthetic_ingredients, write_ratings


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
    assert int(m.meta["n"]) == len(rows) and m.meta["fingerprint"] == fitting.ratings_fingerprint(
        [r[0] for r in rows]
    )
    # two rated sets: the same photos on another scale (0-100, in Emotion6's format), trained on
    # valence only
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
    assert m.meta["origin_rule"] in fitting.ORIGIN_RULES
    result = CliRunner().invoke(app, ["fit", "--out", str(out), *common])
    assert result.exit_code == 2 and "nothing to fit on" in result.output


def test_the_learned_note_names_the_sets_left_out():
    ratings = Ratings(["a.jpg"], ["a"], np.zeros((1, 2)))
    other = Ratings(["b.jpg"], ["b"], np.zeros((1, 2)))
    meta = {
        "fingerprint": "+".join(fitting.ratings_fingerprint([f]) for f in ("a.jpg", "b.jpg")),
        "ratings": "mine+theirs",
        "scale": "1-7 midpoint 4; 1-9 midpoint 5",
        "arousal_from": "mine",
    }
    assert "theirs (1-9 midpoint 5, valence only): add it with --with-set" in evaluate.learned_note(
        meta, ratings, []
    )
    with_it = evaluate.learned_note(
        meta, ratings, [RatedSet("theirs", Path("x"), other, "1-9 midpoint 5", False)]
    )
    assert "with theirs in every fold's training" in with_it and "--with-set" not in with_it
    # measuring the set that trained valence only: its folds leave its arousal ratings out too
    assert evaluate.trains_arousal(meta, ratings) and not evaluate.trains_arousal(meta, other)
    assert "valence only" in evaluate.learned_note(meta, other, [])
    assert evaluate.trains_arousal(
        meta, Ratings(["c.jpg"], ["c"], np.zeros((1, 2)))
    )  # not fitted on: read as is


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


@pytest.mark.parametrize("with_other", [False, True])
def test_out_of_fold_targets_lie_in_the_cross_validated_quadrants(with_other):
    """The music row of `builder evaluate` looks for each picture's music in the quadrant of the
    cross-validated picture row, with the origin and calibration of that photo's fold; with another
    rated set in training too, whose readings the lines are then drawn through (a set judged alone
    would get other lines)."""
    from builder.music.matching import calibrate, calibration_table

    ings, targets, tables = synthetic_ingredients(100, seed=3)
    groups = np.repeat(np.arange(20), 3)  # themes of three near-duplicates
    others = [(ings[60:], targets[60:], True)] if with_other else []
    ings, targets = ings[:60], targets[:60]
    lines: dict = {}
    pred, quads = fitting.cross_validate(
        ings, targets, groups, tables, spec=feeling.Spec(components=8), others=others, lines=lines
    )
    music = calibration_table(np.random.default_rng(3).uniform(-1, 1, (80, 2)))
    got = evaluate.out_of_fold_targets(pred, quads, lines, music)
    origin = np.array([lines["origin"][k] for k in lines["fold"].tolist()])
    assert (plane.quadrants(pred - origin) == quads).all()  # the row's own lines
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
    """Clips made in code, all labelled quadrant 1: every first track agrees exactly with the
    pictures people put in quadrant 1 and with no other, whichever the method."""
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
