"""The slideshow's order: a walk through the pictures that keeps consecutive tracks close in
feeling. The curator's order, when the sheet gives one, replaces it (the pipeline's curate)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from builder.records import ImageRecord

FEW_POINTS = 2000  # distinct points up to which the walk searches them all at each step


def slideshow_order(images: Iterable[ImageRecord]) -> list[str]:
    """A walk through the pictures that keeps consecutive tracks close in feeling: start from the
    calmest picture's first track, then always go to the nearest not yet shown (greedy nearest
    neighbour; of equal distances the first file name). Pictures at the same point follow one
    another in name order. A k-d tree of the points not yet shown (rebuilt as it empties) keeps
    100,000 pictures to seconds."""
    at: dict[tuple[float, float], list[str]] = {}
    for im in images:
        point = (im.tracks[0].valence, im.tracks[0].arousal) if im.tracks else tuple(im.av)
        at.setdefault((float(point[0]), float(point[1])), []).append(im.file)
    if not at:
        return []
    for files in at.values():
        files.sort()
    points = sorted(at, key=lambda p: (p[1], at[p][0]))  # the calmest first
    xy = np.array(points)
    first_file = [at[p][0] for p in points]
    shown = np.zeros(len(points), bool)
    order: list[str] = []
    if len(points) <= FEW_POINTS:  # a plain search is quicker than loading the k-d tree
        i = 0
        while True:
            shown[i] = True
            order += at[points[i]]
            left = np.flatnonzero(~shown)
            if not len(left):
                return order
            d = np.sqrt(((xy[left] - xy[i]) ** 2).sum(axis=1))
            i = min(left[d == d.min()], key=lambda c: first_file[c])

    from scipy.spatial import cKDTree

    def rebuild():
        left = np.flatnonzero(~shown)
        return left, (cKDTree(xy[left]) if len(left) else None)

    left, tree = rebuild()
    i = 0
    while True:
        shown[i] = True
        order += at[points[i]]
        if shown.all():
            return order
        if shown[left].sum() * 2 > len(left):  # mostly shown: search only what is left
            left, tree = rebuild()
        k = 8
        while True:
            d, j = tree.query(xy[i], k=min(k, len(left)))
            d, j = np.atleast_1d(d), left[np.atleast_1d(j)]
            free = ~shown[j]
            # the nearest free point is certain once a farther point was seen (or all were asked)
            if free.any() and (d[-1] > d[free].min() or k >= len(left)):
                best = d[free].min()
                i = min(
                    (c for c, dc in zip(j[free], d[free]) if dc == best),
                    key=lambda c: first_file[c],
                )
                break
            if k >= len(left):  # pragma: no cover - every free point was asked for
                raise AssertionError("no free point left")
            k *= 4
