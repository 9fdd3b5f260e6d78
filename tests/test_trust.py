"""Trust under attack and accident: nothing of the user's deleted, nothing outside the inputs
published, caches that verify what they serve, a sentence and a documented exit code for every
failure, signals, permissions."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from builder import signals

from .conftest import MIRROR, cli_build, photo, requires_mirror

pytestmark = requires_mirror
BUILDER = Path(sys.executable).with_name("builder")
SECRET = "root:x:0:0:secret-marker-for-tests"


build = cli_build


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


# ---- nothing of the user's is deleted ------------------------------------------------------------


def test_a_folder_with_any_gallery_json_is_not_taken_for_ours(pics, tmp_path, session_cache):
    out = tmp_path / "site"
    out.mkdir()
    (out / "gallery.json").write_text('{"my": "own file"}')
    (out / "thesis.docx").write_text("precious")
    before = tree(out)
    result = build(pics, out, session_cache, "--method", "random")
    assert result.exit_code == 2 and "not written by this builder" in result.output
    assert tree(out) == before


def test_files_the_builder_did_not_write_are_kept_and_named(pics, tmp_path, session_cache):
    out = tmp_path / "site"
    assert build(pics, out, session_cache, "--method", "random").exit_code == 0
    (out / "CNAME").write_text("gallery.example.org")
    (out / "notes").mkdir()
    (out / "notes" / "hang.txt").write_text("hang at eye level")
    result = build(pics, out, session_cache, "--method", "random")
    assert result.exit_code == 0, result.output
    assert (out / "CNAME").read_text() == "gallery.example.org"
    assert (out / "notes" / "hang.txt").read_text() == "hang at eye level"
    assert (
        "kept 2 files" in result.output
        and "CNAME" in result.output
        and "notes/hang.txt" in result.output
    )
    marker = orjson.loads((out / ".gallery-builder.json").read_bytes())
    assert "CNAME" not in marker["files"] and "index.html" in marker["files"]


def test_a_user_file_where_the_new_gallery_writes_stops_the_build_unchanged(
    pics, tmp_path, session_cache
):
    from builder.gallery.copies import slug_for

    out = tmp_path / "site"
    (pics / "p3.jpg").rename(tmp_path / "p3.jpg")
    assert build(pics, out, session_cache, "--method", "random").exit_code == 0
    mine = out / "pages" / f"{slug_for('p3.jpg')}.html"
    mine.write_text("my own page")
    before = tree(out)
    (tmp_path / "p3.jpg").rename(pics / "p3.jpg")
    result = build(pics, out, session_cache, "--method", "random")
    assert result.exit_code == 2 and "did not write" in result.output and mine.name in result.output
    assert tree(out) == before and leftovers(out) == []


def test_a_gallery_of_the_previous_version_is_recognised(pics, tmp_path, session_cache):
    out = tmp_path / "site"
    assert build(pics, out, session_cache, "--method", "random").exit_code == 0
    (
        out / ".gallery-builder.json"
    ).unlink()  # as an older builder left it: gallery.json and its layout only,
    shutil.rmtree(out / "data")  # which had no data shards and no paged index
    for page in out.glob("index-*.html"):
        page.unlink()
    result = build(pics, out, session_cache, "--method", "random")
    assert result.exit_code == 0, result.output and (out / ".gallery-builder.json").is_file()


def test_out_dot_is_refused_in_a_sentence(pics, tmp_path, session_cache, monkeypatch):
    here = tmp_path / "work" / "here"
    here.mkdir(parents=True)
    (here / "mine.txt").write_text("keep")
    monkeypatch.chdir(here)
    for out in (".", str(here.parent)):  # the current folder, or one that holds it
        result = build(pics, Path(out), session_cache, "--method", "random")
        assert result.exit_code == 2 and "holds the current folder" in result.output, result.output
    assert tree(here) == {"mine.txt": b"keep"} and Path.cwd() == here


# ---- nothing outside the inputs is published -----------------------------------------------------


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


# ---- caches verify what they serve ---------------------------------------------------------------


def test_a_picture_changed_or_removed_after_reading_is_left_out_not_mislabelled(pics, tmp_path):
    from builder.gallery.site import write_site
    from builder.pipeline.context import Context
    from builder.pipeline.run import analyse
    from builder.pipeline.stats import Stats
    from builder.settings import Settings

    cache = tmp_path / "c"
    s = Settings(
        input=pics,
        out=tmp_path / "site",
        mirror=MIRROR,
        cache_dir=cache,
        offline=True,
        method="random",
    )
    stats = Stats()
    g = analyse(Context(s), stats=stats)
    old_sha = stats.hashes["p1.jpg"]
    photo(seed=99).save(pics / "p1.jpg")  # replaced while the build runs
    (pics / "p2.jpg").unlink()  # removed while the build runs
    final = write_site(g, pics, s.out, cache, stats.hashes)
    reasons = {f.file: f.reason for f in final.failed}
    assert "changed after it was read" in reasons["p1.jpg"] and "disappeared" in reasons["p2.jpg"]
    assert sorted(im.file for im in final.images) == ["p0.jpg", "p3.jpg"]
    assert not list(
        (cache / "renders").glob(f"{old_sha}-*")
    )  # nothing stored under the old content's hash
    pages = {p.name for p in (s.out / "pages").iterdir()}
    assert len(pages) == 2


def test_renders_cut_short_in_the_cache_are_recomputed(pics, tmp_path):
    cache, out = tmp_path / "c", tmp_path / "site"
    assert build(pics, out, cache, "--method", "random").exit_code == 0
    for f in (cache / "renders").iterdir():
        f.write_bytes(f.read_bytes()[: len(f.read_bytes()) // 3])
    assert build(pics, out, cache, "--method", "random").exit_code == 0
    for f in list((out / "img").iterdir()) + list((out / "thumbs").iterdir()):
        with Image.open(f) as im:
            im.load()  # every published copy decodes in full


def test_analysis_entries_of_the_wrong_shape_are_recomputed(pics, tmp_path):
    cache, out = tmp_path / "c", tmp_path / "site"
    assert build(pics, out, cache).exit_code == 0
    entries = sorted((cache / "analysis").rglob("*.json"))
    assert len(entries) == 4
    shapes = [
        {
            "width": 1,
            "height": 1,
            "colour_av": "x",
            "detections": 5,
            "colours": [],
            "faces": [],
            "scene": [],
            "caption_text": "",
            "caption_source": "",
        },
        {
            "width": 10,
            "height": 10,
            "colour_av": [0, 0],
            "detections": [{"label": "cat"}],
            "colours": [],
            "faces": [],
            "scene": [],
            "caption_text": "",
            "caption_source": "",
        },
        {
            "width": 10,
            "height": 10,
            "colour_av": [0, 0],
            "detections": [],
            "colours": [],
            "faces": [],
            "scene": [],
            "caption_text": "",
            "caption_source": "",
            "ingredients": {"pooled": [1], "probs": [1], "colour": [], "detections": []},
        },
        [1, 2, 3],
    ]
    for entry, bad in zip(entries, shapes):
        entry.write_bytes(orjson.dumps(bad))
    result = build(pics, out, cache)
    assert result.exit_code == 0 and "(0 cached, 0 failed)" in result.output, result.output
    result = build(pics, out, cache)
    assert (
        "(4 cached, 0 failed)" in result.output
    )  # and the recomputed entries serve the next build


def test_an_unwritable_cache_is_a_warning_not_a_failure(pics, tmp_path):
    not_a_folder = tmp_path / "cache-file"
    not_a_folder.write_text(
        "a file where the cache should be"
    )  # root can write anywhere; this it cannot
    out = tmp_path / "site"
    result = build(pics, out, not_a_folder / "sub", "--method", "random")
    assert result.exit_code == 0, result.output
    assert "warning: the cache folder" in result.output and "cannot be written" in result.output
    assert (out / "index.html").is_file()


# ---- every failure is a sentence and an exit code ------------------------------------------------


def test_a_full_disk_names_the_path_exits_5_and_keeps_the_previous_gallery(
    pics, tmp_path, session_cache, monkeypatch
):
    from builder.gallery import copies

    out = tmp_path / "site"
    assert build(pics, out, session_cache, "--method", "random").exit_code == 0
    before = tree(out)
    real_copy, real_link = copies.shutil.copyfile, copies.os.link

    def full(real):
        def write(src, dst, *a, **k):
            if "/img/" in str(dst):
                raise OSError(errno.ENOSPC, "No space left on device", str(dst))
            return real(src, dst, *a, **k)

        return write

    monkeypatch.setattr(copies.shutil, "copyfile", full(real_copy))  # a copy from the cache
    monkeypatch.setattr(
        copies.os, "link", full(real_link)
    )  # or a link to it: a full folder refuses both
    result = build(pics, out, session_cache, "--method", "random")
    assert result.exit_code == 5, result.output
    assert "No space left on device" in result.output and "/img/" in result.output
    assert "Traceback" not in result.output and tree(out) == before and leftovers(out) == []


def test_a_catalogue_row_with_more_fields_than_its_header_is_skipped(tmp_path):
    from builder.music.catalogue import load_csv_catalogue

    p = tmp_path / "c.csv"
    p.write_text("id,title,artist,valence,arousal\na,A,x,0.1,0.2\nb,B,x,0.1,0.2,extra,more\n")
    cat, problems = load_csv_catalogue(p)
    assert [t.id for t in cat.tracks] == ["a"] and "2 more fields than the header" in problems[0]


def test_names_never_reach_the_terminal_raw(tmp_path, session_cache):
    d = tmp_path / "pics"
    d.mkdir()
    photo().save(d / "fine.jpg")
    evil = "\x1b]0;pwned\x07\x1b[31mred\u202eevil.jpg"
    (d / evil).write_text("not a picture")
    result = build(d, tmp_path / "site", session_cache, "--method", "random")
    assert result.exit_code == 1
    assert (
        "\x1b" not in result.output
        and "\x07" not in result.output
        and "\u202e" not in result.output
    )
    assert "\\x1b]0;pwned\\x07\\x1b[31mred\\u202eevil.jpg" in result.output


def test_a_file_name_that_is_not_utf8_fails_with_a_reason(tmp_path, session_cache):
    d = tmp_path / "pics"
    d.mkdir()
    photo().save(d / "fine.jpg")
    with open(os.path.join(os.fsencode(d), b"caf\xe9-latin1.jpg"), "wb") as f:
        photo(seed=2).save(f, "JPEG")
    out = tmp_path / "site"
    result = build(d, out, session_cache, "--method", "random")
    assert result.exit_code == 1, result.output
    g = orjson.loads((out / "gallery.json").read_bytes())
    assert [im["file"] for im in g["images"]] == ["fine.jpg"]
    assert g["failed"] == [{"file": "caf\\xe9-latin1.jpg", "reason": g["failed"][0]["reason"]}]
    assert "not valid UTF-8" in g["failed"][0]["reason"] and "Traceback" not in result.output


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.binary(min_size=1, max_size=60).filter(
        lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b"..", b"fine")
    )
)
def test_any_byte_string_as_a_file_name_builds_or_fails_with_a_reason(
    name, tmp_path_factory, session_cache
):
    d = tmp_path_factory.mktemp("names")
    photo().save(d / "fine.jpg")
    with open(os.path.join(os.fsencode(d), name + b".jpg"), "wb") as f:
        photo(seed=1).save(f, "JPEG")
    out = tmp_path_factory.mktemp("out") / "site"
    result = build(d, out, session_cache, "--method", "random")
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output and isinstance(
        result.exception, (SystemExit, type(None))
    )
    g = orjson.loads((out / "gallery.json").read_bytes())
    assert "fine.jpg" in [im["file"] for im in g["images"]]
    if name.startswith(b"."):  # hidden files are not part of the collection
        assert len(g["images"]) == 1 and g["failed"] == []
    elif result.exit_code == 0:
        assert len(g["images"]) == 2
    else:
        assert len(g["failed"]) == 1 and g["failed"][0]["reason"] and len(g["images"]) == 1


# ---- permissions, locks, signals -----------------------------------------------------------------


def test_the_gallery_is_readable_by_other_users(pics, tmp_path, session_cache):
    old = os.umask(0o022)
    try:
        out = tmp_path / "site"
        assert build(pics, out, session_cache, "--method", "random").exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    for p in out.rglob("*"):
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o755 if p.is_dir() else 0o644), (p, oct(mode))


def run_builder(pics: Path, out: Path, cache: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(BUILDER),
            "build",
            str(pics),
            "--out",
            str(out),
            "--mirror",
            str(MIRROR),
            "--cache-dir",
            str(cache),
            "--offline",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        # the test run may itself be a background job whose children inherit SIGINT ignored: set
        # them explicitly
        preexec_fn=signals.in_child_default,
    )


def wait_for(predicate, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


@pytest.fixture
def many(tmp_path) -> Path:
    """Enough pictures that a cold learned build takes a few seconds."""
    d = tmp_path / "many"
    d.mkdir()
    for i in range(60):
        photo((480, 360), seed=i).save(d / f"m{i:02d}.jpg")
    return d


@pytest.mark.slow
@pytest.mark.skipif(not BUILDER.exists(), reason="needs the installed `builder` command")
def test_a_second_build_of_the_same_out_stops_with_a_message(many, tmp_path):
    out, cache = tmp_path / "site", tmp_path / "cache"
    first = run_builder(many, out, cache)
    wait_for(lambda: (tmp_path / ".site.lock").exists() or first.poll() is not None)
    second = run_builder(many, out, tmp_path / "cache2")
    out2, _ = second.communicate(timeout=120)
    out1, _ = first.communicate(timeout=300)
    assert first.returncode == 0, out1
    assert second.returncode == 6 and "another build is writing" in out2, out2
    assert orjson.loads((out / "gallery.json").read_bytes())["images"] and leftovers(out) == []


@pytest.mark.slow
@pytest.mark.skipif(not BUILDER.exists(), reason="needs the installed `builder` command")
@pytest.mark.parametrize(
    "sig, code, word",
    [
        (signal.SIGTERM, 143, "terminated"),
        (signal.SIGHUP, 129, "hung up"),
        (signal.SIGINT, 130, "interrupted"),
    ],
)
def test_signals_end_with_a_message_and_leave_nothing_behind(many, tmp_path, sig, code, word):
    out, cache = tmp_path / "site", tmp_path / "cache"
    (many / "m00.jpg").rename(tmp_path / "m00.jpg")
    first = run_builder(many, out, cache, "--method", "random")
    assert first.wait(timeout=300) == 0
    before = tree(out)
    (tmp_path / "m00.jpg").rename(many / "m00.jpg")
    proc = run_builder(many, out, tmp_path / "cold-cache")
    analysed = tmp_path / "cold-cache" / "analysis"
    wait_for(
        lambda: any(analysed.rglob("*.json")) or proc.poll() is not None, timeout=300
    )  # mid-analysis
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == code and word in output and "Traceback" not in output, output
    assert tree(out) == before and leftovers(out) == []


@pytest.mark.slow
@pytest.mark.skipif(not BUILDER.exists(), reason="needs the installed `builder` command")
def test_leftovers_of_a_killed_build_are_removed_by_the_next(many, tmp_path):
    out, cache = tmp_path / "site", tmp_path / "cache"
    proc = run_builder(many, out, cache)
    wait_for(
        lambda: (
            any(p.name.startswith(".site.building-") for p in tmp_path.iterdir())
            or proc.poll() is not None
        ),
        timeout=300,
    )
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert any(n.startswith(".site.building-") for n in leftovers(out))
    again = run_builder(many, out, cache, "--method", "random")
    output, _ = again.communicate(timeout=300)
    assert again.returncode == 0, output
    assert leftovers(out) == [] and (out / "index.html").is_file()


# ---- every core ----------------------------------------------------------------------------------


@pytest.fixture
def sixteen(tmp_path) -> Path:
    d = tmp_path / "sixteen"
    d.mkdir()
    for i in range(16):
        photo((400, 300), seed=100 + i).save(d / f"s{i:02d}.jpg")
    (d / "broken.jpg").write_text("not a picture")
    return d


@pytest.mark.slow
def test_workers_give_the_same_records_and_report_failures_as_one_process(sixteen, tmp_path):
    results = {}
    for n in (1, 2):
        out = tmp_path / f"w{n}"
        stats = tmp_path / f"s{n}.json"
        result = build(
            sixteen, out, tmp_path / f"cache{n}", "--workers", str(n), "--stats", str(stats)
        )
        assert result.exit_code == 1 and "broken.jpg: not a picture" in result.output, result.output
        results[n] = (out / "gallery.json").read_bytes(), orjson.loads(stats.read_bytes())
    assert results[1][0] == results[2][0]  # byte for byte
    for n, (_, timing) in results.items():
        assert timing["workers"] == n and timing["pictures"] == 16 and timing["cached"] == 0
        assert timing["model_ms"] > 0 and timing["other_ms"] > 0
        assert timing["model_ms"] + timing["other_ms"] == pytest.approx(
            sum(timing["stage_ms"].values()), abs=0.01
        )
        assert {"decode", "detect", "scene", "site"} <= set(timing["stage_ms"])


@pytest.mark.slow
@pytest.mark.skipif(not BUILDER.exists(), reason="needs the installed `builder` command")
def test_ctrl_c_stops_the_workers_and_keeps_the_previous_gallery(many, tmp_path):
    out = tmp_path / "site"
    (many / "m00.jpg").rename(tmp_path / "m00.jpg")
    assert run_builder(many, out, tmp_path / "c0", "--method", "random").wait(timeout=300) == 0
    before = tree(out)
    (tmp_path / "m00.jpg").rename(many / "m00.jpg")
    proc = run_builder(many, out, tmp_path / "c1", "--workers", "2")
    analysed = tmp_path / "c1" / "analysis"
    wait_for(
        lambda: any(analysed.rglob("*.json")) or proc.poll() is not None, timeout=300
    )  # workers analysing
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "interrupted" in output and "Traceback" not in output, output

    def gone() -> bool:  # no worker outlives the build (the whole process group goes)
        try:
            os.killpg(proc.pid, 0)
            return False
        except ProcessLookupError:
            return True

    wait_for(gone, timeout=10)
    assert tree(out) == before and leftovers(out) == []


def test_links_out_of_the_input_folder_are_not_published(tmp_path, session_cache):
    d = tmp_path / "pics"
    d.mkdir()
    photo().save(d / "fine.jpg")
    private = tmp_path / "private.jpg"
    photo(seed=9).save(private)
    os.symlink(private, d / "peek.jpg")
    os.symlink(d / "fine.jpg", d / "again.jpg")  # a link inside the folder is fine
    out = tmp_path / "site"
    result = build(d, out, session_cache, "--method", "random")
    assert result.exit_code == 1, result.output
    g = orjson.loads((out / "gallery.json").read_bytes())
    assert sorted(im["file"] for im in g["images"]) == ["again.jpg", "fine.jpg"]
    assert (
        g["failed"][0]["file"] == "peek.jpg"
        and "outside the input folder" in g["failed"][0]["reason"]
    )
    secret = private.read_bytes()
    assert not any(f.is_file() and f.read_bytes() == secret for f in out.rglob("*"))


def test_an_out_that_is_a_link_builds_where_it_points(pics, tmp_path, session_cache):
    real = tmp_path / "real-site"
    link = tmp_path / "site"
    assert build(pics, real, session_cache, "--method", "random").exit_code == 0
    os.symlink(real, link)
    result = build(pics, link, session_cache, "--method", "random")
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and (real / "index.html").is_file() and leftovers(real) == []


# ---- nothing unpublished is published ------------------------------------------------------------


def published(out: Path) -> set[str]:
    """Every file of a gallery folder (links and special files too)."""
    return {
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_symlink() or not p.is_dir()
    }


def assert_only_published(out: Path, users: dict[str, bytes]) -> None:
    """The gallery holds what the build says it wrote (its marker) and the user's files, unchanged,
    and nothing else."""
    marker = orjson.loads((out / ".gallery-builder.json").read_bytes())
    assert published(out) == set(marker["files"]) | {".gallery-builder.json"} | set(users)
    assert not set(users) & set(marker["files"])
    for name, data in users.items():
        assert (out / name).read_bytes() == data, name


KILLED_WRITER = """
import sys
from pathlib import Path
from builder.files import atomic_path
with atomic_path(Path(sys.argv[1])) as tmp:
    tmp.write_bytes(b"half a film")
    print(tmp, flush=True)
    sys.stdin.readline()
