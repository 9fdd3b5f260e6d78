"""The gallery's pages: the Jinja environment and one context dataclass per page, whose fields are
all its template may use besides the globals (Globals); tests/test_pages.py holds each template to
them.

  index.html, index-2.html, index-q1.html ...   IndexContext: PAGE_SIZE cards a page, for all the
                                                pictures and for each quadrant's
  pages/<slug>.html                             PictureContext: one picture, its music and reasons
  slideshow.html                                SlideshowContext
  credits.html                                  CreditsContext
  study.html                                    StudyContext (a gallery built with --study)

Templates and their static files (site_template/) are package data: builder.site_template.
"""

from __future__ import annotations

import shutil
import tarfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import ClassVar

from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, select_autoescape

from builder.gallery import data
from builder.gallery.copies import Copies
from builder.gallery.data import page_id
from builder.gallery.text import (
    Words,
    alt_text,
    display_name,
    explain,
    feeling_words,
    method_words,
    moved,
    plot_summary,
    quadrant_pictures,
    reads_as,
    rule_text,
    seen_labels,
)
from builder.records import Gallery, ImageRecord, Study, Track

TEMPLATE_DIR = Path(str(resources.files("builder.site_template")))  # the wheel or the source tree
STATIC_FILES = (".css", ".js")  # what of site_template/static/ is copied into a gallery
PAGE_SIZE = 24  # cards per index page: the first screen stays light whatever the collection's size
PLOT_SIZE = 320
# what the viewer needs of the PhotoSwipe npm tarball (asset "photoswipe"): member -> name in static
VIEWER_FILES = {
    "package/dist/umd/photoswipe.umd.min.js": "photoswipe.umd.min.js",
    "package/dist/photoswipe.css": "photoswipe.css",
}
VIEWER_LICENCE = "package/LICENSE"


@dataclass(frozen=True)
class Globals:
    """What every template may use, whatever the page."""

    lang: str  # the language of every word the visitor reads (<html lang>)
    t: Callable[..., str]  # t("key", name=value): a message in that language (text.Words)
    tn: Callable[..., str]  # tn("key", n, ...): its singular or plural form by n
    quadrant_names: dict[int, str]  # quadrant 1-4 -> its name in that language
    title: str  # the exhibition's title (gallery.title, else the input folder's name)
    viewer: bool  # the viewer's library is in static/ (index pages load it)
    viewer_licence: str  # its licence text, for the credits page


@dataclass(frozen=True)
class Plot:
    """The inline SVG plane of a picture page, in its pixels."""

    size: int
    points: list[dict]  # {x, y, r, word, source, weight}
    centres: list[dict]  # {x, y, size, quadrant, track}
    tracks: list[dict]  # {x, y, title, id}
    av: dict  # {x, y}
    chosen: dict  # {x, y, w, h} rectangle of the chosen quadrant

    @staticmethod
    def xy(v: float, a: float, size: int = PLOT_SIZE) -> tuple[float, float]:
        pad = 16
        span = size - 2 * pad
        return round(pad + (v + 1) / 2 * span, 1), round(pad + (1 - a) / 2 * span, 1)

    @classmethod
    def of(cls, im: ImageRecord) -> Plot:
        s = PLOT_SIZE
        pts = []
        for i in im.impressions:
            x, y = cls.xy(i.valence * i.weight, i.arousal * i.weight)
            pts.append(
                {
                    "x": x,
                    "y": y,
                    "r": round(3 + 6 * i.weight, 1),
                    "word": i.word,
                    "source": i.source,
                    "weight": i.weight,
                }
            )
        centres = [
            dict(zip("xy", cls.xy(*c.centre)), size=c.size, quadrant=c.quadrant, track=c.track)
            for c in im.clusters
        ]
        tracks = [
            dict(zip("xy", cls.xy(t.valence, t.arousal)), title=t.title, id=t.id) for t in im.tracks
        ]
        # the ring: where music was looked for (learned: the target, in the music's frame), else the
        # feeling
        half = s / 2
        qx = {1: half, 2: 16, 3: 16, 4: half}[im.quadrant]
        qy = {1: 16, 2: 16, 3: half, 4: half}[im.quadrant]
        chosen = {"x": qx, "y": qy, "w": half - 16, "h": half - 16}
        return cls(s, pts, centres, tracks, dict(zip("xy", cls.xy(*(im.target or im.av)))), chosen)


