"""Listening to a folder of music: decode -> musicnn -> feeling head -> catalogue rows.

Each file is analysed once per content: what musicnn heard (tag probabilities and the mean embedding
over the file's patches; the MSD-trained musicnn's too when the head reads it), the classic and the
harmonic features are cached under the file's sha256, so a re-run over a grown library only listens
to new files, and refitting the feeling head does not invalidate the cache (unless the new head
reads the MSD tagger and the entry lacks it). A file that cannot be read is listed with its reason;
it never stops the run.

The windowed reading (a listener made with moments=True: builds and `builder music score`): the same
features for each window of MOMENT_PATCHES consecutive patches (about 12 s; one patch on from the
last), or for each 10 s piece of a long file that decoding reads, cached beside the file's entry;
the head reads each window as it reads the file, and the window nearest a picture's target is where
its excerpt plays (builder.music.moments).
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import orjson

from builder.assets import AssetStore, sha256_file
from builder.errors import NOT_UTF8, printable
from builder.files import atomic_path, inside, spreadsheet_safe, unreadable_input, walk_files
from builder.music.audio import (
    AUDIO_SUFFIXES,
    HOP,
    SR,
    AudioError,
    Decoded,
    check_audible,
    decode,
    log_mel_and_power,
    patches,
    read_tags,
)
from builder.music.audiofeatures import HARMONIC_NAMES
from builder.music.catalogue import Catalogue
from builder.music.feeling import N_FEATURES, MusicFeelingModel
from builder.music.moments import MOMENT_S, Moment, to_cell
from builder.music.musicnn import PATCH_FRAMES
from builder.records import Failure, Track

T = TypeVar("T")
Progress = Callable[[Iterable[T], str, int], Iterator[T]]
# Bump when the front end or what is cached changes. 2: the harmonic features, and room for the MSD
# tagger's reading; entries go to a folder of their own, so a version-1 entry (MTT only) is never
# read as a version-2 one. 3: the taggers run in the builder's runtime (the MTT one's front end in
# int8: its readings differ from torch's in the second or third decimal).
LISTEN_VERSION = 3
MOMENTS_VERSION = 1  # bump when the windows or what is cached of them change
PATCH_SAMPLES = PATCH_FRAMES * HOP  # one musicnn patch: 2.992 s at 16 kHz
MOMENT_PATCHES = max(1, round(MOMENT_S * SR / PATCH_SAMPLES))  # a window: 4 patches, 11.97 s
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
    "moments",
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
    # musicnn trained on the Million Song Dataset, on the same patches; empty when the head did not
    # need it (it costs as much again as the MTT tagger)
    msd_probs: tuple[float, ...] = ()
    msd_embedding: tuple[float, ...] = ()


@dataclass(frozen=True, eq=False)
class Windows:
    """What the listening model took from each window of one file (cached as .npz)."""

    starts: np.ndarray  # (n,) seconds into the file where each window begins
    seconds: np.ndarray  # (n,) how long each is
    features: np.ndarray  # (n, N_FEATURES): MusicFeelingModel.features_of each window


@dataclass(frozen=True)
class Scored:
    file: str  # relative to the folder, POSIX
    path: Path
    heard: Heard
    track: Track  # audio: absolute path
    # probability of the track's quadrant under the head, rescaled from [0.25, 1] to [0, 1]
    confidence: float
    moments: tuple[Moment, ...] = ()  # the head's reading of each window (a moments listener)


def list_audio(folder: Path, exclude: tuple[Path, ...] = ()) -> list[str]:
    """Audio files under folder, as sorted POSIX paths relative to it (builder.files.walk_files:
    hidden entries and the builder's own folders in `exclude` skipped)."""
    return walk_files(folder, AUDIO_SUFFIXES, exclude)[0]


class Listener:
    """Loads the tagger and the feeling head once; `hear` a file (cached), `score` it."""

    def __init__(
        self,
        store: AssetStore,
        cache_dir: Path,
        msd: bool | None = None,
        moments: bool = False,
        **injected,
    ):
        """msd: whether to hear with the MSD tagger too; None: when the feeling head reads it.
        moments: whether to read each window of a file too (what a build's excerpts need; the lab's
        fitting reads whole files only)."""
        self.store, self.cache_dir = store, cache_dir
        self.moments = moments
        self.cache = cache_dir / "music" / f"musicnn-v{LISTEN_VERSION}"
        self.windows_cache = self.cache / f"moments-v{MOMENTS_VERSION}"
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
        """(what was heard, whether it came from the cache); AudioError when the file cannot be
        read."""
        heard, _, cached = self.hear_windows(path)
        return heard, cached

    def hear_windows(self, path: Path) -> tuple[Heard, Windows | None, bool]:
        """(what was heard, what was heard in each window (None unless this listener reads
        moments), whether both came from the cache); AudioError when the file cannot be read."""
        sha = _digest(path)
        entry = self.cache / f"{sha}.json"
        cached = _load_heard(entry, sha)
        if cached is not None and (cached.msd_probs or not self.msd):
            if not self.moments:
                return cached, None, True
            windows = _load_windows(self.windows_cache / f"{sha}.npz", sha, self.msd)
            if windows is not None:
                return cached, windows, True
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
        windows = None
        if self.moments:
            windows = window_features(decoded, power, (probs, emb), (msd_probs, msd_emb))
            _save_windows(self.windows_cache / f"{sha}.npz", sha, windows)
        return heard, windows, False

    def moments_of(self, windows: Windows | None) -> tuple[Moment, ...]:
        """The head's reading of each window, as moments (none without windows)."""
        if windows is None or not len(windows.starts):
            return ()
        va, _ = self.head.predict(windows.features)
        return tuple(
            Moment(round(float(t), 3), round(float(d), 3), round(float(v), 4), round(float(a), 4))
            for t, d, (v, a) in zip(windows.starts, windows.seconds, va)
        )

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
        heard_all: list[tuple[str, Path, Heard, tuple[Moment, ...]]] = []
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
            heard, windows, was_cached = result
            cached += was_cached
            heard_all.append((rel, path, heard, self.moments_of(windows)))
        if heard_all:
            va, conf = self.head.predict(
                np.array([self.head.features_of(h) for _, _, h, _ in heard_all])
            )
            for (rel, path, heard, moments), (v, a), c in zip(heard_all, va, conf):
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
                scored.append(Scored(rel, path, heard, track, round(float(c), 4), moments))
        return scored, failed, cached

    def hear_all(
        self, paths: list[Path], workers: int | None = None
    ) -> Iterator[tuple[Heard, Windows | None, bool] | AudioError]:
        """`hear_windows` each file, in order, as it is heard (the AudioError of a file that
        cannot be read in its place). With several files, processes forked from this one listen
        at once, one per core (or `workers`), sharing the taggers this one loads first (one
        thread each); one process listens alone when only one file is left to hear, when taggers
        were injected, or where fork is not safe."""
        from builder.assets.runtime import one_thread
        from builder.settings import usable_cores

        one_thread()  # each listening process runs on one core, its numeric libraries too
        n = min(len(paths), workers or usable_cores())
        if n < 2 or self.injected or not _can_fork():
            for path in paths:
                try:
                    yield self.hear_windows(path)
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


def _listen(path: Path) -> tuple[Heard, Windows | None, bool] | AudioError:
    assert _LISTENER is not None, "the listening process was not set up"
    try:
        return _LISTENER.hear_windows(path)
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
        return sha256_file(path)
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
    moments = {s.track.id: s.moments for s in scored if s.moments}
    return Catalogue(name, tuple(s.track for s in scored), moments)


def spans(decoded: Decoded, n_patches: int) -> list[tuple[float, int, int, int, int]]:
    """The windows of a decoded file: (seconds into the file where it begins, first patch, end
    patch, first sample, end sample), patches and samples of `decoded` as `patches` cuts them.

    A file read whole: a window of MOMENT_PATCHES patches from each patch on while a whole window
    fits (one window of every patch when fewer); its samples those of its patches. A long file read
    in pieces: each piece, with the patches that lie wholly inside it (a patch across two pieces
    belongs to neither; a piece with no whole patch has no window)."""
    pieces = decoded.pieces or ((0.0, len(decoded.samples)),)
    if len(pieces) == 1:
        w = min(MOMENT_PATCHES, n_patches)
        out = []
        for k in range(max(1, n_patches - w + 1)):
            lo = k * PATCH_SAMPLES
            hi = min((k + w) * PATCH_SAMPLES, len(decoded.samples))
            out.append((pieces[0][0] + lo / SR, k, k + w, lo, max(hi, lo + 1)))
        return out
    out, offset = [], 0
    for begins, length in pieces:
        first = -(-offset // PATCH_SAMPLES)  # the first patch that starts inside the piece
        end = min((offset + length) // PATCH_SAMPLES, n_patches)  # past the last one inside it
        if end > first:
            out.append((begins, first, end, offset, offset + length))
        offset += length
    return out


@dataclass(frozen=True)
class _Part:
    """One window's share of what was heard, in the shape MusicFeelingModel.features_of reads."""

    tag_probs: np.ndarray
    embedding: np.ndarray
    classic: np.ndarray
    msd_probs: np.ndarray
    msd_embedding: np.ndarray
    harmonic: np.ndarray


def window_features(
    decoded: Decoded,
    power: np.ndarray,
    mtt: tuple[np.ndarray, np.ndarray],
    msd: tuple[np.ndarray, np.ndarray],
) -> Windows:
    """What was heard in each window of a file (`spans`): the taggers' outputs of its patches
    averaged (mtt, msd: per patch, (probabilities, embeddings); msd empty when not heard), and the
    classic and harmonic features of its own samples (power: the file's power spectrogram)."""
    from builder.music.audiofeatures import classic_features, harmonic_features

    rows, starts, seconds = [], [], []
    for begins, p0, p1, s0, s1 in spans(decoded, len(mtt[0])):
        samples = decoded.samples[s0:s1]
        frames = power[s0 // HOP : max(s1 // HOP, s0 // HOP + 1)]
        has_msd = msd[0].shape[1] > 0
        part = _Part(
            mtt[0][p0:p1].mean(axis=0),
            mtt[1][p0:p1].mean(axis=0),
            classic_features(samples, power=frames),
            msd[0][p0:p1].mean(axis=0) if has_msd else np.zeros(0),
            msd[1][p0:p1].mean(axis=0) if has_msd else np.zeros(0),
            harmonic_features(samples),
        )
        rows.append(MusicFeelingModel.features_of(part))
        starts.append(begins)
        seconds.append((s1 - s0) / SR)
    return Windows(
        np.round(np.array(starts, np.float64), 3),
        np.round(np.array(seconds, np.float64), 3),
        np.array(rows, np.float32).reshape(-1, N_FEATURES),
    )


def _save_windows(path: Path, sha: str, windows: Windows) -> None:
    try:
        with atomic_path(path, durable=False) as tmp, open(tmp, "wb") as fh:
            np.savez(
                fh,
                sha256=np.array(sha),
                starts=windows.starts,
                seconds=windows.seconds,
                features=windows.features,
            )
    except OSError:
        pass  # an unwritable cache costs speed, never the result


def _load_windows(path: Path, sha: str, msd: bool) -> Windows | None:
    """The cached windows of a file, or None (absent, damaged, of another file, or without the
    MSD tagger's part when it is wanted: then heard again)."""
    from builder.music.feeling import MSD_EMBEDDING, MSD_TAGS

    try:
        with np.load(path, allow_pickle=False) as z:
            windows = Windows(z["starts"], z["seconds"], z["features"])
            same = str(z["sha256"]) == sha
        n = len(windows.starts)
        if (
            not same
            or n == 0
            or windows.seconds.shape != (n,)
            or windows.features.shape != (n, N_FEATURES)
            or not (np.isfinite(windows.starts).all() and (windows.starts >= 0).all())
            or not (np.isfinite(windows.seconds).all() and (windows.seconds > 0).all())
        ):
            raise ValueError("entry of the wrong shape")
        heard_msd = np.isfinite(windows.features[:, np.concatenate([MSD_TAGS, MSD_EMBEDDING])])
        if msd and not heard_msd.all():
            return None
        return windows
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, OSError, EOFError, zipfile.BadZipFile):
        try:
            path.unlink(missing_ok=True)  # a bad entry is recomputed, never served
        except OSError:
            pass
        return None


def write_catalogue(scored: list[Scored], out_csv: Path) -> None:
    """The catalogue CSV the builder reads (--catalogue), audio paths relative to the CSV;
    written atomically."""
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
                spreadsheet_safe(to_cell(s.moments)),
            ]
        )
    with atomic_path(out_csv) as tmp:
        tmp.write_text(buf.getvalue(), encoding="utf-8")
