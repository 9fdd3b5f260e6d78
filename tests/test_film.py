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
from builder.film.layout import picture_box
from builder.film.sound import TARGET_LUFS
from builder.music import excerpt
from builder.music.licences import licence_verdict
from builder.records import CatalogueInfo, Gallery, Track
from tests.audio_fixtures import tone, write_audio

from .conftest import picture_record, png_claiming, tree, wait_for


def test_frame_size_is_parsed_and_odd_or_tiny_sizes_are_refused():
    assert fm.parse_size("1280x720") == (1280, 720)
    for bad in ("1281x720", "big", "10x10"):
        with pytest.raises(UsageError):
            fm.parse_size(bad)


# ---- the film of the demo gallery ---------------------------------------------------------------

ARGS = ["--size", "640x360", "--seconds", "3"]


def _film(gallery: Path, out: Path, *args: str):
    return CliRunner().invoke(app, ["film", str(gallery), "--out", str(out), *args])


@pytest.fixture(scope="module")
def demo_film(demo_build, tmp_path_factory):
    gallery = demo_build[0]
    out = tmp_path_factory.mktemp("film") / "exhibition.mp4"
    result = _film(gallery, out, *ARGS)
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
        w, h = ch["shown"]  # contained, never enlarged past 1.5x
        assert ch["enlarged"] <= 1.5
        with Image.open(gallery / ch["image"]) as im:
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
def test_demo_film_cards_are_plain_and_each_chapter_shows_its_words(demo_film):
    _, out, chapters, _ = demo_film
    title = chapters["chapters"][0]["text"]
    assert not any(t.lstrip().startswith("#") for t in title)
    pictures = [ch for ch in chapters["chapters"] if ch["kind"] == "picture"]
    times = [t for ch in pictures for t in ((ch["start"] + ch["end"]) / 2, ch["end"])]
    frames = _frames_at(out, times)
    for k, ch in enumerate(pictures):
        assert "." not in ch["title"]  # no title in the demo: the file's name, no extension
        middle, cut = frames[2 * k], frames[2 * k + 1]
        box = ch["caption_box"]
        assert _text_in(middle, box) > 3 * _text_in(cut, box) + 0.5, ch["file"]


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
    result = _film(folder, out, *ARGS)
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
    result = _film(demo_build[0], out, *ARGS)
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
    refused = _film(gallery, gallery / "gallery.mp4", *ARGS)
    assert (
        refused.exit_code == 2 and "gallery.json" in refused.output
    )  # its chapters would replace gallery.json
    out = gallery / "exhibition.mp4"
    result = _film(gallery, out, "--motion", "none", "--seconds", "1", "--size", "320x180")
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
    root: Path,
    tracks: list[Track],
    catalogue: str = "DEAM (playable)",
    silent: str | None = None,
    audio_s: float = 6.0,
    sizes: tuple[tuple[int, int], ...] = ((320, 200), (320, 200)),
    **fields,
) -> Path:
    """A folder shaped as `builder build` writes it: the marker, gallery.json, display copies (a
    red and a blue picture, each with a light block), audio; fields go to the Gallery record, and
    `pictures` (a list of dicts) to the pictures' records."""
    from PIL import Image

    from builder.files import GALLERY_MARKER as MARKER
    from builder.files import GALLERY_SIGNATURE as SIGNATURE

    (root / "img").mkdir(parents=True)
    (root / "audio").mkdir()
    images = []
    extra = fields.pop("pictures", [{}] * len(sizes))
    for k, (colour, size) in enumerate(zip([(200, 40, 40), (40, 40, 200)] * 4, sizes)):
        name = f"img/p{k}-1600.jpg"
        pic = Image.new("RGB", size, colour)
        w, h = size
        pic.paste(
            (250, 250, 250), (w // 8 + w * k // 4, h // 5, w * 3 // 8 + w * k // 4, h * 4 // 5)
        )
        pic.save(root / name)
        images.append(
            picture_record(f"p{k}.jpg", image=name, **{"tracks": tuple(tracks), **extra[k]})
        )
    for t in tracks:
        if t.audio:
            write_audio(root / t.audio, tone(audio_s, 44100), 44100)
    gallery = Gallery(
        method=fields.pop("method", "learned"),
        narrow="none",
        quadrant_means=(0.0, 0.0, 0.0, 0.0),
        catalogue=CatalogueInfo(catalogue, len(tracks)),
        images=tuple(images),
        slideshow=tuple(f"p{k}.jpg" for k in range(len(sizes))),
        silent=silent,
        **fields,
    )
    (root / "gallery.json").write_bytes(orjson.dumps(gallery))
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    (root / "film.js").write_text("window.GALLERY_FILM = null;\n")
    (root / MARKER).write_bytes(
        orjson.dumps({"signature": SIGNATURE, "version": "test", "files": files + ["film.js"]})
    )
    return root


SMALL = ["--size", "160x90", "--seconds", "1", "--fps", "10"]


def _track(tid: str, licence: str | None, audio: str | None) -> Track:
    return Track(tid, f"T{tid}", "A", 0.0, 0.0, audio=audio, licence=licence)


def test_a_track_two_pictures_in_a_row_hear_plays_on_from_the_first_ones_moment(tmp_path):
    from dataclasses import replace

    song = _track("3", "CC BY 4.0", "audio/3.wav")
    early, late = replace(song, start=2.0), replace(song, start=12.0)
    gallery = _fake_gallery(
        tmp_path / "g",
        [song],
        audio_s=30.0,
        pictures=[{"tracks": (early,)}, {"tracks": (late,)}],
    )
    out = tmp_path / "film.mp4"
    result = _film(gallery, out, "--size", "160x90", "--seconds", "3", "--fps", "10")
    assert result.exit_code == 0, result.output
    data = orjson.loads(out.with_suffix(".json").read_bytes())
    first, second = [c for c in data["chapters"] if c["kind"] == "picture"]
    # one excerpt, not restarted: the second picture hears where the first one's excerpt has got to
    at = first["track"]["excerpt_start"]  # its start, and the crossfade in before the chapter
    assert 2.0 <= at < 3.0
    into = second["start"] - first["start"]
    assert second["track"]["excerpt_start"] == pytest.approx(at + into, abs=0.01)


def test_a_gallery_without_music_makes_a_silent_film_that_says_so(tmp_path):
    import av

    gallery = _fake_gallery(
        tmp_path / "g", [_track("1", None, None)], silent="the catalogue has no audio"
    )
    out = tmp_path / "film.mp4"
    result = _film(gallery, out, *SMALL)
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
    result = _film(own, tmp_path / "own.mp4", *SMALL)
    assert result.exit_code == 0, result.output
    chapters = orjson.loads((tmp_path / "own.json").read_bytes())
    assert [t["id"] for t in chapters["credits"]] == ["song.wav"]
    csv_rows = _fake_gallery(
        tmp_path / "csv", [_track("7", "All rights reserved", "audio/7.wav")], catalogue="mine"
    )
    result = _film(csv_rows, tmp_path / "csv.mp4", *SMALL)
    assert result.exit_code == 0, result.output
    chapters = orjson.loads((tmp_path / "csv.json").read_bytes())
    assert chapters["credits"] == [] and [t["id"] for t in chapters["left_out"]] == ["7"]
    assert "left out: T7" in result.output
    allowed = _film(csv_rows, tmp_path / "ok.mp4", "--allow-licence", "rights reserved", *SMALL)
    assert allowed.exit_code == 0 and orjson.loads((tmp_path / "ok.json").read_bytes())["credits"]


def test_a_missing_audio_file_is_one_sentence_and_exit_3(tmp_path):
    gallery = _fake_gallery(tmp_path / "g", [_track("3", "CC BY 4.0", "audio/3.wav")])
    (gallery / "audio" / "3.wav").unlink()
    out = tmp_path / "film.mp4"
    result = _film(gallery, out, *SMALL)
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
    result = _film(gallery, out, *SMALL)
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
    result = _film(gallery, out, *SMALL)
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

    wait_for(lambda: writing() or proc.poll() is not None, timeout=120)
    assert proc.poll() is None, proc.communicate()[0]
    os.kill(proc.pid, signal.SIGTERM)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "terminated: no film was written" in output, output
    assert "Traceback" not in output
    assert list(folder.iterdir()) == []


def _frames_at(film: Path, times: list[float]) -> list[np.ndarray]:
    """The decoded frames at (the first at or after) each time, as RGB arrays."""
    import av

    got: list = [None] * len(times)
    with av.open(str(film)) as c:
        for frame in c.decode(video=0):
            for k, t in enumerate(times):
                if got[k] is None and frame.time >= t - 1e-6:
                    got[k] = frame.to_ndarray(format="rgb24")
    assert all(g is not None for g in got), times
    return got


def _text_in(frame: np.ndarray, box: list[int]) -> float:
    """How much fine detail (letters) a region of a frame holds: the mean absolute difference of
    neighbouring pixels, which the smooth blurred fill behind the words lacks."""
    x, y, w, h = box
    part = frame[y : y + h, x : x + w].astype(np.float64).mean(axis=2)
    return float(np.abs(np.diff(part, axis=1)).mean())


# ---- the cards and captions ---------------------------------------------------------------------


def test_the_intro_is_shown_as_plain_text_never_as_markdown():
    from builder.film.text import first_paragraph

    intro = "# Light & Weather\n\nPictures of **light** and [weather](https://x.org),\nat `dawn`."
    assert first_paragraph(intro, 300) == "Pictures of light and weather, at dawn."
    assert first_paragraph("# Only a heading", 300) == ""
    cut = first_paragraph("word " * 200, 60)
    assert len(cut) <= 60 and cut.endswith("…") and "wor…" not in cut


def test_the_title_card_holds_the_title_and_the_intro_as_plain_text(tmp_path):
    intro = "# Light & Weather\n\nPictures of **light**, from dawn to storm.\n\nMore."
    gallery = _fake_gallery(
        tmp_path / "g",
        [_track("3", "CC BY 4.0", "audio/3.wav")],
        title="Light & Weather",
        intro=intro,
    )
    out = tmp_path / "film.mp4"
    result = _film(gallery, out, *SMALL)
    assert result.exit_code == 0, result.output
    title = orjson.loads(out.with_suffix(".json").read_bytes())["chapters"][0]
    assert title["kind"] == "title"
    assert title["text"][:2] == ["Light & Weather", "Pictures of light, from dawn to storm."]
    assert not any("#" in t or "**" in t for t in title["text"])


def test_text_fitting_measures_each_line_a_bounded_number_of_times():
    """A 32,000-character word (an intro with no space): each measure is of at most a line's
    characters, and there are a few dozen measures a line, so the work grows with the text."""
    from builder.film.text import wrap

    measured: list[int] = []

    def measure(s: str) -> float:
        measured.append(len(s))
        return 10.0 * len(s)

    lines, split = wrap("x" * 32000, measure, 1000)
    assert split and len(lines) == 320 and all(len(ln) == 100 for ln in lines)
    assert max(measured) <= 32000 and sorted(measured)[-3] <= 300
    assert len(measured) <= 40 * len(lines)


def test_an_intro_of_32000_characters_makes_a_film_with_its_beginning(tmp_path):
    gallery = _fake_gallery(
        tmp_path / "g", [_track("3", "CC BY 4.0", "audio/3.wav")], intro="storm" * 6400
    )
    out = tmp_path / "film.mp4"
    result = _film(gallery, out, *SMALL)
    assert result.exit_code == 0, result.output
    shown = orjson.loads(out.with_suffix(".json").read_bytes())["intro"]
    assert shown.startswith("stormstorm") and shown.endswith("…") and len(shown) <= 300


def test_the_end_card_credits_tracks_model_and_data_without_licence_reasons(tmp_path):
    tracks = [
        _track("3", "CC BY 4.0", "audio/3.wav"),
        _track("9", "CC BY-NC-ND 3.0", "audio/9.wav"),
    ]
    gallery = _fake_gallery(
        tmp_path / "g",
        tracks,
        pictures=[{}, {"tracks": (tracks[1], tracks[0])}],
    )
    out = tmp_path / "film.mp4"
    result = _film(gallery, out, *SMALL)
    assert result.exit_code == 0, result.output
    data = orjson.loads(out.with_suffix(".json").read_bytes())
    end = " ".join(" ".join(c["text"]) for c in data["chapters"] if c["kind"] == "end")
    assert "T3 — A · CC BY 4.0" in end
    assert "OASIS" in end and "GAPED" in end and "Emotion6" in end  # the model's rated sets
    assert "DEAM" in end
    assert "T9" not in end and "NoDerivatives" not in end and "adaptation" not in end
    assert [t["id"] for t in data["left_out"]] == ["9"] and "NoDerivatives" in result.output
    assert data["credits"][0]["reason"]


def test_credits_that_do_not_fit_one_card_go_on_more_cards_whole_words_only():
    from builder.film import text as tx
    from builder.film.cards import end_pages
    from builder.film.layout import card_box

    rows = [
        f"A rather long track title number {k} — An Artist With A Long Name · CC BY 3.0"
        for k in range(60)
    ]
    size = (640, 360)
    fonts = tx.font_files("en", ())
    pages = end_pages(size, "Music", rows, ["The model and its data."], fonts)
    assert len(pages) > 2 and all(p[0].text == "Music" for p in pages)
    assert [it.text for p in pages for it in p[1:]][:-1] == rows
    _, _, width, height = card_box(size)
    for page in pages:
        lines, px = tx.fit(page, width, height, round(360 * 0.036), 8, fonts)
        assert px == round(360 * 0.036)  # the cards fit at the legible size they were cut for
        words = " ".join(ln.text for ln in lines if ln.text).split()
        assert words == " ".join(it.text for it in page).split()  # no word cut


def test_each_picture_shows_its_title_and_caption_and_one_caption_at_a_time(tmp_path):
    gallery = _fake_gallery(
        tmp_path / "g",
        [_track("3", "CC BY 4.0", "audio/3.wav")],
        pictures=[
            {"title": "Red dusk", "description": "A red sky\nover the sea"},
            {"title": "", "description": "Blue hour"},
        ],
    )
    out = tmp_path / "film.mp4"
    result = _film(gallery, out, "--size", "640x360", "--seconds", "3", "--fps", "10")
    assert result.exit_code == 0, result.output
    data = orjson.loads(out.with_suffix(".json").read_bytes())
    pictures = [c for c in data["chapters"] if c["kind"] == "picture"]
    assert [(c["title"], c["caption"]) for c in pictures] == [
        ("Red dusk", "A red sky\nover the sea"),
        ("p1", "Blue hour"),  # no title: the file's name, without its extension
    ]
    for c in pictures:
        middle, cut = _frames_at(out, [(c["start"] + c["end"]) / 2, c["end"]])
        box = c["caption_box"]
        assert _text_in(middle, box) > 3 * _text_in(cut, box) + 0.5, c["file"]


def test_the_words_of_two_chapters_are_never_seen_at_once():
    from builder.film.frames import Looks
    from builder.film.plan import Chapter, Options, Plan

    chapters = (
        [Chapter("title", 0, 4, "t")]
        + [Chapter("picture", 4 + 3 * k, 7 + 3 * k, f"p{k}") for k in range(3)]
        + [Chapter("end", 13, 18, "e")]
    )
    plan = Plan(Path("."), "t", "", None, chapters, [], [], [], 18.0, Options(seconds=3))
    looks = Looks(plan)
    for t in np.arange(0, 18, 0.01):
        seen = [i for i in range(len(chapters)) if looks.words_alpha(i, float(t)) > 0]
        assert len(seen) <= 1, (t, seen)


def test_a_small_picture_is_never_enlarged_past_one_and_a_half_times(tmp_path):
    gallery = _fake_gallery(
        tmp_path / "g", [_track("3", "CC BY 4.0", "audio/3.wav")], sizes=((80, 50), (400, 300))
    )
    out = tmp_path / "film.mp4"
    result = _film(gallery, out, "--size", "640x360", "--seconds", "2", "--fps", "10")
    assert result.exit_code == 0, result.output
    small = [
        c
        for c in orjson.loads(out.with_suffix(".json").read_bytes())["chapters"]
        if c["kind"] == "picture"
    ][0]
    assert small["enlarged"] <= 1.5 and small["shown"][0] <= 80 * 1.5 / 1.08 + 1
    (frame,) = _frames_at(out, [(small["start"] + small["end"]) / 2])
    row = frame[frame.shape[0] * 2 // 5].astype(int)
    red = np.flatnonzero((row[:, 0] > 150) & (row[:, 1] < 90) & (row[:, 2] < 90))
    assert 0 < red[-1] - red[0] <= 80 * 1.5 + 2  # the picture itself; the fill is darker


# ---- the gallery's language and its fonts -------------------------------------------------------


def test_a_japanese_gallery_gets_japanese_cards_drawn_in_a_font_that_has_the_glyphs(tmp_path):
    from builder.film import text as tx

    gallery = _fake_gallery(
        tmp_path / "g", [_track("3", "CC BY 4.0", "audio/3.wav")], lang="ja", title="光と天気"
    )
    out = tmp_path / "film.mp4"
    result = _film(gallery, out, *SMALL)
    assert result.exit_code == 0, result.output
    data = orjson.loads(out.with_suffix(".json").read_bytes())
    assert data["lang"] == "ja"
    title = data["chapters"][0]["text"]
    assert title[0] == "光と天気" and "枚の写真" in title[-1]
    assert "音楽" in data["chapters"][-1]["text"]
    from builder.assets import AssetStore

    store = AssetStore(tmp_path / "cache", None, offline=True)
    fonts = tx.font_files("ja", tx.cjk_fonts(store))
    if not tx.cjk_fonts(store):
        pytest.skip("no CJK font installed (justmytype-intl-cjk)")
    assert "no glyph" not in result.output and tx.missing("光と天気", fonts) == ""
    f = tx.font_for("光と天気", 40, fonts)  # boxes would all look alike
    masks = {bytes(f.getmask(ch)) for ch in "光と天気"}
    assert len(masks) == 4


def test_a_language_without_a_catalogue_falls_back_to_english(tmp_path):
    gallery = _fake_gallery(
        tmp_path / "g", [_track("3", "CC BY 4.0", "audio/3.wav")], lang="../../etc/passwd"
    )
    out = tmp_path / "film.mp4"
    result = _film(gallery, out, *SMALL)
    assert result.exit_code == 0, result.output
    assert "no catalogue" in result.output
    assert orjson.loads(out.with_suffix(".json").read_bytes())["lang"] == "en"


# ---- one song -----------------------------------------------------------------------------------


def test_one_song_carries_the_whole_film_and_sets_its_pace(tmp_path):
    tracks = [_track("3", "CC BY 4.0", "audio/3.wav"), _track("4", "CC BY 4.0", "audio/4.wav")]
    gallery = _fake_gallery(
        tmp_path / "g", tracks, audio_s=30.0, pictures=[{}, {"tracks": (tracks[1], tracks[0])}]
    )
    out = tmp_path / "film.mp4"
    result = _film(gallery, out, "--one-song", "--song", "4", *SMALL)
    assert "--seconds and --one-song" in result.output  # SMALL gives --seconds
    result = _film(gallery, out, "--size", "160x90", "--fps", "10", "--one-song", "--song", "4")
    assert result.exit_code == 0, result.output
    data = orjson.loads(out.with_suffix(".json").read_bytes())
    assert data["duration"] == pytest.approx(30.0, abs=0.1) and data["song"]["id"] == "4"
    pictures = [c for c in data["chapters"] if c["kind"] == "picture"]
    assert all(c["track"]["id"] == "4" for c in pictures)
    assert pictures[0]["end"] - pictures[0]["start"] == pytest.approx(data["seconds"])
    assert [t["id"] for t in data["credits"]] == ["4"]


def test_one_song_orders_the_pictures_by_the_songs_feeling_through_time(tmp_path):
    """A song rated calm and unpleasant early and excited and pleasant late: the excited, pleasant
    picture goes where the song is."""
    from builder.film.order import follow_song

    times = [f"sample_{15000 + 500 * k}ms" for k in range(61)]
    valence = ["-0.5"] * 20 + ["0.5"] * 41
    arousal = ["-0.5"] * 20 + ["0.5"] * 41
    paths = {}
    for name, values in (("valence", valence), ("arousal", arousal)):
        p = tmp_path / f"{name}.csv"
        p.write_text("song_id," + ",".join(times) + "\n7," + ",".join(values) + "\n")
        paths[f"deam-dynamic-{name}-2013"] = p

    class Store:
        def optional(self, name):
            return paths[name]

    images = {
        "glad.jpg": picture_record("glad.jpg", target=(0.6, 0.6)),
        "sad.jpg": picture_record("sad.jpg", target=(-0.6, -0.6)),
        "other.jpg": picture_record("other.jpg", target=(0.0, 0.0)),
    }
    song = Track("7", "S", "A", 0.0, 0.0)
    gallery = Gallery("learned", "none", (0, 0, 0, 0), CatalogueInfo("DEAM (playable)", 1), ())
    order, feelings, how = follow_song(
        ["glad.jpg", "sad.jpg", "other.jpg"], images, song, gallery, Store(), 5.0, 10.0, 45.0
    )
    # spans 5-15 s (not rated), 15-25 s (calm, unpleasant), 25-35 s (excited, pleasant)
    assert how == "song" and feelings[0] is None and feelings[1][0] < 0 < feelings[2][0]
    assert order == ["other.jpg", "sad.jpg", "glad.jpg"]
    unrated = follow_song(
        ["glad.jpg", "sad.jpg"], images, replace_id(song, "8"), gallery, Store(), 5.0, 10.0, 45.0
    )
    assert unrated == (["glad.jpg", "sad.jpg"], [None, None], "slideshow")


def replace_id(track: Track, tid: str) -> Track:
    from dataclasses import replace

    return replace(track, id=tid)


# ---- what the film may write --------------------------------------------------------------------


def test_a_film_never_writes_into_another_gallery(tmp_path):
    gallery = _fake_gallery(tmp_path / "g", [_track("3", "CC BY 4.0", "audio/3.wav")])
    other = _fake_gallery(tmp_path / "other", [_track("3", "CC BY 4.0", "audio/3.wav")])
    before = tree(other)
    for name in ("gallery.mp4", "exhibition.mp4", "img/x.mp4"):
        result = _film(gallery, other / name, *SMALL)
        assert result.exit_code == 2, result.output
        assert "a gallery the builder wrote" in result.output
    assert tree(other) == before


def test_a_json_or_video_the_builder_did_not_write_is_kept_unless_forced(tmp_path):
    gallery = _fake_gallery(tmp_path / "g", [_track("3", "CC BY 4.0", "audio/3.wav")])
    folder = tmp_path / "dir"
    folder.mkdir()
    (folder / "notes.json").write_text('{"mine": true}')
    (folder / "holiday.mp4").write_bytes(b"my own video")
    result = _film(gallery, folder / "notes.mp4", *SMALL)
    assert result.exit_code == 2 and "did not write" in result.output, result.output
    assert _film(gallery, folder / "holiday.mp4", *SMALL).exit_code == 2
    assert (folder / "notes.json").read_text() == '{"mine": true}'
    assert (folder / "holiday.mp4").read_bytes() == b"my own video"
    assert sorted(p.name for p in folder.iterdir()) == ["holiday.mp4", "notes.json"]
    # its own film and chapters are replaced without a word; another's only with --force
    assert _film(gallery, folder / "film.mp4", *SMALL).exit_code == 0
    assert _film(gallery, folder / "film.mp4", *SMALL).exit_code == 0
    forced = _film(gallery, folder / "notes.mp4", "--force", *SMALL)
    assert forced.exit_code == 0, forced.output
    assert orjson.loads((folder / "notes.json").read_bytes())["made_by"] == "gallery-builder film"


def test_the_chapters_hold_no_local_path_and_the_link_is_url_encoded(tmp_path):
    gallery = _fake_gallery(tmp_path / "g", [_track("3", "CC BY 4.0", "audio/3.wav")])
    out = gallery / "a#b c.mp4"
    result = _film(gallery, out, *SMALL)
    assert result.exit_code == 0, result.output
    text = out.with_suffix(".json").read_text()
    assert str(tmp_path) not in text and str(gallery.resolve()) not in text
    js = (gallery / "film.js").read_text()
    info = orjson.loads(js[len("window.GALLERY_FILM = ") :].rstrip().rstrip(";"))
    assert info["href"] == "a%23b%20c.mp4"


def test_a_gallery_reached_through_a_link_is_locked_as_itself(tmp_path):
    """A process holds the lock of the gallery's real path; a film of the same gallery through a
    symbolic link waits for nothing and writes nothing: it is told a build is writing it."""
    import subprocess
    import sys

    gallery = _fake_gallery(tmp_path / "g", [_track("3", "CC BY 4.0", "audio/3.wav")])
    link = tmp_path / "link"
    link.symlink_to(gallery)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from builder.gallery.outdir import locked\n"
            f"with locked(Path({str(gallery)!r})):\n"
            "    print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        result = _film(link, link / "film.mp4", *SMALL)
        assert result.exit_code == 6, result.output
        assert not (gallery / "film.mp4").exists()
    finally:
        holder.communicate("", timeout=60)
    result = _film(link, link / "film.mp4", *SMALL)
    assert result.exit_code == 0, result.output
    assert "film.mp4" in (gallery / "film.js").read_text()


def test_a_film_that_does_not_read_back_as_planned_is_not_published(tmp_path, monkeypatch):
    from builder.film import make

    gallery = _fake_gallery(tmp_path / "g", [_track("3", "CC BY 4.0", "audio/3.wav")])
    real = make.render

    def cut_short(plan, path, progress=None):
        real(plan, path)
        data = Path(path).read_bytes()
        Path(path).write_bytes(data[: len(data) // 3])  # a film cut short, as by a failing disk

    monkeypatch.setattr(make, "render", cut_short)
    js = (gallery / "film.js").read_text()
    result = _film(gallery, gallery / "film.mp4", *SMALL)
    assert result.exit_code == 5, result.output
    assert not (gallery / "film.mp4").exists() and (gallery / "film.js").read_text() == js
    assert not list(tmp_path.glob(".g.film-*"))


@pytest.mark.slow
def test_a_film_killed_mid_way_leaves_nothing_a_build_would_publish(tmp_path):
    """SIGKILL while the film is written into the gallery: nothing new in the gallery (a build
    would carry what is there as the user's), and the next film clears what was left beside it."""
    import os
    import signal
    import subprocess
    import sys

    from builder.gallery.outdir import foreign_files

    gallery = _fake_gallery(tmp_path / "g", [_track("3", "CC BY 4.0", "audio/3.wav")])
    before = tree(gallery)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "builder",
            "film",
            str(gallery),
            "--out",
            str(gallery / "film.mp4"),
            "--size",
            "640x360",
            "--seconds",
            "120",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def writing() -> bool:
        return any(p.stat().st_size > 20_000 for p in tmp_path.glob(".g.film-*"))

    wait_for(lambda: writing() or proc.poll() is not None, timeout=120)
    assert proc.poll() is None, proc.communicate()[0]
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert tree(gallery) == before and foreign_files(gallery) == []
    assert list(tmp_path.glob(".g.film-*"))  # the killed film's leftovers, beside the gallery
    assert _film(gallery, gallery / "film.mp4", *SMALL).exit_code == 0
    assert not list(tmp_path.glob(".g.film-*"))


# ---- malformed galleries ------------------------------------------------------------------------


def test_a_picture_copy_claiming_20000_pixels_a_side_is_left_out(tmp_path):
    gallery = _fake_gallery(tmp_path / "g", [_track("3", "CC BY 4.0", "audio/3.wav")])
    (gallery / "img" / "p0-1600.jpg").write_bytes(png_claiming(20000, 20000))
    out = tmp_path / "film.mp4"
    result = _film(gallery, out, *SMALL)
    assert result.exit_code == 0, result.output
    assert "p0.jpg is left out" in result.output and "Traceback" not in result.output
    files = [
        c["file"]
        for c in orjson.loads(out.with_suffix(".json").read_bytes())["chapters"]
        if c["kind"] == "picture"
    ]
    assert files == ["p1.jpg"]
    (gallery / "img" / "p1-1600.jpg").write_bytes(png_claiming(30000, 100))
    result = _film(gallery, out, *SMALL)
    assert result.exit_code == 2 and "no picture the film can show" in result.output


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(slideshow="p0.jpg"),
        lambda d: d.update(title=["a"]),
        lambda d: d.update(lang=7),
        lambda d: d["images"][0].update(width="wide"),
        lambda d: d["images"][0].update(image="../../etc/passwd"),
        lambda d: d["images"][0].update(description={"text": "x"}),
        lambda d: d["catalogue"].update(name=None),
        lambda d: d.update(silent=3),
    ],
)
def test_malformed_gallery_json_values_are_a_clear_refusal(tmp_path, change):
    gallery = _fake_gallery(tmp_path / "g", [_track("3", "CC BY 4.0", "audio/3.wav")])
    data = orjson.loads((gallery / "gallery.json").read_bytes())
    change(data)
    (gallery / "gallery.json").write_bytes(orjson.dumps(data))
    out = tmp_path / "film.mp4"
    result = _film(gallery, out, *SMALL)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and not out.exists()


def test_named_pipes_in_a_gallery_are_refused_or_left_out_never_read(tmp_path):
    import os

    tracks = [_track("3", "CC BY 4.0", "audio/3.wav")]
    for name in (".gallery-builder.json", "gallery.json"):
        gallery = _fake_gallery(tmp_path / name.strip("."), tracks)
        (gallery / name).unlink()
        os.mkfifo(gallery / name)
        result = _film(gallery, tmp_path / "film.mp4", *SMALL)
        assert result.exit_code == 2 and "not a gallery" in result.output, result.output
    gallery = _fake_gallery(tmp_path / "audio", tracks)
    (gallery / "audio" / "3.wav").unlink()
    os.mkfifo(gallery / "audio" / "3.wav")
    result = _film(gallery, tmp_path / "film.mp4", *SMALL)
    assert result.exit_code == 2 and "named pipe" in result.output, result.output
    gallery = _fake_gallery(tmp_path / "picture", tracks)
    (gallery / "img" / "p0-1600.jpg").unlink()
    os.mkfifo(gallery / "img" / "p0-1600.jpg")
    result = _film(gallery, tmp_path / "film.mp4", *SMALL)
    assert result.exit_code == 0 and "p0.jpg is left out" in result.output, result.output
