from __future__ import annotations

import csv
import os
import shutil
import stat
from types import SimpleNamespace

import numpy as np
import orjson
import pytest

from builder.errors import UsageError
from builder.files import spreadsheet_safe
from builder.music.catalogue import deam_scale, load_csv_catalogue, load_deam
from builder.music.index import MusicIndex, exact_nearest_ids

from .conftest import MIRROR, build, requires_mirror, with_umask


def raw_deam():
    """The annotation files read independently: id -> (valence column, arousal column) as
    labelled."""
    out = {}
    for name in (
        "static_annotations_averaged_songs_1_2000.csv",
        "static_annotations_averaged_songs_2000_2058.csv",
    ):
        with open(MIRROR / "deam" / "annotations" / name, newline="") as f:
            rows = list(csv.reader(f))
        head = [h.strip() for h in rows[0]]
        iv, ia = head.index("valence_mean"), head.index("arousal_mean")
        for r in rows[1:]:
            out[r[0].strip()] = (float(r[iv]), float(r[ia]))
    return out


@requires_mirror
def test_deam_has_every_song_mapped_to_minus_one_one_with_2013_swap(deam):
    raw = raw_deam()
    assert len(deam.tracks) == len(raw) == 1802
    for t in deam.tracks:
        v, a = raw[t.id]
        if int(t.id) <= 1000:
            v, a = a, v  # the 2013 set's columns are swapped in the file
        assert t.valence == pytest.approx(deam_scale(v)) and t.arousal == pytest.approx(
            deam_scale(a)
        )
        assert -1 <= t.valence <= 1 and -1 <= t.arousal <= 1


@requires_mirror
def test_swap_can_be_switched_off(store):
    raw = raw_deam()
    plain = load_deam(store, swap_2013=False)
    for t in plain.tracks[:50] + plain.tracks[-50:]:
        assert (t.valence, t.arousal) == pytest.approx(tuple(deam_scale(x) for x in raw[t.id]))


@requires_mirror
def test_swap_makes_2013_valence_agree_with_time_averaged_emomusic_valence(deam, store):
    """The evidence for the swap, checked: corrected valence tracks emoMusic's own dynamic
    valence."""
    dyn = {}
    with open(MIRROR / "deam" / "dynamic_2013" / "valence_cont_average.csv", newline="") as f:
        rows = list(csv.reader(f))
    for r in rows[1:]:
        vals = [float(x) for x in r[1:] if x]
        dyn[r[0]] = sum(vals) / len(vals)
    ours = {t.id: t.valence for t in deam.tracks if t.id in dyn}
    unswapped = {t.id: t.valence for t in load_deam(store, swap_2013=False).tracks if t.id in dyn}
    ids = sorted(ours)
    r_swapped = np.corrcoef([ours[i] for i in ids], [dyn[i] for i in ids])[0, 1]
    r_plain = np.corrcoef([unswapped[i] for i in ids], [dyn[i] for i in ids])[0, 1]
    assert r_swapped > 0.7 and r_swapped > r_plain + 0.2


@requires_mirror
def test_metadata_and_audio_match_the_clip_index(deam):
    by_id = deam.by_id()
    with open(MIRROR / "deam" / "MEMD_audio" / "clips_index.csv", newline="") as f:
        clips = list(csv.DictReader(f))
    for c in clips:
        t = by_id[c["song_id"]]
        assert t.artist == " ".join(c["Artist"].split())
        assert t.audio and t.audio.endswith(f"{c['song_id']}.mp3")
        assert t.licence == c["licence_id3_TCOP"]
    assert sum(1 for t in deam.tracks if t.audio) == len(clips)
    assert len(deam.playable().tracks) == len(clips)


