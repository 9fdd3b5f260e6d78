import csv

import numpy as np
import pytest

from builder.errors import UsageError
from builder.music.catalogue import deam_scale, load_csv_catalogue, load_deam
from builder.music.index import MusicIndex, exact_nearest_ids

from .conftest import MIRROR, requires_mirror


def raw_deam():
    """The annotation files read independently: id -> (valence column, arousal column) as labelled."""
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
    """The evidence for the swap, checked: corrected valence tracks emoMusic's own dynamic valence."""
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
