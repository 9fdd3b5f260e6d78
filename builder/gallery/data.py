"""The gallery's data: gallery.json (the output contract, which pages never load) and the classic
scripts the pages read instead, each setting a global, since pages opened from file:// cannot fetch:

  catalogue.js               window.CATALOGUE: the catalogue used, for exploring the plane
  film.js                    window.GALLERY_FILM: null until `builder film` writes a film into OUT
  static/messages.js         window.GALLERY_MESSAGES: the visitor's words in the gallery's language
  data/columns.js            window.GALLERY_COLUMNS: the column names of the shards' rows, by kind
  data/study.js              window.GALLERY_STUDY: the visitors' study (--study): each picture and
                             the excerpts a visitor rates for it (study_data)
  data/view-N.js, data/slides-N.js, data/names-N.js
                             window.GALLERY_SHARDS["<kind>-N"]: SHARD_SIZE rows each, loaded on
                             demand (the index's viewer, the slideshow, the search by name)

The scripts read a row's fields by the names in data/columns.js, never by a copied position.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from builder.gallery.copies import Copies
from builder.gallery.text import (
    Words,
    alt_text,
    display_name,
    explain,
    moved_text,
    plot_summary,
    quadrant_pictures,
    seen_labels,
)
from builder.records import Gallery, ImageRecord, Track

SHARD_SIZE = 1000  # pictures per data file of the viewer, the slideshow and the name search
# what the index's viewer shows and plays of each picture, in gallery order (data/view-N.js);
# "title" is the picture's name (its title, else its file name without extension), "caption" the
# curator's (or its metadata's) description, "seen" the labels seen with confidence (English)
VIEW_COLUMNS = (
    "id", "page", "image", "width", "height", "srcset", "title", "alt", "track", "quadrant", "why",
    "summary", "thumb", "seen", "moved", "caption",
)  # fmt: skip
# what a slide shows and plays, in slideshow order (data/slides-N.js); "title" and "artist" are of
# the picture's first track, "audio..." of the track it plays (its first with audio); "name" and
# "caption" are the picture's; "width" and "height" its own pixels (the wall never enlarges it
# beyond twice those), "background" a calm colour taken from it, for the wall's margins
SLIDE_COLUMNS = (
    "file", "image", "alt", "title", "artist", "audio", "audio_title", "audio_artist", "track",
    "name", "caption", "width", "height", "background",
)  # fmt: skip
# the index's search (data/names-N.js): by title and file name; "title" is the picture's name
NAME_COLUMNS = ("file", "page", "thumb", "quadrant", "title")
TRACK_COLUMNS = ("id", "title", "artist", "licence", "audio", "start")  # a "track" cell
CATALOGUE_COLUMNS = ("id", "valence", "arousal", "title", "artist", "genre", "audio", "licence")
COLUMNS = {"view": VIEW_COLUMNS, "slides": SLIDE_COLUMNS, "names": NAME_COLUMNS}


def script_json(data: bytes) -> str:
    """JSON that is safe inside a classic <script>: no '</script>' break-out, no HTML comment
    tricks."""
    text = data.decode("utf-8")
    for ch, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(ch, esc)
    return text


def _global(name: str, value: Any) -> str:
    """A classic script that sets window.<name> to value."""
    return f"window.{name} = {script_json(orjson.dumps(value))};\n"


def row(columns: Sequence[str], **cells: Any) -> list:
    """A data row: the cells in the order of columns, each named (so no cell lands in another's
    column)."""
    if set(cells) != set(columns):
        raise ValueError(f"cells {sorted(cells)} are not the columns {sorted(columns)}")
    return [cells[c] for c in columns]


def page_id(page: str) -> str:
    """The viewer's name for a picture: its page's file stem (index.html#<id> opens it)."""
    return Path(page).stem


def playing(im: ImageRecord) -> Track | None:
    """The track the viewer and the slideshow play for a picture: its first with audio."""
    return next((t for t in im.tracks if t.audio), None)


def calm(colour: str) -> str:
    """A calm background from a picture's mean colour (#rrggbb): the colour, muted and darkened, so
    that the picture stands out and light text stays legible on it; a dark grey without one."""
    if len(colour) != 7 or not colour.startswith("#"):
        return "#161616"
    r, g, b = (int(colour[k : k + 2], 16) for k in (1, 3, 5))
    grey = (r + g + b) / 3
    mixed = (round(0.25 * (0.6 * c + 0.4 * grey) + 0.75 * 18) for c in (r, g, b))
    return "#" + "".join(f"{c:02x}" for c in mixed)


def track_row(t: Track | None) -> list | None:
    """A track cell (TRACK_COLUMNS): start is where the track stops being quiet (Track.start)."""
    if t is None:
        return None
    return row(
        TRACK_COLUMNS,
        id=t.id,
        title=t.title,
        artist=t.artist,
        licence=t.licence or "",
        audio=t.audio,
        start=float(t.start),
    )


def write_gallery_json(out: Path, gallery: Gallery) -> None:
    """gallery.json (Gallery.to_json)."""
    (out / "gallery.json").write_bytes(gallery.to_json())


def write_catalogue(out: Path, name: str, tracks: Sequence[Track], audio: Callable) -> None:
    """catalogue.js: every track of the catalogue used; audio(track) gives its path inside OUT, or
    None where the gallery does not carry it."""
    rows = [
        row(
            CATALOGUE_COLUMNS,
            id=t.id,
            valence=t.valence,
            arousal=t.arousal,
            title=t.title,
            artist=t.artist,
            genre=t.genre,
            audio=audio(t),
            licence=t.licence,
        )
        for t in tracks
    ]
    table = {"name": name, "columns": list(CATALOGUE_COLUMNS), "tracks": rows}
    (out / "catalogue.js").write_text(_global("CATALOGUE", table), encoding="utf-8")


def write_film_placeholder(out: Path) -> None:
    """film.js: no film until `builder film` writes one into the gallery and overwrites this."""
    (out / "film.js").write_text("window.GALLERY_FILM = null;\n", encoding="utf-8")


def write_messages(out: Path, words: Words) -> None:
    """static/messages.js: the visitor's words in the gallery's language, for the scripts."""
    (out / "static" / "messages.js").write_text(
        _global("GALLERY_MESSAGES", words.messages), encoding="utf-8"
    )


def write_shards(
    out: Path,
    gallery: Gallery,
    renders: dict[str, Copies] | None = None,
    words: Words | None = None,
) -> None:
    """Classic scripts of SHARD_SIZE pictures each, loaded on demand: data/slides-N.js, the
    slideshow in its order; data/names-N.js, every picture's name, page, thumbnail and quadrant,
    for the index's search; data/view-N.js, in gallery order, what the index's in-page viewer shows
    and plays; and data/columns.js, the names of their columns."""
    (out / "data").mkdir()
    renders = renders or {}
    w = words or Words(gallery.lang)
    by_file = {im.file: im for im in gallery.images}
    slides = []
    for f in gallery.slideshow:
        im = by_file[f]
        t = playing(im)
        first = im.tracks[0] if im.tracks else None
        slides.append(
            row(
                SLIDE_COLUMNS,
                file=im.file,
                image=im.image,
                alt=alt_text(im),
                title=first.title if first else "",
                artist=first.artist if first else "",
                audio=t.audio if t else None,
                audio_title=t.title if t else "",
                audio_artist=t.artist if t else "",
                track=track_row(t),
                name=display_name(im),
                caption=im.description,
                width=im.width,
                height=im.height,
                background=calm(im.colour),
            )
        )
    names = [
        row(
            NAME_COLUMNS,
            file=im.file,
            page=im.page,
            thumb=im.thumb,
            quadrant=im.quadrant,
            title=display_name(im),
        )
        for im in gallery.images
    ]
    view = []
    counts = quadrant_pictures(gallery)
    for im in gallery.images:
        copies = renders.get(im.file)
        r = copies["image"] if copies else None
        size = r["size"] if r else (im.width, im.height)
        t = playing(im)
        view.append(
            row(
                VIEW_COLUMNS,
                id=page_id(im.page),
                page=im.page,
                image=im.image,
                width=size[0],
                height=size[1],
                srcset=", ".join(f"{path} {width}w" for path, width in r["jpg"]) if r else "",
                title=display_name(im),
                alt=alt_text(im),
                track=track_row(t),
                quadrant=im.quadrant,
                why=explain(im, gallery, w, counts).get(t.id, "") if t else "",
                summary=plot_summary(im, gallery, w),
                thumb=im.thumb,
                seen=seen_labels(im),
                moved=moved_text(im, w),
                caption=im.description,
            )
        )
    columns = {kind: list(names_) for kind, names_ in COLUMNS.items()}
    columns["track"] = list(TRACK_COLUMNS)
    (out / "data" / "columns.js").write_text(_global("GALLERY_COLUMNS", columns), encoding="utf-8")
    for kind, rows in (("slides", slides), ("names", names), ("view", view)):
        for k in range(0, max(len(rows), 1), SHARD_SIZE):
            body = script_json(orjson.dumps(rows[k : k + SHARD_SIZE]))
            name = f"{kind}-{k // SHARD_SIZE}"
            (out / "data" / f"{name}.js").write_text(
                f'(window.GALLERY_SHARDS = window.GALLERY_SHARDS || {{}})["{name}"] = {body};\n',
                encoding="utf-8",
            )


def study_data(gallery: Gallery) -> dict:
    """What the study page (static/study.js) needs of the gallery's study: its build id, the
    pictures a visit holds, the excerpts' length, and per picture its copy, its text alternative,
    the quadrant the gallery reads it in (a visit draws the quadrants evenly; the page never shows
    it) and what a visitor hears: one excerpt per distinct track, with the conditions that picked it
    (a track two conditions picked is played once and its score counts for both), and the conditions
    that could not recommend. No title or artist: the visitor rates the music blind."""
    study = gallery.study
    if study is None:
        raise ValueError("the gallery has no study")
    tracks = {t.id: t for t in study.tracks}
    pictures = []
    for im in gallery.images:
        picks = study.pictures.get(im.file)
        if picks is None:
            continue
        heard: dict[str, list[str]] = {}
        begins: dict[str, float] = {}  # where each excerpt begins (the picture's moment of it)
        fails = []
        for condition in study.conditions:
            track = picks[condition].track
            if track is None or not tracks[track].audio:
                fails.append(condition)
            else:
                heard.setdefault(track, []).append(condition)
                at = picks[condition].start
                begins.setdefault(track, tracks[track].start if at is None else at)
        pictures.append(
            {
                "file": im.file,
                "image": im.image,
                "width": im.width,
                "height": im.height,
                "alt": alt_text(im),
                "quadrant": im.quadrant,
                "excerpts": [
                    {
                        "track": track,
                        "audio": tracks[track].audio,
                        "start": float(begins[track] or 0.0),
                        "conditions": conditions,
                    }
                    for track, conditions in heard.items()
                ],
                "fails": fails,
            }
        )
    return {
        "gallery": study.gallery,
        "size": study.size,
        "excerpt": study.excerpt,
        "conditions": list(study.conditions),
        "pictures": pictures,
    }


def write_study(out: Path, gallery: Gallery) -> None:
    """data/study.js: the study page's data (study_data), a classic script."""
    (out / "data" / "study.js").write_text(
        _global("GALLERY_STUDY", study_data(gallery)), encoding="utf-8"
    )