def test_user_catalogue_skips_bad_rows_and_says_why(tmp_path):
    (tmp_path / "a.mp3").write_bytes(b"ID3")
    p = tmp_path / "cat.csv"
    p.write_text(
        "id,title,artist,valence,arousal,audio,licence\n"
        "x1,Good,Someone,0.5,-0.2,a.mp3,CC BY\n"
        "x2,No number,Someone,,0.1,,\n"
        "x3,Too big,Someone,1.5,0.1,,\n"
        "x1,Duplicate,Someone,0.1,0.1,,\n"
        "x4,Missing audio,Someone,0.1,0.1,nope.mp3,\n"
    )
    cat, problems = load_csv_catalogue(p)
    assert [t.id for t in cat.tracks] == ["x1", "x4"]
    assert (
        cat.tracks[0].audio == str((tmp_path / "a.mp3").resolve()) and cat.tracks[1].audio is None
    )
    assert (
        len(problems) == 4
        and any("line 3" in p for p in problems)
        and any("outside" in p for p in problems)
    )


def test_user_catalogue_without_required_columns_is_refused(tmp_path):
    p = tmp_path / "cat.csv"
    p.write_text("id,title,valence\n1,a,0.1\n")
    with pytest.raises(UsageError, match="artist"):
        load_csv_catalogue(p)


@requires_mirror
def test_hnsw_index_returns_exact_neighbours_on_deam(deam, tmp_path):
    index = MusicIndex(deam, tmp_path)
    rng = np.random.default_rng(1)
    for q in rng.uniform(-1, 1, size=(300, 2)):
        q = (float(q[0]), float(q[1]))
        assert index.nearest_ids(q, 5) == exact_nearest_ids(index.points, q, 5)
    # and again from the cached file
    again = MusicIndex(deam, tmp_path)
    assert again.cached and again.nearest_ids((0.1, 0.2), 3) == index.nearest_ids((0.1, 0.2), 3)


def test_hnsw_index_matches_exact_search_on_random_catalogue(tmp_path):
    from builder.music.catalogue import Catalogue
    from builder.records import Track

    rng = np.random.default_rng(2)
    cat = Catalogue(
        "rand",
        tuple(
            Track(str(i), "t", "a", float(v), float(a))
            for i, (v, a) in enumerate(rng.uniform(-1, 1, (500, 2)))
        ),
    )
    index = MusicIndex(cat, None)
    for q in rng.uniform(-1, 1, size=(200, 2)):
        assert index.nearest_ids(tuple(q), 4) == exact_nearest_ids(index.points, tuple(q), 4)


def test_licence_and_genre_filters():
    from builder.music.catalogue import Catalogue
    from builder.records import Track

    cat = Catalogue(
        "c",
        (
            Track("1", "a", "x", 0, 0, genre="Rock", licence="Creative Commons Attribution"),
            Track(
                "2",
                "b",
                "x",
                0,
                0,
                genre="Blues",
                licence="Attribution-Noncommercial-Share Alike 3.0",
            ),
            Track("3", "c", "x", 0, 0, genre="Classical", licence=None),
            Track("4", "d", "x", 0, 0, genre="Pop-Rock", licence="FMA-Limited"),
        ),
    )
    assert [t.id for t in cat.without(("noncommercial",)).tracks] == [
        "1",
        "4",
    ]  # unknown licence goes too
    assert [t.id for t in cat.without(("NONCOMMERCIAL", "fma-limited")).tracks] == ["1"]
    assert [t.id for t in cat.without(genres=("rock",)).tracks] == ["2", "3"]
    assert cat.without() is cat


def test_a_rebuild_reuses_the_assignment_and_a_changed_question_is_solved_again(
    tmp_path, monkeypatch
):
    from builder.music import index as index_module
    from builder.music import matching
    from builder.music.catalogue import Catalogue
    from builder.records import Track

    rng = np.random.default_rng(4)
    cat = Catalogue(
        "rand",
        tuple(
            Track(str(i), "t", "a", float(v), float(a))
            for i, (v, a) in enumerate(rng.uniform(-1, 1, (40, 2)))
        ),
    )
    targets = rng.uniform(-1, 1, (30, 2))
    solved = MusicIndex(cat, tmp_path).assign(targets, repeats=2)
    assert solved == matching.assign(targets, MusicIndex(cat, None).points, repeats=2)

    def unsolvable(*a, **k):
        raise AssertionError("solved again")

    monkeypatch.setattr(index_module.matching, "assign", unsolvable)
    assert (
        MusicIndex(cat, tmp_path).assign(targets, repeats=2) == solved
    )  # remembered, in a new process's index
    with pytest.raises(AssertionError, match="solved again"):
        MusicIndex(cat, tmp_path).assign(targets, repeats=3)  # another cap: another question
    with pytest.raises(AssertionError, match="solved again"):
        MusicIndex(cat, tmp_path).assign(targets[:-1], repeats=2)  # another collection
    pinned = np.zeros(40, dtype=int)
    pinned[int(solved.first[0])] = 1
    with pytest.raises(AssertionError, match="solved again"):
        MusicIndex(cat, tmp_path).assign(targets, repeats=2, used=pinned)  # a pin: another question
    assert (
        MusicIndex(cat, tmp_path).assign(targets, repeats=2, used=np.zeros(40)) == solved
    )  # no pin is none
    (entry,) = (tmp_path / "assign").iterdir()
    entry.write_bytes(
        entry.read_bytes().replace(b'"first":[', b'"first":[99,')
    )  # a track the catalogue lacks
    with pytest.raises(AssertionError, match="solved again"):
        MusicIndex(cat, tmp_path).assign(targets, repeats=2)
    assert not entry.exists()  # the damaged entry is dropped, never served


