"""The lock of a gallery (builder.gallery.outdir.locked): one per real folder however it is named,
made with O_EXCL and opened with O_NOFOLLOW, so a link, a named pipe or any file that is not a lock
at its name is refused and never followed, truncated or written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from builder.errors import UsageError
from builder.gallery.outdir import OutputBusy, lock_path, locked

from .conftest import cli_build, requires_mirror
from .test_output_paths import snapshot

HOLD = """
import sys
from builder.gallery.outdir import locked
with locked(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def holder(folder: Path) -> subprocess.Popen:
    """A process that holds the lock of `folder` (as it names it) until its stdin is closed;
    returned once it says it holds it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def release(proc: subprocess.Popen) -> None:
    proc.stdin.close()
    assert proc.wait(timeout=60) == 0


def test_one_gallery_has_one_lock_however_it_is_named(tmp_path):
    real = tmp_path / "real" / "site"
    real.mkdir(parents=True)
    os.symlink(real, tmp_path / "link")
    os.symlink(tmp_path / "real", tmp_path / "parent-link")
    for held, tried in (
        (tmp_path / "link", real),
        (real, tmp_path / "link"),
        (tmp_path / "parent-link" / "site", tmp_path / "link"),
    ):
        proc = holder(held)
        try:
            with pytest.raises(OutputBusy, match=f"another build is writing {real}"):
                with locked(tried):
                    pass
        finally:
            release(proc)
    assert lock_path(tmp_path / "link") == tmp_path / "real" / ".site.lock"
    assert not (tmp_path / "real" / ".site.lock").exists()  # released: gone


@pytest.mark.parametrize("plant", ["symlink", "hardlink", "fifo", "text", "folder"])
def test_what_lies_at_the_locks_name_is_refused_and_left_as_it_was(tmp_path, plant):
    precious = tmp_path / "precious.txt"
    precious.write_text("the user's own words\n")
    site = tmp_path / "site"
    lock = tmp_path / ".site.lock"
    if plant == "symlink":
        os.symlink(precious, lock)
    elif plant == "hardlink":
        os.link(precious, lock)
    elif plant == "fifo":
        os.mkfifo(lock)
    elif plant == "text":
        lock.write_text("not a process id\n")
    else:
        lock.mkdir()
    before = snapshot(tmp_path)
    with pytest.raises(UsageError, match=r"\.site\.lock, where the builder keeps the lock"):
        with locked(site):
            pass
    assert snapshot(tmp_path) == before


def test_a_lock_left_by_a_killed_build_is_taken_and_removed(tmp_path):
    site = tmp_path / "site"
    lock = tmp_path / ".site.lock"
    lock.write_text("999999")  # its process is gone, and so is its flock
    with locked(site):
        assert lock.read_text() == str(os.getpid())
    assert not lock.exists()


@requires_mirror
def test_a_build_never_writes_through_a_link_at_the_locks_name(pics, tmp_path, session_cache):
    precious = tmp_path / "precious.txt"
    precious.write_text("the user's own words\n")
    os.symlink(precious, tmp_path / ".site.lock")
    before = snapshot(tmp_path)
    result = cli_build(pics, tmp_path / "site", session_cache, "--method", "random")
    assert result.exit_code == 2 and "is a symbolic link" in result.output, result.output
    assert "Traceback" not in result.output and snapshot(tmp_path) == before
