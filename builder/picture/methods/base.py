"""What every --method answers, and the default answers (those of a method that detects objects and
reads nothing else)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from builder.picture import affect
from builder.records import ImageRecord, Matching, ObjectRecord

if TYPE_CHECKING:
    from builder.picture.feeling import Ingredients
    from builder.picture.reading import Context, Reading
    from builder.settings import Settings


class Method:
    """The default answers are those of a method that detects objects and reads nothing else."""

    def __init__(self, name: str):
        self.name = name

    def cache_key(self, s: Settings) -> str:
        """What the cached analysis depends on besides the detector, its score and the analysis
        size."""
        return ""

    def check_cached(self, ctx: Context, ingredients: Ingredients | None) -> None:
        """Raise ValueError when a cached analysis cannot serve this method (the picture is then
        analysed again)."""

    def prepare(self, ctx: Context) -> None:
        """Load what every picture needs, before the first one: a missing model fails before any
        picture."""

    def load(self, ctx: Context) -> None:
        """Load the models the recogniser stages (and impressions) use, and only those: the pipeline
        calls this before worker processes fork from the main process, so that they share these
        weights rather than each loading its own copy. Anything not loaded here is still loaded on
        first use."""
        _ = ctx.detector

    # The recogniser stages (pipeline.MODEL_STAGES), asked only for a decoded picture the cache did
    # not hold.

    def detect(self, ctx: Context, r: Reading) -> None:
        r.detections = ctx.detector.detect(r.rgb)
        r.masks = getattr(ctx.detector, "last_masks", None) or None
        r.colours = [None] * len(r.detections)

    def faces(self, ctx: Context, r: Reading) -> None:
        pass

    def colours(self, ctx: Context, r: Reading) -> None:
        pass

    def caption(self, ctx: Context, r: Reading) -> None:
        pass

    def scene(self, ctx: Context, r: Reading) -> None:
        pass

    # From a reading (fresh or cached) to a feeling.

    def impressions(self, ctx: Context, r: Reading) -> None:
        """The impression words of a reading, fresh or cached (none here), and its objects as
        records."""
        object_records(r)

    def record(
        self, ctx: Context, r: Reading, means: tuple[float, ...], user: dict[str, int]
    ) -> ImageRecord:
        """The picture's feeling and music. means: the collection's mean quadrant shares (the
        published vote); user: quadrants given by the curator (--curation or --quadrants), which the
        method keeps."""
        raise NotImplementedError

    def finish(
        self, ctx: Context, records: list[ImageRecord]
    ) -> tuple[list[ImageRecord], Matching | None]:
        """What is done once the whole collection is read (the learned method matches music to all
        at once)."""
        return records, None

    def reference(self, ctx: Context) -> tuple[float, float] | None:
        """The origin the quadrants are read from, when it is not (0, 0)."""
        return None

    def label(self, s: Settings) -> str:
        """How the gallery names the method that made it."""
        return f"{self.name}:{s.detector}"


def object_records(r: Reading) -> None:
    """The detected objects as records, each with its class weight (and colour, where one was
    read)."""
    weights = affect.class_weights(r.detections)
    colours = r.colours if len(r.colours) == len(r.detections) else [None] * len(r.detections)
    r.objects = [
        ObjectRecord(d.label, d.score, d.box, round(weights[d.label], 4), c)
        for d, c in zip(r.detections, colours)
    ]
