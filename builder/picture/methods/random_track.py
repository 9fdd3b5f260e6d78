"""The random baseline (`--method random`): a track drawn at random for each picture (seeded by its
name), read nothing from the picture but its size."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING

from builder import plane
from builder.picture.methods.base import Method
from builder.records import ImageRecord, Track

if TYPE_CHECKING:
    from builder.picture.reading import Context, Reading
    from builder.settings import Settings


def draw(tracks: Sequence[Track], seed: int, file: str) -> Track:
    """The track drawn for a picture: at random, seeded by --seed and the picture's name, so a
    rebuild draws the same (the random baseline, and the study's random condition)."""
    state = int.from_bytes(hashlib.sha256(f"{seed}:{file}".encode()).digest()[:8], "big")
    return random.Random(state).choice(list(tracks))


class RandomTrack(Method):
    def load(self, ctx: Context) -> None:
        pass  # reads nothing from the picture: no model

    def detect(self, ctx: Context, r: Reading) -> None:
        pass

    def impressions(self, ctx: Context, r: Reading) -> None:
        pass

    def record(
        self, ctx: Context, r: Reading, means: tuple[float, ...], user: dict[str, int]
    ) -> ImageRecord:
        track = draw(ctx.catalogue.tracks, ctx.settings.seed, r.file)
        av = (track.valence, track.arousal)
        return ImageRecord(
            file=r.file,
            av=av,
            quadrant=plane.quadrant(av),
            impressions=(),
            clusters=(),
            tracks=(track,),
            objects=(),
            width=r.width,
            height=r.height,
            fallback="random baseline: a random track",
            quadrant_counts=(0, 0, 0, 0),
            quadrant_rule="random",
        )

    def label(self, s: Settings) -> str:
        return "random"
