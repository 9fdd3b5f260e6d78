"""Writing files so that a reader never sees half of one: a temporary name beside the target, then a rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: Path, mode: int | None = None, durable: bool = True) -> Iterator[Path]:
    """A temporary path beside `path` to write to; put in place of `path` only if the block finishes.

    The one way the builder writes a file it owns (models, catalogues, statistics, cache entries, gallery files):
    the bytes are flushed to disk (fsync) before the rename, so a full disk or a crash leaves the old file or the
    new one, never a file cut short that looks valid; the file gets 0666 less the umask (mkstemp makes 0600), like
    any file the user makes, or `mode` when given. The temporary name keeps the target's suffix, so writers that
    add one (numpy adds .npz to a bare name) should write to an open file instead: see write_with.

    durable=False skips the fsyncs, for cache entries (each is checked when read and recomputed if damaged, so
    losing one to a power cut costs time only) and for files inside a gallery folder that is synced as a whole
    before its swap (builder.gallery.outdir.sync_tree): a build of thousands of pictures makes as many writes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name[:40]}.tmp-", suffix=path.suffix
    )
    os.close(fd)
    try:
        yield Path(tmp)
        if durable:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.chmod(tmp, (0o666 & ~_umask()) if mode is None else mode)
        os.replace(tmp, path)  # atomic within one filesystem
        if durable:
            _sync_folder(path.parent)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _sync_folder(folder: Path) -> None:
    """Make a rename in folder durable (some file systems cannot open a folder: then the rename stands as is)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write bytes (or text, as UTF-8) to path through atomic_path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


@contextmanager
def write_with(path: Path) -> Iterator[BinaryIO]:
    """An open binary file whose contents replace `path` only if the block finishes (atomic_path underneath): for
    writers given a file object, which then cannot rename the target (numpy.savez writes `model` as model.npz)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        yield fh


MB = 1 << 20
# The most the builder reads of one input of each kind (checked before a byte is read): a picture is decoded at
# reduced size, but its bytes are read whole to be hashed and decoded once; a table is parsed in memory.
SIZE_LIMITS = {"picture": 512 * MB, "audio file": 2048 * MB, "table": 256 * MB}


def size_text(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", MB), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def over_limit(size: int, kind: str) -> str | None:
    """The sentence for an input over its kind's size limit (see SIZE_LIMITS), or None."""
    limit = SIZE_LIMITS[kind]
    if size <= limit:
        return None
    return f"is {size_text(size)}, over the {size_text(limit)} limit for a {kind}"


def unreadable_input(st: os.stat_result, kind: str) -> str | None:
    """Why a picture or audio file (kind, as in SIZE_LIMITS) is not read, from its stat alone: not a regular file
    (a named pipe would block the read for ever), over its size limit, or empty. None when it may be read."""
    import stat

    if not stat.S_ISREG(st.st_mode):
        return f"is {file_kind(st.st_mode)}, not {'a picture' if kind == 'picture' else 'an audio'} file"
    if st.st_size == 0:
        return "empty file (0 bytes)"
    return over_limit(st.st_size, kind)


def regular_input(path: Path, what: str, kind: str | None = "table") -> None:
    """Refuse, in a sentence, an input file that is not a regular file (a FIFO would block the read for ever, a
    device never end) or is over its kind's size limit. Raises builder.errors.UsageError."""
    import stat

    from builder.errors import UsageError

    try:
        st = os.stat(path)
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(
            f"{what} {path} is not a regular file ({file_kind(st.st_mode)}); give a file"
        )
    too_big = over_limit(st.st_size, kind) if kind else None
    if too_big:
        raise UsageError(f"{what} {path} {too_big}")


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    import stat

    for test, name in (
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return name
    return "not a regular file"


SPREADSHEET_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """A text cell that a spreadsheet will not run as a formula (=HYPERLINK(...), +cmd|...): a leading quote, the
    convention spreadsheets read as 'text'. Readers take it off again: see spreadsheet_text."""
    return "'" + cell if cell.startswith(SPREADSHEET_TRIGGERS) else cell


def spreadsheet_text(cell: str) -> str:
    """The inverse of spreadsheet_safe."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(SPREADSHEET_TRIGGERS) else cell


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


def walk_files(
    root: Path, suffixes: Collection[str], exclude: tuple[Path, ...] = ()
) -> tuple[list[str], list[tuple[str, str]]]:
    """Files under root whose suffix (lower-cased) is in suffixes, as sorted POSIX paths relative to root, and the
    sub-folders that could not be read with the reason: (files, [(folder, reason)]).

    The one walk over a user's folder (pictures, music). Iterative, so a tree thousands of folders deep is no
    RecursionError; hidden entries are skipped; links to folders are not followed (no loops); the folders in
    `exclude` (the gallery being written, the cache, the temporary build folders) are skipped wherever they lie,
    so the builder never reads its own output as input."""
    skip = set()
    for folder in exclude:
        try:
            st = os.stat(folder)
            skip.add((st.st_dev, st.st_ino))
        except OSError:
            pass
    found: list[str] = []
    problems: list[tuple[str, str]] = []
    stack = [""]
    while stack:
        rel = stack.pop()
        here = os.path.join(root, rel) if rel else os.fspath(root)
        try:
            with os.scandir(here) as it:
                entries = list(it)
        except OSError as exc:
            problems.append(
                (
                    rel or ".",
                    f"folder cannot be read ({exc.strerror or exc}); its files are left out",
                )
            )
            continue
        for e in entries:
            if e.name.startswith("."):
                continue
            sub = f"{rel}/{e.name}" if rel else e.name
            try:
                is_dir = e.is_dir()
                is_link = e.is_symlink()
            except OSError:
                is_dir = is_link = False
            if is_dir:
                if is_link:
                    continue
                try:
                    st = e.stat(follow_symlinks=False)
                    if (st.st_dev, st.st_ino) in skip:
                        continue
                except OSError:
                    pass
                stack.append(sub)
            elif os.path.splitext(e.name)[1].lower() in suffixes:
                found.append(sub)
    return sorted(found), sorted(problems)


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
