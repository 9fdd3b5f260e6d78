"""--one-song: the pictures in the order of the song's own feeling, where it is known.

DEAM's editors rated the 2013 songs through time, twice a second from 15 s to 45 s of each clip
(`deam/dynamic_2013/` of the mirror: valence and arousal on -1..1). Each picture's chapter covers a
span of the song; where that span was rated, its feeling is the song's place on the plane (the
catalogue's static rating, the point the gallery matched pictures to) moved by how the song's rating
at that moment differs from its mean over the clip. The pictures are assigned to the rated spans so
that the summed distance between each picture's target and its span's feeling is least (the
Hungarian method); the others keep the slideshow's order in the spans nobody rated. Songs without
such ratings keep the slideshow's order.
"""

from __future__ import annotations

import csv
from functools import lru_cache

import numpy as np

from builder.records import Gallery, ImageRecord, Track

DYNAMIC = ("deam-dynamic-valence-2013", "deam-dynamic-arousal-2013")  # assets


@lru_cache(maxsize=4)
def _read(path: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """song id -> (times in seconds, values) of one of DEAM's dynamic annotation files."""
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


def song_feeling(store, song_id: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(times in seconds, (valence, arousal) per time) of a DEAM 2013 song, or None where the song
    was not rated through time or the annotations are not found."""
    if store is None:
        return None
    paths = [store.optional(name) for name in DYNAMIC]
    if any(p is None for p in paths):
        return None
    try:
        v, a = (_read(str(p)).get(song_id) for p in paths)
    except (OSError, ValueError, csv.Error):
        return None
    if v is None or a is None:
        return None
    n = min(len(v[0]), len(a[0]))
    points = np.stack([v[1][:n], a[1][:n]], axis=1)
    keep = np.isfinite(points).all(axis=1)
    if not keep.any():
        return None
    return v[0][:n][keep], points[keep]


def _point(im: ImageRecord) -> np.ndarray:
    return np.array(im.target if im.target is not None else im.av, np.float64)


def follow_song(
    order: list[str],
    images: dict[str, ImageRecord],
    song: Track,
    gallery: Gallery,
    store,
    first_s: float,
    seconds: float,
    length: float,
) -> tuple[list[str], list[tuple[float, float] | None], str]:
    """The pictures' order for one song that starts with the film: (order, the song's feeling in
    each chapter where rated, "song" or "slideshow"). The k-th chapter covers first_s + k * seconds
    to first_s + (k + 1) * seconds of the song (from its start again where the film is longer)."""
    from scipy.optimize import linear_sum_assignment

    feeling = song_feeling(store, song.id) if gallery.catalogue.name.startswith("DEAM") else None
    if feeling is None or len(order) < 2:
        return order, [None] * len(order), "slideshow"
    times, points = feeling
    centre = points.mean(axis=0)
    static = np.array([song.valence, song.arousal], np.float64)
    slots: list[tuple[float, float] | None] = []
    for k in range(len(order)):
        t0 = (first_s + k * seconds) % max(length, 1e-6)
        t1 = t0 + seconds
        inside = (times >= t0) & (times < t1)
        if inside.any():
            p = static + points[inside].mean(axis=0) - centre
            slots.append((round(float(p[0]), 4), round(float(p[1]), 4)))
        else:
            slots.append(None)
    rated = [k for k, s in enumerate(slots) if s is not None]
    if not rated:
        return order, slots, "slideshow"
    targets = np.stack([_point(images[f]) for f in order])
    want = np.array([slots[k] for k in rated], np.float64)
    cost = np.linalg.norm(targets[:, None, :] - want[None, :, :], axis=2)
    rows, cols = linear_sum_assignment(cost)  # pictures x rated spans: each span gets a picture
    placed = {rated[c]: order[r] for r, c in zip(rows, cols)}
    rest = iter(f for f in order if f not in set(placed.values()))
    new = [placed[k] if k in placed else next(rest) for k in range(len(order))]
    return new, slots, "song"
