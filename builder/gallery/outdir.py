"""The output folder: whose it is, who writes it, and how a new gallery replaces the old one.

- **Ownership.** Every gallery holds `.gallery-builder.json`: the builder's signature and the list of files it
  wrote. A folder is replaced only when it is empty or holds that marker (a folder from an older version is
  recognised by its gallery.json and layout). Files in it that the builder did not write (a CNAME, notes) are
  carried into the new gallery and named in the summary; one that the new gallery would overwrite stops the
  build with its name. Nothing of the user's is deleted.
- **One writer.** A build holds an exclusive lock (`.OUT.lock` beside OUT, fcntl) from the first check to the
  swap; a second build of the same OUT stops at once with a message.
- **Leftovers.** The new gallery is written into `.OUT.building-*` beside OUT. Temporary folders of builds that
  died (kill -9, power loss) are removed by the next build of that OUT, under the lock.
- **The swap.** On Linux the new folder and OUT are exchanged in one atomic step (renameat2 RENAME_EXCHANGE), so
  OUT is never missing; elsewhere two renames run as one section no signal splits (builder.signals.held), and
  a failure of the second puts the old gallery back.
- **Permissions.** Folders get 0777 and files 0666 less the umask, like any file the user makes, so a web server
  running as another user can read the gallery (temporary folders are created 0700).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from builder import signals
from builder.errors import BuilderError, UsageError

MARKER = ".gallery-builder.json"
SIGNATURE = "gallery-builder output folder; safe to replace by the gallery builder"
LEGACY_NAMES = {
    "index.html",
    "gallery.json",
    "gallery-data.js",
    "catalogue.js",
    "music-index.hnsw",
    "pages",
    "img",
    "thumbs",
    "audio",
    "static",
    "slideshow.html",
    "credits.html",
    "film.js",  # written by every build since the film link (a gallery whose marker was lost still has it)
}


class OutputBusy(BuilderError):
    """Another build is writing the same output folder."""

    exit_code = 6


def _read_marker(out: Path) -> dict | None:
    try:
        data = orjson.loads((out / MARKER).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if (
        isinstance(data, dict)
        and data.get("signature") == SIGNATURE
        and isinstance(data.get("files"), list)
    ):
        return data
    return None


def _is_legacy_gallery(out: Path) -> bool:
    """A gallery of a version that wrote no marker: gallery.json of our shape, and only our names at the top."""
    try:
        data = orjson.loads((out / "gallery.json").read_bytes())
        names = {p.name for p in out.iterdir()}
    except (OSError, orjson.JSONDecodeError):
        return False
    return (
        isinstance(data, dict)
        and {"method", "images", "failed"} <= set(data)
        and names <= LEGACY_NAMES
    )


def owned(out: Path) -> bool:
    """Whether out is a gallery this builder wrote (its marker, or a gallery of a version before markers)."""
    return out.is_dir() and (_read_marker(out) is not None or _is_legacy_gallery(out))


def built_files(out: Path) -> set[str]:
    """The files the build wrote into out, as its marker lists them (empty for a folder without one)."""
    marker = _read_marker(out)
    return set(marker["files"]) | {MARKER, "gallery.json"} if marker else {"gallery.json"}


def written_files(root: Path) -> list[str]:
    """Every file under root, as sorted POSIX paths relative to it (what the marker records)."""
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()
    )


def foreign_files(out: Path) -> list[str]:
    """Files in an existing OUT that the builder did not write; raises UsageError if OUT is not replaceable."""
    if not out.exists():
        return []
    if not out.is_dir():
        raise UsageError(f"{out} exists and is a file, not a folder; choose another --out")
    try:
        present = written_files(out)
    except OSError as exc:
        raise UsageError(f"cannot look into {out}: {exc.strerror or exc}") from None
    if not present:
        return []
    marker = _read_marker(out)
    if marker is not None:
        ours = set(marker["files"]) | {MARKER}
    elif _is_legacy_gallery(out):
        ours = set(present)
    else:
        raise UsageError(
            f"{out} exists and was not written by this builder (no {MARKER}); choose another --out "
            "or empty it first — nothing of it was changed"
        )
    return [f for f in present if f not in ours]


_HELD: set[Path] = (
    set()
)  # outputs this process holds the lock of (so nested use does not lock itself out)


@contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold the exclusive lock of OUT for the block; OutputBusy if another build holds it. Re-entrant."""
    import fcntl

    out = Path(os.path.abspath(out))
    if out in _HELD:
        yield
        return
    lock = out.parent / f".{out.name}.lock"
    out.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise OutputBusy(
                f"another build is writing {out} (process {holder or 'unknown'}); wait for it to "
                "finish, or choose another --out"
            ) from None
        try:  # the lock file may have been removed and re-created between open and flock: lock the live one
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    _HELD.add(out)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        remove_stale(out)
        yield
    finally:
        _HELD.discard(out)
        try:
            os.unlink(lock)
        except OSError:
            pass
        os.close(fd)