"""


def test_the_swap_carries_the_users_files_and_nothing_of_the_builders(
    pics, tmp_path, session_cache
):
    from builder.files import usable_cache

    out = tmp_path / "site"
    assert build(pics, out, session_cache, "--method", "random").exit_code == 0
    users = {"CNAME": b"gallery.example.org", "notes/hang.txt": b"eye level", ".htaccess": b"x"}
    for name, data in users.items():
        (out / name).parent.mkdir(exist_ok=True)
        (out / name).write_bytes(data)
    # a writer killed with SIGKILL while it wrote into the gallery (a film, say)
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(out / "film.mp4")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    partial = Path(writer.stdout.readline().strip())  # it says where it writes
    writer.kill()
    writer.wait()
    assert partial.parent == out and partial.read_bytes() == b"half a film"
    # a cache inside the gallery (tagged, and one of a version before tags)
    cache, _ = usable_cache(out / "cache")
    (cache / "renders").mkdir()
    (cache / "renders" / "abc-480-v4.jpg").write_bytes(b"a picture the sheet hid")
    (out / "old-cache" / "analysis").mkdir(parents=True)
    (out / "old-cache" / "analysis" / "x.json").write_bytes(b"{}")
    result = build(pics, out, session_cache, "--method", "random")
    assert result.exit_code == 0, result.output
    assert "3 files" in result.output and "temporary or cache files" in result.output
    assert_only_published(out, users)
    assert leftovers(out) == []


def test_a_special_file_in_the_gallery_stops_the_build_unchanged(pics, tmp_path, session_cache):
    out = tmp_path / "site"
    assert build(pics, out, session_cache, "--method", "random").exit_code == 0
    os.mkfifo(out / "pipe")
    before = {p: p.lstat().st_mode for p in out.rglob("*")}
    result = build(pics, out, session_cache, "--method", "random")
    assert result.exit_code == 2 and "holds a named pipe at pipe" in result.output, result.output
    assert {p: p.lstat().st_mode for p in out.rglob("*")} == before and leftovers(out) == []


def test_every_hostile_build_publishes_only_what_it_wrote(tmp_path, session_cache):
    """A gallery of hostile pictures and a hostile sheet and intro: what is published is what the
    build wrote and the user's file, nothing else."""
    from .test_robustness import png_claiming

    pics = tmp_path / "pics"
    pics.mkdir()
    photo().save(pics / "fine.jpg")
    (pics / "bomb.png").write_bytes(png_claiming(20_000, 20_000))
    os.mkfifo(pics / "pipe.jpg")
    os.symlink(tmp_path / "nowhere.jpg", pics / "dangling.jpg")
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(f"image,title,caption\nfine.jpg,{'T' * 300_000},{'c' * 5000}\n")
    intro = tmp_path / "intro.md"
    intro.write_text("x" * 32_000 + "\n\n![far](https://example.org/x.png) [up](../../x)\n")
    out = tmp_path / "site"
    (out).mkdir()
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
    )
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert_only_published(out, {})
    (out / "CNAME").write_text("x.org")
    result = build(pics, out, session_cache, "--method", "random")
    assert result.exit_code == 1, result.output
    assert_only_published(out, {"CNAME": b"x.org"})


