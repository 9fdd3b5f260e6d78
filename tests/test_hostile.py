"""Hostile input: one way to write a file, signals from the first instruction to the last, bounded
memory and text, no option file that hangs, the builder never reading its own output, evaluations
that cannot flatter, and the smaller hostile cases."""

from __future__ import annotations

import errno
import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import orjson
import pytest
from PIL import Image
from typer.testing import CliRunner

from builder import signals
from builder.cli import app
from builder.errors import ImageError, UsageError
from builder.files import atomic_path, spreadsheet_safe, walk_files, write_atomic

from .conftest import MIRROR, photo, requires_mirror
from .test_trust import build, leftovers, wait_for

BUILDER = Path(sys.executable).with_name("builder")


def with_umask(mask: int):
    class _Mask:
        def __enter__(self):
            self.old = os.umask(mask)

        def __exit__(self, *exc):
            os.umask(self.old)

    return _Mask()


# ---- 1. one way to write any file the builder owns -----------------------------------------------------------


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "feeling-model.npz"
    target.write_bytes(b"the old model")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError):
        write_atomic(target, b"half a new model")
    assert target.read_bytes() == b"the old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feeling-model.npz"]


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_get_their_permissions_from_the_umask(tmp_path, mask, mode):
    with with_umask(mask):
        write_atomic(tmp_path / "stats.json", b"{}")
        with atomic_path(tmp_path / "c.csv") as tmp:
            tmp.write_text("id\n")
    for name in ("stats.json", "c.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode


def test_models_are_written_under_exactly_the_name_given(tmp_path):
    from builder.music.feeling import MusicFeelingModel
    from builder.picture.feeling import FeelingModel

    music = MusicFeelingModel.load()
    music.save(tmp_path / "music-model")
    picture = FeelingModel.load()
    picture.save(tmp_path / "model")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "model",
        "music-model",
    ]  # no .npz added, no temporary
    again = MusicFeelingModel.load(tmp_path / "music-model")
    assert np.array_equal(again.learned.valence.coef, music.learned.valence.coef)
    assert np.array_equal(FeelingModel.load(tmp_path / "model").coef, picture.coef)


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


@requires_mirror
def test_an_unwritable_stats_file_says_so_and_keeps_the_new_gallery(pics, tmp_path, session_cache):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = tmp_path / "site"
    result = build(
        pics, out, session_cache, "--method", "random", "--stats", str(blocker / "stats.json")
    )
    assert result.exit_code == 5, result.output
    assert (
        "writing the statistics file" in result.output
        and "the new gallery is in place" in result.output
    )
    assert "writing the gallery failed" not in result.output
    assert (out / "index.html").is_file() and leftovers(out) == []


# ---- 2. signals from the first instruction to the last --------------------------------------------------------


def child_signals(ignore: tuple[int, ...] = ()):
    """preexec_fn: the child's dispositions set explicitly (the test run itself may be a background job that
    ignores SIGINT), then the ones it should inherit as ignored."""

    def setup():
        signals.in_child_default()
        for sig in ignore:
            signal.signal(sig, signal.SIG_IGN)
        os.setsid()

    return setup


def spawn(*args: str, ignore: tuple[int, ...] = ()) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BUILDER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=child_signals(ignore),
        env={**os.environ, "BUILDER_MIRROR": str(MIRROR)},
    )


needs_command = pytest.mark.skipif(
    not BUILDER.exists(), reason="needs the installed `builder` command"
)


