"""What a method is handed at each stage: the Reading of one picture (what the per-picture stages
learn of it), and the Context it reads it with, named here as a protocol of what the methods use
(the pipeline's Context, builder.pipeline.context, provides it; no method imports the pipeline).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from builder.records import (
    Caption,
    Colour,
    Detection,
    FaceRecord,
    Impression,
    ObjectRecord,
    Point,
    Track,
)

if TYPE_CHECKING:
    from builder.assets import AssetStore
    from builder.picture.feeling import FeelingModel, Ingredients
    from builder.settings import Settings


@dataclass
class Reading:
    """What the per-picture stages learn; the collection stages turn it into an ImageRecord."""

    file: str
    sha256: str = ""
    width: int = 0
    height: int = 0
    detections: list[Detection] = field(default_factory=list)
    colours: list[Colour | None] = field(default_factory=list)  # aligned with detections
    faces: list[FaceRecord] = field(default_factory=list)
    scene: list[dict] = field(default_factory=list)  # [{label, score}] from the ImageNet classifier
    caption_text: str = ""
    caption_source: str = ""
    objects: list[ObjectRecord] = field(default_factory=list)
    impressions: list[Impression] = field(default_factory=list)
    caption: Caption | None = None
    colour_av: Point = (0.0, 0.0)
    # colour statistics (feeling.colour_stats), only while recognisers run
    colour: np.ndarray | None = None
    cached: bool = False
    ingredients: Ingredients | None = None  # learned method: what its features are made from
    rgb: np.ndarray | None = None  # the decoded picture, only while recognisers run
    masks: list | None = None  # Mask R-CNN masks of the detections, only while recognisers run
    data: bytes | None = None  # the file's bytes as hashed, only until decoded
    meta: tuple[str, str] = ("", "")  # the picture's own title and description, from its metadata


class Tracks(Protocol):
    """The catalogue music is chosen from, as a method sees it."""

    tracks: Sequence[Track]


class Context(Protocol):
    """What a method may use: the settings, the asset store, the recognisers (each loaded on first
    use), the fitted feeling model, and the music: the catalogue and its index (nearest tracks, the
    catalogue's frame, the collection-wide assignment), reached only through here."""

    settings: Settings
    store: AssetStore

    # picture -> catalogue index of the track the curator's sheet pins first
    @property
    def pins(self) -> dict[str, int]: ...
    @property
    def detector(self) -> Any: ...
    @property
    def mapper(self) -> Any: ...
    @property
    def faces(self) -> Any: ...
    @property
    def segmenter(self) -> Any: ...
    @property
    def namer(self) -> Any: ...
    @property
    def scene(self) -> Any: ...
    @property
    def lite(self) -> Any: ...
    @property
    def captioner(self) -> Any: ...
    @property
    def tagger(self) -> Any: ...
    @property
    def feeling(self) -> FeelingModel: ...
    @property
    def imagenet_labels(self) -> list[str]: ...
    @property
    def catalogue(self) -> Tracks: ...
    @property
    def tracks_by_id(self) -> dict[str, Track]: ...
    @property
    def index(self) -> Any: ...