def test_a_catalogue_cell_never_becomes_a_spreadsheet_formula(tmp_path):
    from builder.music.catalogue import load_csv_catalogue
    from builder.music.listen import write_catalogue
    from builder.records import Track

    hostile = [
        '=HYPERLINK("http://x","y")',
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1)",
        "\tTAB",
        "plain",
    ]
    scored = [
        SimpleNamespace(
            track=Track(f"t{i}", text, text, 0.1 * i - 0.3, -0.2, genre=text, licence=text),
            confidence=0.5,
            moments=(),
        )
        for i, text in enumerate(hostile)
    ]
    out = tmp_path / "catalogue.csv"
    with with_umask(0o022):
        write_catalogue(scored, out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    for line in out.read_text(encoding="utf-8").splitlines()[1:]:
        for cell in line.split(","):
            assert not cell.lstrip('"').startswith(("=", "+", "@", "\t")), line
    back, problems = load_csv_catalogue(out)
    assert problems == []
    assert [
        t.title for t in back.tracks
    ] == hostile  # the quote comes off again when the builder reads it
    assert [t.valence for t in back.tracks] == pytest.approx(
        [0.1 * i - 0.3 for i in range(len(hostile))]
    )
    assert spreadsheet_safe("-0.5") == "'-0.5" and spreadsheet_safe("x=1") == "x=1"


def test_catalogue_rows_are_judged_one_by_one(tmp_path):
    from builder.music.catalogue import load_csv_catalogue

    p = tmp_path / "c.csv"
    long = "x" * 200_000
    p.write_text(
        f'id,title,artist,valence,arousal\na,Nul\x00Title,x,0.1,0.2\nb,"{long}",y,0.1,0.2\nc,ok,z,0,0\n'
    )
    cat, problems = load_csv_catalogue(p)
    assert [t.id for t in cat.tracks] == ["a", "c"] and cat.tracks[0].title == "NulTitle"
    assert len(problems) == 1 and problems[0].startswith("line 3:") and "row skipped" in problems[0]


@requires_mirror
def test_a_catalogue_row_gives_audio_only_from_an_audio_file(pics, tmp_path, session_cache):
    music = tmp_path / "music"
    music.mkdir()
    (music / "good.mp3").write_bytes((MIRROR / "deam/MEMD_audio/2.mp3").read_bytes())
    (music / "notes.mp3").write_text("id,title\nnot audio at all\n")
    (music / "empty.mp3").write_bytes(b"")
    os.mkfifo(music / "pipe.mp3")
    out = tmp_path / "site"
    assert build(pics, out, session_cache, "--method", "random").exit_code == 0
    # the user's audio in the gallery being written, which a catalogue names
    (out / "inside.mp3").write_bytes((MIRROR / "deam/MEMD_audio/3.mp3").read_bytes())
    catalogue = music / "catalogue.csv"
    rows = {
        "good": "good.mp3",
        "itself": "catalogue.csv",
        "text": "notes.mp3",
        "empty": "empty.mp3",
        "pipe": "pipe.mp3",
        "gallery": "../site/inside.mp3",
    }
    catalogue.write_text(
        "id,title,artist,valence,arousal,audio\n"
        + "".join(f"{i},{i},x,0.{n},0.2,{a}\n" for n, (i, a) in enumerate(rows.items()))
    )
    # --audio-root names a folder that holds the gallery: its audio is still not taken
    result = build(
        pics,
        out,
        session_cache,
        "--method",
        "random",
        "--catalogue",
        str(catalogue),
        "--audio-root",
        str(tmp_path),
        "--allow-silent",
    )
    assert result.exit_code == 0, result.output
    for said in (
        "'catalogue.csv' is not an audio file by its content",
        "'notes.mp3' is not an audio file by its content",
        "'empty.mp3' empty file (0 bytes)",
        "'pipe.mp3' is a named pipe, not an audio file",
        "'../site/inside.mp3' lies in",
    ):
        assert said in result.output, said
    g = orjson.loads((out / "gallery.json").read_bytes())
    audio = {t["id"]: t["audio"] for im in g["images"] for t in im["tracks"]}
    assert all(a is None for i, a in audio.items() if i != "good")
    good = (music / "good.mp3").read_bytes()
    assert all(p.read_bytes() == good for p in (out / "audio").iterdir())


def test_a_catalogues_long_text_is_cut_and_a_long_id_skipped(tmp_path):
    from builder.music.catalogue import TEXT_CAP, load_csv_catalogue

    p = tmp_path / "c.csv"
    p.write_text(
        "id,title,artist,valence,arousal,licence\n"
        f"a,{'T' * 100_000},{'A' * 500},0.1,0.2,{'L' * 300}\n"
        f"{'i' * 300},t,x,0.1,0.1,\n"
    )
    cat, problems = load_csv_catalogue(p)
    (track,) = cat.tracks
    assert len(track.title) == len(track.artist) == len(track.licence) == TEXT_CAP
    assert problems == [
        "line 2: title of 100,000 characters, cut to 200",
        "line 2: artist of 500 characters, cut to 200",
        "line 2: licence of 300 characters, cut to 200",
        "line 3: id of 300 characters (at most 200)",
    ]


SECRET = "root:x:0:0:secret-marker-for-tests"


@requires_mirror
def test_catalogue_audio_paths_cannot_leave_the_catalogues_folder(pics, tmp_path, session_cache):
    secret = tmp_path / "private" / "passwd"
    secret.parent.mkdir()
    secret.write_text(SECRET)
    music = tmp_path / "music" / "cat"
    music.mkdir(parents=True)
    shutil.copy(MIRROR / "deam/MEMD_audio/2.mp3", music / "ok.mp3")
    os.symlink(secret, music / "link.mp3")  # a link inside pointing outside
    rows = [
        ("ok", "ok.mp3"),
        ("up", "../../private/passwd"),
        ("abs", str(secret)),
        ("link", "link.mp3"),
        ("etc", "/etc/passwd"),
    ]
    csv = music / "catalogue.csv"
    csv.write_text(
        "id,title,artist,valence,arousal,audio\n"
        + "".join(f"{i},{i},x,{0.1 * n:.1f},0.2,{a}\n" for n, (i, a) in enumerate(rows))
    )
    out = tmp_path / "site"
    result = build(pics, out, session_cache, "--catalogue", str(csv), "--allow-silent")
    assert result.exit_code == 0, result.output
    assert (
        result.output.count("leaves the catalogue's folder") == 2 and "is absolute" in result.output
    )
    for f in out.rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes() and b"root:x:0:0" not in f.read_bytes(), f
    g = orjson.loads((out / "gallery.json").read_bytes())
    audio = {t["id"]: t["audio"] for im in g["images"] for t in im["tracks"]}
    assert all(a is None for i, a in audio.items() if i != "ok")


@requires_mirror
def test_a_catalogue_row_with_more_fields_than_its_header_is_skipped(tmp_path):
    from builder.music.catalogue import load_csv_catalogue

    p = tmp_path / "c.csv"
    p.write_text("id,title,artist,valence,arousal\na,A,x,0.1,0.2\nb,B,x,0.1,0.2,extra,more\n")
    cat, problems = load_csv_catalogue(p)
    assert [t.id for t in cat.tracks] == ["a"] and "2 more fields than the header" in problems[0]