@dataclass(frozen=True)
class PageContext:
    """What every page is given."""

    template: ClassVar[str]
    root: str  # the relative way back to OUT: "" on OUT's own pages, "../" on picture pages


@dataclass(frozen=True)
class IndexContext(PageContext):
    """One page of the index: of all the pictures, or of one quadrant's."""

    template: ClassVar[str] = "index.html"
    gallery: Gallery  # the whole build
    images: list[ImageRecord]  # this page's cards
    renders: dict[str, Copies]  # picture file -> its copies (the thumbnails' srcset)
    position: dict[str, int]  # picture file -> its place in gallery order (the viewer's numbering)
    quadrant: int | None  # the quadrant this listing shows, None for all the pictures
    page: int  # this page's number in its listing, from 1
    pages: int  # the listing's number of pages
    counts: dict[int, int]  # quadrant -> its number of pictures (the filter's labels)
    page_name: Callable[[int], str]  # page n of this listing -> its file name
    filter_name: Callable[[int | None], str]  # a quadrant (None: all) -> its listing's first page
    shards: int  # the number of name shards the search reads (data/names-N.js)
    shard_size: int  # pictures a shard (the viewer finds a picture's shard by its place)

    @classmethod
    def of(
        cls,
        gallery: Gallery,
        renders: dict[str, Copies] | None = None,
        images: list[ImageRecord] | None = None,
        quadrant: int | None = None,
        page: int = 1,
        pages: int = 1,
        counts: dict[int, int] | None = None,
        position: dict[str, int] | None = None,
    ) -> IndexContext:
        """Page `page` of `pages` of a listing; by default the first of all the pictures."""
        images = list(gallery.images[:PAGE_SIZE]) if images is None else images
        counts = counts or {q: sum(im.quadrant == q for im in gallery.images) for q in (1, 2, 3, 4)}
        if position is None:
            position = {im.file: i for i, im in enumerate(gallery.images)}
        return cls(
            root="",
            gallery=gallery,
            images=images,
            renders=renders or {},
            position=position,
            quadrant=quadrant,
            page=page,
            pages=pages,
            counts=counts,
            page_name=lambda n: index_name(quadrant, n),
            filter_name=lambda q: index_name(q, 1),
            shards=-(-len(gallery.images) // data.SHARD_SIZE),
            shard_size=data.SHARD_SIZE,
        )


@dataclass(frozen=True)
class PictureContext(PageContext):
    """A picture's own page (pages/<slug>.html): for search engines, shared links and browsers
    without scripts."""

    template: ClassVar[str] = "image.html"
    image: ImageRecord  # the picture of this page
    plot: Plot  # coordinates for the inline SVG plane
    prev: ImageRecord | None  # the picture before it in gallery order, or None
    next: ImageRecord | None  # the picture after it, or None
    why: dict[str, str]  # track id -> why this music, in words (text.explain)
    renders: dict[str, Copies]  # picture file -> its copies (the photo's srcset)
    summary: str  # the plane in words, for people who cannot see it (text.plot_summary)
    quadrant_rule: str  # how the picture's quadrant was decided, in words
    feeling: str  # where the picture reads on the plane, in words (text.feeling_words)
    track_feeling: dict[str, str]  # track id -> how the track feels, in words
    moved: list[str]  # what moved the reading most, each group in words (text.moved)
    seen: list[str]  # what the classifiers saw with confidence (text.seen_labels; English labels)

    @classmethod
    def of(
        cls,
        gallery: Gallery,
        i: int,
        words: Words,
        renders: dict[str, Copies] | None = None,
        counts: Counter[int] | None = None,
    ) -> PictureContext:
        """The page of gallery.images[i] (counts: text.quadrant_pictures, counted once for all
        pages)."""
        im = gallery.images[i]
        return cls(
            root="../",
            image=im,
            plot=Plot.of(im),
            prev=gallery.images[i - 1] if i > 0 else None,
            next=gallery.images[i + 1] if i + 1 < len(gallery.images) else None,
            why=explain(im, gallery, words, counts),
            renders=renders or {},
            summary=plot_summary(im, gallery, words),
            quadrant_rule=rule_text(im, words),
            feeling=feeling_words(im.av, words),
            track_feeling={
                t.id: words.t("track_feels", feeling=feeling_words((t.valence, t.arousal), words))
                for t in im.tracks
            },
            moved=moved(im, words),
            seen=seen_labels(im),
        )


@dataclass(frozen=True)
class SlideshowContext(PageContext):
    """The slideshow (slideshow.html, and slideshow.html#kiosk); its slides come from the data
    shards."""

    template: ClassVar[str] = "slideshow.html"
    gallery: Gallery  # the whole build (its pictures in slideshow order)
    shard_size: int  # slides a shard (data/slides-N.js)
    first: ImageRecord | None  # the first slide's picture (shown before the script runs)

    @classmethod
    def of(cls, gallery: Gallery) -> SlideshowContext:
        by_file = {im.file: im for im in gallery.images}
        first = by_file.get(gallery.slideshow[0]) if gallery.slideshow else None
        return cls(root="", gallery=gallery, shard_size=data.SHARD_SIZE, first=first)


@dataclass(frozen=True)
class CreditsContext(PageContext):
    """How this gallery was made (credits.html): the method, every track used, data and models."""

    template: ClassVar[str] = "credits.html"
    gallery: Gallery  # the whole build (its method and catalogue)
    tracks: list[Track]  # every recommended track once, in order of first use
    method: str  # how the pictures were read, in words (text.method_words)

    @classmethod
    def of(cls, gallery: Gallery, words: Words | None = None) -> CreditsContext:
        w = words or Words(gallery.lang)
        return cls(
            root="",
            gallery=gallery,
            tracks=used_tracks(gallery),
            method=method_words(gallery.method, w),
        )


@dataclass(frozen=True)
class StudyContext(PageContext):
    """The visitors' study (study.html; study.html#kiosk for visitor after visitor,
    study.html#export for the curator's export) in a gallery built with --study; what a visit shows
    and plays comes from data/study.js (static/study.js)."""

    template: ClassVar[str] = "study.html"
    study: Study  # the gallery's study: the pictures a visit holds (size), the --study-text HTML

    @classmethod
    def of(cls, gallery: Gallery) -> StudyContext:
        if gallery.study is None:
            raise ValueError("the gallery has no study")
        return cls(root="", study=gallery.study)


PAGES = (IndexContext, PictureContext, SlideshowContext, CreditsContext, StudyContext)


class _TemplateCache(FileSystemBytecodeCache):
    """Compiled templates kept between builds (each checked against its source by Jinja); a cache
    that cannot take them costs the compilation next time, never the build."""

    def dump_bytecode(self, bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def environment(
    words: Words | None = None,
    title: str = "",
    viewer_licence: str | None = None,
    cache_dir: Path | None = None,
) -> Environment:
    """Templates with the gallery's words (Globals). cache_dir: where the compiled templates are
    kept between builds; without it, or where it cannot be made, they are compiled every build."""
    bytecode = None
    if cache_dir is not None:
        try:
            (cache_dir / "templates").mkdir(parents=True, exist_ok=True)
            bytecode = _TemplateCache(str(cache_dir / "templates"))
        except OSError:
            pass
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        bytecode_cache=bytecode,
        autoescape=select_autoescape(["html", "svg"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    w = words or Words()
    env.filters["srcset"] = lambda items, root="": ", ".join(
        f"{root}{path} {width}w" for path, width in items
    )
    env.filters["page_id"] = page_id
    env.filters["name"] = display_name  # a picture's title, else its file name without extension
    env.filters["alt"] = alt_text  # the one rule for a picture's alt text, as the viewer's rows
    env.filters["reads_as"] = lambda q: reads_as(q, w)  # "reads as calm–pleasant"
    site = Globals(
        lang=w.lang,
        t=w.t,
        tn=w.tn,
        quadrant_names={q: w.quadrant(q) for q in (1, 2, 3, 4)},
        title=title,
        viewer=viewer_licence is not None,
        viewer_licence=viewer_licence or "",
    )
    env.globals.update({f.name: getattr(site, f.name) for f in fields(site)})
    return env


def render(env: Environment, page: PageContext) -> str:
    """The page's template given exactly the page's fields (and the globals)."""
    return env.get_template(page.template).render(
        {f.name: getattr(page, f.name) for f in fields(page)}
    )


def used_tracks(gallery: Gallery) -> list[Track]:
    """Every recommended track once, in order of first use."""
    seen: dict[str, Track] = {}
    for im in gallery.images:
        for t in im.tracks:
            seen.setdefault(t.id, t)
    return list(seen.values())


def index_name(quadrant: int | None, page: int) -> str:
    """index.html, index-2.html, ...; a quadrant's pictures: index-q1.html, index-q1-2.html, ..."""
    stem = "index" if quadrant is None else f"index-q{quadrant}"
    return f"{stem}.html" if page == 1 else f"{stem}-{page}.html"


def write_pages(
    out: Path, env: Environment, gallery: Gallery, renders: dict[str, Copies], words: Words
) -> None:
    """Every page of the gallery into out."""
    write_index_pages(out, env, gallery, renders)
    (out / "slideshow.html").write_text(render(env, SlideshowContext.of(gallery)), encoding="utf-8")
    (out / "credits.html").write_text(
        render(env, CreditsContext.of(gallery, words)), encoding="utf-8"
    )
    if gallery.study is not None:
        (out / "study.html").write_text(render(env, StudyContext.of(gallery)), encoding="utf-8")
    counts = quadrant_pictures(gallery)
    for i, im in enumerate(gallery.images):
        page = PictureContext.of(gallery, i, words, renders, counts)
        (out / im.page).write_text(render(env, page), encoding="utf-8")


def write_index_pages(
    out: Path, env: Environment, gallery: Gallery, renders: dict[str, Copies]
) -> None:
    """The index in pages of PAGE_SIZE cards, for all pictures and for each quadrant: plain HTML, so
    paging and the quadrant filter work without scripts; searching by name loads the name shards."""
    by_quadrant = {q: [im for im in gallery.images if im.quadrant == q] for q in (1, 2, 3, 4)}
    position = {im.file: i for i, im in enumerate(gallery.images)}
    counts = {q: len(v) for q, v in by_quadrant.items()}
    for quadrant, images in [(None, list(gallery.images)), *by_quadrant.items()]:
        pages = max(1, -(-len(images) // PAGE_SIZE))
        for page in range(1, pages + 1):
            cards = images[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
            context = IndexContext.of(
                gallery, renders, cards, quadrant, page, pages, counts, position
            )
            (out / index_name(quadrant, page)).write_text(render(env, context), encoding="utf-8")


def copy_static(out: Path, viewer: Path | None, study: bool = False) -> str | None:
    """The pages' styles and scripts into out/static (the study's, static/study.*, only into a
    gallery that has one), with the viewer's files when its tarball is given; returns the viewer's
    licence text (None without it)."""
    for f in sorted((TEMPLATE_DIR / "static").iterdir()):
        if f.suffix in STATIC_FILES and (study or f.stem != "study"):
            shutil.copyfile(f, out / "static" / f.name)
    return copy_viewer(viewer, out / "static") if viewer is not None else None


def copy_viewer(tgz: Path, static: Path) -> str:
    """Copy the viewer's files out of the PhotoSwipe npm tarball into static/; returns its licence
    text."""
    with tarfile.open(tgz, "r:gz") as tar:
        for member, name in VIEWER_FILES.items():
            src = tar.extractfile(member)
            if src is None:  # pragma: no cover - the tarball is checked by its sha256
                raise FileNotFoundError(f"{tgz.name} has no {member}")
            with src, open(static / name, "wb") as out:
                shutil.copyfileobj(src, out)
        licence = tar.extractfile(VIEWER_LICENCE)
        return licence.read().decode("utf-8") if licence else ""
