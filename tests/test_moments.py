"""The moments of a track (builder.music.moments) and where each picture's excerpt plays from
(builder.pipeline.run.with_starts): DEAM's ratings through time, a catalogue's `moments` column,
and the build's Track.start."""

from __future__ import annotations

import csv

import numpy as np
import orjson
import pytest

from builder.music import moments as mo
from builder.music.catalogue import deam_scale, load_csv_catalogue, load_deam_annotations

from .audio_fixtures import tone, write_audio
from .conftest import DEMO, cli_build, requires_mirror
from .test_study_build import study_script


def test_windows_are_the_mean_ratings_of_each_span_that_fits():
    times = 15.0 + 0.5 * np.arange(61)  # as DEAM: 15 s to 45 s, twice a second
    points = np.zeros((61, 2))
    points[times >= 30] = (0.6, 0.4)  # calm for 15 s, then a storm
    found = mo.windows(times, points, seconds=12.0)
    assert [m.start for m in found] == [15.0 + 0.5 * k for k in range(37)]  # 15 s to 33 s
    assert all(m.seconds == 12.0 for m in found)
    assert (found[0].valence, found[0].arousal) == (0.0, 0.0)  # 15-27 s: all calm
    assert (found[-1].valence, found[-1].arousal) == (0.6, 0.4)  # 33-45 s: all storm
    half = next(m for m in found if m.start == 24.0)  # 24-36 s: half of each
    assert half.valence == pytest.approx(0.3) and half.arousal == pytest.approx(0.2)
    # a span shorter than a window is one moment, its mean
    (short,) = mo.windows(times[:5], points[:5] + 0.1, seconds=12.0)
    assert short.start == 15.0 and short.valence == pytest.approx(0.1)
    # a window with too few ratings (a gap of missing samples) is left out
    gappy = np.r_[times[:10], times[40:]]
    assert all(not 15.0 < m.start < 25.0 for m in mo.windows(gappy, np.zeros((31, 2)), 12.0))


def test_the_nearest_moment_is_where_a_picture_hears_the_track():
    found = (
        mo.Moment(15.0, 12.0, -0.5, -0.5),
        mo.Moment(20.0, 12.0, 0.5, 0.5),
        mo.Moment(25.0, 12.0, 0.5, 0.5),
    )
    assert mo.nearest(found, (0.6, 0.4)).start == 20.0  # the earliest of equally near ones
    assert mo.nearest(found, (-0.2, -0.9)).start == 15.0
    assert mo.nearest((), (0.0, 0.0)) is None


def test_a_moments_cell_reads_back_what_was_written_and_says_what_is_wrong():
    found = (mo.Moment(0.0, 11.968, -0.1234, 0.5), mo.Moment(2.992, 11.968, 0.25, -1.0))
    cell = mo.to_cell(found)
    assert cell == "0.00 11.97 -0.1234 0.5000; 2.99 11.97 0.2500 -1.0000"
    again = mo.from_cell(cell)
    assert [(m.start, m.valence, m.arousal) for m in again] == [
        (0.0, -0.1234, 0.5),
        (2.99, 0.25, -1.0),
    ]
    assert mo.from_cell("") == ()
    for bad, said in (
        ("1 2 3", "3 numbers"),
        ("a b c d", "not four numbers"),
        ("-1 12 0 0", "at or after 0 s"),
        ("0 12 1.5 0", r"outside \[-1, 1\]"),
        ("0 12 nan 0", "finite"),
        ("; ".join(["0 1 0 0"] * (mo.MOST + 1)), "more than"),
    ):
        with pytest.raises(ValueError, match=said):
            mo.from_cell(bad)


def test_a_catalogue_csv_carries_its_moments_and_a_bad_cell_costs_only_them(tmp_path):
    p = tmp_path / "cat.csv"
    p.write_text(
        "id,title,artist,valence,arousal,moments\n"
        "a,A,X,0.5,0.5,0 12 0.1 0.2; 3 12 0.6 0.6\n"
        "b,B,X,-0.5,0.5,0 12 oops\n"
        "c,C,X,0.1,0.1,;\n"  # no moment at all: the track has none
        "d,D,X,0.1,0.2,\n"
    )
    cat, problems = load_csv_catalogue(p)
    assert [t.id for t in cat.tracks] == ["a", "b", "c", "d"]
    assert set(cat.moments) == {"a"} and [m.start for m in cat.moments["a"]] == [0.0, 3.0]
    assert len(problems) == 1 and problems[0].startswith("line 3: moments cannot be read")
    # a catalogue filtered or cut to its playable tracks keeps the moments
    assert cat.without(licences=("CC BY",)).moments is cat.moments
    assert cat.playable().moments is cat.moments


