"""The data model: frozen dataclasses that serialise straight to JSON (orjson handles dataclasses).

No tensors and no numpy here: model outputs become plain floats and tuples at the adapter boundary.
Boxes are (x0, y0, x1, y1) as fractions of the picture's width and height, in the picture's upright
orientation (after EXIF rotation), so the gallery can draw them at any size.

gallery.json is a `Gallery` as orjson writes it; `Gallery.from_json` reads it back into the
same records, checking every value's type against the fields, so what reads a built gallery (the
film) keeps no model of its own.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import orjson

Point = tuple[float, float]  # (valence, arousal) in [-1, 1]
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Track:
    id: str
    title: str
    artist: str
    valence: float
    arousal: float
    genre: str = ""
    audio: str | None = (
        None  # source path in the catalogue; in gallery.json: path inside OUT, or None
    )
    licence: str | None = None
    # seconds into the audio where players start: in a picture's tracks, where the track's moment
    # nearest the picture's target begins (builder.music.moments), else where it stops being quiet
    # (builder.music.excerpt)
    start: float = 0.0


@dataclass(frozen=True)
class Detection:
    label: str
    score: float
    box: Box


@dataclass(frozen=True)
class Colour:
    name: str  # nearest named colour under CIEDE2000
    rgb: tuple[int, int, int]  # centre of the largest k-means cluster of the object's pixels
    mask: str  # how the object's pixels were found: maskrcnn, deeplab, grabcut or box


@dataclass(frozen=True)
class ObjectRecord:
    label: str
    score: float
    box: Box
    weight: float  # the class's summed box area divided by the largest class's
    colour: Colour | None = None  # caption method only


@dataclass(frozen=True)
class FaceRecord:
    box: Box
    expression: str  # the top class, as published
    confidence: float  # face detector confidence
    probabilities: dict[str, float]


@dataclass(frozen=True)
class CaptionToken:
    text: str
    kind: str | None = None  # None for caption words; "expression" or "colour" for inserted words


@dataclass(frozen=True)
class Caption:
    text: str  # as the captioner wrote it
    source: str  # "template" (written from detections) or "blip"
    enriched: str  # with expression and colour words inserted (equal to text for caption-plain)
    tokens: tuple[CaptionToken, ...] = ()


@dataclass(frozen=True)
class Impression:
    word: str
    valence: float
    arousal: float
    weight: float
    source: str  # the object label or caption word this impression came from
    similarity: float


@dataclass(frozen=True)
class Cluster:
    centre: Point
    size: int
    quadrant: int
    track: str | None  # id of the nearest track to the centre
    members: tuple[int, ...] = ()  # indices into the picture's impressions


@dataclass(frozen=True)
class Contribution:
    """How much one group of the learned model's features moved the reading (relative to the
    reference)."""

    group: str
    valence: float
    arousal: float


@dataclass(frozen=True)
class Seen:
    label: str
    score: float


@dataclass(frozen=True)
class ImageRecord:
    file: str  # path relative to the input folder, with forward slashes
    av: Point
    quadrant: int
    impressions: tuple[Impression, ...]
    clusters: tuple[Cluster, ...]
    tracks: tuple[Track, ...]
    objects: tuple[ObjectRecord, ...]
    width: int
    height: int
    fallback: str | None = (
        None  # why the normal reading did not apply (e.g. "nothing recognised: ..."), else None
    )
    quadrant_counts: tuple[int, int, int, int] = (0, 0, 0, 0)
    faces: tuple[FaceRecord, ...] = ()
    caption: Caption | None = None
    page: str = ""  # gallery page, relative to OUT
    image: str = ""  # display copy, relative to OUT
    thumb: str = ""  # thumbnail, relative to OUT
    # how the quadrant was decided: "reading" (signs of av; learned), "vote" (the published vote),
    # "av" (signs of av; published methods without a vote), "user" (--quadrants), "random" (the
    # baseline's track)
    quadrant_rule: str = ""
    target: Point | None = (
        None  # learned: where music was looked for, in the catalogue's frame (README)
    )
    contributions: tuple[
        Contribution, ...
    ] = ()  # learned: what moved the reading, per feature group
    seen: tuple[Seen, ...] = ()  # learned: the top labels the word ratings read (both classifiers)
    title: str = ""  # the curator's title (--curation), else the picture's own metadata title
    description: str = ""  # the curator's caption, else the picture's own metadata description
    # text alternative: the description, else the title, else the caption method's caption, else the
    # file name
    alt: str = ""
    pinned: bool = False  # its first track was chosen by the curator's sheet
    # learned: the first track lies outside the picture's quadrant because the catalogue has no
    # track there
    off_quadrant: bool = False
    # why its first track is this one (builder/gallery/text.py says it in words): "pinned" (the
    # curator's sheet chose it), "nearest" (the catalogue's closest track to where the music was
    # looked for, in the picture's quadrant), "close" (a close one: the closest plays for other
    # pictures), "off_quadrant" (no track in the picture's quadrant: the nearest elsewhere); ""
    # where the method traces its music to clusters of impression words instead
    reason: str = ""
    shared: int = 0  # how many other pictures of the gallery have the same first track
    colour: str = ""  # the picture's mean colour, #rrggbb (the wall's background is made from it)


@dataclass(frozen=True)
class Failure:
    file: str
    reason: str


@dataclass(frozen=True)
class CatalogueInfo:
    name: str
    size: int


@dataclass(frozen=True)
class Matching:
    """The collection-wide choice of first tracks (learned method)."""

    pictures: int
    distinct_first: int  # how many different first tracks
    total: float  # summed distance of the first tracks to the targets
    nearest_total: float  # the same if each picture took its own nearest track in its quadrant
    capacity: int  # how often the most used track is a first track
    repeats: int = 0  # the cap asked for (--repeats; 0 = automatic)
    repeat_penalty: float = (
        0.0  # distance charged per earlier use of the same track, fitted to the bound
    )
    bound: float = 1.5  # the summed distance the penalty may reach, as a multiple of nearest_total
    in_quadrant: int = 0  # pictures whose first track lies in their own quadrant
    off_quadrant: int = (
        0  # pictures whose quadrant has no track in the catalogue (first track elsewhere)
    )
    # the catalogue's tracks in each quadrant 1-4 (a picture shares its first track when its
    # quadrant has fewer tracks than pictures, or the others lie far)
    quadrant_tracks: tuple[int, int, int, int] = (0, 0, 0, 0)


@dataclass(frozen=True)
class StudyPick:
    """What one condition of the study offers for one picture: its first track's id (None: it could
    not recommend, having no track in its quadrant) and the quadrant it reads the picture in (None
    for a condition that reads none, such as random choice)."""

    track: str | None
    quadrant: int | None
    # where the picture's excerpt of the track begins (its moment nearest the picture's target, as
    # the gallery plays it); None: from the track's own start
    start: float | None = None


@dataclass(frozen=True)
class Study:
    """The visitors' study a gallery holds (`builder build --study`, docs/study.md): what each
    condition offers for each picture, and the build id every answer carries."""

    gallery: str  # the build id: "g-" and 16 hex digits of the study's content
    conditions: tuple[str, ...]  # gallery, objects, random: in the order --study-conditions gives
    pictures: dict[str, dict[str, StudyPick]]  # picture file -> condition -> its pick
    tracks: tuple[Track, ...]  # every track a condition picks, once (audio: its path inside OUT)
    size: int = 10  # the pictures one visitor is walked through (--study-pictures)
    excerpt: float = 15.0  # seconds of each track a visitor hears, from its `start`
    text: str | None = None  # the --study-text file's text, as written (None: the page's words)
    text_html: str | None = None  # that text as safe HTML, as --intro's


@dataclass(frozen=True)
class Gallery:
    method: str
    narrow: str
    quadrant_means: tuple[float, float, float, float]
    catalogue: CatalogueInfo
    images: tuple[ImageRecord, ...]
    failed: tuple[Failure, ...] = field(default_factory=tuple)
    version: str = ""
    slideshow: tuple[str, ...] = ()  # picture files in slideshow order (site.slideshow_order)
    reference: Point | None = (
        None  # learned: the quadrant origin; `av` is the model's reading minus this
    )
    matching: Matching | None = None
    silent: str | None = None  # why the gallery plays no music, when it plays none
    # the exhibition's title (--title; the build sets the input folder's name when none is given)
    title: str = ""
    intro: str | None = None  # the --intro file's text, as written
    intro_html: str | None = None  # that text as HTML, made safe (builder.curation.intro_html)
    lang: str = (
        "en"  # the language of every word the visitor reads (builder/gallery/messages/<lang>.json)
    )
    kiosk: bool = False  # the index opens the slideshow in kiosk mode (slideshow.html#kiosk)
    # who set the slideshow's order: "curator" (the sheet's order column) or "feeling" (the walk
    # that keeps consecutive tracks close in feeling, builder.gallery.order)
    slideshow_by: str = "feeling"
    # the visitors' study (--study); None, and no `study` key in gallery.json, without it
    study: Study | None = None

    def to_json(self) -> bytes:
        """gallery.json's text: the Gallery as orjson writes it (records in their fields' order,
        the keys of plain dicts sorted, indented). Without a study it has no `study` key at all, so
        a gallery built without --study is the same, byte for byte, as before the study existed:
        `study` is the last field, and its `null` is cut from the end of the text."""
        text = orjson.dumps(self, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        if self.study is None:
            text = text.removesuffix(_NO_STUDY) + b"\n}"
        return text

    @classmethod
    def from_json(cls, data: bytes | str) -> Gallery:
        """gallery.json's text as the records it was written from. Keys the records do not know
        are ignored, missing keys take their field's default; a missing required key or a value
        of the wrong type raises ValueError naming the field (`images[2].tracks[0].start`), as
        does text that is not JSON (orjson.JSONDecodeError is a ValueError)."""
        return _record(cls, orjson.loads(data), "")


_NO_STUDY = b',\n  "study": null\n}'  # how the last field ends gallery.json when it is None


# ---- reading records back from JSON -------------------------------------------------------------


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    names = {bool: "true or false", int: "a number", float: "a number", str: "a string"}
    names.update({list: "a list", dict: "an object"})
    return names.get(type(value), type(value).__name__)


def _wrong(where: str, expected: str, value: object) -> ValueError:
    return ValueError(f"{where or 'the top level'}: expected {expected}, got {_kind(value)}")


def _record(cls: type, value: object, where: str) -> Any:
    if not isinstance(value, dict):
        raise _wrong(where, "an object", value)
    hints, values = _hints(cls), {}
    for f in dataclasses.fields(cls):
        name = f"{where}.{f.name}" if where else f.name
        if f.name in value:
            values[f.name] = _value(hints[f.name], value[f.name], name)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ValueError(f"{name} is missing")
    return cls(**values)


def _value(tp: Any, value: object, where: str) -> Any:
    """value (as orjson read it) checked against tp, the type of a record's field, and made one."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):  # only `X | None` occurs in the records
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _value(inner, value, where)
    if dataclasses.is_dataclass(tp):
        return _record(tp, value, where)  # type: ignore[arg-type]
    if origin is tuple:
        if not isinstance(value, list):
            raise _wrong(where, "a list", value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_value(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ValueError(f"{where}: expected {len(args)} values, got {len(value)}")
        return tuple(_value(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if origin is dict:
        if not isinstance(value, dict):
            raise _wrong(where, "an object", value)
        return {k: _value(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _wrong(where, "a number", value)
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong(where, "a whole number", value)
        return value
    if tp is str or tp is bool:
        if not isinstance(value, tp):
            raise _wrong(where, "a string" if tp is str else "true or false", value)
        return value
    raise TypeError(f"{where}: no reader for {tp}")  # a record field of a type this does not know
