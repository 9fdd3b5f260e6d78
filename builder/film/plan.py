"""The film's plan: its chapters, the music heard in each, and what was left out; everything but
the pixels and the samples.

Read from the built gallery alone (`read_gallery`: its gallery.json as `builder.records.Gallery`).
Each picture plays the first of its tracks whose licence allows putting it to pictures
(`builder.music.licences`); where none does, the previous track plays on. Consecutive chapters
that hear the same track make one `Segment`, which overlaps its neighbours by the crossfade.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import orjson

from builder.errors import BuilderError, UsageError
from builder.files import inside
from builder.gallery.outdir import MARKER, owned
from builder.music.licences import is_own_music, licence_verdict
from builder.records import Gallery, Track

TITLE_S = 4.0
END_MIN_S, END_MAX_S = 5.0, 15.0
XFADE_S = 1.0  # crossfade between chapters (at most a third of a chapter)


class FilmFileMissing(BuilderError):
    """A picture or audio file the gallery names is not there (exit 3, like any missing file)."""

    exit_code = 3


def parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text or "")
    if not m:
        raise UsageError(f"--size {text!r} is not WIDTHxHEIGHT (e.g. 1920x1080 or 1280x720)")
    w, h = int(m[1]), int(m[2])
    if w % 2 or h % 2 or not (64 <= w <= 7680 and 64 <= h <= 4320):
        raise UsageError(
            f"--size {text}: width and height must be even numbers between 64x64 and 7680x4320"
        )
    return w, h


@dataclass(frozen=True)
class Options:
    size: tuple[int, int] = (1920, 1080)
    fps: int = 25
    seconds: float = 8.0
    motion: str = "gentle"
    allow_licences: tuple[str, ...] = ()


def crossfade(options: Options) -> float:
    return min(XFADE_S, options.seconds / 3)


@dataclass
class Chapter:
    kind: str  # "title", "picture" or "end"
    start: float
    end: float
    heading: str  # what the chapter is called (picture: its title or file name)
    file: str | None = None
    image: Path | None = None
    music: Track | None = None  # what is heard during the chapter (Track.audio: inside the gallery)
    plays_on: bool = False  # the previous track plays on (no track of this picture may be used)
    caption: str = ""


@dataclass
class Segment:
    """One track heard without a break: [a0, a1] seconds of the film, from music.start."""

    music: Track
    audio: Path  # the track's file in the gallery, checked to be there
    a0: float
    a1: float
    fade_in: float
    fade_out: float
    loop_s: float | None = (
        None  # length of the decoded excerpt (it loops when the track is shorter)
    )
    gain_db: float = 0.0
    loudness: float | None = None


@dataclass
class Plan:
    folder: Path
    title: str
    intro: str
    silent: str | None
    chapters: list[Chapter]
    segments: list[Segment]
    credited: list[Track]
    left_out: list[tuple[Track, str]]
    duration: float
    options: Options
    notes: list[str] = field(default_factory=list)  # shown on the title card
    warnings: list[str] = field(default_factory=list)  # for the command's summary only


def read_gallery(folder: Path) -> Gallery:
    """gallery.json of a gallery this builder wrote; UsageError for any other folder, or for a
    gallery.json that is not the records a build writes (naming the field)."""
    if not folder.is_dir():
        raise UsageError(
            f"{folder} is not a folder; give the folder `builder build` wrote (its --out)"
        )
    if not owned(folder):
        raise UsageError(
            f"{folder} is not a gallery written by `builder build` (no {MARKER} or gallery.json); "
            "give the folder the build wrote (its --out)"
        )
    path = folder / "gallery.json"
    try:
        return Gallery.from_json(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise UsageError(f"cannot read {path} ({exc}); build the gallery again") from None
    except ValueError as exc:
        raise UsageError(
            f"{path} is not a gallery description ({exc}); build the gallery again"
        ) from None


def _file_in(folder: Path, rel: str | None, what: str) -> Path:
    if not rel:
        raise FilmFileMissing(f"the gallery names no {what}; build the gallery again")
    path = folder / rel
    if not inside(path, folder):
        raise UsageError(
            f"{folder / 'gallery.json'} names a {what} outside the gallery ({rel}); build it again"
        )
    if not path.is_file():
        raise FilmFileMissing(f"the gallery's {what} {rel} is missing; build the gallery again")
    return path


def make_plan(folder: Path, gallery: Gallery, options: Options) -> Plan:
    """Chapters, the music heard in each, and what was left out."""
    images = {im.file: im for im in gallery.images}
    order = [f for f in (gallery.slideshow or [im.file for im in gallery.images]) if f in images]
    if not order:
        raise UsageError(f"the gallery in {folder} holds no pictures; nothing to make a film of")
    title = gallery.title or folder.resolve().name
    intro = next((ln.strip() for ln in (gallery.intro or "").splitlines() if ln.strip()), "")
    seconds, xf = options.seconds, crossfade(options)
    chapters = [Chapter("title", 0.0, TITLE_S, title)]
    left_out: dict[str, tuple[Track, str]] = {}
    audio: dict[str, Path] = {}  # the file of every track heard, by id
    playing: Track | None = None
    t = TITLE_S
    for f in order:
        im = images[f]
        chosen = None
        for track in im.tracks:
            if not track.audio:
                continue  # a track the gallery does not play cannot be heard in the film either
            own = is_own_music(gallery.catalogue.name, track.id)
            ok, why = licence_verdict(track.licence, own, options.allow_licences)
            if ok:  # only a track that will be heard must be there
                audio[track.id] = _file_in(folder, track.audio, "audio file")
                chosen = replace(track, start=max(0.0, track.start))
                break
            left_out.setdefault(track.id, (track, why))
        heading = im.title or f
        plays_on = chosen is None and playing is not None
        playing = chosen or playing
        caption = heading
        if playing is not None:
            caption += f"  ·  {playing.title or playing.id}" + (
                f" — {playing.artist}" if playing.artist else ""
            )
        chapters.append(
            Chapter(
                "picture",
                t,
                t + seconds,
                heading,
                file=f,
                image=_file_in(folder, im.image, "picture copy"),
                music=playing,
                plays_on=plays_on,
                caption=caption,
            )
        )
        t += seconds
    credited = list({c.music.id: c.music for c in chapters if c.music is not None}.values())
    left = [v for k, v in left_out.items() if k not in {m.id for m in credited}]
    notes = []
    if gallery.silent:  # the reason is long and for the curator: the summary and chapters have it
        notes.append("This film is silent: the gallery plays no music")
    elif not credited:
        notes.append(
            "This film is silent: no track of the gallery may be put to pictures (see the end)"
        )
    end_s = min(END_MAX_S, max(END_MIN_S, 3.0 + 0.5 * (len(credited) + len(left))))
    chapters.append(Chapter("end", t, t + end_s, "Music"))
    duration = t + end_s
    # segments: consecutive chapters hearing the same track, its sound overlapping the neighbours'
    # by the crossfade
    segments: list[Segment] = []
    for c in chapters:
        if c.music is None:
            continue
        if (
            segments
            and segments[-1].music.id == c.music.id
            and math.isclose(segments[-1].a1, c.start + xf / 2)
        ):
            segments[-1].a1 = c.end + xf / 2
            continue
        segments.append(
            Segment(c.music, audio[c.music.id], c.start - xf / 2, c.end + xf / 2, xf, xf)
        )
    if segments:  # the last track plays on under the end card and fades out with it
        segments[-1].a1, segments[-1].fade_out = duration, min(3.0, end_s)
    return Plan(
        folder,
        title,
        intro,
        gallery.silent or None,
        chapters,
        segments,
        credited,
        left,
        duration,
        options,
        notes,
    )
