"""The output folder (builder/gallery/outdir.py): nothing of the user's deleted, a gallery of an
older version recognised, permissions for other users, one build at a time, leftovers of a killed
build removed, special files and links."""

from __future__ import annotations

import os
import shutil
import signal
import stat
from pathlib import Path

import orjson
import pytest

from .conftest import (
    BUILDER,
    build,
    leftovers,
    requires_mirror,
    run_builder,
    tree,
    wait_for,
    with_umask,
)


@requires_mirror
def test_a_folder_with_any_gallery_json_is_not_taken_for_ours(pics, tmp_path, session_cache):
    out = tmp_path / "site"
    out.mkdir()
    (out / "gallery.json").write_text('{"my": "own file"}')
    (out / "thesis.docx").write_text("precious")
    before = tree(out)
    result = build(pics, out, session_cache, "--method", "random")
    assert result.exit_code == 2 and "not written by this builder" in result.output
    assert tree(out) == before


@requires_mirror
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


@requires_mirror
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


@requires_mirror
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


@requires_mirror
def test_out_dot_is_refused_in_a_sentence(pics, tmp_path, session_cache, monkeypatch):
    here = tmp_path / "work" / "here"
    here.mkdir(parents=True)
    (here / "mine.txt").write_text("keep")
    monkeypatch.chdir(here)
    for out in (".", str(here.parent)):  # the current folder, or one that holds it
        result = build(pics, Path(out), session_cache, "--method", "random")
        assert result.exit_code == 2 and "holds the current folder" in result.output, result.output
    assert tree(here) == {"mine.txt": b"keep"} and Path.cwd() == here


@requires_mirror
def test_the_gallery_is_readable_by_other_users(pics, tmp_path, session_cache):
    out = tmp_path / "site"
    with with_umask(0o022):
        assert build(pics, out, session_cache, "--method", "random").exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    for p in out.rglob("*"):
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o755 if p.is_dir() else 0o644), (p, oct(mode))


@requires_mirror
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


@requires_mirror
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


@requires_mirror
def test_an_out_that_is_a_link_builds_where_it_points(pics, tmp_path, session_cache):
    real = tmp_path / "real-site"
    link = tmp_path / "site"
    assert build(pics, real, session_cache, "--method", "random").exit_code == 0
    os.symlink(real, link)
    result = build(pics, link, session_cache, "--method", "random")
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and (real / "index.html").is_file() and leftovers(real) == []


@requires_mirror
def test_a_special_file_in_the_gallery_stops_the_build_unchanged(pics, tmp_path, session_cache):
    out = tmp_path / "site"
    assert build(pics, out, session_cache, "--method", "random").exit_code == 0
    os.mkfifo(out / "pipe")
    before = {p: p.lstat().st_mode for p in out.rglob("*")}
    result = build(pics, out, session_cache, "--method", "random")
    assert result.exit_code == 2 and "holds a named pipe at pipe" in result.output, result.output
    assert {p: p.lstat().st_mode for p in out.rglob("*")} == before and leftovers(out) == []
