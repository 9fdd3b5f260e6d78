"""Writing files so that a reader never sees half of one: a temporary name beside the target, then a
rename."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: Path, mode: int | None = None, durable: bool = True) -> Iterator[Path]:
    """A temporary path beside `path` to write to; put in place of `path` only if the block
    finishes.

    The one way the builder writes a file it owns (models, catalogues, statistics, cache entries,
    gallery files): the bytes are flushed to disk (fsync) before the rename, so a full disk or a
    crash leaves the old file or the new one, never a file cut short that looks valid; the file gets
    0666 less the umask (mkstemp makes 0600), like any file the user makes, or `mode` when given.
    The temporary name keeps the target's suffix, so writers that add one (numpy adds .npz to a bare
    name) should write to an open file instead: see write_with.

    durable=False skips the fsyncs, for cache entries (each is checked when read and recomputed if
    damaged, so losing one to a power cut costs time only) and for files inside a gallery folder
    that is synced as a whole before its swap (builder.gallery.outdir.sync_tree): a build of
    thousands of pictures makes as many writes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name[:40]}.tmp-", suffix=path.suffix
    )
    os.close(fd)
    try:
        yield Path(tmp)
        publish(Path(tmp), path, mode, durable)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def publish(tmp: Path, target: Path, mode: int | None = None, durable: bool = True) -> None:
    """A file written in full at tmp put in place of target: flushed to disk first (durable), given
    0666 less the umask (or `mode`), renamed over target (atomic within one filesystem), and the
    rename made durable. atomic_path ends with it; a writer that made its own temporary file (the
    film's) calls it."""
    if durable:
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    os.chmod(tmp, (0o666 & ~_umask()) if mode is None else mode)
    os.replace(tmp, target)
    if durable:
        _sync_folder(target.parent)


def _sync_folder(folder: Path) -> None:
    """Make a rename in folder durable (some file systems cannot open a folder: then the rename
    stands as is)."""
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
    """An open binary file whose contents replace `path` only if the block finishes (atomic_path
    underneath): for writers given a file object, which then cannot rename the target (numpy.savez
    writes `model` as model.npz)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        yield fh


MB = 1 << 20
# The most the builder reads of one input of each kind (checked before a byte is read): a picture is
# decoded at reduced size, but its bytes are read whole to be hashed and decoded once; a table is
# parsed in memory.
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
    """Why a picture or audio file (kind, as in SIZE_LIMITS) is not read, from its stat alone: not a
    regular file (a named pipe would block the read for ever), over its size limit, or empty. None
    when it may be read."""
    import stat

    if not stat.S_ISREG(st.st_mode):
        wanted = "a picture" if kind == "picture" else "an audio"
        return f"is {file_kind(st.st_mode)}, not {wanted} file"
    if st.st_size == 0:
        return "empty file (0 bytes)"
    return over_limit(st.st_size, kind)


def regular_input(path: Path, what: str, kind: str | None = "table") -> None:
    """Refuse, in a sentence, an input file that is not a regular file (a FIFO would block the read
    for ever, a device never end) or is over its kind's size limit. Raises
    builder.errors.UsageError."""
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


def open_input(path: Path) -> tuple[BinaryIO, os.stat_result]:
    """A file the user named, opened for reading without blocking, and its status read from the open
    file: a named pipe opens at once (with no writer it would block open() for ever) and the status
    is of what was opened, not of what the name pointed to a moment before. The caller checks the
    status (stat.S_ISREG) before reading. OSError as open() raises it."""
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), st
    except BaseException:
        os.close(fd)
        raise


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    import stat

    for test, name in (
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISREG, "a file"),
    ):
        if test(mode):
            return name
    return "not a regular file"


SPREADSHEET_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """A text cell that a spreadsheet will not run as a formula (=HYPERLINK(...), +cmd|...): a
    leading quote, the convention spreadsheets read as 'text'. Readers take it off again: see
    spreadsheet_text."""
    return "'" + cell if cell.startswith(SPREADSHEET_TRIGGERS) else cell


def spreadsheet_text(cell: str) -> str:
    """The inverse of spreadsheet_safe."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(SPREADSHEET_TRIGGERS) else cell


