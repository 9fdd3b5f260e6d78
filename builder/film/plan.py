"""The film's plan: its chapters, the music heard in each, the words on its cards, and what was
left out; everything but the pixels and the samples.

Read from the built gallery alone (`read_gallery`: its gallery.json as `builder.records.Gallery`).
Each picture plays the first of its tracks whose licence allows putting it to pictures
(`builder.music.licences`); where none does, the previous track plays on. Consecutive chapters
that hear the same track make one `Segment`, which overlaps its neighbours by the crossfade. With
`--one-song` one track carries the whole film: its length sets the pace, and where DEAM's editors
rated it through time the pictures follow its feeling (`builder.film.order`).

The cards speak the gallery's language (its message catalogue, `builder.gallery.text`); every text
drawn is bounded (a title, the intro's first paragraph, a caption) before it is measured.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import orjson

from builder.errors import BuilderError, UsageError
from builder.files import GALLERY_MARKER, inside, unreadable_input
from builder.film import text as tx
from builder.film.cards import end_pages, end_seconds, reading_credits, title_items
from builder.gallery.outdir import owned
from builder.gallery.text import MESSAGES_DIR, Words
from builder.music.licences import is_own_music, licence_verdict, short_licence
from builder.records import Gallery, ImageRecord, Track

TITLE_S = 4.0
XFADE_S = 1.0  # crossfade between chapters (at most a third of a chapter)
# what a display copy of the gallery can be (the build makes them at most 1600 px): a header that
# claims more is not one, and its picture is left out rather than decoded
MAX_COPY_SIDE, MAX_COPY_PIXELS = 4096, 16_000_000
TITLE_CAP, INTRO_CAP, CAPTION_CAP = 200, 300, 600  # characters drawn, at most (then an ellipsis)
ONE_SONG_MIN_S = 2.0  # --one-song: the least time a picture is shown
ONE_SONG_MAX_S = 600.0  # --one-song: the most of a song that is played (decoded: 230 MB)


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
    one_song: bool = False  # one track carries the whole film (its length sets the pace)
    song: str | None = None  # that track's id (else the gallery's most used first track)
    force: bool = False  # replace files beside the film that the builder did not write


def crossfade(options: Options) -> float:
    return min(XFADE_S, options.seconds / 3)


@dataclass
class Chapter:
    kind: str  # "title", "picture" or "end" (the credits may take several end cards)
    start: float
    end: float
    heading: str  # what the chapter is called (picture: its title, else its file's name)
    file: str | None = None
    image: Path | None = None
    music: Track | None = None  # what is heard during the chapter (Track.audio: inside the gallery)
    plays_on: bool = False  # the previous track plays on (no track of this picture may be used)
    caption: str = ""  # the curator's caption (gallery.json `description`)
    track_line: str = ""  # the track heard, as the band says it
    pixels: tuple[int, int] = (0, 0)  # the picture copy's size
    items: list[tx.Item] = field(default_factory=list)  # a card's words
    feeling: tuple[float, float] | None = None  # --one-song: the song's feeling in this chapter


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
    decode_s: float | None = None  # how much of the track to decode (None: builder.music.excerpt's)


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
    lang: str = "en"
    fonts: tuple[str, ...] = ()  # font files, in the order tried for each line (builder.film.text)
    why: dict[str, str] = field(default_factory=dict)  # track id -> why its licence allows a film
    order: str = "slideshow"  # how the pictures are ordered: "slideshow" or "song"
    song: Track | None = None  # --one-song: the track


def read_gallery(folder: Path) -> Gallery:
    """gallery.json of a gallery this builder wrote; UsageError for any other folder, or for a
    gallery.json that is not the records a build writes (naming the field)."""
    if not folder.is_dir():
        raise UsageError(
            f"{folder} is not a folder; give the folder `builder build` wrote (its --out)"
        )
    if not gallery_like(folder):
        raise UsageError(
            f"{folder} is not a gallery written by `builder build` (no {GALLERY_MARKER} or "
            "gallery.json); give the folder the build wrote (its --out)"
        )
    path = folder / "gallery.json"
    try:
        unreadable = unreadable_input(os.stat(path), "table")
        if unreadable:
            raise UsageError(f"{path} {unreadable}; build the gallery again")
        return Gallery.from_json(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise UsageError(f"cannot read {path} ({exc}); build the gallery again") from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise UsageError(
            f"{path} is not a gallery description ({exc}); build the gallery again"
        ) from None


def gallery_like(folder: Path) -> bool:
    """Whether folder is a gallery this builder wrote (builder.gallery.outdir.owned), its marker
    and gallery.json looked at only when they are regular files (a named pipe there would block
    the read for ever)."""
    import stat

    for name in (GALLERY_MARKER, "gallery.json"):
        try:
            if not stat.S_ISREG(os.stat(folder / name).st_mode):
                return False
        except FileNotFoundError:
            continue
        except OSError:
            return False
    return owned(folder)


def _file_in(folder: Path, rel: str | None, what: str) -> Path:
    if not rel:
        raise FilmFileMissing(f"the gallery names no {what}; build the gallery again")
    path = folder / rel
    if not inside(path, folder):
        raise UsageError(
            f"{folder / 'gallery.json'} names a {what} outside the gallery ({rel}); build it again"
        )
    try:
        st = os.stat(path)
    except OSError:
        raise FilmFileMissing(
            f"the gallery's {what} {rel} is missing; build the gallery again"
        ) from None
    why = unreadable_input(st, "audio file" if what == "audio file" else "picture")
    if why and what == "audio file":  # a picture copy is checked (and skipped) by picture_copy
        raise UsageError(f"the gallery's {what} {rel} {why}; build the gallery again")
    return path


class _Skip(Exception):
    """A picture left out of the film, with why (the command's summary names it)."""


def picture_copy(folder: Path, im: ImageRecord) -> tuple[Path, tuple[int, int]]:
    """The picture's display copy and its size, read from its header alone; _Skip when the file is
    not a picture the film can show (not a regular file, unreadable, or a header that claims more
    pixels than a display copy has)."""
    from PIL import Image

    path = _file_in(folder, im.image, "picture copy")
    try:
        reason = unreadable_input(os.stat(path), "picture")
    except OSError as exc:
        raise _Skip(f"cannot be read ({exc.strerror or exc})") from None
    if reason:
        raise _Skip(reason)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as src:
                w, h = src.size
    except Image.DecompressionBombError:
        raise _Skip("its header claims more pixels than any picture copy has") from None
    except Exception as exc:  # noqa: BLE001 - a damaged header raises what its decoder raises
        raise _Skip(f"cannot be read as a picture ({type(exc).__name__}: {exc})") from None
    if not (0 < w <= MAX_COPY_SIDE and 0 < h <= MAX_COPY_SIDE and w * h <= MAX_COPY_PIXELS):
        raise _Skip(
            f"its header claims {w} x {h} pixels, more than a display copy has "
            f"(at most {MAX_COPY_SIDE} a side); build the gallery again"
        )
    return path, (w, h)


def language(gallery: Gallery, warn: list[str]) -> str:
    """The gallery's language, where the builder has its catalogue; else English, with a warning."""
    known = {p.stem for p in MESSAGES_DIR.glob("*.json")}
    if gallery.lang in known:
        return gallery.lang
    warn.append(f"the gallery's language {gallery.lang[:20]!r} has no catalogue; cards in English")
    return "en"


def picture_title(im: ImageRecord) -> str:
    """The picture's title; its file's name without the extension only as a last resort."""
    return tx.shorten(" ".join((im.title or PurePosixPath(im.file).stem).split()), TITLE_CAP)


def track_line(track: Track, words: Words) -> str:
    artist = track.artist or words.t("film_unknown_artist")
    return tx.shorten(f"♪ {track.title or track.id} — {artist}", TITLE_CAP)


# ---- the plan -----------------------------------------------------------------------------------


def _allowed(gallery: Gallery, track: Track, options: Options) -> tuple[bool, str]:
    own = is_own_music(gallery.catalogue.name, track.id)
    return licence_verdict(track.licence, own, options.allow_licences)


def song_length(path: Path) -> float:
    """Seconds of audio in the file: the container's duration, else the decoded samples."""
    import av

    from builder.music.excerpt import ExcerptError, read_audio

    try:
        with av.open(str(path), metadata_errors="ignore") as c:
            if c.duration and c.duration > 0:
                return c.duration / 1_000_000
    except (av.FFmpegError, OSError, ValueError):
        pass
    try:
        return len(read_audio(path, 0.0, ONE_SONG_MAX_S, rate=8000, channels=1)) / 8000
    except ExcerptError as exc:
        raise FilmFileMissing(f"cannot play {path.name}: {exc}; build the gallery again") from None


def _the_song(
    folder: Path, gallery: Gallery, order: list[str], images: dict, options: Options
) -> tuple[Track, Path, str]:
    """--one-song: the track (--song, else the first track most pictures hear), its file, and why
    its licence allows a film."""
    heard: list[Track] = []
    every: dict[str, Track] = {}
    for f in order:
        first = None
        for t in images[f].tracks:
            if t.audio:
                every.setdefault(t.id, t)
                if first is None and _allowed(gallery, t, options)[0]:
                    first = t
        if first is not None:
            heard.append(first)
    if options.song is not None:
        track = every.get(options.song)
        if track is None:
            names = ", ".join(sorted(every)[:10]) or "none"
            raise UsageError(
                f"--song {options.song!r} is not a track of this gallery with audio "
                f"(its tracks: {names})"
            )
    elif heard:
        counts = Counter(t.id for t in heard)
        track = next(t for t in heard if counts[t.id] == max(counts.values()))
    else:
        raise UsageError(
            "--one-song: no track of the gallery may be put to pictures (see --allow-licence)"
        )
    ok, why = _allowed(gallery, track, options)
    if not ok:
        raise UsageError(
            f"--song {track.id}: {why}; --allow-licence TEXT uses it if you know its licence allows"
        )
    return replace(track, start=0.0), _file_in(folder, track.audio, "audio file"), why


def make_plan(folder: Path, gallery: Gallery, options: Options, store=None) -> Plan:
    """Chapters, the music heard in each, the cards' words, and what was left out. store: the asset
    store the fonts (and the songs' dynamic ratings) are found in; None: without CJK fonts."""
    warn: list[str] = []
    lang = language(gallery, warn)
    words = Words(lang)
    fonts = tx.font_files(lang, tx.cjk_fonts(store) if store is not None else ())
    images = {im.file: im for im in gallery.images}
    order = [f for f in (gallery.slideshow or [im.file for im in gallery.images]) if f in images]
    order = list(dict.fromkeys(order))  # a name listed twice is shown once
    shown: dict[str, tuple[Path, tuple[int, int]]] = {}
    for f in order:
        try:
            shown[f] = picture_copy(folder, images[f])
        except _Skip as why:
            warn.append(f"{f} is left out of the film: its picture copy {why}")
    order = [f for f in order if f in shown]
    if not order:
        raise UsageError(f"the gallery in {folder} holds no picture the film can show")
    title = tx.shorten(" ".join((gallery.title or folder.resolve().name).split()) or "—", TITLE_CAP)
    intro = tx.first_paragraph(gallery.intro or "", INTRO_CAP)
    seconds, xf = options.seconds, crossfade(options)

    left_out: dict[str, tuple[Track, str]] = {}
    why: dict[str, str] = {}
    audio: dict[str, Path] = {}  # the file of every track heard, by id
    song = None
    if options.one_song:
        song, song_file, why[song.id] = _the_song(folder, gallery, order, images, options)
        audio[song.id] = song_file

    # the music each picture hears, in order
    heard: dict[str, Track | None] = {}
    plays_on: dict[str, bool] = {}
    playing: Track | None = None
    for f in order:
        chosen = None
        for track in images[f].tracks if song is None else ():
            if not track.audio:
                continue  # a track the gallery does not play cannot be heard in the film either
            ok, reason = _allowed(gallery, track, options)
            if ok:  # only a track that will be heard must be there
                audio[track.id] = _file_in(folder, track.audio, "audio file")
                chosen = replace(track, start=max(0.0, track.start))
                why[track.id] = reason
                break
            left_out.setdefault(track.id, (track, reason))
        plays_on[f] = chosen is None and playing is not None and song is None
        playing = song or chosen or playing
        heard[f] = playing
    credited = list({t.id: t for t in heard.values() if t is not None}.values())
    left = [v for k, v in left_out.items() if k not in {m.id for m in credited}]

    notes = []
    if gallery.silent:  # the reason is long and for the curator: the summary and chapters have it
        notes.append(words.t("film_silent"))
    elif not credited:
        notes.append(words.t("film_silent_licences"))
    rows = [
        tx.shorten(
            f"{m.title or m.id} — {m.artist or words.t('film_unknown_artist')}"
            f" · {short_licence(m.licence)}",
            TITLE_CAP,
        )
        for m in credited
    ]
    pages = end_pages(
        options.size,
        words.t("film_music") if credited else words.t("film_no_music"),
        rows,
        reading_credits(gallery, words) + notes,
        fonts,
    )
    end_total = sum(end_seconds(p) for p in pages)

    feelings: list[tuple[float, float] | None] = [None] * len(order)
    how = "slideshow"
    if song is not None:
        length = min(song_length(audio[song.id]), ONE_SONG_MAX_S)
        seconds = (length - TITLE_S - end_total) / len(order)
        if seconds < ONE_SONG_MIN_S:
            seconds = ONE_SONG_MIN_S
            warn.append(
                f"the song lasts {length:.0f} s: too short for {len(order)} pictures of at least "
                f"{ONE_SONG_MIN_S:g} s each, so it plays again"
            )
        seconds = min(seconds, 600.0)
        options = replace(options, seconds=round(seconds, 3))
        xf = crossfade(options)
        from builder.film.order import follow_song

        order, feelings, how = follow_song(
            order, images, song, gallery, store, TITLE_S, seconds, length
        )

    chapters = [Chapter("title", 0.0, TITLE_S, words.t("film_title_card"))]
    chapters[0].items = title_items(title, intro, len(order), notes, words)
    t = TITLE_S
    for k, f in enumerate(order):
        im, music = images[f], heard[f]
        path, pixels = shown[f]
        heading = picture_title(im)
        caption = tx.shorten((im.description or "").strip(), CAPTION_CAP)
        chapters.append(
            Chapter(
                "picture",
                t,
                t + seconds,
                heading,
                file=f,
                image=path,
                music=music,
                plays_on=plays_on[f],
                caption="" if caption == heading else caption,
                track_line=track_line(music, words) if music is not None else "",
                pixels=pixels,
                feeling=feelings[k],
            )
        )
        t += seconds
    for n, page in enumerate(pages):
        name = words.t("film_end_card") + (f" {n + 1}/{len(pages)}" if len(pages) > 1 else "")
        chapters.append(Chapter("end", t, t + end_seconds(page), name, items=page))
        t += end_seconds(page)
    duration = t
    end_s = chapters[-1].end - chapters[-1 - (len(pages) - 1)].start

    segments: list[Segment] = []
    if song is not None:
        segments.append(
            Segment(song, audio[song.id], 0.0, duration, 0.5, min(3.0, end_s), decode_s=length)
        )
    else:
        # consecutive chapters hearing the same track, its sound overlapping the neighbours' by
        # the crossfade
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
        if segments:  # the last track plays on under the end cards and fades out with them
            segments[-1].a1, segments[-1].fade_out = duration, min(3.0, end_s)

    drawn = " ".join(
        [title, intro, *rows, *(c.heading + c.caption + c.track_line for c in chapters)]
    )
    gone = tx.missing(drawn, fonts)
    if gone:
        warn.append(
            f"the film's fonts have no glyph for {len(gone)} character(s) of its text ({gone}): "
            "they show as boxes; install the package justmytype-intl-cjk, or run "
            "`builder assets fetch noto-sans-jp` where there is internet"
        )
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
        warn,
        lang=lang,
        fonts=fonts,
        why=why,
        order=how,
        song=song,
    )
