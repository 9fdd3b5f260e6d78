"""Listening to a folder of music: decode -> musicnn -> feeling head -> catalogue rows.

Each file is analysed once per content: what musicnn heard (tag probabilities and the mean embedding over the
file's patches; the MSD-trained musicnn's too when the head reads it), the classic and the harmonic features are
cached under the file's sha256, so a re-run over a grown library only listens to new files, and refitting the
feeling head does not invalidate the cache (unless the new head reads the MSD tagger and the entry lacks it). A
file that cannot be read is listed with its reason; it never stops the run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import orjson

from builder.assets import AssetStore
from builder.errors import NOT_UTF8, printable
from builder.files import atomic_path, inside, spreadsheet_safe, unreadable_input, walk_files
from builder.music.audio import (
    AUDIO_SUFFIXES,
    AudioError,
    check_audible,
    decode,
    log_mel_and_power,
    patches,
    read_tags,
)
from builder.music.audiofeatures import HARMONIC_NAMES
from builder.music.catalogue import Catalogue
from builder.music.feeling import MusicFeelingModel
from builder.records import Failure, Track

T = TypeVar("T")
Progress = Callable[[Iterable[T], str, int], Iterator[T]]
# Bump when the front end or what is cached changes. 2: the harmonic features, and room for the MSD tagger's
# reading; entries go to a folder of their own, so a version-1 entry (MTT only) is never read as a version-2 one.
# 3: the taggers run in the builder's runtime (the MTT one's front end in int8: its readings
# differ from torch's in the second or third decimal).
LISTEN_VERSION = 3
CSV_COLUMNS = (
    "id",
    "title",
    "artist",
    "valence",
    "arousal",
    "audio",
    "licence",
    "genre",
    "confidence",
)


def _no_progress(items, label, total):
    yield from items


@dataclass(frozen=True)
class Heard:
    """What the listening model took from one file (cached as JSON; plain lists, no numpy)."""

    sha256: str
    duration_s: float
    windows: int
    tag_probs: tuple[float, ...]  # musicnn MTT, averaged over the patches
    embedding: tuple[float, ...]  # musicnn's penultimate layer, averaged over the patches
    classic: tuple[float, ...]  # builder.music.audiofeatures.NAMES
    top_tags: tuple[str, ...]
    harmonic: tuple[float, ...] = ()  # builder.music.audiofeatures.HARMONIC_NAMES
    # musicnn trained on the Million Song Dataset, on the same patches; empty when the head did not need it (it
    # costs as much again as the MTT tagger)
    msd_probs: tuple[float, ...] = ()
    msd_embedding: tuple[float, ...] = ()


@dataclass(frozen=True)
class Scored:
    file: str  # relative to the folder, POSIX
    path: Path
    heard: Heard
    track: Track  # audio: absolute path
    confidence: float  # probability of the track's quadrant under the head, rescaled from [0.25, 1] to [0, 1]


def list_audio(folder: Path, exclude: tuple[Path, ...] = ()) -> list[str]:
    """Audio files under folder, as sorted POSIX paths relative to it (builder.files.walk_files: hidden entries
    and the builder's own folders in `exclude` skipped)."""
    return walk_files(folder, AUDIO_SUFFIXES, exclude)[0]


class Listener:
    """Loads the tagger and the feeling head once; `hear` a file (cached), `score` it."""

    def __init__(self, store: AssetStore, cache_dir: Path, msd: bool | None = None, **injected):
        """msd: whether to hear with the MSD tagger too; None: when the feeling head reads it."""
        self.store, self.cache_dir = store, cache_dir
        self.cache = cache_dir / "music" / f"musicnn-v{LISTEN_VERSION}"
        self.injected = tuple(injected)  # injected taggers live in this process: no workers then
        self._tagger_path = store.resolve(
            "musicnn-mtt-onnx"
        )  # a missing model fails before any file is read
        self.__dict__.update(injected)  # tests inject head=...
        self.msd = self.head.needs_msd if msd is None else msd
        self._msd_path = store.resolve("musicnn-msd-onnx") if self.msd else None

    @cached_property
    def head(self) -> MusicFeelingModel:
        from builder.music.feeling import MusicFeelingModel

        return MusicFeelingModel.load()

    @cached_property
    def tagger(self) -> Any:
        from builder.music.musicnn import load_tagger

        return load_tagger(self._tagger_path, "MTT", self.store.cache_dir)

    @cached_property
    def msd_tagger(self) -> Any:
        from builder.music.musicnn import load_tagger

        assert self._msd_path is not None  # resolved when msd was asked for
        return load_tagger(self._msd_path, "MSD", self.store.cache_dir)

    def hear(self, path: Path) -> tuple[Heard, bool]:
        """(what was heard, whether it came from the cache); AudioError when the file cannot be read."""
        sha = _digest(path)
        entry = self.cache / f"{sha}.json"
        cached = _load_heard(entry, sha)
        if cached is not None and (cached.msd_probs or not self.msd):
            return cached, True
        from builder.music.audiofeatures import classic_features, harmonic_features

        decoded = decode(path)
        check_audible(decoded)
        mel, power = log_mel_and_power(decoded.samples)
        cut = patches(mel)  # one mel for both taggers
        probs, emb = self.tagger(cut)
        msd_probs, msd_emb = (
            self.msd_tagger(cut) if self.msd else (np.zeros((1, 0)), np.zeros((1, 0)))
        )
        heard = Heard(
            sha,
            round(decoded.duration_s, 3),
            decoded.windows,
            tuple(round(float(x), 6) for x in probs.mean(axis=0)),
            tuple(round(float(x), 6) for x in emb.mean(axis=0)),
            tuple(round(float(x), 6) for x in classic_features(decoded.samples, power=power)),
            tuple(self.tagger.top_tags(probs, 5)),
            tuple(round(float(x), 6) for x in harmonic_features(decoded.samples)),
            tuple(round(float(x), 6) for x in msd_probs.mean(axis=0)),
            tuple(round(float(x), 6) for x in msd_emb.mean(axis=0)),
        )
        try:
            with atomic_path(entry, durable=False) as tmp:  # a cache entry: checked when read
                tmp.write_bytes(orjson.dumps(heard))
        except OSError:
            pass  # an unwritable cache costs speed, never the result
        return heard, False

    def score(
        self,
        folder: Path,
        progress: Progress = _no_progress,
        exclude: tuple[Path, ...] = (),
        workers: int | None = None,
    ) -> tuple[list[Scored], list[Failure], int]:
        """Every audio file under folder: (scored, failed, how many came from the cache).
        exclude: folders to skip (a gallery written inside the music folder must not come back as
        tracks). workers: processes that listen at once (None: one per core; `hear_all`)."""
        files, unreadable = walk_files(folder, AUDIO_SUFFIXES, exclude)
        scored: list[Scored] = []
        failed: list[Failure] = [Failure(printable(f), why) for f, why in unreadable]
        cached = 0
        heard_all: list[tuple[str, Path, Heard]] = []
        todo: list[tuple[str, Path]] = []
        for rel in files:
            path = folder / rel
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                failed.append(Failure(printable(rel), NOT_UTF8))
                continue
            if path.is_symlink() and not inside(path, folder):
                failed.append(
                    Failure(
                        rel, "is a link to a file outside the music folder; it is not published"
                    )
                )
                continue
            todo.append((rel, path))
        heard_each = self.hear_all([path for _, path in todo], workers)
        for (rel, path), result in progress(zip(todo, heard_each), "listening", len(todo)):
            if isinstance(result, AudioError):
                failed.append(Failure(rel, str(result)))
                continue
            heard, was_cached = result
            cached += was_cached
            heard_all.append((rel, path, heard))
        if heard_all:
            va, conf = self.head.predict(
                np.array([self.head.features_of(h) for _, _, h in heard_all])
            )
            for (rel, path, heard), (v, a), c in zip(heard_all, va, conf):
                tags = read_tags(path)
                track = Track(
                    id=rel,
                    title=tags.title,
                    artist=tags.artist,
                    valence=round(float(v), 4),
                    arousal=round(float(a), 4),
                    genre=tags.genre,
                    audio=str(path.resolve()),
                    licence=tags.licence or None,
                )
                scored.append(Scored(rel, path, heard, track, round(float(c), 4)))
        return scored, failed, cached

    def hear_all(
        self, paths: list[Path], workers: int | None = None
    ) -> Iterator[tuple[Heard, bool] | AudioError]:
        """`hear` each file, in order, as it is heard (the AudioError of a file that cannot be
        read in its place). With several files, processes forked from this one listen at once, one
        per core (or `workers`), sharing the taggers this one loads first (one thread each); one
        process listens alone when only one file is left to hear, when taggers were injected, or
        where fork is not safe."""
        from builder.assets.runtime import one_thread
        from builder.settings import usable_cores

        one_thread()  # each listening process runs on one core, its numeric libraries too
        n = min(len(paths), workers or usable_cores())
        if n < 2 or self.injected or not _can_fork():
            for path in paths:
                try:
                    yield self.hear(path)
                except AudioError as exc:
                    yield exc
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        global _LISTENER
        _ = self.tagger, (self.msd_tagger if self.msd else None)  # loaded once, before the fork
        _LISTENER = self
        pool = ProcessPoolExecutor(
            max_workers=n,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_listener_init,
        )
        try:
            yield from pool.map(_listen, paths)
        except BaseException:
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            _LISTENER = None
        pool.shutdown(wait=True)


_LISTENER: Listener | None = None  # the listener the listening processes are forked with


def _listener_init() -> None:
    """A listening process leaves Ctrl-C to the main one, which stops it."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _listen(path: Path) -> tuple[Heard, bool] | AudioError:
    assert _LISTENER is not None, "the listening process was not set up"
    try:
        return _LISTENER.hear(path)
    except AudioError as exc:
        return exc


def _can_fork() -> bool:
    """Linux, and no other thread running (a fork copies the locks other threads hold, not them)."""
    import multiprocessing
    import sys
    import threading

    return (
        sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
    )


def _digest(path: Path) -> str:
    try:
        st = os.stat(path)
        why = unreadable_input(st, "audio file")
        if why:
            raise AudioError(why)
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
        return h.hexdigest()
    except PermissionError:
        raise AudioError("cannot be read (permission denied)") from None
    except OSError as exc:
        raise AudioError(f"cannot be read ({exc.strerror or exc})") from None


def _load_heard(path: Path, sha: str) -> Heard | None:
    try:
        d = orjson.loads(path.read_bytes())
        heard = Heard(
            d["sha256"],
            float(d["duration_s"]),
            int(d["windows"]),
            tuple(map(float, d["tag_probs"])),
            tuple(map(float, d["embedding"])),
            tuple(map(float, d["classic"])),
            tuple(map(str, d["top_tags"])),
            tuple(map(float, d["harmonic"])),
            tuple(map(float, d["msd_probs"])),
            tuple(map(float, d["msd_embedding"])),
        )
        shape = (
            len(heard.tag_probs),
            len(heard.embedding),
            len(heard.classic),
            len(heard.harmonic),
        )
        msd = (len(heard.msd_probs), len(heard.msd_embedding))
        if (
            heard.sha256 != sha
            or shape != (50, 200, 14, len(HARMONIC_NAMES))
            or msd not in ((0, 0), (50, 200))
        ):
            raise ValueError("entry of the wrong shape")
        return heard
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, OSError, orjson.JSONDecodeError):
        try:
            path.unlink(missing_ok=True)  # a bad entry is recomputed, never served
        except OSError:
            pass
        return None


def catalogue_of(scored: list[Scored], name: str) -> Catalogue:
    return Catalogue(name, tuple(s.track for s in scored))


def write_catalogue(scored: list[Scored], out_csv: Path) -> None:
    """The catalogue CSV the builder reads (--catalogue), audio paths relative to the CSV; written atomically."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    base = out_csv.resolve().parent
    for s in scored:
        t = s.track
        audio = Path(os.path.relpath(Path(t.audio), base)).as_posix() if t.audio else ""
        text = [spreadsheet_safe(c) for c in (t.id, t.title, t.artist)]  # tags are anyone's text
        w.writerow(
            [
                *text,
                f"{t.valence:.4f}",
                f"{t.arousal:.4f}",
                spreadsheet_safe(audio),
                spreadsheet_safe(t.licence or ""),
                spreadsheet_safe(t.genre),
                f"{s.confidence:.4f}",
            ]
        )
    with atomic_path(out_csv) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")