def usable_cache(cache_dir: Path) -> tuple[Path, str | None]:
    """cache_dir if files can be written there (tagged as a cache: CACHE_TAG); else a temporary
    folder (removed at exit) and a warning."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=cache_dir, prefix=".probe-")
        os.close(fd)
        os.unlink(probe)
        tag_cache(cache_dir)
        return cache_dir, None
    except OSError as exc:
        import atexit
        import shutil

        tmp = Path(tempfile.mkdtemp(prefix="gallery-builder-cache-"))
        atexit.register(shutil.rmtree, tmp, True)
        return tmp, (
            f"the cache folder {cache_dir} cannot be written ({exc.strerror or exc}); working "
            "without it this time (nothing is reused or kept)"
        )


def walk_files(
    root: Path, suffixes: Collection[str], exclude: tuple[Path, ...] = ()
) -> tuple[list[str], list[tuple[str, str]]]:
    """Files under root whose suffix (lower-cased) is in suffixes, as sorted POSIX paths relative to
    root, and the sub-folders that could not be read with the reason: (files, [(folder, reason)]).

    The one walk over a user's folder (pictures, music). Iterative, so a tree thousands of folders
    deep is no RecursionError; hidden entries are skipped; links to folders are not followed (no
    loops); the folders in `exclude` (the gallery being written, the cache, the temporary build
    folders) are skipped wherever they lie, so the builder never reads its own output as input."""
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
    """Keep large buffers in the heap instead of mapping and unmapping them for every tensor (glibc
    malloc).

    The networks allocate and free feature maps of tens of megabytes per call; above glibc's default
    threshold each is a fresh mmap whose pages the kernel must zero, which cost more system time
    than the arithmetic (benchmarks/music_bench.py: 470 -> 311 ms a clip). Freed memory is kept for
    reuse, so the process holds its peak. Does nothing where the C library has no mallopt. Returns
    whether it applied."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_mmap_threshold, 1 << 30)) and bool(mallopt(m_trim_threshold, 1 << 30))


# ---- what the builder may write ------------------------------------------------------------------

# Every gallery holds this file: the builder's signature and the files it wrote
# (builder.gallery.outdir keeps the rest of the rule; the check below reads it to know another
# gallery when it sees one).
GALLERY_MARKER = ".gallery-builder.json"
GALLERY_SIGNATURE = "gallery-builder output folder; safe to replace by the gallery builder"
# The cache folder says what it is (https://bford.info/cachedir/: backup tools skip it), so that a
# cache found inside a gallery is known for the builder's and never published as the user's files.
CACHE_TAG = "CACHEDIR.TAG"
CACHE_TAG_TEXT = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by gallery-builder (its --cache-dir).\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n"
)
# The names of the cache's own folders (a cache made before the tag is known by them).
CACHE_FOLDERS = {
    "analysis",
    "renders",
    "index",
    "excerpt",
    "music",
    "assets",
    "templates",
    "assign",
}
# atomic_path's temporary files: "." + up to 40 characters of the target's name + ".tmp-" +
# mkstemp's 8 random characters + the target's suffix. A writer that died leaves one behind.
_TEMPORARY = re.compile(r"\..{1,40}\.tmp-[a-z0-9_]{8}(\.[^/]*)?", re.DOTALL)


def is_temporary(name: str) -> bool:
    """Whether a file name is one of atomic_path's temporary files (of a writer alive or killed)."""
    return _TEMPORARY.fullmatch(name) is not None


def gallery_marker(folder: Path) -> dict | None:
    """The marker of a gallery the builder wrote in folder (signature and files), or None."""
    import orjson

    try:
        with open_input(Path(folder) / GALLERY_MARKER)[0] as fh:
            data = orjson.loads(fh.read(64 << 20))
    except (OSError, orjson.JSONDecodeError):
        return None
    if (
        isinstance(data, dict)
        and data.get("signature") == GALLERY_SIGNATURE
        and isinstance(data.get("files"), list)
    ):
        return data
    return None


