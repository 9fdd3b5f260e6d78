"""The moments of a track: where in it the music feels how, so that the excerpt that plays for a
picture is the part of the track nearest the picture's target, not only its first loud moment.

A moment is a window of MOMENT_S seconds (10 s for the pieces of a long file that listening reads)
with its valence and arousal in the catalogue's frame. They come from two sources:

- DEAM's editors rated the 2013 songs through time, twice a second from 15 s to 45 s of each
  45-second clip (`deam/dynamic_2013/` of the mirror; assets `deam-dynamic-valence-2013` and
  `deam-dynamic-arousal-2013`), on a scale of -1 to 1. The static annotations are mapped onto the
  catalogue's frame by the ends of their scale (1..9 onto -1..1, `catalogue.deam_scale`); the
  dynamic scale's ends are already -1 and 1, so the same mapping leaves them as they are. The
  dynamic files are labelled right: the valence/arousal swap of the 2013 songs is in the static
  file only (`catalogue.load_deam_annotations`), so these are never swapped. A moment is the mean
  rating of the window's samples; the windows start at every rated sample (every 0.5 s) and lie
  inside the rated span.
- For a `--music` folder, the listener's own windowed reading (builder.music.listen): the feeling
  head applied to each window of musicnn's 3-second patches.

`nearest(moments, point)` is the moment a picture hears; the whole-track point (the catalogue's
valence/arousal) is still what the music index and the assignment use.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

MOMENT_S = 12.0  # a moment's length: a film chapter (8 s), most of a slide or of a study excerpt
DYNAMIC = ("deam-dynamic-valence-2013", "deam-dynamic-arousal-2013")  # assets: valence, arousal
FULL_SHARE = 0.8  # a DEAM window counts where at least this share of its samples was rated
MOST = 1000  # moments one track may have in a catalogue CSV (a minute of windows is about 20)


@dataclass(frozen=True)
class Moment:
    """A window of a track: from `start` for `seconds`, feeling (valence, arousal) there."""

    start: float
    seconds: float
    valence: float
    arousal: float


class Store(Protocol):
    def optional(self, name: str) -> Path | None: ...


@lru_cache(maxsize=4)
def read_dynamic(path: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """song id -> (times in seconds, values) of one of DEAM's dynamic annotation files (a header
    `song_id,sample_15000ms,...`; an empty cell is NaN)."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = csv.reader(f)
        header = next(rows, [])
        times = np.array(
            [float(h.strip()[len("sample_") : -2]) / 1000 for h in header[1:]], np.float64
        )
        for row in rows:
            if not row or not row[0].strip():
                continue
            try:
                sid = str(int(float(row[0])))
                values = np.array([float(v) if v.strip() else np.nan for v in row[1:]])
            except ValueError:
                continue
            n = min(len(values), len(times))
            out[sid] = (times[:n], values[:n])
    return out


def _dynamic(store: Store | None) -> tuple[dict, dict] | None:
    """DEAM's dynamic valence and arousal files, read; None where either is not found."""
    if store is None:
        return None
    paths = [store.optional(name) for name in DYNAMIC]
    if any(p is None for p in paths):
        return None
    try:
        valence, arousal = (read_dynamic(str(p)) for p in paths)
    except (OSError, ValueError, csv.Error):
        return None
    return valence, arousal


def _pair(valence: dict, arousal: dict, song_id: str) -> tuple[np.ndarray, np.ndarray] | None:
    v, a = valence.get(song_id), arousal.get(song_id)
    if v is None or a is None:
        return None
    n = min(len(v[0]), len(a[0]))
    points = np.stack([v[1][:n], a[1][:n]], axis=1)
    keep = np.isfinite(points).all(axis=1)
    if not keep.any():
        return None
    return v[0][:n][keep], points[keep]


