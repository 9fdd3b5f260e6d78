"""The random baseline (`--method random`): a track drawn at random for each picture (seeded by its name), read
nothing from the picture but its size."""

from __future__ import annotations

import hashlib
import random
from typing import TYPE_CHECKING

from builder import plane
from builder.picture.methods.base import Method
from builder.records import ImageRecord

if TYPE_CHECKING:
    from builder.picture.reading import Context, Reading
    from builder.settings import Settings


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
        seed = int.from_bytes(
            hashlib.sha256(f"{ctx.settings.seed}:{r.file}".encode()).digest()[:8], "big"
        )
        track = random.Random(seed).choice(ctx.catalogue.tracks)
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
