"""The published object method (`--method objects`): each detected object's label is mapped to its
most similar impression words (word vectors); their valence/arousal points are clustered by angle,
the track nearest each centre is taken, and the quadrant kept is voted against the collection's
average."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from builder import plane
from builder.picture import affect
from builder.picture.methods.base import Method, object_records
from builder.records import Cluster, ImageRecord, Impression, Track

if TYPE_CHECKING:
    from builder.picture.reading import Context, Reading


class Objects(Method):
    def load(self, ctx: Context) -> None:
        _ = ctx.detector, ctx.mapper

    def impressions(self, ctx: Context, r: Reading) -> None:
        object_records(r)
        weights = affect.class_weights(r.detections)
        for label in sorted(weights, key=lambda lb: (-weights[lb], lb)):
            for word, sim in ctx.mapper.top(label, ctx.settings.top_words):
                r.impressions.append(
                    Impression(
                        word.word,
                        round(word.valence, 4),
                        round(word.arousal, 4),
                        round(weights[label], 4),
                        label,
                        round(sim, 4),
                    )
                )

    def record(
        self, ctx: Context, r: Reading, means: tuple[float, ...], user: dict[str, int]
    ) -> ImageRecord:
        """Clusters of the impression points, the track nearest each centre, and the quadrant kept
        (--narrow)."""
        s = ctx.settings
        pts = affect.points(r.impressions)
        counts = affect.quadrant_counts(pts)
        av = affect.weighted_mean(r.impressions)
        fallback = None
        if av is None:  # nothing detected: read the picture's colours instead, and say so
            fallback = "nothing recognised: feeling from colour (Valdez & Mehrabian 1994)"
            av = r.colour_av
            pts = np.array([av])
        labels, centres = affect.spherical_kmeans(pts, s.clusters)
        clusters = []
        for j, c in enumerate(centres):
            centre = (round(float(c[0]), 4), round(float(c[1]), 4))
            track = ctx.index.nearest(centre, 1)[0]
            members = tuple(int(i) for i in np.flatnonzero(labels == j)) if fallback is None else ()
            clusters.append(
                Cluster(
                    centre,
                    len(members) if fallback is None else 0,
                    plane.quadrant(centre),
                    track.id,
                    members,
                )
            )
        clusters.sort(key=lambda c: (-c.size, c.quadrant))
        rule = "av"
        if (
            r.file in user
        ):  # the curator's quadrant (--curation or --quadrants), whatever --narrow says
            chosen, rule = user[r.file], "user"
        elif s.narrow == "vote" and fallback is None:
            voted = affect.vote(counts, means)
            chosen, rule = (voted, "vote") if voted else (plane.quadrant(av), "av")
        else:
            chosen = plane.quadrant(av)
        kept = clusters if s.narrow == "none" else [c for c in clusters if c.quadrant == chosen]
        tracks: list[Track] = []
        for c in kept:
            if c.track and ctx.tracks_by_id[c.track] not in tracks:
                tracks.append(ctx.tracks_by_id[c.track])
        if (
            not tracks
        ):  # no cluster centre in the chosen quadrant: the nearest track to that quadrant's points
            in_q = [p for p in pts if plane.quadrant((float(p[0]), float(p[1]))) == chosen]
            target = tuple(np.mean(in_q, axis=0)) if in_q else plane.QUADRANT_CENTRES[chosen]
            tracks = ctx.index.nearest((float(target[0]), float(target[1])), 1)
        return ImageRecord(
            file=r.file,
            av=(round(av[0], 4), round(av[1], 4)),
            quadrant=chosen,
            impressions=tuple(r.impressions),
            clusters=tuple(clusters),
            tracks=tuple(tracks),
            objects=tuple(r.objects),
            width=r.width,
            height=r.height,
            fallback=fallback,
            quadrant_counts=counts,
            faces=tuple(r.faces),
            caption=r.caption,
            quadrant_rule=rule,
        )
