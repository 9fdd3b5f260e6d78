"""The exhibition as a film (builder film): the demo's film, and small galleries made in code."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from builder import film as fm
from builder.cli import app
from builder.errors import UsageError
from builder.film.frames import picture_box
from builder.film.sound import TARGET_LUFS
from builder.music import excerpt
from builder.music.licences import licence_verdict
from builder.records import CatalogueInfo, Gallery, Track
from tests.audio_fixtures import tone, write_audio
from tests.conftest import picture_record


def test_frame_size_is_parsed_and_odd_or_tiny_sizes_are_refused():
    assert fm.parse_size("1280x720") == (1280, 720)
    for bad in ("1281x720", "big", "10x10"):
        with pytest.raises(UsageError):
            fm.parse_size(bad)


# ---- the film of the demo gallery ---------------------------------------------------------------

ARGS = ["--size", "640x360", "--seconds", "3"]


@pytest.fixture(scope="module")
def demo_film(demo_build, tmp_path_factory):
    gallery = demo_build[0]
    out = tmp_path_factory.mktemp("film") / "exhibition.mp4"
    result = CliRunner().invoke(app, ["film", str(gallery), "--out", str(out), *ARGS])
    assert result.exit_code == 0, result.output
    return gallery, out, orjson.loads(out.with_suffix(".json").read_bytes()), result.output


def _grey(img, side: int = 24) -> np.ndarray:
    """A 24 x 24 grey thumbnail: coarse enough that the gentle zoom's few per cent do not count,
    fine enough that thirteen pictures are told apart (the demo film: >= 0.86 with its own
    picture, <= 0.6 with any other)."""
    from PIL import Image

    return np.asarray(
        img.convert("L").resize((side, side), Image.Resampling.BILINEAR), dtype=np.float64
    ).ravel()


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


@pytest.mark.slow
def test_demo_film_streams_and_duration(demo_film):
    import av

    gallery, out, chapters, _ = demo_film
    data = orjson.loads((gallery / "gallery.json").read_bytes())
    with av.open(str(out)) as c:
        video, audio = c.streams.video[0], c.streams.audio[0]
        assert (video.codec_context.width, video.codec_context.height) == (640, 360)
        assert video.codec_context.name == "h264" and audio.codec_context.name == "aac"
        duration = c.duration / 1e6
        assert len(c.chapters()) == len(chapters["chapters"])  # MP4 chapter markers
    pictures = [ch for ch in chapters["chapters"] if ch["kind"] == "picture"]
    assert [ch["file"] for ch in pictures] == data["slideshow"]
    assert all(ch["end"] - ch["start"] == pytest.approx(3.0) for ch in pictures)
    kinds = [ch["kind"] for ch in chapters["chapters"]]
    assert kinds[0] == "title" and kinds[-1] == "end"
    title, end = chapters["chapters"][0], chapters["chapters"][-1]
    expected = (
        (title["end"] - title["start"]) + 3.0 * len(data["images"]) + (end["end"] - end["start"])
    )
    assert duration == pytest.approx(expected, rel=0.15)
    assert out.read_bytes().find(b"moov") < out.read_bytes().find(
        b"mdat"
    )  # faststart: plays while it downloads


@pytest.mark.slow
def test_demo_film_shows_each_picture_in_its_chapter(demo_film):
    import av
    from PIL import Image

    gallery, out, chapters, _ = demo_film
    pictures = [ch for ch in chapters["chapters"] if ch["kind"] == "picture"]
    x, y, bw, bh = picture_box((640, 360))
    refs = []
    for ch in pictures:
        with Image.open(gallery / ch["image"]) as im:
            s = min(bw / im.width, bh / im.height)
            w, h = round(im.width * s), round(im.height * s)
            refs.append((x + (bw - w) // 2, y + (bh - h) // 2, w, h, _grey(im)))
    middles = [(ch["start"] + ch["end"]) / 2 for ch in pictures]
    frames: list = [None] * len(middles)
    with av.open(str(out)) as c:
        for frame in c.decode(video=0):
            for k, t in enumerate(middles):
                if frames[k] is None and frame.time >= t:
                    frames[k] = frame.to_image()
    for k, frame in enumerate(frames):
        assert frame is not None, f"no frame at {middles[k]} s"
        scores = []
        for rx, ry, rw, rh, grey in refs:
            scores.append(_corr(_grey(frame.crop((rx, ry, rx + rw, ry + rh))), grey))
        assert scores[k] >= 0.8, (pictures[k]["file"], scores[k])
        assert int(np.argmax(scores)) == k, (
            pictures[k]["file"],
            scores,
        )  # its own picture, not a neighbour's


@pytest.mark.slow
def test_demo_film_sound_and_licences(demo_film):
    import av

    _, out, chapters, output = demo_film
    with av.open(str(out)) as c:
        rate = c.streams.audio[0].codec_context.sample_rate
        stereo = np.concatenate(
            [f.to_ndarray() for f in c.decode(audio=0)], axis=1
        ).T  # planar: (2, n) a frame
    sound = stereo.mean(axis=1)
    pictures = [ch for ch in chapters["chapters"] if ch["kind"] == "picture"]
    audible = 0
    for ch in pictures:
        part = sound[int(ch["start"] * rate) : int(ch["end"] * rate)]
        audible += (
            20 * math.log10(float(np.sqrt(np.mean(part.astype(np.float64) ** 2))) + 1e-12) > -50
        )
    assert audible >= 0.8 * len(pictures)
    # loudness evened out: the tracks' excerpts differ (the chapters file says by how much before
    # levelling); in the film the chapters' loudness, measured away from the crossfades, is much
    # closer together
    before = {ch["track"]["id"]: ch["track"]["loudness_lufs"] for ch in pictures if ch["track"]}
    after = [
        excerpt.integrated_loudness(
            stereo[int((ch["start"] + 0.5) * rate) : int((ch["end"] - 0.5) * rate)], rate
        )
        for ch in pictures
        if ch["track"]
    ]
    assert len(before) >= 3 and np.std(after) < 0.6 * np.std(list(before.values()))
    assert all(abs(x - TARGET_LUFS) < 4 for x in after)
    for ch in chapters["chapters"]:
        track = ch["track"]
        if track is not None:
            assert licence_verdict(track["licence"])[0], track
            assert "noderiv" not in (track["licence"] or "").lower()
    # the demo's DEAM tracks include ND and FMA-Limited ones: each is named, with its reason, if it
    # was passed over
    for gone in chapters["left_out"]:
        assert gone["reason"] and gone["title"] in output
    credited = {t["id"] for t in chapters["credits"]}
    assert credited == {ch["track"]["id"] for ch in chapters["chapters"] if ch["track"]}


@pytest.mark.slow
def test_gallery_json_carries_track_starts(demo_build):
    data = orjson.loads((demo_build[0] / "gallery.json").read_bytes())
    starts = [t["start"] for im in data["images"] for t in im["tracks"] if t["audio"]]
    assert starts and all(isinstance(s, float) and s >= 0 for s in starts)


def test_a_folder_that_is_not_a_gallery_is_refused(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "gallery.json").write_text(
        '{"images": []}'
    )  # looks like one, but no marker and a stranger file
    (folder / "notes.txt").write_text("mine")
    out = tmp_path / "film.mp4"
    result = CliRunner().invoke(app, ["film", str(folder), "--out", str(out), *ARGS])
    assert result.exit_code == 2, result.output
    assert "not a gallery" in result.output
    assert not out.exists() and not out.with_suffix(".json").exists()
    assert not list(tmp_path.glob(".tmp-*"))


@pytest.mark.slow
def test_an_interrupt_half_way_leaves_no_film(demo_build, tmp_path, monkeypatch):
    """The progress the film reports drives the interrupt: half-way through the frames, Ctrl-C."""
    from builder.cli import output

    reached = {}

    def interrupting(items, label, total):
        for n, item in enumerate(items):
            if label == "making the film" and n == total // 2:
                reached["half"] = n
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(output, "progress", interrupting)
    out = tmp_path / "exhibition.mp4"
    result = CliRunner().invoke(app, ["film", str(demo_build[0]), "--out", str(out), *ARGS])
    assert reached, "the film never reported its progress"
    assert result.exit_code == 130, result.output
    assert "no film was written" in result.output
    assert not out.exists() and not out.with_suffix(".json").exists()
    assert not list(tmp_path.glob(".tmp-*"))


@pytest.mark.slow
def test_a_film_inside_the_gallery_is_linked_from_its_index(demo_build, tmp_path):
    gallery = tmp_path / "dist"
    shutil.copytree(demo_build[0], gallery, symlinks=True)
    assert (gallery / "film.js").read_text() == "window.GALLERY_FILM = null;\n"
    assert '<script src="film.js"></script>' in (gallery / "index.html").read_text()
    refused = CliRunner().invoke(
        app, ["film", str(gallery), "--out", str(gallery / "gallery.mp4"), *ARGS]
    )
    assert (
        refused.exit_code == 2 and "gallery.json" in refused.output
    )  # its chapters would replace gallery.json
    out = gallery / "exhibition.mp4"
    result = CliRunner().invoke(
        app,
        [
            "film",
            str(gallery),
            "--out",
            str(out),
            "--motion",
            "none",
            "--seconds",
            "1",
            "--size",
            "320x180",
        ],
    )
    assert result.exit_code == 0, result.output
    js = (gallery / "film.js").read_text()
    assert js.startswith("window.GALLERY_FILM = ") and js.rstrip().endswith(";")
    info = orjson.loads(js[len("window.GALLERY_FILM = ") :].rstrip().rstrip(";"))
    assert (
        info["href"] == "exhibition.mp4"
        and info["size"] == out.stat().st_size
        and info["duration"] > 13
    )


# ---- small galleries made in code (no models): silence, own music, missing files, a full disk ---


def _fake_gallery(
    root: Path, tracks: list[Track], catalogue: str = "DEAM (playable)", silent: str | None = None
) -> Path:
    """A folder shaped as `builder build` writes it: the marker, gallery.json, two display copies,
    audio."""
    from PIL import Image

    from builder.gallery.outdir import MARKER, SIGNATURE

    (root / "img").mkdir(parents=True)
    (root / "audio").mkdir()
    images = []
    for k, colour in enumerate([(200, 40, 40), (40, 40, 200)]):
        name = f"img/p{k}-1600.jpg"
        pic = Image.new("RGB", (320, 200), colour)
        pic.paste((250, 250, 250), (40 + 100 * k, 40, 120 + 100 * k, 160))
        pic.save(root / name)
        images.append(picture_record(f"p{k}.jpg", image=name, tracks=tuple(tracks)))
    for t in tracks:
        if t.audio:
            write_audio(root / t.audio, tone(6, 44100), 44100)
    gallery = Gallery(
        method="learned",
        narrow="none",
        quadrant_means=(0.0, 0.0, 0.0, 0.0),
        catalogue=CatalogueInfo(catalogue, len(tracks)),
        images=tuple(images),
        slideshow=("p0.jpg", "p1.jpg"),
        silent=silent,
    )
    (root / "gallery.json").write_bytes(orjson.dumps(gallery))
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    (root / MARKER).write_bytes(
        orjson.dumps({"signature": SIGNATURE, "version": "test", "files": files})
    )
    return root


SMALL = ["--size", "160x90", "--seconds", "1", "--fps", "10"]


def _track(tid: str, licence: str | None, audio: str | None) -> Track:
    return Track(tid, f"T{tid}", "A", 0.0, 0.0, audio=audio, licence=licence)


def test_a_gallery_without_music_makes_a_silent_film_that_says_so(tmp_path):
    import av

    gallery = _fake_gallery(
        tmp_path / "g", [_track("1", None, None)], silent="the catalogue has no audio"
    )
    out = tmp_path / "film.mp4"
    result = CliRunner().invoke(app, ["film", str(gallery), "--out", str(out), *SMALL])
    assert result.exit_code == 0, result.output
    assert "silent" in result.output
    with av.open(str(out)) as c:
        assert c.streams.audio[0].codec_context.name == "aac"
        sound = np.concatenate([f.to_ndarray().ravel() for f in c.decode(audio=0)])
    assert sound.size > 0 and float(np.abs(sound).max()) < 1e-3
    assert orjson.loads(out.with_suffix(".json").read_bytes())["silent"]


def test_own_music_plays_and_an_unknown_licence_is_left_out(tmp_path):
    own = _fake_gallery(
        tmp_path / "own", [_track("song.wav", None, "audio/song.wav")], catalogue="holiday"
    )
    result = CliRunner().invoke(app, ["film", str(own), "--out", str(tmp_path / "own.mp4"), *SMALL])
    assert result.exit_code == 0, result.output
    chapters = orjson.loads((tmp_path / "own.json").read_bytes())
    assert [t["id"] for t in chapters["credits"]] == ["song.wav"]
    csv_rows = _fake_gallery(
        tmp_path / "csv", [_track("7", "All rights reserved", "audio/7.wav")], catalogue="mine"
    )
    result = CliRunner().invoke(
        app, ["film", str(csv_rows), "--out", str(tmp_path / "csv.mp4"), *SMALL]
    )
    assert result.exit_code == 0, result.output
    chapters = orjson.loads((tmp_path / "csv.json").read_bytes())
    assert chapters["credits"] == [] and [t["id"] for t in chapters["left_out"]] == ["7"]
    assert "left out: T7" in result.output
    allowed = CliRunner().invoke(
        app,
        [
            "film",
            str(csv_rows),
            "--out",
            str(tmp_path / "ok.mp4"),
            "--allow-licence",
            "rights reserved",
            *SMALL,
        ],
    )
    assert allowed.exit_code == 0 and orjson.loads((tmp_path / "ok.json").read_bytes())["credits"]


def test_a_missing_audio_file_is_one_sentence_and_exit_3(tmp_path):
    gallery = _fake_gallery(tmp_path / "g", [_track("3", "CC BY 4.0", "audio/3.wav")])
    (gallery / "audio" / "3.wav").unlink()
    out = tmp_path / "film.mp4"
    result = CliRunner().invoke(app, ["film", str(gallery), "--out", str(out), *SMALL])
    assert result.exit_code == 3, result.output
    assert "audio/3.wav is missing" in result.output and "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["images"][0]["tracks"][0].update(start="late"), "images[0].tracks[0].start"),
        (lambda d: d["images"][1].update(tracks={"id": "3"}), "images[1].tracks"),
        (lambda d: d.update(images="all of them"), "images"),
    ],
)
def test_a_malformed_gallery_json_is_refused_naming_the_field(tmp_path, change, field):
    gallery = _fake_gallery(tmp_path / "g", [_track("3", "CC BY 4.0", "audio/3.wav")])
    data = orjson.loads((gallery / "gallery.json").read_bytes())
    change(data)
    (gallery / "gallery.json").write_bytes(orjson.dumps(data))
    out = tmp_path / "film.mp4"
    result = CliRunner().invoke(app, ["film", str(gallery), "--out", str(out), *SMALL])
    assert result.exit_code == 2, result.output
    assert "is not a gallery description" in result.output and f"{field}: expected" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_a_full_disk_leaves_no_partial_film(tmp_path, monkeypatch):
    import errno

    gallery = _fake_gallery(tmp_path / "g", [_track("3", "CC BY 4.0", "audio/3.wav")])

    def full(plan, path, progress=None):
        Path(path).write_bytes(b"\0" * 1000)  # part of a film, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr("builder.film.make.render", full)
    out = tmp_path / "out" / "film.mp4"
    result = CliRunner().invoke(app, ["film", str(gallery), "--out", str(out), *SMALL])
    assert result.exit_code == 5, result.output
    assert "No space left on device" in result.output and "no film was written" in result.output
    assert not list((tmp_path / "out").iterdir())


@pytest.mark.slow
def test_a_signal_while_the_film_is_written_leaves_no_file(tmp_path):
    """A real process and a real SIGTERM, sent once the film is being written (its temporary file
    has grown)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    gallery = _fake_gallery(tmp_path / "g", [_track("3", "CC BY 4.0", "audio/3.wav")])
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "film.mp4"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "builder",
            "film",
            str(gallery),
            "--out",
            str(out),
            "--size",
            "640x360",
        ]
        + ["--seconds", "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def writing() -> bool:
        return any(
            ".tmp-" in p.name and p.stat().st_size > 20_000 for p in folder.iterdir()
        )  # files.atomic_path

    end = time.monotonic() + 120
    while not writing() and proc.poll() is None:
        assert time.monotonic() < end, "the film never started to be written"
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[0]
    os.kill(proc.pid, signal.SIGTERM)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "terminated: no film was written" in output, output
    assert "Traceback" not in output
    assert list(folder.iterdir()) == []