@requires_mirror
def test_deams_ratings_through_time_give_every_2013_song_its_moments(store):
    found = mo.deam_moments(store)
    assert len(found) == 744
    for sid in ("2", "3", "7", "1000"):
        starts = [m.start for m in found[sid]]
        assert starts == [15.0 + 0.5 * k for k in range(37)]
    assert all(-1 <= m.valence <= 1 and -1 <= m.arousal <= 1 for ms in found.values() for m in ms)
    assert mo.deam_moments(None) == {}


@requires_mirror
def test_the_dynamic_ratings_are_in_the_catalogues_frame_and_never_swapped(store):
    """The dynamic files are labelled right; the static file's 2013 columns are swapped. So a
    song's moments, averaged, agree with the corrected static point on both axes, on the same
    scale (the scale's ends map to the frame's, as the static ratings' do), and not with the
    uncorrected one."""
    found = mo.deam_moments(store)
    paths = (store.resolve("deam-static-1-2000"), store.resolve("deam-static-2000-2058"))
    ids = sorted(found, key=int)
    mean = np.array([[np.mean([(m.valence, m.arousal) for m in found[i]], axis=0)] for i in ids])
    mean = mean.reshape(-1, 2)
    for swap in (True, False):
        static = load_deam_annotations(*paths, swap_2013=swap)
        point = np.array([[deam_scale(x) for x in static[i]] for i in ids])
        r = [np.corrcoef(mean[:, k], point[:, k])[0, 1] for k in (0, 1)]
        if swap:
            assert min(r) > 0.9
            # the same frame: the songs' means lie where their static points do, give or take
            assert np.abs(mean - point).mean() < 0.15
        else:
            assert max(r) < 0.7


@requires_mirror
def test_a_built_picture_hears_its_tracks_from_the_moment_nearest_its_target(demo_build, deam):
    out, _ = demo_build
    g = orjson.loads((out / "gallery.json").read_bytes())
    starts = set()
    for im in g["images"]:
        for t in im["tracks"]:
            if not t["audio"]:
                continue
            chosen = mo.nearest(deam.moments[t["id"]], im["target"])
            assert t["start"] == chosen.start, (im["file"], t["id"])
            assert 15.0 <= t["start"] <= 33.0  # inside the rated half minute of the clip
            starts.add(t["start"])
    assert len(starts) > 1  # not one start for all: each picture's own moment


@requires_mirror
def test_the_studys_excerpts_play_each_pictures_moment(study_build, deam):
    out, _ = study_build
    g = orjson.loads((out / "gallery.json").read_bytes())
    target = {im["file"]: im["target"] for im in g["images"]}
    page = study_script(out)
    for p in page["pictures"]:
        picks = g["study"]["pictures"][p["file"]]
        for e in p["excerpts"]:
            chosen = mo.nearest(deam.moments[e["track"]], target[p["file"]])
            assert e["start"] == chosen.start
            assert all(picks[c]["start"] == chosen.start for c in e["conditions"])


@requires_mirror
def test_a_track_without_moments_plays_from_where_it_stops_being_quiet(tmp_path, session_cache):
    """A catalogue of two tracks: one with moments (each picture hears the one nearest its target),
    one without (it plays from the end of its quiet opening, as before)."""
    quiet = np.concatenate([np.zeros((2, 44100 * 4), np.float32), tone(16, freq=330)], axis=1)
    write_audio(tmp_path / "cat" / "quiet.wav", quiet)
    write_audio(tmp_path / "cat" / "moving.wav", tone(20, freq=440, beat_hz=2))
    rows = [
        ["id", "title", "artist", "valence", "arousal", "audio", "moments"],
        ["quiet", "Q", "X", "-0.5", "-0.5", "quiet.wav", ""],
        ["moving", "M", "X", "0.5", "0.5", "moving.wav", "0 8 -0.9 -0.9; 5 8 0.9 0.9"],
    ]
    with open(tmp_path / "cat" / "cat.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    out = tmp_path / "dist"
    result = cli_build(DEMO, out, session_cache, "--catalogue", str(tmp_path / "cat" / "cat.csv"))
    assert result.exit_code == 0, result.output
    g = orjson.loads((out / "gallery.json").read_bytes())
    heard = {t["id"] for im in g["images"] for t in im["tracks"]}
    assert heard == {"quiet", "moving"}
    for im in g["images"]:
        for t in im["tracks"]:
            if t["id"] == "quiet":
                assert t["start"] == pytest.approx(4.0, abs=0.5)
            else:  # the moment nearer the picture's target
                near = mo.nearest(
                    (mo.Moment(0, 8, -0.9, -0.9), mo.Moment(5, 8, 0.9, 0.9)), im["target"]
                )
                assert t["start"] == near.start