def written_gallery(folder: Path) -> bool:
    """Whether folder looks like a gallery the builder wrote: its marker, or the gallery.json of a
    gallery from before markers (for refusing to write into it, the shape of that file is
    enough)."""
    return gallery_marker(folder) is not None or gallery_json_of_ours(folder)


def gallery_json_of_ours(folder: Path) -> bool:
    """Whether folder holds a gallery.json of the shape the builder writes (a regular file, read
    without blocking and up to the tables' size limit): a gallery from before markers has it."""
    import stat

    import orjson

    try:
        fh, st = open_input(Path(folder) / "gallery.json")
        with fh:
            if not stat.S_ISREG(st.st_mode) or st.st_size > SIZE_LIMITS["table"]:
                return False
            data = orjson.loads(fh.read())
    except (OSError, orjson.JSONDecodeError):
        return False
    return isinstance(data, dict) and {"method", "images", "failed"} <= set(data)


def is_cache(folder: Path) -> bool:
    """Whether folder is a cache of the builder: its tag, or (a cache made before tags) only the
    cache's own folders, among them its analyses or rendered copies."""
    try:
        with open_input(Path(folder) / CACHE_TAG)[0] as fh:
            if b"gallery-builder" in fh.read(4096):
                return True
    except OSError:
        pass
    try:
        names = {p.name for p in Path(folder).iterdir() if not p.name.startswith(".probe-")}
    except OSError:
        return False
    return bool(names & {"analysis", "renders"}) and names <= CACHE_FOLDERS | {CACHE_TAG}


def tag_cache(folder: Path) -> None:
    """Put the cache tag into a cache folder that has none (a folder that cannot take it goes
    without)."""
    tag = Path(folder) / CACHE_TAG
    if os.path.lexists(tag):
        return
    try:
        fd = os.open(
            tag, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666
        )
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(CACHE_TAG_TEXT)
    except OSError:
        pass


@dataclass(frozen=True)
class Input:
    """A path a command reads, which nothing it writes may be or replace.

    what: how a sentence names it ("the picture folder"). reads: for a folder, the suffixes of the
    files it is read for (a file written inside it with another suffix is never read back as input,
    e.g. a catalogue written into the music folder it describes); None: nothing may be written
    inside it."""

    path: Path | None
    what: str
    reads: Collection[str] | None = None
    role: str = "which the builder reads"  # what the sentence says of it


def _json_with(*keys: str) -> Callable[[BinaryIO], bool]:
    def ours(fh: BinaryIO) -> bool:
        import orjson

        try:
            data = orjson.loads(fh.read(SIZE_LIMITS["table"]))
        except orjson.JSONDecodeError:
            return False
        return isinstance(data, dict) and set(keys) <= set(data)

    return ours


def _model_file(fh: BinaryIO) -> bool:
    """The models are numpy's .npz: a zip of .npy arrays."""
    import zipfile

    try:
        with zipfile.ZipFile(fh) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False
    return bool(names) and all(n.endswith(".npy") for n in names)


def _starts(prefix: bytes, also: bytes = b"", within: int = 0) -> Callable[[BinaryIO], bool]:
    def ours(fh: BinaryIO) -> bool:
        head = fh.read(max(len(prefix), within))
        return head.startswith(prefix) and also in head

    return ours


def _mp4_file(fh: BinaryIO) -> bool:
    return fh.read(8)[4:8] == b"ftyp"


@dataclass(frozen=True)
class OutputKind:
    """What the builder writes at a path: in words, whether it is a folder, and how a file already
    there is known for one the builder wrote (`ours`, given the open file; None: never replaced)."""

    name: str
    folder: bool = False
    ours: Callable[[BinaryIO], bool] | None = None
    whole: bool = (
        False  # a folder replaced as a whole (a gallery): it may hold nothing that is read
    )


