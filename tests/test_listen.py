"""Scoring a folder of music: formats, tags, bad files, the cache, the catalogue CSV and `build
--music`."""

from __future__ import annotations

import csv
import struct
from pathlib import Path

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from builder.cli import app
from builder.music import moments

from .audio_fixtures import tone, write_audio
from .conftest import DEMO, MIRROR, requires_import, requires_mirror

pytestmark = [requires_mirror, requires_import("openvino", "av", "soxr", "mutagen")]
EXAMPLES = MIRROR / "models" / "musicnn" / "examples"


def run(*args: str):
    return CliRunner().invoke(app, [*args])


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    """Good files in six formats (two in a sub-folder, tagged), plus every kind of bad file."""
    d = tmp_path_factory.mktemp("music")
    write_audio(
        d / "Calm Tone.flac",
        tone(6, freq=220),
        tags={
            "title": "A calm tone",
            "artist": "Test Band",
            "genre": "Ambient",
            "copyright": "CC BY 4.0",
        },
    )
    write_audio(d / "pulse.mp3", tone(6, freq=880, beat_hz=4, noise=0.2), tags={"artist": "Pulse"})
    write_audio(d / "sub" / "Some One - Noise Song.wav", tone(5, freq=330, noise=0.3))
    write_audio(d / "sub" / "vorbis.ogg", tone(4, freq=523))
    write_audio(d / "opus.opus", tone(4, rate=48000, freq=392))
    write_audio(d / "aac.m4a", tone(4, freq=294))
    (d / "real.mp3").write_bytes((EXAMPLES / "TRWJAZW128F42760DD_test.mp3").read_bytes())
    # bad ones
    (d / "zero.mp3").write_bytes(b"")
    (d / "text.mp3").write_text("not audio at all\n" * 100)
    (d / "truncated.mp3").write_bytes(
        (EXAMPLES / "TRWJAZW128F42760DD_test.mp3").read_bytes()[:3000]
    )
    write_audio(d / "half-second.wav", tone(0.5))
    write_audio(d / "silent.flac", np.zeros((2, 44100 * 4), np.float32))
    fmt = struct.pack("<HHIIHH", 0x1234, 1, 16000, 32000, 2, 16)  # a WAV whose codec nobody knows
    data = b"\x01\x02" * 16000
    (d / "unknown-codec.wav").write_bytes(
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )
    (d / "notes.txt").write_text("not audio, not listed")
    return d