def handles(pid: int, sig: int) -> bool:
    """Whether process pid has a handler of its own for sig (Linux reports it in /proc/PID/status, SigCgt)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    except OSError:
        pass
    return False


@needs_command
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads handlers from /proc")
@pytest.mark.parametrize(
    "sig, code, word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_a_signal_while_the_command_loads_is_a_sentence_not_a_traceback(tmp_path, sig, code, word):
    proc = spawn("build", str(tmp_path), "--out", str(tmp_path / "o"))
    # the first thing builder.__main__ does is to handle SIGTERM (Python itself handles SIGINT from its start):
    # from then on, while the heavy modules load, a signal must end it with a sentence
    wait_for(lambda: handles(proc.pid, signal.SIGTERM) or proc.poll() is not None, timeout=30)
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == code and f"{word}: nothing was changed" in output, (
        proc.returncode,
        output,
    )
    assert "Traceback" not in output


@needs_command
@requires_mirror
@pytest.mark.slow
def test_nohup_keeps_a_build_going_through_a_hangup(pics, tmp_path):
    out = tmp_path / "site"
    args = [
        "build",
        str(pics),
        "--out",
        str(out),
        "--cache-dir",
        str(tmp_path / "c"),
        "--offline",
        "--method",
        "random",
    ]
    proc = spawn(*args, ignore=(signal.SIGHUP,))
    wait_for(lambda: (tmp_path / ".site.lock").exists() or proc.poll() is not None)
    proc.send_signal(signal.SIGHUP)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "hung up" not in output, output
    assert (out / "index.html").is_file()


@needs_command
@requires_mirror
@pytest.mark.slow
def test_fit_stopped_by_a_signal_says_so_and_writes_no_model(tmp_path):
    rated = tmp_path / "rated"
    rated.mkdir()
    rows = ["image,valence,arousal"]
    for i in range(40):
        photo((300, 220), seed=i).save(rated / f"r{i:02d}.jpg")
        rows.append(f"r{i:02d}.jpg,{1 + i % 7},{1 + (i * 3) % 5}")
    (tmp_path / "ratings.csv").write_text("\n".join(rows) + "\n")
    cache, model = tmp_path / "cache", tmp_path / "model.npz"
    proc = spawn(
        "fit",
        str(rated),
        str(tmp_path / "ratings.csv"),
        "--out",
        str(model),
        "--cache-dir",
        str(cache),
    )
    wait_for(
        lambda: any((cache / "analysis").rglob("*.json")) or proc.poll() is not None, timeout=300
    )
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 143, output
    assert (
        "terminated: the model file was left as it was" in output and "Traceback" not in output
    ), output
    assert (
        not model.exists()
        and [p.name for p in tmp_path.iterdir() if p.name.startswith(".model")] == []
    )


@pytest.fixture
def handled():
    """builder.signals installed in this (the test's main) thread, the previous handlers restored after."""
    before = {sig: signal.getsignal(sig) for sig in signals.HANDLED}
    for (
        sig
    ) in signals.HANDLED:  # the test run may itself be a background job that inherited "ignore"
        signal.signal(sig, signal.SIG_DFL)
    signals.install()
    signals.start()
    yield
    for sig, old in before.items():
        signal.signal(sig, old)


@requires_mirror
def test_a_signal_just_after_the_swap_says_the_new_gallery_is_in_place(
    pics, tmp_path, session_cache, monkeypatch, handled
):
    from builder.gallery import site

    out = tmp_path / "site"
    assert build(pics, out, session_cache, "--method", "random").exit_code == 0
    photo(seed=99).save(pics / "new.jpg")
    real = site.exchange

    def then_signal(tmp, target):
        old = real(tmp, target)
        os.kill(os.getpid(), signal.SIGTERM)  # delivered now, handled when the swap's section ends
        return old

    monkeypatch.setattr(site, "exchange", then_signal)
    result = build(pics, out, session_cache, "--method", "random")
    assert result.exit_code == 143, result.output
    assert "terminated: the new gallery was already in place" in result.output
    assert "left as it was" not in result.output
    names = {im["file"] for im in orjson.loads((out / "gallery.json").read_bytes())["images"]}
    assert "new.jpg" in names and leftovers(out) == []  # the new one whole, the old one wholly gone


def test_without_an_atomic_exchange_a_signal_between_the_renames_waits(
    tmp_path, monkeypatch, handled
):
    from builder.gallery import outdir

    out, tmp = tmp_path / "site", tmp_path / ".site.building-1"
    out.mkdir()
    (out / "old.txt").write_text("old")
    tmp.mkdir()
    (tmp / "new.txt").write_text("new")
    monkeypatch.setattr(outdir, "_renameat2", lambda: None)
    real, calls = os.replace, []

    def replace(a, b):
        real(a, b)
        calls.append(b)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # between the two renames

    monkeypatch.setattr(outdir.os, "replace", replace)
    with pytest.raises(signals.Interrupted):
        outdir.exchange(tmp, out)
    assert len(calls) == 2 and (out / "new.txt").read_text() == "new"


def test_an_inherited_ignore_is_respected():
    before = {sig: signal.getsignal(sig) for sig in signals.HANDLED}
    try:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        handled = signals.install()
        assert signal.SIGHUP not in handled and signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        assert signal.SIGTERM in handled
    finally:
        for sig, old in before.items():
            signal.signal(sig, old)


# ---- 3. memory without bounds ------------------------------------------------------------------------------------


@requires_mirror
def test_a_huge_file_named_jpg_is_refused_by_its_size_before_reading(pics, tmp_path, session_cache):
    with open(pics / "huge.jpg", "wb") as f:
        f.truncate(3 << 30)  # sparse: 3 GB that take no disk
    result = build(pics, tmp_path / "site", session_cache, "--method", "random")
    assert result.exit_code == 1, result.output
    assert "huge.jpg: is 3.0 GB, over the 512.0 MB limit for a picture" in result.output


def test_a_picture_whose_header_claims_too_many_pixels_is_refused_before_decoding(tmp_path):
    from builder.images import open_upright

    from .test_robustness import png_claiming

    p = tmp_path / "wide.png"
    p.write_bytes(png_claiming(12_000, 12_000))  # 144 MP: under Pillow's bomb limit, 1 GB to decode
    with pytest.raises(ImageError, match=r"12,000 x 12,000 pixels .* over the"):
        open_upright(p, 1024)


def test_a_memory_error_is_one_pictures_failure(tmp_path, monkeypatch):
    from builder.pipeline import stages as pipeline

    def boom(ctx, r):
        raise MemoryError

    outcome = pipeline._run_stages(
        SimpleNamespace(settings=SimpleNamespace(debug=False)),
        SimpleNamespace(file="a.tif"),
        [("x", boom)],
    )
    assert outcome[0] is None and "not enough memory" in outcome[1].reason


def test_audio_without_a_stated_duration_is_decoded_within_the_budget(tmp_path, monkeypatch):
    import wave

    from builder.music import audio

    p = tmp_path / "stream.wav"
    with wave.open(str(p), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes((np.sin(np.arange(8000 * 20) / 5) * 8000).astype("<i2").tobytes())
    monkeypatch.setattr(
        audio, "_duration", lambda container, stream: None
    )  # the container says nothing
    monkeypatch.setattr(audio, "DECODE_BUDGET_S", 4.0)
    decoded = audio.decode(p)
    assert len(decoded.samples) == 4 * audio.SR and decoded.duration_s == pytest.approx(4.0)


def test_a_named_pipe_is_never_opened(tmp_path):
    from builder.images import read_picture
    from builder.music.catalogue import load_csv_catalogue

    os.mkfifo(tmp_path / "pipe.jpg")
    os.mkfifo(tmp_path / "pipe.csv")
    with pytest.raises(ImageError, match="is a named pipe, not a picture file"):
        read_picture(tmp_path / "pipe.jpg")
    with pytest.raises(UsageError, match="not a regular file"):
        load_csv_catalogue(tmp_path / "pipe.csv")


# ---- 4. the builder never reads its own output -------------------------------------------------------------------


@requires_mirror
def test_a_cache_inside_the_input_folder_is_not_read_as_photos(pics, tmp_path):
    cache = pics / "cache"  # not hidden: a user's choice
    for _ in range(2):
        result = build(pics, tmp_path / "site", cache, "--method", "random")
        assert result.exit_code == 0, result.output
    assert any(cache.rglob("*.jpg")) or any(
        cache.rglob("*.json")
    )  # the cache holds files the walk must skip
    assert len(orjson.loads((tmp_path / "site" / "gallery.json").read_bytes())["images"]) == 4


def test_the_walk_skips_the_builders_folders_wherever_they_nest(tmp_path):
    music = tmp_path / "music"
    (music / "dist" / "audio").mkdir(parents=True)
    (music / "a").mkdir()
    (music / "a" / "song.mp3").write_bytes(b"x")
    (music / "dist" / "audio" / "copy.mp3").write_bytes(b"x")
    link = tmp_path / "out-link"
    link.symlink_to(music / "dist")
    assert walk_files(music, {".mp3"}, (link,))[0] == [
        "a/song.mp3"
    ]  # the same folder, however named


def test_a_tree_1200_folders_deep_is_walked(tmp_path):
    here = tmp_path / "deep"
    parts = ["d"] * 1200
    deep = str(here)
    os.mkdir(deep)
    for part in parts:  # one by one: os.makedirs itself recurses
        deep = os.path.join(deep, part)
        os.mkdir(deep)
    Image.new("RGB", (8, 8)).save(os.path.join(deep, "x.jpg"))
    try:
        files, problems = walk_files(here, {".jpg"})
        assert files == ["/".join(parts) + "/x.jpg"] and problems == []
    finally:  # taken down here, one level at a time: pytest's own clean-up of old runs recurses and would overflow
        os.remove(os.path.join(deep, "x.jpg"))
        while deep != str(here):
            os.rmdir(deep)
            deep = os.path.dirname(deep)
        os.rmdir(here)


def test_an_unreadable_subfolder_is_reported(tmp_path, monkeypatch):
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "a.jpg").write_bytes(b"x")
    (tmp_path / "locked").mkdir()
    real = os.scandir

    def scandir(path):
        if str(path).endswith("locked"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    files, problems = walk_files(tmp_path, {".jpg"})
    assert files == ["ok/a.jpg"]
    assert problems == [
        ("locked", "folder cannot be read (Permission denied); its files are left out")
    ]


# ---- 5. evaluation that cannot flatter ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "row, why",
    [
        ("b.jpg,nan,4", "line 3: the valence of 'b.jpg' is nan, not a finite number"),
        ("b.jpg,4,inf", "line 3: the arousal of 'b.jpg' is inf, not a finite number"),
        ("b.jpg,9,4", "line 3: the valence of 'b.jpg' is 9, outside the scale 1-7"),
        ("a.jpg,3,3", "line 3: 'a.jpg' repeats line 2"),
        ("../secret.jpg,3,3", "line 3: '../secret.jpg' lies outside"),
    ],
)
def test_bad_rating_rows_are_refused_with_their_line(tmp_path, row, why):
    from builder.lab.ratings import read_ratings

    for name in ("a.jpg", "b.jpg"):
        Image.new("RGB", (8, 8)).save(tmp_path / name)
    (tmp_path.parent / "secret.jpg").write_bytes(b"x")
    ratings = tmp_path / "ratings.csv"
    ratings.write_text(f"image,valence,arousal\na.jpg,2,2\n{row}\n")
    with pytest.raises(UsageError, match="refused") as info:
        read_ratings(ratings, tmp_path, 1, 7, 4)
    assert why in str(info.value)


def test_fit_refuses_ratings_that_cannot_make_a_model():
    from builder.lab.ratings import check_trainable

    with pytest.raises(UsageError, match="same arousal"):
        check_trainable(np.c_[np.linspace(-1, 1, 20), np.zeros(20)], "flat")
    check_trainable(np.c_[np.linspace(-1, 1, 20), np.zeros(20)], "valence only", arousal=False)
    with pytest.raises(UsageError, match="at least 5"):
        check_trainable(np.zeros((3, 2)), "tiny")


def test_photos_are_checked_against_the_training_set_by_content():
    from builder.lab.evaluate import in_training
    from builder.lab.fitting import photo_digests

    trained = [SimpleNamespace(sha256=f"{i:064x}") for i in range(10)]
    meta = {"photos_sha256": ",".join(photo_digests(trained))}
    subset = trained[2:5] + [SimpleNamespace(sha256="f" * 64)]
    n, note = in_training(meta, subset)
    assert n == 3 and "3 of these 4 photos" in note
    n, note = in_training({}, subset)
    assert n is None and "IN-SAMPLE" in note


def test_label_rows_outside_the_folder_or_repeated_are_refused(tmp_path):
    from builder.lab.music import read_labels

    (tmp_path / "a.mp3").write_bytes(b"x")
    labels = tmp_path / "labels.csv"
    labels.write_text("file,quadrant,artist\na.mp3,1,x\na.mp3,2,y\n/etc/passwd,3,z\n")
    with pytest.raises(UsageError) as info:
        read_labels(labels, tmp_path)
    assert "line 3: 'a.mp3' repeats line 2" in str(
        info.value
    ) and "line 4: '/etc/passwd' lies outside" in str(info.value)


# ---- 6. smaller ---------------------------------------------------------------------------------------------------


@requires_mirror
def test_the_tracks_artist_beats_the_album_artist_and_a_publisher_is_no_licence(tmp_path):
    import shutil

    from mutagen.id3 import ID3, TIT2, TPE1, TPE2, TPUB

    from builder.music.audio import read_tags

    clip = tmp_path / "clip.mp3"
    shutil.copyfile(MIRROR / "deam" / "MEMD_audio" / "2.mp3", clip)
    tags = ID3()
    tags.add(TPE2(encoding=3, text="Various Artists"))  # first in the file
    tags.add(TPE1(encoding=3, text="The Band"))
    tags.add(TIT2(encoding=3, text="Song"))
    tags.add(TPUB(encoding=3, text="Big Label Records"))
    tags.save(clip)
    read = read_tags(clip)
    assert (read.artist, read.title, read.licence) == ("The Band", "Song", "")


def test_control_characters_are_taken_out_of_tags():
    from builder.music.audio import _tag_text

    assert _tag_text("Na\x00me\x1b[31m red") == "Name[31m red"


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


def test_a_link_loop_is_told_as_a_loop(tmp_path):
    from builder.images import read_picture

    (tmp_path / "loop.jpg").symlink_to(tmp_path / "loop.jpg")
    with pytest.raises(ImageError, match="loop"):
        read_picture(tmp_path / "loop.jpg")


def test_avif_pictures_are_found():
    from builder.images import IMAGE_SUFFIXES

    assert ".avif" in IMAGE_SUFFIXES


def test_an_unreachable_ray_address_is_refused_in_seconds():
    import socket

    from builder.pipeline.executors import _reachable

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    with pytest.raises(UsageError, match="nothing answers"):
        _reachable(f"127.0.0.1:{port}", timeout_s=2)


@requires_mirror
def test_recommend_warns_of_rows_it_leaves_out(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("id,title,artist,valence,arousal\na,A,x,0.1,0.2\nb,B,y,7,0.2\n")
    result = CliRunner().invoke(
        app,
        [
            "recommend",
            "--valence",
            "0",
            "--arousal",
            "0",
            "--catalogue",
            str(p),
            "--allow-silent",
            "-k",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "warning: catalogue line 3: valence/arousal outside [-1, 1]" in result.output


@requires_mirror
def test_a_named_pipe_as_an_option_file_is_refused_before_the_build(pics, tmp_path, session_cache):
    for option in ("--catalogue", "--quadrants", "--vectors"):
        pipe = tmp_path / f"pipe{option[2:]}.csv"
        os.mkfifo(pipe)
        result = build(
            pics, tmp_path / "site", session_cache, "--method", "random", option, str(pipe)
        )
        assert result.exit_code == 2 and "is not a regular file (a named pipe)" in result.output, (
            result.output
        )
        assert not (tmp_path / "site").exists()


# ---- 8. bounded text, no hangs -------------------------------------------------------------------


def special_files(folder: Path) -> dict[str, Path]:
    """A named pipe, a socket and a character device, each where a file is expected."""
    import socket

    os.mkfifo(folder / "pipe.md")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "socket.md"))
    return {
        "a named pipe": folder / "pipe.md",
        "a socket": folder / "socket.md",
        "a character device": Path("/dev/zero"),
    }


@requires_mirror
@pytest.mark.skipif(not BUILDER.exists(), reason="needs the installed `builder` command")
@pytest.mark.parametrize("option", ["--intro", "--curation"])
def test_an_option_file_that_is_no_regular_file_is_refused_without_a_hang(pics, tmp_path, option):
    for kind, path in special_files(tmp_path).items():
        proc = subprocess.run(
            [
                str(BUILDER),
                "build",
                str(pics),
                "--out",
                str(tmp_path / "site"),
                "--mirror",
                str(MIRROR),
                "--cache-dir",
                str(tmp_path / "cache"),
                "--offline",
                "--method",
                "random",
                option,
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=120,  # a safety net only: the refusal comes before anything is read
        )
        assert proc.returncode == 2, proc.stderr
        assert f"is not a regular file ({kind})" in proc.stderr and "Traceback" not in proc.stderr
        assert not (tmp_path / "site").exists()


@requires_mirror
def test_long_cells_titles_and_intro_lines_are_cut_with_a_warning(pics, tmp_path, session_cache):
    from builder.pipeline import curation

    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        "image,title,caption\n"
        f"p0.jpg,{'T' * 200_000},{'c' * 200_000}\n"  # over the csv module's own field limit
        f"{'n' * 200_000}.jpg,x,y\n"
    )
    intro = tmp_path / "intro.md"
    intro.write_text("I" * 32_000 + "\n\nA short second paragraph.\n")
    out = tmp_path / "site"
    result = build(
        pics,
        out,
        session_cache,
        "--method",
        "random",
        "--curation",
        str(sheet),
        "--intro",
        str(intro),
        "--title",
        "W" * 100_000,
    )
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    for said in (
        "sheet.csv row 2, column title: 200,000 characters, cut to 200",
        "sheet.csv row 2, column caption: 200,000 characters, cut to 2,000",
        "intro.md line 1: 32,000 characters, cut to 4,000",
        "--title: 100,000 characters, cut to 200",
        "sheet.csv row 3: no picture 'nnnn",
    ):
        assert said in result.output, said
    assert len(result.output) < 5000  # no warning says a long value whole
    g = orjson.loads((out / "gallery.json").read_bytes())
    assert len(g["title"]) == curation.TITLE_CAP
    assert max(len(line) for line in g["intro"].splitlines()) == curation.INTRO_LINE_CAP
    first = next(im for im in g["images"] if im["file"] == "p0.jpg")
    assert len(first["title"]) == curation.TITLE_CAP
    assert len(first["description"]) == curation.DESCRIPTION_CAP


def test_a_long_bad_value_is_refused_in_a_short_sentence(tmp_path):
    from builder.pipeline.curation import read_sheet

    for column in ("order", "quadrant", "hide"):
        sheet = tmp_path / f"{column}.csv"
        sheet.write_text(f"image,{column}\np0.jpg,{'9' * 150_000}x\n")
        with pytest.raises(UsageError, match=f"row 2, column {column}: '9+…'") as err:
            read_sheet(sheet)
        assert len(str(err.value)) < 300
    sheet = tmp_path / "header.csv"
    sheet.write_text("x" * 150_000 + ",title\np0.jpg,a\n")
    with pytest.raises(UsageError, match="has no 'image' column") as err:
        read_sheet(sheet)
    assert len(str(err.value)) < 300


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


def test_the_intro_links_only_to_the_web_and_inside_the_gallery():
    from builder.pipeline.curation import intro_html

    html = intro_html(
        "[a](//evil.example/x) [b](../../etc/passwd) [c](%2e%2e/x) [d](a/../../x) [e](/etc/x) "
        "[f](file:///etc/passwd) [g](HTTPS://ok.example) [h](mailto:a@b.example) [i](notes.html) "
        "[j](#top) [k](pages/x.html?q=1)\n\n"
        "![far](https://evil.example/t.png) ![near](img/x.webp) ![up](../x.png) "
        "![js](javascript:alert(1)) [![in a link](https://e.example/a.png)](https://e.example)\n"
    )
    hrefs = re.findall(r'(?:href|src)="([^"]*)"', html)
    assert hrefs == [
        "HTTPS://ok.example",
        "mailto:a@b.example",
        "notes.html",
        "#top",
        "pages/x.html?q=1",
        "https://evil.example/t.png",  # a link now, not an image the page's policy blocks
        "img/x.webp",
        "https://e.example",
    ], html
    assert html.count("<img") == 1 and '<a href="https://e.example">in a link</a>' in html


def test_a_header_claiming_20000_by_20000_is_a_refusal_whoever_opens_it(tmp_path):
    from builder.images import open_picture

    from .test_robustness import png_claiming

    (tmp_path / "bomb.png").write_bytes(png_claiming(20_000, 20_000))
    jpeg = tmp_path / "bomb.jpg"
    photo((16, 16)).save(jpeg)
    data = bytearray(jpeg.read_bytes())
    at = data.find(b"\xff\xc0") + 5
    data[at : at + 4] = (20_000).to_bytes(2, "big") * 2
    jpeg.write_bytes(bytes(data))
    for path in (tmp_path / "bomb.png", jpeg):
        with pytest.raises(ImageError, match="claims more pixels than the builder accepts"):
            open_picture(path)


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