# ---- messages that say what happened -------------------------------------------------------------


def test_a_full_disk_names_the_gallery_not_the_file_copied_into_it(
    pics, tmp_path, session_cache, monkeypatch
):
    from builder.gallery import copies

    real_copy = copies.shutil.copyfile

    def full(src, dst, *a, **k):
        if "/audio/" in str(dst):  # as sendfile reports it: the source first, the target second
            raise OSError(errno.ENOSPC, "No space left on device", str(src), None, str(dst))
        return real_copy(src, dst, *a, **k)

    monkeypatch.setattr(copies.shutil, "copyfile", full)
    out = tmp_path / "site"
    result = build(pics, out, session_cache, "--method", "random")
    assert result.exit_code == 5, result.output
    assert f"writing the gallery {out} failed: No space left on device" in result.output
    assert "/audio/" in result.output and str(MIRROR) not in result.output
    assert not out.exists() and leftovers(out) == []


def test_hiding_every_picture_says_so(pics, tmp_path, session_cache):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("image,hide\n" + "".join(f"p{i}.jpg,yes\n" for i in range(4)))
    result = build(
        pics, tmp_path / "site", session_cache, "--method", "random", "--curation", str(sheet)
    )
    assert result.exit_code == 4, result.output
    assert "every picture was hidden by the sheet (4 rows)" in result.output
    assert "no picture files found" not in result.output