BAD = {
    "zero.mp3": "empty",
    "text.mp3": "not a readable audio file",
    "truncated.mp3": "too short",
    "half-second.wav": "too short",
    "silent.flac": "silent",
    "unknown-codec.wav": "cannot decode",
}
GOOD = {
    "Calm Tone.flac",
    "pulse.mp3",
    "sub/Some One - Noise Song.wav",
    "sub/vorbis.ogg",
    "opus.opus",
    "aac.m4a",
    "real.mp3",
}


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def scored(library, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    out = tmp_path_factory.mktemp("cat") / "catalogue.csv"
    result = run(
        "music",
        "score",
        str(library),
        "--out",
        str(out),
        "--mirror",
        str(MIRROR),
        "--cache-dir",
        str(cache),
        "--offline",
    )
    return out, cache, result


def test_score_writes_a_catalogue_of_every_good_file(scored):
    out, _, result = scored
    assert result.exit_code == 1, result.output  # some files failed: exit 1, as for pictures
    rows = read_csv(out)
    assert list(rows[0]) == [
        "id",
        "title",
        "artist",
        "valence",
        "arousal",
        "audio",
        "licence",
        "genre",
        "confidence",
        "moments",
    ]
    assert {r["id"] for r in rows} == GOOD
    for r in rows:
        assert -1 <= float(r["valence"]) <= 1 and -1 <= float(r["arousal"]) <= 1
        assert 0 <= float(r["confidence"]) <= 1
        assert moments.from_cell(r["moments"])  # every track has at least one moment
        assert (out.parent / r["audio"]).resolve().is_file()  # relative to the CSV
        assert not Path(r["audio"]).is_absolute()


def test_tags_and_file_names_give_title_artist_genre_licence(scored):
    rows = {r["id"]: r for r in read_csv(scored[0])}
    calm = rows["Calm Tone.flac"]
    assert (calm["title"], calm["artist"], calm["genre"], calm["licence"]) == (
        "A calm tone",
        "Test Band",
        "Ambient",
        "CC BY 4.0",
    )
    assert (rows["pulse.mp3"]["title"], rows["pulse.mp3"]["artist"]) == ("pulse", "Pulse")
    noise = rows["sub/Some One - Noise Song.wav"]
    assert (noise["title"], noise["artist"]) == ("Noise Song", "Some One")


def test_every_bad_file_is_listed_with_its_reason(scored):
    _, _, result = scored
    assert "scored 7 tracks (0 cached, 6 failed)" in result.output
    for name, reason in BAD.items():
        line = next((ln for ln in result.output.splitlines() if f"failed: {name}:" in ln), None)
        assert line is not None and reason in line, (name, result.output)
    assert "Traceback" not in result.output


def test_the_windowed_reading_of_a_track_is_written_as_its_moments(scored):
    """A 30-second clip: one window of four patches (about 12 s) from each patch on; a 6-second
    file: one window of its two patches."""
    from builder.music.listen import MOMENT_PATCHES, PATCH_SAMPLES

    patch = PATCH_SAMPLES / 16000
    rows = {r["id"]: moments.from_cell(r["moments"]) for r in read_csv(scored[0])}
    real = rows["real.mp3"]
    assert MOMENT_PATCHES == 4 and len(real) == 10 - 4 + 1  # 29.9 s: ten whole patches
    assert [m.start for m in real] == [round(k * patch, 2) for k in range(7)]
    assert all(m.seconds == round(4 * patch, 2) for m in real)
    assert len({(m.valence, m.arousal) for m in real}) > 1  # the head reads each window anew
    (short,) = rows["Calm Tone.flac"]
    assert short.start == 0.0 and short.seconds == round(2 * patch, 2)


def test_a_song_that_opens_calm_and_breaks_into_a_storm_is_heard_as_both(tmp_path):
    """18 s of a calm, sad DEAM clip, then 18 s of an excited, glad one: the windows of the first
    half read calmer than those of the second, and a picture's excerpt starts in the half that fits
    it."""
    from builder.assets import AssetStore
    from builder.music.excerpt import read_audio
    from builder.music.listen import Listener

    clips = MIRROR / "deam" / "MEMD_audio"
    calm, storm = (read_audio(clips / f"{i}.mp3", 5.0, 18.0, 16000, 1)[:, 0] for i in ("2", "7"))
    song = write_audio(tmp_path / "storm.wav", np.stack([np.r_[calm, storm]] * 2), rate=16000)
    cache = tmp_path / "cache"
    listener = Listener(AssetStore(cache, MIRROR, offline=True), cache, moments=True)
    heard, windows, was_cached = listener.hear_windows(song)
    found = listener.moments_of(windows)
    assert not was_cached and found[0].start == 0.0 and found[-1].start > 18.0
    assert found[-1].arousal > found[0].arousal + 0.2
    assert found[-1].valence > found[0].valence + 0.2
    assert moments.nearest(found, (0.5, 0.5)).start >= 12.0  # mostly the storm
    assert moments.nearest(found, (-0.5, -0.5)).start <= 6.0  # the calm opening
    # the windows are cached with the rest, and a listener that reads no moments leaves them be
    again, cached_windows, was_cached = listener.hear_windows(song)
    assert was_cached and again == heard and listener.moments_of(cached_windows) == found
    plain = Listener(AssetStore(cache, MIRROR, offline=True), cache)
    assert plain.hear_windows(song) == (heard, None, True)


def test_a_damaged_windows_entry_is_heard_again(library, tmp_path):
    from builder.assets import AssetStore
    from builder.music.listen import Listener

    cache = tmp_path / "cache"
    listener = Listener(AssetStore(cache, MIRROR, offline=True), cache, moments=True)
    heard, windows, _ = listener.hear_windows(library / "aac.m4a")
    entry = listener.windows_cache / f"{heard.sha256}.npz"
    entry.write_bytes(b"PK\x03\x04 not a zip")
    again, rewindowed, was_cached = listener.hear_windows(library / "aac.m4a")
    assert not was_cached and again == heard
    assert np.array_equal(rewindowed.features, windows.features, equal_nan=True)


def test_a_long_file_has_a_window_for_each_piece_it_is_read_through(tmp_path):
    from builder.music.audio import WINDOW_S, WINDOWS, Decoded
    from builder.music.listen import PATCH_SAMPLES, spans

    n = int(WINDOW_S * 16000)
    pieces = tuple((15.0 + 50.0 * i, n) for i in range(WINDOWS))
    decoded = Decoded(np.zeros(n * WINDOWS, np.float32), 300.0, WINDOWS, pieces)
    found = spans(decoded, len(decoded.samples) // PATCH_SAMPLES)
    assert [f[0] for f in found] == [p[0] for p in pieces]  # each piece where it lies in the file
    for begins, p0, p1, s0, s1 in found:
        assert s1 - s0 == n and p1 > p0  # its own samples, and the patches wholly inside it
        assert s0 <= p0 * PATCH_SAMPLES and p1 * PATCH_SAMPLES <= s1


def test_a_rerun_listens_only_to_new_files(scored, library, tmp_path):
    out, cache, _ = scored
    again = run(
        "music",
        "score",
        str(library),
        "--out",
        str(tmp_path / "c.csv"),
        "--mirror",
        str(MIRROR),
        "--cache-dir",
        str(cache),
        "--offline",
    )
    assert "scored 7 tracks (7 cached, 6 failed)" in again.output
    assert read_csv(tmp_path / "c.csv") != [] and [
        r["valence"] for r in read_csv(tmp_path / "c.csv")
    ] == [r["valence"] for r in read_csv(out)]
    grown = tmp_path / "grown"
    grown.mkdir()
    for name in ("pulse.mp3", "aac.m4a"):
        (grown / name).write_bytes((library / name).read_bytes())
    write_audio(grown / "new.flac", tone(4, freq=600, beat_hz=2))
    third = run(
        "music",
        "score",
        str(grown),
        "--out",
        str(tmp_path / "g.csv"),
        "--mirror",
        str(MIRROR),
        "--cache-dir",
        str(cache),
        "--offline",
    )
    assert third.exit_code == 0 and "scored 3 tracks (2 cached, 0 failed)" in third.output


def test_a_corrupt_cache_entry_is_recomputed(library, tmp_path):
    from builder.assets import AssetStore
    from builder.music.listen import Listener

    cache = tmp_path / "cache"
    listener = Listener(AssetStore(cache, MIRROR, offline=True), cache)
    first, was_cached = listener.hear(library / "aac.m4a")
    assert not was_cached
    entry = listener.cache / f"{first.sha256}.json"
    entry.write_bytes(
        orjson.dumps({"sha256": first.sha256, "tag_probs": [1, 2]})
    )  # valid JSON, wrong shape
    second, was_cached = listener.hear(library / "aac.m4a")
    assert not was_cached and second == first


def test_long_files_are_read_through_bounded_windows(tmp_path):
    from builder.music.audio import WINDOW_S, WINDOWS, decode

    long = write_audio(tmp_path / "long.wav", tone(300, rate=16000), rate=16000)
    d = decode(long)
    assert d.windows == WINDOWS and abs(d.duration_s - 300) < 0.1
    assert len(d.samples) == int(WINDOWS * WINDOW_S * 16000)


def test_nothing_scored_exits_4(tmp_path):
    (tmp_path / "a.mp3").write_text("no")
    result = run(
        "music",
        "score",
        str(tmp_path),
        "--out",
        str(tmp_path / "c.csv"),
        "--mirror",
        str(MIRROR),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--offline",
    )
    assert result.exit_code == 4 and "no track could be scored" in result.output
    assert not (tmp_path / "c.csv").exists()


def test_the_scored_catalogue_is_read_by_build_with_its_audio_root(scored, library):
    from builder.music.catalogue import load_csv_catalogue

    assert (
        "--audio-root" in scored[2].output
    )  # the CSV lies outside the music folder: say how to build with it
    cat, problems = load_csv_catalogue(scored[0], audio_root=library)
    assert problems == [] and len(cat.tracks) == 7 and all(t.audio for t in cat.tracks)
    assert set(cat.moments) == GOOD  # and the moments each track was heard to have
    cat, problems = load_csv_catalogue(
        scored[0]
    )  # without it, no audio leaves the catalogue's folder
    assert len(problems) == 7 and not any(t.audio for t in cat.tracks)


@pytest.mark.slow
def test_build_with_music_plays_the_users_own_tracks(library, tmp_path, session_cache):
    out = tmp_path / "dist"
    result = run(
        "build",
        str(DEMO),
        "--out",
        str(out),
        "--music",
        str(library),
        "--mirror",
        str(MIRROR),
        "--cache-dir",
        str(session_cache),
        "--offline",
    )
    assert result.exit_code == 0, result.output
    assert "warning: catalogue music silent.flac: silent" in result.output
    g = orjson.loads((out / "gallery.json").read_bytes())
    assert g["catalogue"] == {"name": library.name, "size": 7}
    tracks = [t for im in g["images"] for t in im["tracks"]]
    assert tracks and all(t["id"] in GOOD for t in tracks)
    for t in tracks:
        assert (
            t["audio"] and (out / t["audio"]).is_file()
        )  # every recommended track carries its audio
    page = (out / g["images"][0]["page"]).read_text()
    assert "<audio" in page


def test_listening_processes_hear_what_one_process_hears_in_the_same_order(library, tmp_path):
    from builder.assets import AssetStore
    from builder.music.listen import Listener

    heard = {}
    for workers in (1, 3):
        cache = tmp_path / f"cache-{workers}"
        listener = Listener(AssetStore(cache, MIRROR, offline=True), cache)
        scored, failed, cached = listener.score(library, workers=workers)
        assert cached == 0 and sorted(f.file for f in failed) == sorted(BAD)
        heard[workers] = [(s.file, s.heard, s.track.valence, s.track.arousal) for s in scored]
    assert [f for f, *_ in heard[1]] == sorted(GOOD) and heard[3] == heard[1]


def test_the_labs_listening_hears_every_labelled_file_in_order_and_names_one_it_cannot_read(
    tmp_path,
):
    from builder.assets import AssetStore
    from builder.errors import UsageError
    from builder.lab.music import hear_all
    from builder.music.listen import Listener

    files = []
    for k in range(4):
        write_audio(tmp_path / f"c{k}.wav", tone(3.0, 22050, freq=220.0 * (k + 1)), 22050)
        files.append(f"c{k}.wav")
    cache = tmp_path / "cache"
    listener = Listener(AssetStore(cache, MIRROR, offline=True), cache)
    heard = hear_all(listener, tmp_path, files, lambda items, label, total: items)
    alone = Listener(AssetStore(cache, MIRROR, offline=True), tmp_path / "other-cache")
    assert heard == [alone.hear(tmp_path / f)[0] for f in files]  # in order, as heard alone
    (tmp_path / "bad.mp3").write_bytes(b"not audio at all")
    with pytest.raises(UsageError, match="labelled file bad.mp3 cannot be read"):
        hear_all(listener, tmp_path, [*files, "bad.mp3"], lambda items, label, total: items)
