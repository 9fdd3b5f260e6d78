"""The output folder: whose it is, who writes it, and how a new gallery replaces the old one.

- **Ownership.** Every gallery holds `.gallery-builder.json`: the builder's signature and the list
  of files it wrote. A folder is replaced only when it is empty or holds that marker (a folder from
  an older version is recognised by its gallery.json and layout). Files in it that the builder did
  not write (a CNAME, notes) are carried into the new gallery and named in the summary; one that the
  new gallery would overwrite stops the build with its name. Nothing of the user's is deleted. What
  is the builder's own but not the gallery's (the temporary file of a writer that died, a cache
  folder) is never carried (`unpublished`).
- **One writer.** A build holds an exclusive lock (`.OUT.lock` beside OUT, fcntl) from the first
  check to the swap; a second build of the same OUT stops at once with a message. The lock is named
  after OUT with its links resolved, so one gallery has one lock however it is reached, and it is
  made with O_EXCL and opened with O_NOFOLLOW: a link or any file that is not a lock at its name is
  refused, never followed or truncated (`builder film` takes the same lock).
- **Leftovers.** The new gallery is written into `.OUT.building-*` beside OUT. Temporary folders of
  builds that died (kill -9, power loss) are removed by the next build of that OUT, under the lock.
- **The swap.** On Linux the new folder and OUT are exchanged in one atomic step (renameat2
  RENAME_EXCHANGE), so OUT is never missing; elsewhere two renames run as one section no signal
  splits (builder.signals.held), and a failure of the second puts the old gallery back.
- **Permissions.** Folders get 0777 and files 0666 less the umask, like any file the user makes, so
  a web server running as another user can read the gallery (temporary folders are created 0700).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import glob
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from builder import signals
from builder.errors import BuilderError, UsageError
from builder.files import (
    GALLERY_MARKER,
    GALLERY_SIGNATURE,
    file_kind,
    gallery_json_of_ours,
    gallery_marker,
    is_cache,
    is_temporary,
)

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
    # written by every build since the film link (a gallery whose marker was lost still has it)
    "film.js",
}


class OutputBusy(BuilderError):
    """Another build is writing the same output folder."""

    exit_code = 6


def _is_legacy_gallery(out: Path) -> bool:
    """A gallery of a version that wrote no marker: gallery.json of our shape, and only our names at
    the top."""
    if not gallery_json_of_ours(out):
        return False
    try:
        return {p.name for p in out.iterdir()} <= LEGACY_NAMES
    except OSError:
        return False


def owned(out: Path) -> bool:
    """Whether out is a gallery this builder wrote (its marker, or a gallery of a version before
    markers)."""
    return out.is_dir() and (gallery_marker(out) is not None or _is_legacy_gallery(out))


def built_files(out: Path) -> set[str]:
    """The files the build wrote into out, as its marker lists them (empty for a folder without
    one)."""
    marker = gallery_marker(out)
    return set(marker["files"]) | {GALLERY_MARKER, "gallery.json"} if marker else {"gallery.json"}


def written_files(root: Path) -> list[str]:
    """Every file under root (links, named pipes and the like too: anything but a folder), as sorted
    POSIX paths relative to it (what the marker records)."""
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_symlink() or not p.is_dir()
    )


def unpublished(out: Path, present: list[str]) -> list[str]:
    """The files of `present` (paths in out) that are the builder's own but no part of a gallery:
    the temporary files of writers that died or were stopped (atomic_path), and everything in a
    cache folder inside out. The swap never carries them into the new gallery, whoever wrote
    them."""
    caches: dict[str, bool] = {}

    def in_cache(rel: str) -> bool:
        parts = rel.split("/")[:-1]
        for k in range(1, len(parts) + 1):
            folder = "/".join(parts[:k])
            if folder not in caches:
                caches[folder] = is_cache(out / folder)
            if caches[folder]:
                return True
        return False

    return [f for f in present if is_temporary(f.rsplit("/", 1)[-1]) or in_cache(f)]


def foreign_files(out: Path) -> list[str]:
    """Files in an existing OUT that the builder did not write (the user's, which the new gallery
    keeps); raises UsageError if OUT is not replaceable."""
    return look_into(out)[0]


def look_into(out: Path) -> tuple[list[str], list[str]]:
    """(the user's files in OUT, the builder's files in it that are no part of a gallery:
    unpublished)."""
    if not out.exists():
        return [], []
    if not out.is_dir():
        raise UsageError(f"{out} exists and is a file, not a folder; choose another --out")
    try:
        present = written_files(out)
    except OSError as exc:
        raise UsageError(f"cannot look into {out}: {exc.strerror or exc}") from None
    if not present:
        return [], []
    marker = gallery_marker(out)
    if marker is not None:
        ours = set(marker["files"]) | {GALLERY_MARKER}
    elif _is_legacy_gallery(out):
        ours = set(present)
    else:
        raise UsageError(
            f"{out} exists and was not written by this builder (no {GALLERY_MARKER}); choose "
            "another --out or empty it first — nothing of it was changed"
        )
    others = [f for f in present if f not in ours]
    left = set(unpublished(out, others))
    mine = [f for f in others if f not in left]
    special = [f for f in mine if _special(out / f)]
    if special:
        raise UsageError(
            f"{out} holds {file_kind(os.lstat(out / special[0]).st_mode)} at {special[0]}, which "
            "the builder cannot carry into the new gallery (it keeps only files and links); move "
            "it away and build again — nothing was changed"
        )
    return mine, sorted(left)


def _special(path: Path) -> bool:
    """A named pipe, socket or device: nothing a gallery can carry."""
    import stat

    mode = os.lstat(path).st_mode
    return not (stat.S_ISREG(mode) or stat.S_ISLNK(mode))


_HELD: set[Path] = (
    set()
)  # outputs this process holds the lock of (so nested use does not lock itself out)


def lock_path(out: Path) -> Path:
    """Where the lock of the gallery folder `out` lies: beside it, named after it with its links
    resolved (one gallery, one lock, however it is reached)."""
    real = Path(os.path.realpath(out))
    return real.parent / f".{real.name}.lock"


def _open_lock(lock: Path, out: Path) -> int | None:
    """The lock file, opened for reading and writing: made new (O_EXCL), or the one a build left
    (whose flock dies with its process), never through a link (O_NOFOLLOW), and only if it is a
    lock: a regular file, of one name, holding a process id or nothing. None when it vanished
    meanwhile (try again)."""
    try:
        return os.open(lock, _LOCK_FLAGS | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return _open_existing(lock, out)


_LOCK_FLAGS = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def check_lock(out: Path) -> None:
    """Refuse now, before a build reads anything, what lies at the lock's name of OUT and is not a
    lock (in the sentence `locked` would say); nothing is changed."""
    real = Path(os.path.realpath(out))
    fd = _open_existing(lock_path(real), real)
    if fd is not None:
        os.close(fd)


def _open_existing(lock: Path, out: Path) -> int | None:
    """The lock file already at `lock`, opened without following a link, if it is a lock; None if
    there is none."""
    import stat

    refuse = (
        f"{lock}, where the builder keeps the lock of {out}, is {{}}; the builder neither follows "
        "nor replaces it: remove it and try again — nothing was written"
    )
    try:
        fd = os.open(lock, _LOCK_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(refuse.format("a symbolic link")) from None
        if exc.errno == errno.EISDIR:
            raise UsageError(refuse.format("a folder")) from None
        raise
    st = os.fstat(fd)
    why = None
    if not stat.S_ISREG(st.st_mode):
        why = file_kind(st.st_mode)
    elif st.st_nlink != 1:
        why = "a file of several names (a hard link)"
    else:
        head = os.pread(fd, 64, 0).strip()
        if head and not (len(head) <= 32 and head.isdigit()):
            why = "a file that is not a lock the builder wrote"
    if why:
        os.close(fd)
        raise UsageError(refuse.format(why))
    return fd


@contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold the exclusive lock of the gallery folder OUT for the block (its links resolved: one lock
    however OUT is named); OutputBusy if another build or film holds it, UsageError if something
    that is not a lock lies at its name. Re-entrant."""
    import fcntl

    real = Path(os.path.realpath(out))
    if real in _HELD:
        yield
        return
    lock = lock_path(real)
    real.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = _open_lock(lock, real)
        if fd is None:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise OutputBusy(
                f"another build is writing {real} (process {holder or 'unknown'}); wait for it to "
                "finish, or choose another --out"
            ) from None
        if _same_file(fd, lock):  # not removed and made again between open and flock: the live one
            break
        os.close(fd)
    _HELD.add(real)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        remove_stale(real)
        yield
    finally:
        _HELD.discard(real)
        try:
            if _same_file(fd, lock):
                os.unlink(lock)
        except OSError:
            pass
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.lstat(path)
    except FileNotFoundError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def remove_stale(out: Path) -> list[Path]:
    """Temporary folders of earlier builds of OUT (only called under the lock, so none of them is
    live)."""
    removed = []
    for pattern in (f".{glob.escape(out.name)}.building-*", f".{glob.escape(out.name)}.old-*"):
        for p in out.parent.glob(pattern):
            if p.is_dir() and not p.is_symlink():  # only the folders a build makes: never a link
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
    return removed


def carry_foreign(out: Path, tmp: Path, foreign: list[str]) -> None:
    """Copy the user's own files from the old OUT into the new gallery; stop if one would be
    overwritten."""
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
    (tmp / GALLERY_MARKER).write_bytes(
        orjson.dumps(
            {"signature": GALLERY_SIGNATURE, "version": version, "files": files},
            option=orjson.OPT_INDENT_2,
        )
    )


def sync_tree(root: Path) -> None:
    """fsync every file and folder under root (a gallery is swapped in only once all of it is on
    disk). The files are synced by several threads at once (a journalling file system then commits
    them together: a rebuild of a large gallery waits on a few commits rather than one per file),
    then the folders that name them."""
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
    """0777 / 0666 less the umask for the folder tree (tempfile.mkdtemp makes 0700, mkstemp
    0600)."""
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
    """Put tmp in place of out. Returns where the old gallery now is (to be removed), or None if
    there was none."""
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