def song_feeling(store: Store | None, song_id: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(times in seconds, (valence, arousal) per time) of a DEAM 2013 song, or None where the song
    was not rated through time or the annotations are not found."""
    found = _dynamic(store)
    return None if found is None else _pair(*found, song_id)


def windows(times: np.ndarray, points: np.ndarray, seconds: float = MOMENT_S) -> tuple[Moment, ...]:
    """The moments of ratings through time: one window of `seconds` from each rated time at which a
    whole window still fits in the rated span, its feeling the mean of the ratings inside it
    (a window where fewer than FULL_SHARE of the expected samples were rated is left out). A span
    shorter than `seconds` is one moment, from its first rating. DEAM's ratings from 15 s to 45 s
    give 37 moments of 12 s, from 15 s to 33 s."""
    times = np.asarray(times, np.float64)
    points = np.asarray(points, np.float64).reshape(-1, 2)
    if len(times) == 0:
        return ()
    step = float(np.median(np.diff(times))) if len(times) > 1 else seconds
    expected = max(1, round(seconds / step)) if step > 0 else 1
    lo = np.arange(len(times))
    hi = np.searchsorted(times, times + seconds - 1e-9, side="left")  # ratings in [t, t + seconds)
    count = hi - lo
    # the window ends where the ratings end, or before
    kept = (times + seconds <= times[-1] + 1e-9) & (count >= FULL_SHARE * expected)
    total = np.vstack([np.zeros((1, 2)), np.cumsum(points, axis=0)])
    means = (total[hi] - total[lo]) / np.maximum(count, 1)[:, None]
    out = tuple(
        Moment(round(float(t), 3), seconds, round(float(v), 4), round(float(a), 4))
        for t, (v, a) in zip(times[kept], means[kept])
    )
    if out:
        return out
    v, a = points.mean(axis=0)
    span = max(float(times[-1] - times[0]), step)
    return (Moment(round(float(times[0]), 3), span, round(float(v), 4), round(float(a), 4)),)


class DeamMoments(Mapping[str, tuple[Moment, ...]]):
    """song id -> its moments, for every DEAM song rated through time: the annotations are read the
    first time any song is asked for, and a song's windows made when it is (a build asks for the
    few tracks its pictures play, at no cost to one that asks for none). Empty where the dynamic
    annotations are not found."""

    def __init__(self, store: Store | None, seconds: float = MOMENT_S):
        self._store, self._seconds = store, seconds
        self._files: tuple[dict, dict] | None = None
        self._made: dict[str, tuple[Moment, ...]] = {}

    def _read(self) -> tuple[dict, dict]:
        if self._files is None:
            self._files = _dynamic(self._store) or ({}, {})
        return self._files

    def __getitem__(self, song_id: str) -> tuple[Moment, ...]:
        if song_id not in self._made:
            pair = _pair(*self._read(), song_id)
            if pair is None:
                raise KeyError(song_id)
            self._made[song_id] = windows(*pair, seconds=self._seconds)
        return self._made[song_id]

    def __iter__(self) -> Iterator[str]:
        valence, arousal = self._read()
        return iter([s for s in valence if _pair(valence, arousal, s) is not None])

    def __len__(self) -> int:
        return sum(1 for _ in self)


def deam_moments(store: Store | None, seconds: float = MOMENT_S) -> DeamMoments:
    """song id -> its moments, for every DEAM song rated through time (DeamMoments)."""
    return DeamMoments(store, seconds)


def nearest(moments: Sequence[Moment], point: Sequence[float]) -> Moment | None:
    """The moment nearest the point (the earliest of equally near ones); None without moments."""
    if not moments:
        return None
    va = np.array([(m.valence, m.arousal) for m in moments], np.float64)
    d = np.hypot(va[:, 0] - float(point[0]), va[:, 1] - float(point[1]))
    return moments[int(np.argmin(d))]


# ---- a catalogue CSV's `moments` cell ------------------------------------------------------------


def to_cell(moments: Sequence[Moment]) -> str:
    """Moments as one cell of a catalogue CSV: `start seconds valence arousal` per moment, separated
    by `; ` (the start never begins with a sign, so a spreadsheet takes the cell as text)."""
    return "; ".join(
        f"{m.start:.2f} {m.seconds:.2f} {m.valence:.4f} {m.arousal:.4f}" for m in moments
    )


def from_cell(text: str) -> tuple[Moment, ...]:
    """The moments of a `moments` cell (to_cell); ValueError naming what is wrong."""
    out: list[Moment] = []
    for k, part in enumerate(p for p in text.split(";") if p.strip()):
        if k == MOST:
            raise ValueError(f"more than {MOST} moments")
        fields = part.split()
        if len(fields) != 4:
            raise ValueError(f"moment {k + 1} has {len(fields)} numbers, not 4")
        try:
            start, seconds, v, a = (float(x) for x in fields)
        except ValueError:
            raise ValueError(f"moment {k + 1} is not four numbers") from None
        if not all(math.isfinite(x) for x in (start, seconds, v, a)):
            raise ValueError(f"moment {k + 1} is not four finite numbers")
        if start < 0 or seconds <= 0:
            raise ValueError(f"moment {k + 1} does not start at or after 0 s and last a while")
        if not (-1 <= v <= 1 and -1 <= a <= 1):
            raise ValueError(f"moment {k + 1} has a valence or arousal outside [-1, 1]")
        out.append(Moment(start, seconds, v, a))
    return tuple(out)
