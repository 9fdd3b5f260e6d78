"""Every path the builder writes is one it may write: one check (builder.files.check_output) for the
gallery, its lock, the cache, --stats and every command's --out, --json and --plot. A target that is
or lies inside an input, lies inside another gallery, or is a file the builder did not write is
refused in one sentence (exit 2) before anything is made; each case hashes the whole folder before
and after."""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from builder.cli import app
from builder.errors import UsageError
from builder.files import (
    CACHE_TAG,
    GALLERY_MARKER,
    GALLERY_SIGNATURE,
    Input,
    check_output,
    is_temporary,
)

from .conftest import MIRROR, cli_build, photo, requires_mirror


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under root (the root's own name too): a file's sha256, a link's target, a
    folder's or special file's kind. What must not change when a command is refused."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                seen[rel] = "link -> " + os.readlink(p)
            elif p.is_file():
                seen[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                seen[rel] = "folder" if p.is_dir() else "special"
    return seen


def gallery(folder: Path, files: dict[str, bytes] | None = None) -> Path:
    """A folder that a build wrote, as its marker says (with the files given)."""
    folder.mkdir(parents=True)
    files = files or {"index.html": b"<!doctype html>", "gallery.json": b"{}"}
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    marker = {"signature": GALLERY_SIGNATURE, "version": "test", "files": sorted(files)}
    (folder / GALLERY_MARKER).write_bytes(orjson.dumps(marker))
    return folder


def refused(match: str, path: Path, **kw) -> None:
    with pytest.raises(UsageError, match=match):
        check_output(path, **kw)


# ---- the check itself ----------------------------------------------------------------------------


def test_a_target_that_is_or_lies_inside_an_input_is_refused(tmp_path):
    pics = tmp_path / "pics"
    pics.mkdir()
    photo().save(pics / "cat.jpg")
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("image\n")
    reads = [Input(pics, "the picture folder"), Input(sheet, "the curation sheet")]
    refused("is the picture folder", pics, kind="gallery", inputs=reads)
    refused("lies inside the picture folder", pics / "cat.jpg", kind="stats", inputs=reads)
    refused("lies inside the picture folder", pics / "new" / "s.json", kind="stats", inputs=reads)
    refused("is the curation sheet", sheet, kind="stats", inputs=reads)
    # a gallery replaces its folder as a whole: it may hold nothing that is read
    refused("holds the curation sheet", tmp_path, kind="gallery", inputs=reads[1:])
    assert check_output(tmp_path / "stats.json", kind="stats", inputs=reads) == (
        tmp_path / "stats.json"
    )


def test_a_folder_read_for_some_files_takes_other_files(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    (music / "track.mp3").write_bytes(b"ID3 not really")
    reads = [Input(music, "the audio folder", (".mp3", ".flac"))]
    assert check_output(music / "catalogue.csv", kind="catalogue", inputs=reads)
    refused(
        "with a name the builder reads there as input \\(.mp3 files\\)",
        music / "track.mp3",
        kind="catalogue",
        inputs=reads,
    )
    refused("reads there as input", music / "new.FLAC", kind="catalogue", inputs=reads)


def test_links_are_followed_before_the_target_is_judged(tmp_path):
    pics = tmp_path / "pics"
    pics.mkdir()
    (pics / "cat.jpg").write_bytes(b"a photo")
    os.symlink(pics / "cat.jpg", tmp_path / "stats.json")  # a link to an input
    os.symlink(pics, tmp_path / "elsewhere")  # a folder link into an input
    reads = [Input(pics, "the picture folder")]
    refused(
        r"stats.json \(that is .*cat.jpg\) lies inside the picture folder",
        tmp_path / "stats.json",
        kind="stats",
        inputs=reads,
    )
    refused(
        "lies inside the picture folder",
        tmp_path / "elsewhere" / "s.json",
        kind="stats",
        inputs=reads,
    )
    os.symlink(tmp_path / "nowhere" / "x.json", tmp_path / "dangling.json")
    assert check_output(tmp_path / "dangling.json", kind="stats") == tmp_path / "nowhere/x.json"


def test_nothing_is_written_inside_another_gallery(tmp_path):
    other = gallery(tmp_path / "other")
    for kind, target in (
        ("stats", other / "gallery.json"),
        ("stats", other / "new.json"),
        ("catalogue", other / "audio" / "c.csv"),
        ("gallery", other / "sub"),
        ("cache", other / "cache"),
        ("film", other / "deep" / "f.mp4"),
    ):
        refused("a gallery the builder wrote", target, kind=kind)
    refused("is a gallery the builder wrote, not a cache folder", other, kind="cache")
    # the gallery itself may be rebuilt, and the film's own gallery may take its film
    assert check_output(other, kind="gallery") == other
    assert check_output(other / "film.mp4", kind="film", gallery=other) == other / "film.mp4"
    # a gallery of a version before markers is known by its gallery.json
    old = tmp_path / "old"
    old.mkdir()
    (old / "gallery.json").write_bytes(orjson.dumps({"method": "x", "images": [], "failed": []}))
    refused("a gallery the builder wrote", old / "s.json", kind="stats")


def test_a_file_the_builder_did_not_write_is_never_replaced(tmp_path):
    mine = {
        "stats": b'{"wall_s": 1, "stage_ms": {}}',
        "catalogue": b"id,title,artist,valence,arousal,audio\n",
        "table": b'{"results": {}}',
        "chapters": b'{"film": "f.mp4", "chapters": []}',
        "film": b"\0\0\0\x18ftypisom",
    }
    for kind, data in mine.items():
        ours = tmp_path / f"ours-{kind}"
        ours.write_bytes(data)
        assert check_output(ours, kind=kind) == ours
        theirs = tmp_path / f"theirs-{kind}"
        theirs.write_bytes(b"the user's own notes\n")
        refused("exists and is not a", theirs, kind=kind)
        assert check_output(theirs, kind=kind, force=True) == theirs
    photo().save(tmp_path / "photo.png")
    refused("is not a plot the builder wrote", tmp_path / "photo.png", kind="plot")
    refused("is not a model file", tmp_path / "photo.png", kind="model")


def test_what_is_not_a_regular_file_is_never_a_target(tmp_path):
    os.mkfifo(tmp_path / "pipe.json")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "sock.json"))
        refused("is a socket", tmp_path / "sock.json", kind="stats")
    refused("is a named pipe", tmp_path / "pipe.json", kind="stats")
    refused("is a named pipe", tmp_path / "pipe.json", kind="stats", force=True)
    refused("is a folder", tmp_path, kind="stats")
    (tmp_path / "file").write_text("x")
    refused("not a folder", tmp_path / "file", kind="gallery")


def test_temporary_names_are_those_atomic_path_makes(tmp_path):
    from builder.files import atomic_path

    with atomic_path(tmp_path / "exhibition.mp4") as tmp:
        assert is_temporary(tmp.name)
    with atomic_path(tmp_path / ("x" * 80)) as tmp:
        assert is_temporary(tmp.name)
    assert not any(map(is_temporary, ("notes.txt", ".htaccess", "a.tmp-12345678", ".x.tmp-abc")))


# ---- through the commands ------------------------------------------------------------------------


@pytest.fixture
def world(tmp_path) -> Path:
    """A user's folder: pictures, a sheet, an intro, a gallery built elsewhere, a photo outside."""
    pics = tmp_path / "pics"
    pics.mkdir()
    for i in range(3):
        photo(seed=i).save(pics / f"p{i}.jpg")
    (tmp_path / "sheet.csv").write_text("image,title\np0.jpg,First\n")
    (tmp_path / "intro.md").write_text("# Hello\n")
    gallery(tmp_path / "other", {"index.html": b"theirs", "gallery.json": b"{}"})
    return tmp_path


def cli(*args: str):
    return CliRunner().invoke(app, [*args])


@requires_mirror
@pytest.mark.parametrize(
    "args, says",
    [
        (("--stats", "{w}/pics/p0.jpg"), "--stats {w}/pics/p0.jpg lies inside the picture folder"),
        (("--stats", "{w}/site/gallery.json"), "lies inside the output folder"),
        (("--stats", "{w}/other/stats.json"), "a gallery the builder wrote"),
        (("--stats", "{w}/sheet.csv", "--curation", "{w}/sheet.csv"), "is the curation sheet"),
        (("--stats", "{w}/intro.md"), "exists and is not a statistics file"),
        (("--stats", "{w}/.site.lock"), "is the output folder's lock"),
        (("--stats", "{w}/cache/x.json"), "lies inside the cache folder"),
        (("--cache-dir", "{w}/site/cache"), "--cache-dir {w}/site/cache lies inside the output"),
        (("--cache-dir", "{w}/pics"), "is the picture folder"),
        (("--cache-dir", "{w}/other"), "is a gallery the builder wrote"),
        (("--cache-dir", "{w}/other/cache"), "a gallery the builder wrote"),
        (("--out", "{w}/other/sub"), "lies inside {w}/other, a gallery the builder wrote"),
        (("--out", "{w}/sheet.csv"), "--out {w}/sheet.csv is a file, not a folder"),
        (("--intro", "{w}/site/intro.md"), "holds the introduction file"),
    ],
)
def test_a_build_refuses_every_path_it_may_not_write_before_anything_is_made(world, args, says):
    (world / "site").mkdir()
    (world / "site" / "intro.md").write_text("kept by the user")
    w = str(world)
    given = [a.format(w=w) for a in args]
    options = dict(zip(given[::2], given[1::2]))
    out = Path(options.pop("--out", f"{w}/site"))
    cache = Path(options.pop("--cache-dir", f"{w}/cache"))
    before = snapshot(world)
    result = cli_build(
        world / "pics", out, cache, "--method", "random", *[x for kv in options.items() for x in kv]
    )
    assert result.exit_code == 2, result.output
    assert says.format(w=w) in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert snapshot(world) == before  # not even the cache folder was made


@requires_mirror
def test_a_first_build_with_its_cache_inside_out_is_refused_as_every_later_one(world):
    site, before = world / "site", snapshot(world)
    for _ in range(2):
        result = cli_build(world / "pics", site, site / "cache", "--method", "random")
        assert result.exit_code == 2 and "lies inside the output folder" in result.output
        assert "not written by this builder" not in result.output
        assert snapshot(world) == before
    assert cli_build(world / "pics", site, world / "cache", "--method", "random").exit_code == 0
    before = snapshot(world)
    result = cli_build(world / "pics", site, site / "cache", "--method", "random")
    assert result.exit_code == 2 and "lies inside the output folder" in result.output
    assert snapshot(world) == before


@requires_mirror
def test_music_score_never_writes_over_the_audio_it_reads(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    (music / "track.mp3").write_bytes((MIRROR / "deam/MEMD_audio/2.mp3").read_bytes())
    gallery(tmp_path / "other")
    before = snapshot(tmp_path)
    common = ["--mirror", str(MIRROR), "--cache-dir", str(tmp_path / "cache"), "--offline"]
    for target, says in (
        (music / "track.mp3", "reads there as input (.mp3 files)"),
        (music / "sub" / "new.flac", "reads there as input (.flac files)"),
        (tmp_path / "other" / "c.csv", "a gallery the builder wrote"),
        (tmp_path / "cache" / "c.csv", "lies inside the cache folder"),
        (MIRROR / "c.csv", "lies inside the mirror"),
    ):
        result = cli("music", "score", str(music), "--out", str(target), *common)
        assert result.exit_code == 2 and says in result.output, (target, result.output)
    assert snapshot(tmp_path) == before
    result = cli(
        "music",
        "score",
        str(music),
        "--cache-dir",
        str(music),
        "--out",
        str(tmp_path / "c.csv"),
        "--mirror",
        str(MIRROR),
        "--offline",
    )
    assert (
        result.exit_code == 2
        and "--cache-dir" in result.output
        and "is the audio folder" in (result.output)
    )
    assert snapshot(tmp_path) == before


def test_fit_and_evaluate_check_their_outputs_before_reading_anything(tmp_path):
    pics = tmp_path / "rated"
    pics.mkdir()
    photo().save(pics / "a.png")
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("image,valence,arousal\na.png,5,5\n")
    labels = tmp_path / "labels.csv"
    labels.write_text("file,quadrant\nx.mp3,1\n")
    (pics / "x.mp3").write_bytes(b"ID3")
    photo().save(tmp_path / "holiday.png")  # the user's, outside every input
    before = snapshot(tmp_path)
    for args, says in (
        (["fit", str(pics), str(ratings), "--out", str(tmp_path / "holiday.png")], "not a model"),
        (["fit", str(pics), str(ratings), "--out", str(pics / "m.npz")], "the folder of rated"),
        (["fit", str(pics), str(ratings), "--out", str(ratings)], "is the ratings file"),
        (["fit", "--set", f"{pics}:1-9:5", "--out", str(pics / "m.npz")], "a rated set's folder"),
        (["evaluate", str(pics), str(ratings), "--json", str(ratings)], "is the ratings file"),
        (["evaluate", str(pics), str(ratings), "--plot", str(tmp_path / "holiday.png")], "plot"),
        (
            ["music", "fit", str(pics), str(labels), "--out", str(pics / "x.mp3")],
            "as input (.mp3 files)",
        ),
        (["music", "fit", str(pics), str(labels), "--out", str(labels)], "is the labels file"),
        (["music", "evaluate", str(pics), str(labels), "--json", str(labels)], "labels file"),
    ):
        result = cli(*args, "--cache-dir", str(tmp_path / "cache"))
        assert result.exit_code == 2 and says in result.output, (args, result.output)
        assert "Traceback" not in result.output
    assert snapshot(tmp_path) == before


def test_a_cache_tag_marks_the_cache(tmp_path):
    from builder.files import is_cache, usable_cache

    cache, warning = usable_cache(tmp_path / "cache")
    assert warning is None and (cache / CACHE_TAG).read_text().startswith("Signature: 8a477f59")
    assert is_cache(cache)
    legacy = tmp_path / "legacy"
    (legacy / "renders").mkdir(parents=True)
    (legacy / "analysis").mkdir()
    assert is_cache(legacy) and not is_cache(tmp_path)


def test_a_failed_write_of_stats_model_or_table_is_one_sentence_naming_the_file(
    tmp_path, monkeypatch
):
    import errno

    from builder.cli import lab
    from builder.errors import OutputError
    from builder.pipeline import build

    def full(path, *_):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(build, "write_atomic", full)
    stats = tmp_path / "stats.json"
    with pytest.raises(OutputError) as caught:
        build.write_stats(stats, b"{}", tmp_path / "dist")
    assert str(caught.value) == (
        f"writing the statistics file {stats} failed: No space left on device ({stats}); "
        f"the new gallery is in place in {tmp_path / 'dist'}"
    )

    class Model:
        def save(self, target):
            full(target)

    with pytest.raises(OutputError, match=r"writing the model .* failed: No space left on device"):
        lab.save_model(Model(), tmp_path / "m.npz")
    monkeypatch.setattr("builder.files.write_atomic", full)
    with pytest.raises(OutputError, match="the figures above were printed; nothing else was"):
        lab.write_table(tmp_path / "t.json", {"results": []})