def remove_stale(out: Path) -> list[Path]:
    """Temporary folders of earlier builds of OUT (only called under the lock, so none of them is live)."""
    removed = []
    for p in out.parent.glob(f".{out.name}.building-*"):
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    for p in out.parent.glob(f".{out.name}.old-*"):
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


def carry_foreign(out: Path, tmp: Path, foreign: list[str]) -> None:
    """Copy the user's own files from the old OUT into the new gallery; stop if one would be overwritten."""
    clash = [f for f in foreign if (tmp / f).exists()]
    if clash:
        raise UsageError(
            f"{out} holds files the builder did not write at paths the new gallery uses: "
            f"{', '.join(clash[:5])}; move them away and build again — nothing was changed"
        )
    for f in foreign:
        dest = tmp / f
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(out / f, dest, follow_symlinks=False)


def write_marker(tmp: Path, version: str, foreign: list[str]) -> None:
    files = [f for f in written_files(tmp) if f not in set(foreign)]
    (tmp / MARKER).write_bytes(
        orjson.dumps(
            {"signature": SIGNATURE, "version": version, "files": files}, option=orjson.OPT_INDENT_2
        )
    )


def sync_tree(root: Path) -> None:
    """fsync every file and folder under root (a gallery is swapped in only once all of it is on disk). The files
    are synced by several threads at once (a journalling file system then commits them together: a rebuild of
    a large gallery waits on a few commits rather than one per file), then the folders that name them."""
    from concurrent.futures import ThreadPoolExecutor

    files, folders = [], []
    for dirpath, _, filenames in os.walk(root):
        folders.append(dirpath)
        files += [
            p for p in (os.path.join(dirpath, name) for name in filenames) if not os.path.islink(p)
        ]
    with ThreadPoolExecutor(max_workers=SYNC_THREADS) as pool:
        list(pool.map(_fsync, files))
    for folder in reversed(folders):
        _fsync(folder)


SYNC_THREADS = 16


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # a file system that cannot sync a folder
        pass
    finally:
        os.close(fd)


def normal_permissions(root: Path) -> None:
    """0777 / 0666 less the umask for the folder tree (tempfile.mkdtemp makes 0700, mkstemp 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(root, 0o777 & ~mask)
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o777 & ~mask)
        for f in filenames:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                os.chmod(p, 0o666 & ~mask)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return fn


def exchange(tmp: Path, out: Path) -> Path | None:
    """Put tmp in place of out. Returns where the old gallery now is (to be removed), or None if there was none."""
    if not out.exists():
        os.replace(tmp, out)
        return None
    fn = _renameat2()
    if fn is not None:
        if fn(_AT_FDCWD, os.fsencode(tmp), _AT_FDCWD, os.fsencode(out), _RENAME_EXCHANGE) == 0:
            return tmp  # tmp now holds the old gallery
        err = ctypes.get_errno()
        if err not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
            raise OSError(err, os.strerror(err), str(out))
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    with (
        signals.held()
    ):  # no file system gives two renames at once: a signal between them would leave no OUT
        os.replace(out, old)
        try:
            os.replace(tmp, out)
        except BaseException:
            os.replace(old, out)  # put the old gallery back rather than leave none
            raise
    return old
