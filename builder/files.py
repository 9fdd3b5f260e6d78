"""Writing files so that a reader never sees half of one: a temporary name beside the target, then a rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` to write to; renamed onto `path` only if the block finishes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)  # atomic within one filesystem
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def usable_cache(cache_dir: Path) -> tuple[Path, str | None]:
    """cache_dir if files can be written there; else a temporary folder (removed at exit) and a warning."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=cache_dir, prefix=".probe-")
        os.close(fd)
        os.unlink(probe)
        return cache_dir, None
    except OSError as exc:
        import atexit
        import shutil

        tmp = Path(tempfile.mkdtemp(prefix="gallery-builder-cache-"))
        atexit.register(shutil.rmtree, tmp, True)
        return tmp, (
            f"the cache folder {cache_dir} cannot be written ({exc.strerror or exc}); working without it "
            "this time (nothing is reused or kept)"
        )


def inside(path: Path, folder: Path) -> bool:
    """Whether path, its links resolved, lies inside folder (links resolved too)."""
    try:
        return folder.resolve() in path.resolve().parents
    except (OSError, RuntimeError):
        return False


def tune_allocator() -> bool:
    """Keep large buffers in the heap instead of mapping and unmapping them for every tensor (glibc malloc).

    The networks allocate and free feature maps of tens of megabytes per call; above glibc's default threshold
    each is a fresh mmap whose pages the kernel must zero, which cost more system time than the arithmetic
    (benchmarks/music_bench.py: 470 -> 311 ms a clip). Freed memory is kept for reuse, so the process holds its
    peak. Does nothing where the C library has no mallopt. Returns whether it applied."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_mmap_threshold, 1 << 30)) and bool(mallopt(m_trim_threshold, 1 << 30))