OUTPUT_KINDS = {
    # an existing gallery folder: builder.gallery.outdir decides (its marker), under the lock
    "gallery": OutputKind("gallery", folder=True, whole=True),
    "cache": OutputKind("cache folder", folder=True),
    "stats": OutputKind("statistics file", ours=_json_with("wall_s", "stage_ms")),
    "catalogue": OutputKind("catalogue", ours=_starts(b"id,title,artist,valence,arousal")),
    "model": OutputKind("model file", ours=_model_file),
    "table": OutputKind("table", ours=_json_with("results")),
    # matplotlib names itself in the PNG's Software chunk, before the pixels
    "plot": OutputKind("plot", ours=_starts(b"\x89PNG", b"Matplotlib", 4096)),
    "film": OutputKind("film", ours=_mp4_file),
    "chapters": OutputKind("film's chapters file", ours=_json_with("film", "chapters")),
}


def _real(path: Path) -> Path:
    """path with every link on the way followed (a link that leads nowhere, to where it leads)."""
    return Path(os.path.realpath(os.path.abspath(path)))


def check_output(
    path: Path,
    *,
    kind: str,
    inputs: Iterable[Input] = (),
    what: str = "--out",
    gallery: Path | None = None,
    force: bool = False,
) -> Path:
    """The one rule for a path the builder is about to write: `path` resolved (links followed), or a
    UsageError (exit 2) in one sentence naming it, before anything is written.

    Refused: a target that is, or lies inside, one of `inputs` (a folder input with `reads` only for
    the files it reads); a gallery folder that holds an input (it is replaced as a whole); a target
    inside a gallery the builder wrote, except `gallery` (the film's own); for a file, a folder or
    any other thing that is not a regular file, and a file already there that is not a `kind` the
    builder wrote (unless force: the user said so); for a folder kind, a file. `what` names the path
    in the sentence (the option that gave it). Kinds: OUTPUT_KINDS."""
    import stat

    from builder.errors import UsageError

    out_kind = OUTPUT_KINDS[kind]
    target = _real(path)
    linked = target != Path(os.path.abspath(path))
    given = f"{what} {path}" + (f" (that is {target})" if linked else "")
    nothing = "nothing was written"
    for i in inputs:
        if i.path is None:
            continue
        source = _real(i.path)
        if target == source:
            raise UsageError(f"{given} is {i.what}, {i.role}; choose another path — {nothing}")
        if source in target.parents and i.reads is None:
            raise UsageError(
                f"{given} lies inside {i.what} {i.path}, {i.role}; choose a path outside it — "
                f"{nothing}"
            )
        if source in target.parents and target.suffix.lower() in {s.lower() for s in i.reads or ()}:
            raise UsageError(
                f"{given} lies inside {i.what} {i.path} with a name the builder reads there as "
                f"input ({target.suffix} files); choose another name — {nothing}"
            )
        if out_kind.whole and target in source.parents:
            raise UsageError(
                f"{given} holds {i.what} {i.path}; the builder writes that folder as a whole, so "
                f"choose one that holds nothing it reads — {nothing}"
            )
    own = _real(gallery) if gallery is not None else None
    for folder in target.parents:
        if folder != own and written_gallery(folder):
            raise UsageError(
                f"{given} lies inside {folder}, a gallery the builder wrote (every build replaces "
                f"it as a whole); choose a path outside it — {nothing}"
            )
    try:
        st = os.stat(target)
    except (FileNotFoundError, NotADirectoryError):  # written, it fails with its own sentence
        return target
    except OSError as exc:
        raise UsageError(
            f"{given} cannot be looked at ({exc.strerror or exc}) — {nothing}"
        ) from None
    if out_kind.folder:
        if not stat.S_ISDIR(st.st_mode):
            raise UsageError(
                f"{given} is {file_kind(st.st_mode)}, not a folder; give a folder — {nothing}"
            )
        if kind != "gallery" and written_gallery(target):
            raise UsageError(
                f"{given} is a gallery the builder wrote, not a {out_kind.name}; choose another "
                f"path — {nothing}"
            )
        return target
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(
            f"{given} is {file_kind(st.st_mode)}; give the path of a file to write — {nothing}"
        )
    if force:
        return target
    try:
        with open_input(target)[0] as fh:
            ours = out_kind.ours is not None and out_kind.ours(fh)
    except OSError:
        ours = False
    if not ours:
        raise UsageError(
            f"{given} exists and is not a {out_kind.name} the builder wrote; move it away or "
            f"choose another path — {nothing}"
        )
    return target
