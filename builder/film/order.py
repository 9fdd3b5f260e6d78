"""--one-song: the pictures in the order of the song's own feeling, where it is known.

DEAM's editors rated the 2013 songs through time, twice a second from 15 s to 45 s of each clip
(`deam/dynamic_2013/` of the mirror: valence and arousal on -1..1). Each picture's chapter covers a
span of the song; where that span was rated, its feeling is the song's place on the plane (the
catalogue's static rating, the point the gallery matched pictures to) moved by how the song's rating
at that moment differs from its mean over the clip. The pictures are assigned to the rated spans so
that the summed distance between each picture's target and its span's feeling is least (the
Hungarian method); the others keep the slideshow's order in the spans nobody rated. Songs without
such ratings keep the slideshow's order.
The ratings are read by the music wing (builder.music.moments), which picks each picture's
excerpt from them too.
"""

from __future__ import annotations

import numpy as np

from builder.music.moments import song_feeling
from builder.records import Gallery, ImageRecord, Track


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
