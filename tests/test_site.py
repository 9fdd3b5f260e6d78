"""Writing the gallery and swapping it in (builder/gallery/site.py): a full disk named and the
previous gallery kept, the user's files carried over, and nothing the builder did not publish in
the new gallery."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import orjson

from .conftest import MIRROR, build, leftovers, photo, requires_mirror, tree


@requires_mirror
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


@requires_mirror
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


@requires_mirror
def test_every_hostile_build_publishes_only_what_it_wrote(tmp_path, session_cache):
    """A gallery of hostile pictures and a hostile sheet and intro: what is published is what the
    build wrote and the user's file, nothing else."""
    from .conftest import png_claiming

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


@requires_mirror
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
