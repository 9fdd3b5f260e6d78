"""Writes the static gallery: pages that open from file:// and from any static host.

Layout of OUT:
  index.html              thumbnails of every picture
  pages/<slug>.html        one page per picture (links are relative, so the folder can move)
  img/<slug>-<side>.webp|jpg, thumbs/...  display copies (<= 1600 px) and thumbnails (<= 480 px): WebP at each
                           size, JPEG at the largest only (the <img> fallback); sRGB
  audio/<id>.mp3           only the audio of tracks actually recommended
  index-2.html, index-q1.html ...  further pages of the index, and each quadrant's pages (PAGE_SIZE cards each)
  gallery.json             the output contract (README "Output")
  film.js                  `window.GALLERY_FILM = null;` until `builder film` writes a film into the gallery
  data/slides-N.js, data/names-N.js  the slideshow's and the search's data, SHARD_SIZE pictures a classic script
  data/view-N.js           the viewer's data (what the in-page viewer shows and plays), in gallery order
  music-index.hnsw         the hnswlib index of the catalogue used
  static/                  CSS and JS; messages.js (the visitor's words in the gallery's language, for scripts);
                           photoswipe.umd.min.js, photoswipe.css (the viewer, copied from the npm tarball)

Everything is written to a temporary folder beside OUT and swapped in at the end, so a failed or interrupted
build leaves the previous gallery as it was.

Template context (what templates may use):
  gallery   records.Gallery     the whole build
  image     records.ImageRecord the picture of this page (picture pages only)
  plot      Plot                coordinates for the inline SVG plane (picture pages only)
  prev/next records.ImageRecord neighbours for navigation, or None
  why       dict[str, str]      track id -> why this music (picture pages only)
  quadrant_rule str             how this picture's quadrant was decided, in words (picture pages only)
  root      str                 relative prefix back to OUT ("" on index.html, "../" on picture pages)
  quadrant_names dict[int, str] the quadrants' names in the gallery's language
  t(key, **values) / tn(key, n, **values)   a message of the gallery's language (tn: singular or plural by n)
  title     str                 the exhibition's title (gallery.title, else the input folder's name)
  viewer    bool                the viewer's library is in static/ (index pages load it)
  viewer_licence str            its licence text, for the credits page
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any, cast

import numpy as np
import orjson
from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, select_autoescape
from PIL import Image

from builder import signals
from builder.errors import ImageError
from builder.files import atomic_path
from builder.gallery.outdir import (
    carry_foreign,
    exchange,
    foreign_files,
    locked,
    normal_permissions,
    sync_tree,
    write_marker,
)
from builder.images import named_bytes, open_upright, read_verified
from builder.records import Failure, Gallery, ImageRecord, Track

TEMPLATE_DIR = Path(
    str(resources.files("builder.site_template"))
)  # package data: wheel or source tree
STATIC_FILES = (".css", ".js")  # what of site_template/static/ is copied into a gallery
DISPLAY_SIDES, THUMB_SIDES = (
    (1024, 1600),
    (240, 480),
)  # srcset widths (longest side); JPEG and WebP each
PLOT_SIZE = 320
PAGE_SIZE = 24  # cards per index page: the first screen stays light whatever the collection's size
THUMB_WEBP_QUALITY = 65  # thumbnails are seen small and many at a time (display copies: 80)
SHARD_SIZE = 1000  # pictures per data file of the slideshow and of the name search
VIEW_COLUMNS = (
    "id", "page", "image", "width", "height", "srcset", "title", "alt", "track", "quadrant", "why", "summary", "thumb",
    "seen", "moved",
)  # fmt: skip
MESSAGES_DIR = (
    Path(__file__).parent / "messages"
)  # one catalogue per language: en.json is the reference
# what the viewer needs of the PhotoSwipe npm tarball (asset "photoswipe"): tarball member -> name in static/
VIEWER_FILES = {
    "package/dist/umd/photoswipe.umd.min.js": "photoswipe.umd.min.js",
    "package/dist/photoswipe.css": "photoswipe.css",
}
VIEWER_LICENCE = "package/LICENSE"


def load_messages(lang: str = "en") -> dict[str, str]:
    """The visitor's words in one language. A key missing from a catalogue falls back to English (a test keeps
    every catalogue complete, so this only guards a half-written third language)."""
    english = json.loads((MESSAGES_DIR / "en.json").read_text(encoding="utf-8"))
    if lang == "en":
        return english
    return {**english, **json.loads((MESSAGES_DIR / f"{lang}.json").read_text(encoding="utf-8"))}


class Words:
    """t("key", name=value) formats a message; tn("key", n) picks key_one or key_other by n."""

    def __init__(self, lang: str = "en"):
        self.lang = lang
        self.messages = load_messages(lang)

    def t(self, key: str, **values) -> str:
        text = self.messages[
            key
        ]  # a missing key is a bug in a template: fail the build loudly, in tests
        return text.format(**values) if values else text

    def tn(self, key: str, n: int, **values) -> str:
        return self.t(f"{key}_one" if n == 1 else f"{key}_other", n=n, **values)

    def quadrant(self, q: int) -> str:
        return self.t(f"quadrant_{q}")


def copy_viewer(tgz: Path, static: Path) -> str:
    """Copy the viewer's files out of the PhotoSwipe npm tarball into static/; returns its licence text."""
    with tarfile.open(tgz, "r:gz") as tar:
        for member, name in VIEWER_FILES.items():
            src = tar.extractfile(member)
            if src is None:  # pragma: no cover - the tarball is checked by its sha256
                raise FileNotFoundError(f"{tgz.name} has no {member}")
            with src, open(static / name, "wb") as out:
                shutil.copyfileobj(src, out)
        licence = tar.extractfile(VIEWER_LICENCE)
        return licence.read().decode("utf-8") if licence else ""


def slug_for(rel: str) -> str:
    """A safe, unique file stem for a picture: readable part + hash of the whole relative path."""
    without_ext = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", rel)
    stem = re.sub(r"[^a-z0-9]+", "-", without_ext.lower()).strip("-")[:60] or "picture"
    return f"{stem}-{hashlib.sha256(rel.encode()).hexdigest()[:8]}"


def script_json(data: bytes) -> str:
    """JSON that is safe inside a classic <script>: no '</script>' break-out, no HTML comment tricks."""
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


@dataclass(frozen=True)
class Plot:
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
        # the ring: where music was looked for (learned: the target, in the music's frame), else the feeling
        half = s / 2
        qx = {1: half, 2: 16, 3: 16, 4: half}[im.quadrant]
        qy = {1: 16, 2: 16, 3: half, 4: half}[im.quadrant]
        chosen = {"x": qx, "y": qy, "w": half - 16, "h": half - 16}
        return cls(s, pts, centres, tracks, dict(zip("xy", cls.xy(*(im.target or im.av)))), chosen)


def explain(im: ImageRecord, method: str = "", words: Words | None = None) -> dict[str, str]:
    """Per recommended track, a sentence (in the gallery's language) tracing it back to what pulled it there."""
    w = words or Words()
    notes: dict[str, str] = {}
    if method.startswith("learned"):
        for n, t in enumerate(im.tracks):
            ordinal = w.t(f"ordinal_{n + 1}") if n + 1 in (2, 3) else w.t("ordinal_n", n=n + 1)
            notes[t.id] = (
                w.t("why_learned_first") if n == 0 else w.t("why_learned_other", ordinal=ordinal)
            )
        return notes
    for c in im.clusters:
        if c.track is None or c.track in notes or c.track not in {t.id for t in im.tracks}:
            continue
        members = [im.impressions[i] for i in c.members if i < len(im.impressions)]
        if not members:
            continue
        top_words = list(dict.fromkeys(m.word for m in sorted(members, key=lambda m: -m.weight)))[
            :5
        ]
        sources = list(dict.fromkeys(m.source for m in sorted(members, key=lambda m: -m.weight)))[
            :5
        ]
        notes[c.track] = w.tn(
            "why_cluster",
            len(members),
            words=", ".join(top_words),
            sources=", ".join(repr(s) for s in sources),
            quadrant=w.quadrant(c.quadrant),
        )
    for t in im.tracks:
        if t.id not in notes:
            notes[t.id] = (
                w.t("why_fallback", fallback=im.fallback)
                if im.fallback
                else w.t("why_chosen_quadrant")
            )
    return notes


def page_id(page: str) -> str:
    """The viewer's name for a picture: its page's file stem (index.html#<id> opens it)."""
    return Path(page).stem


class _TemplateCache(FileSystemBytecodeCache):
    """Compiled templates kept between builds (each checked against its source by Jinja); a cache that cannot
    take them costs the compilation next time, never the build."""

    def dump_bytecode(self, bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _environment(
    lang: str = "en",
    title: str = "",
    viewer_licence: str | None = None,
    cache_dir: Path | None = None,
) -> Environment:
    """Templates with the gallery's words: t/tn/quadrant_names speak its language (builder/gallery/messages/).
    cache_dir: where the compiled templates are kept between builds (Jinja checks each against its source)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        bytecode_cache=_TemplateCache(str(cache_dir / "templates")) if cache_dir else None,
        autoescape=select_autoescape(["html", "svg"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    words = Words(lang)
    env.filters["pct"] = lambda x: f"{100 * x:.0f} %"
    env.filters["srcset"] = lambda items, root="": ", ".join(
        f"{root}{path} {w}w" for path, w in items
    )
    env.filters["page_id"] = page_id
    env.globals.update(
        words=words,
        t=words.t,
        tn=words.tn,
        lang=lang,
        quadrant_names={q: words.quadrant(q) for q in (1, 2, 3, 4)},
        title=title,
        viewer=viewer_licence is not None,
        viewer_licence=viewer_licence or "",
    )
    return env


RENDER_VERSION = "4"  # bump when rendered copies change, so cached ones are not reused


def _valid_image(path: Path) -> tuple[int, int] | None:
    """A cached render's size, if it is whole: a JPEG from its start-of-image to its end-of-image marker, a WebP
    whose RIFF length is the file's, and a header Pillow reads; None (and the entry removed) otherwise. Renders
    are written atomically, so this catches a copy cut short or replaced by other bytes without decoding every
    pixel of every copy."""
    size = None
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            f.seek(-2, os.SEEK_END)
            tail = f.read(2)
            length = f.seek(0, os.SEEK_END)
        if path.suffix == ".jpg":
            whole = head[:2] == b"\xff\xd8" and tail == b"\xff\xd9"
        else:
            whole = (
                head[:4] == b"RIFF"
                and head[8:12] == b"WEBP"
                and int.from_bytes(head[4:8], "little") + 8 == length
            )
        if whole:
            with Image.open(path) as im:
                size = im.size if im.size[0] > 0 and im.size[1] > 0 else None  # the header parses
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - any reading error means a damaged cache entry: recompute it
        size = None
    if size is None:
        path.unlink(missing_ok=True)
    return size


def _render_copy(
    src: Path,
    dest: Path | None,
    side: int,
    cache_dir: Path,
    sha: str,
    fmt: str = "jpg",
    source=None,
    webp_quality: int = 80,
) -> tuple[int, int]:
    """Scaled copy (JPEG or WebP), cached by content hash, size, format and render version. Returns its size.

    The copy is made in the cache, then copied to dest (dest None: only the cache, as the analysis workers make
    copies ahead of the site, see cache_copies). A cache that cannot take it costs speed, never the build: the
    copy is then written straight to dest.
    source: a callable giving the upright picture at this size (a _Decoded), so a picture's copies decode it once.
    """
    quality = f"-q{webp_quality}" if fmt == "webp" else ""
    cached = cache_dir / "renders" / f"{sha}-{side}{quality}-v{RENDER_VERSION}.{fmt}"
    size = _valid_image(cached)
    if size is not None:
        if dest is not None:
            _link_or_copy(cached, dest)
        return size
    im: Image.Image
    if source is not None:
        im = source(side)
    else:
        im = open_upright(src, side, srgb=True)[0]
        im.thumbnail((side, side), Image.Resampling.LANCZOS)
    try:
        with atomic_path(cached, durable=False) as tmp:  # a cache entry: checked when read
            _encode(im, tmp, fmt, webp_quality)
    except OSError:
        if dest is None:
            return im.size
        with atomic_path(
            dest, durable=False
        ) as tmp:  # synced with the whole gallery before the swap
            _encode(im, tmp, fmt, webp_quality)
        return im.size
    if dest is not None:
        _link_or_copy(cached, dest)
    return im.size


def _link_or_copy(cached: Path, dest: Path) -> None:
    """The gallery's copy of a cached render: a hard link where the cache and the gallery share a file system (no
    bytes copied, and none left to sync before the swap), else a copy. A cache entry is never written in place
    (atomic_path makes a new file), so a gallery linked to an old entry keeps that entry's bytes."""
    try:
        os.link(cached, dest)
    except (
        OSError
    ):  # another file system, a file system without links, or a cache owned by someone else
        shutil.copyfile(cached, dest)


def _encode(im: Image.Image, path: Path, fmt: str, webp_quality: int) -> None:
    if fmt == "webp":
        im.save(path, "WEBP", quality=webp_quality, method=1)  # 2: 20 % slower for 5 % fewer bytes
    else:
        im.save(
            path, "JPEG", quality=85
        )  # baseline: a fifth of progressive's time, for a fallback copy


class _Decoded:
    """One picture's pixels for its copies: decoded once, on the first copy the cache lacks, at the largest size
    any copy needs (a JPEG is decoded scaled down already: Pillow's draft), converted to sRGB; each smaller size
    is then made from the smallest larger one already made (cheaper than from the full decode, and as sharp)."""

    def __init__(self, src: Path, sha: str, largest: int, data: bytes | None = None):
        self.src, self.sha, self.largest, self.data = src, sha, largest, data
        self.sizes: dict[int, Image.Image] = {}  # longest side -> the picture at that size

    def __call__(self, side: int) -> Image.Image:
        if side in self.sizes:
            return self.sizes[side]
        if not self.sizes:
            raw = (
                read_verified(self.src, self.sha)
                if self.data is None
                else named_bytes(self.data, self.src.name)
            )
            full = open_upright(raw, self.largest, srgb=True)[0]
            self.sizes[max(full.size)] = full
        base = min((s for s in self.sizes if s >= side), default=max(self.sizes))
        im = self.sizes[base].copy()
        im.thumbnail((side, side), Image.Resampling.LANCZOS)
        self.sizes[side] = im
        return im


NEAR = 1.25  # a copy this close above a size serves for it: no browser needs a 480 px copy of a 500 px picture


def _render_set(
    src: Path,
    folder: Path | None,
    slug: str,
    sides: tuple[int, ...],
    cache_dir: Path,
    sha: str,
    natural: int,
    webp_quality: int = 80,
    source: _Decoded | None = None,
    made: dict | None = None,
) -> dict:
    """Every size in WebP, and the largest also in JPEG; returns srcsets (relative to OUT) and the JPEG with its
    size. Every current browser shows WebP, so the one JPEG is what the <img> inside <picture> falls back to for
    a browser that does not, and the copy gallery.json, the slideshow and the search name (the `renders` shape
    the templates read is kept: "jpg" is a one-element list).

    folder None: the copies are only made in the cache (cache_copies).
    natural: the picture's longest side; pictures are never enlarged, so sizes above it collapse into one.
    made: the copies of this picture made so far ({side: {fmt: (name, (w, h))}}, shared between the display and
    thumbnail sets): a size for which one of them is at most NEAR times larger is served by that one.
    """
    sides = tuple(sorted({min(side, max(1, natural)) for side in sides}))
    source = source or _Decoded(src, sha, max(sides))
    made = made if made is not None else {}
    out: dict = {"jpg": [], "webp": []}
    for side in reversed(
        sides
    ):  # the largest first: each smaller copy is made from the one above it
        formats = ("jpg", "webp") if side == sides[-1] else ("webp",)
        near = [d for d in made if side <= d <= side * NEAR and all(f in made[d] for f in formats)]
        for fmt in formats:
            if near:
                name, (w, h) = made[min(near)][fmt]
            else:
                name = f"{folder.name if folder else '-'}/{slug}-{side}.{fmt}"
                dest = folder.parent / name if folder else None
                w, h = _render_copy(src, dest, side, cache_dir, sha, fmt, source, webp_quality)
                made.setdefault(side, {})[fmt] = (name, (w, h))
            if (name, w) not in out[fmt]:
                out[fmt].insert(0, (name, w))
            if fmt == "jpg":
                out["default"], out["size"] = name, (w, h)
    return {"jpg": out["jpg"], "webp": out["webp"], "default": out["default"], "size": out["size"]}


def prepare_out(out: Path) -> list[str]:
    """Refuse an OUT that this builder did not write (nothing of the user's is ever deleted); return the files in
    it that the builder did not write, which the new gallery will keep (builder.gallery.outdir)."""
    return foreign_files(Path(os.path.abspath(out)))


def write_site(
    gallery: Gallery,
    input_dir: Path,
    out: Path,
    cache_dir: Path,
    hashes: dict[str, str],
    index: Any = None,
    progress: Callable[..., Iterable] | None = None,
    all_audio: bool = False,
    workers: int = 1,
    viewer: Path | None = None,
) -> Gallery:
    """Write the whole gallery into a temporary folder, then swap it in place of OUT. Returns the final Gallery.

    viewer: the PhotoSwipe npm tarball (asset "photoswipe"); without it the index's cards open the picture
    pages (the CLI always gives it: a missing one is an error before the build starts).
    index: the MusicIndex used (saved into OUT, and its catalogue inlined for exploring the plane);
    all_audio: copy the audio of every catalogue track (a small, playable catalogue), so that tracks found by
    exploring the plane play too. Otherwise only recommended audio is copied. Pictures that vanished or changed
    since they were read are moved to `failed`. workers: threads that render the picture copies the analysis did
    not make (Pillow decodes, scales and encodes without holding the GIL). See builder.gallery.outdir for
    ownership, the lock and the swap.
    """
    out = Path(os.path.abspath(out))
    with locked(out):
        foreign = foreign_files(out)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.building-{os.getpid()}-"))
        try:
            final = _write_into(
                tmp,
                gallery,
                input_dir,
                cache_dir,
                hashes,
                index,
                progress,
                all_audio,
                workers,
                viewer,
            )
            carry_foreign(out, tmp, foreign)
            write_marker(tmp, final.version, foreign)
            normal_permissions(tmp)
            sync_tree(
                tmp
            )  # on disk before it replaces the old gallery: a power cut leaves one whole gallery
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        with (
            signals.held()
        ):  # the swap and the old gallery's removal: a signal waits, then says which side it is
            try:
                old = exchange(tmp, out)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            signals.leaves(f"the new gallery was already in place in {out}")
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
    return final


def _audio_name(track) -> str:
    """A readable name, unique by construction: ids that sanitise alike ('a b', 'a_b') differ in the hash."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", track.id)[:60]
    suffix = re.sub(r"[^a-z0-9.]", "", Path(track.audio).suffix.lower())[:8] or ".mp3"
    return f"audio/{safe}-{hashlib.sha256(track.id.encode()).hexdigest()[:8]}{suffix}"


FEW_POINTS = 2000  # distinct points up to which the slideshow's walk searches them all at each step


def slideshow_order(images: Iterable[ImageRecord]) -> list[str]:
    """A walk through the pictures that keeps consecutive tracks close in feeling: start from the calmest
    picture's first track, then always go to the nearest not yet shown (greedy nearest neighbour; of equal
    distances the first file name). Pictures at the same point follow one another in name order. A k-d tree of
    the points not yet shown (rebuilt as it empties) keeps 100,000 pictures to seconds."""
    at: dict[tuple[float, float], list[str]] = {}
    for im in images:
        point = (im.tracks[0].valence, im.tracks[0].arousal) if im.tracks else tuple(im.av)
        at.setdefault((float(point[0]), float(point[1])), []).append(im.file)
    if not at:
        return []
    for files in at.values():
        files.sort()
    points = sorted(at, key=lambda p: (p[1], at[p][0]))  # the calmest first
    xy = np.array(points)
    first_file = [at[p][0] for p in points]
    shown = np.zeros(len(points), bool)
    order: list[str] = []
    if (
        len(points) <= FEW_POINTS
    ):  # a plain search is quicker than loading the k-d tree (a catalogue's few tracks)
        i = 0
        while True:
            shown[i] = True
            order += at[points[i]]
            left = np.flatnonzero(~shown)
            if not len(left):
                return order
            d = np.sqrt(((xy[left] - xy[i]) ** 2).sum(axis=1))
            i = min(left[d == d.min()], key=lambda c: first_file[c])

    from scipy.spatial import cKDTree

    def rebuild():
        left = np.flatnonzero(~shown)
        return left, (cKDTree(xy[left]) if len(left) else None)

    left, tree = rebuild()
    i = 0
    while True:
        shown[i] = True
        order += at[points[i]]
        if shown.all():
            return order
        if shown[left].sum() * 2 > len(left):  # mostly shown: search only what is left
            left, tree = rebuild()
        k = 8
        while True:
            d, j = tree.query(xy[i], k=min(k, len(left)))
            d, j = np.atleast_1d(d), left[np.atleast_1d(j)]
            free = ~shown[j]
            # the nearest free point is certain once a farther point was seen (or every point was asked)
            if free.any() and (d[-1] > d[free].min() or k >= len(left)):
                best = d[free].min()
                i = min(
                    (c for c, dc in zip(j[free], d[free]) if dc == best),
                    key=lambda c: first_file[c],
                )
                break
            if k >= len(left):  # pragma: no cover - every free point was asked for
                raise AssertionError("no free point left")
            k *= 4


def cache_copies(
    src: Path, sha: str, cache_dir: Path, natural: int, data: bytes | None = None
) -> None:
    """Make one picture's copies in the cache, exactly those write_site will want, without writing a gallery.

    The build calls this while it analyses the picture (in the worker processes, and in the main process while
    the models load), so the copies are made on every core and from bytes already read, and the site stage only
    copies them out. natural: the picture's longest side; data: its bytes, whose sha256 the caller checked."""
    decoded = _Decoded(src, sha, min(max(DISPLAY_SIDES), max(1, natural)), data)
    made: dict = {}
    _render_set(src, None, "", DISPLAY_SIDES, cache_dir, sha, natural, 80, decoded, made)
    _render_set(
        src, None, "", THUMB_SIDES, cache_dir, sha, natural, THUMB_WEBP_QUALITY, decoded, made
    )


def _renders(im: ImageRecord, input_dir: Path, tmp: Path, cache_dir: Path, sha: str) -> dict | str:
    """Every copy of one picture (its display sizes and thumbnails), or why it could not be made."""
    slug, src, natural = slug_for(im.file), input_dir / im.file, max(im.width, im.height)
    decoded = _Decoded(
        src, sha, min(max(DISPLAY_SIDES), max(1, natural))
    )  # one decode for every copy
    made: dict = {}
    try:
        return {
            "image": _render_set(
                src, tmp / "img", slug, DISPLAY_SIDES, cache_dir, sha, natural, 80, decoded, made
            ),
            "thumb": _render_set(
                src,
                tmp / "thumbs",
                slug,
                THUMB_SIDES,
                cache_dir,
                sha,
                natural,
                THUMB_WEBP_QUALITY,
                decoded,
                made,
            ),
        }
    except (
        ImageError
    ) as exc:  # the picture changed or vanished after it was read: leave it out, say why
        for folder in ("img", "thumbs"):
            for p in (tmp / folder).glob(f"{slug}-*"):
                p.unlink(missing_ok=True)
        return str(exc)


def _write_into(
    tmp: Path,
    gallery: Gallery,
    input_dir: Path,
    cache_dir: Path,
    hashes: dict[str, str],
    index,
    progress,
    all_audio: bool,
    workers: int = 1,
    viewer: Path | None = None,
) -> Gallery:
    for sub in ("pages", "img", "thumbs", "audio", "static"):
        (tmp / sub).mkdir()
    images = []
    renders: dict[str, dict] = {}
    audio: dict[str, str] = {}  # track id -> path inside OUT

    def copy_audio(track) -> str | None:
        if track.audio and track.id not in audio:
            audio[track.id] = _audio_name(track)
            shutil.copyfile(track.audio, tmp / audio[track.id])
        return audio.get(track.id)

    failed = list(gallery.failed)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        mapped = pool.map(
            lambda im: _renders(im, input_dir, tmp, cache_dir, hashes[im.file]), gallery.images
        )
        made = list(
            mapped if progress is None else progress(mapped, "writing pages", len(gallery.images))
        )
    for im, result in zip(gallery.images, made):
        if isinstance(result, str):
            failed.append(Failure(im.file, result))
            continue
        slug = slug_for(im.file)
        renders[im.file] = result
        tracks = tuple(replace(t, audio=copy_audio(t)) for t in im.tracks)
        images.append(
            replace(
                im,
                tracks=tracks,
                page=f"pages/{slug}.html",
                image=renders[im.file]["image"]["default"],
                thumb=renders[im.file]["thumb"]["default"],
            )
        )
    final = replace(
        gallery,
        images=tuple(images),
        # the curator's order when the pipeline gives one (builder.curation), else the walk by feeling
        slideshow=tuple(f for f in gallery.slideshow if f in renders)
        if gallery.slideshow
        else tuple(slideshow_order(images)),
        failed=tuple(sorted(failed, key=lambda f: f.file)),
    )
    (tmp / "gallery.json").write_bytes(
        orjson.dumps(final, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    )
    if index is not None:
        index.save(tmp / "music-index.hnsw")
        rows = [
            [
                t.id,
                t.valence,
                t.arousal,
                t.title,
                t.artist,
                t.genre,
                copy_audio(t) if all_audio else audio.get(t.id),
                t.licence,
            ]
            for t in index.catalogue.tracks
        ]
        table = {
            "name": index.catalogue.name,
            "columns": ["id", "valence", "arousal", "title", "artist", "genre", "audio", "licence"],
            "tracks": rows,
        }
        (tmp / "catalogue.js").write_text(
            f"window.CATALOGUE = {script_json(orjson.dumps(table))};\n", encoding="utf-8"
        )
    # the index's film link: none until `builder film` writes a film into the gallery and overwrites this
    (tmp / "film.js").write_text("window.GALLERY_FILM = null;\n", encoding="utf-8")
    for f in sorted((TEMPLATE_DIR / "static").iterdir()):
        if f.suffix in STATIC_FILES:
            shutil.copyfile(f, tmp / "static" / f.name)
    licence = copy_viewer(viewer, tmp / "static") if viewer is not None else None
    try:
        (cache_dir / "templates").mkdir(parents=True, exist_ok=True)
        compiled: Path | None = cache_dir
    except OSError:
        compiled = None  # the templates are compiled every build
    env = _environment(
        final.lang,
        getattr(final, "title", "") or Path(os.path.abspath(input_dir)).name,
        licence,
        compiled,
    )
    words = cast(Words, env.globals["words"])
    (tmp / "static" / "messages.js").write_text(
        f"window.GALLERY_MESSAGES = {script_json(orjson.dumps(words.messages))};\n",
        encoding="utf-8",
    )
    write_index_pages(tmp, env, final, renders)
    write_shards(tmp, final, renders, words)
    (tmp / "slideshow.html").write_text(render_page(env, "slideshow.html", final), encoding="utf-8")
    (tmp / "credits.html").write_text(render_page(env, "credits.html", final), encoding="utf-8")
    for i, im in enumerate(final.images):
        (tmp / im.page).write_text(render_picture(env, final, i, renders), encoding="utf-8")
    return final


def render_page(env: Environment, template: str, gallery: Gallery) -> str:
    return env.get_template(template).render(
        root="",
        gallery=gallery,
        tracks=used_tracks(gallery),
        shard_size=SHARD_SIZE,
    )


def used_tracks(gallery: Gallery) -> list:
    """Every recommended track once, in order of first use."""
    seen: dict[str, object] = {}
    for im in gallery.images:
        for t in im.tracks:
            seen.setdefault(t.id, t)
    return list(seen.values())


def index_name(quadrant: int | None, page: int) -> str:
    """index.html, index-2.html, ...; one quadrant's pictures: index-q1.html, index-q1-2.html, ..."""
    stem = "index" if quadrant is None else f"index-q{quadrant}"
    return f"{stem}.html" if page == 1 else f"{stem}-{page}.html"


def write_index_pages(tmp: Path, env: Environment, gallery: Gallery, renders: dict) -> None:
    """The index in pages of PAGE_SIZE cards, for all pictures and for each quadrant: plain HTML, so paging and
    the quadrant filter work without scripts; searching by name loads the name shards (write_shards)."""
    by_quadrant = {q: [im for im in gallery.images if im.quadrant == q] for q in (1, 2, 3, 4)}
    position = {im.file: i for i, im in enumerate(gallery.images)}
    for quadrant, images in [(None, list(gallery.images)), *by_quadrant.items()]:
        pages = max(1, -(-len(images) // PAGE_SIZE))
        for page in range(1, pages + 1):
            (tmp / index_name(quadrant, page)).write_text(
                render_index(
                    env,
                    gallery,
                    renders,
                    images[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
                    quadrant,
                    page,
                    pages,
                    {q: len(v) for q, v in by_quadrant.items()},
                    position,
                ),
                encoding="utf-8",
            )


def alt_text(im: ImageRecord) -> str:
    """What a picture shows, in words: the curator's (sheet), else the caption, else its file name."""
    return getattr(im, "alt", "") or (
        im.caption.text if im.caption and im.caption.text else im.file
    )


def playing(im: ImageRecord) -> Track | None:
    """The track the viewer and the slideshow play for a picture: its first with audio."""
    return next((t for t in im.tracks if t.audio), None)


def track_row(t: Track | None) -> list | None:
    """[id, title, artist, licence, audio, start]: start is where the track stops being quiet (Track.start, film)."""
    if t is None:
        return None
    return [
        t.id,
        t.title,
        t.artist,
        t.licence or "",
        t.audio,
        float(getattr(t, "start", 0.0) or 0.0),
    ]


def seen_text(im: ImageRecord, w: Words) -> str:
    """What was seen, in one line: the classifiers' top labels (learned) or the detected objects."""
    if im.seen:
        return (
            w.t("classifier_saw")
            + " "
            + ", ".join(f"{s.label} ({100 * s.score:.0f} %)" for s in im.seen)
        )
    if im.objects:
        return w.t("what_was_seen") + ": " + ", ".join(dict.fromkeys(o.label for o in im.objects))
    return ""


def moved_text(im: ImageRecord, w: Words) -> str:
    """What moved the reading most (learned): the three largest contributions, in one line."""
    top = sorted(im.contributions or (), key=lambda c: -(abs(c.valence) + abs(c.arousal)))[:3]
    if not top:
        return ""
    return (
        w.t("moved_by")
        + " "
        + "; ".join(
            f"{c.group} ({w.t('valence')} {c.valence:+.2f}, {w.t('arousal')} {c.arousal:+.2f})"
            for c in top
        )
    )


def write_shards(
    tmp: Path, gallery: Gallery, renders: dict | None = None, words: Words | None = None
) -> None:
    """Classic scripts of SHARD_SIZE pictures each, loaded on demand (they work from file://, where fetch does
    not): data/slides-N.js, the slideshow in its order (what a slide shows and plays); data/names-N.js, every
    picture's name, page, thumbnail and quadrant for the index's search; data/view-N.js, in gallery order, what
    the index's in-page viewer shows and plays (columns: VIEW_COLUMNS)."""
    (tmp / "data").mkdir()
    renders = renders or {}
    w = words or Words(gallery.lang)
    by_file = {im.file: im for im in gallery.images}
    slides = []
    for f in gallery.slideshow:
        im = by_file[f]
        t = playing(im)
        first = im.tracks[0] if im.tracks else None
        slides.append(
            [
                im.file,
                im.image,
                alt_text(im),
                first.title if first else "",
                first.artist if first else "",
                t.audio if t else None,
                t.title if t else "",
                t.artist if t else "",
                track_row(t),
                getattr(im, "title", "") or im.file,
            ]
        )
    names = [[im.file, im.page, im.thumb, im.quadrant] for im in gallery.images]
    view = []
    for im in gallery.images:
        r = renders.get(im.file, {}).get("image")
        size = r["size"] if r else (im.width, im.height)
        t = playing(im)
        view.append(
            [
                page_id(im.page),
                im.page,
                im.image,
                size[0],
                size[1],
                ", ".join(f"{path} {width}w" for path, width in r["jpg"]) if r else "",
                getattr(im, "title", "") or im.file,
                alt_text(im),
                track_row(t),
                im.quadrant,
                explain(im, gallery.method, w).get(t.id, "") if t else "",
                plot_summary(im, gallery, w),
                im.thumb,
                seen_text(im, w),
                moved_text(im, w),
            ]
        )
    for kind, rows in (("slides", slides), ("names", names), ("view", view)):
        for k in range(0, max(len(rows), 1), SHARD_SIZE):
            body = script_json(orjson.dumps(rows[k : k + SHARD_SIZE]))
            (tmp / "data" / f"{kind}-{k // SHARD_SIZE}.js").write_text(
                f'(window.GALLERY_SHARDS = window.GALLERY_SHARDS || {{}})["{kind}-{k // SHARD_SIZE}"] = {body};\n',
                encoding="utf-8",
            )


def render_index(
    env: Environment,
    gallery: Gallery,
    renders: dict | None = None,
    images: list[ImageRecord] | None = None,
    quadrant: int | None = None,
    page: int = 1,
    pages: int = 1,
    counts: dict | None = None,
    position: dict[str, int] | None = None,
) -> str:
    """One page of the index. position: each picture's place in gallery order (the viewer's numbering)."""
    images = list(gallery.images[:PAGE_SIZE]) if images is None else images
    counts = counts or {q: sum(im.quadrant == q for im in gallery.images) for q in (1, 2, 3, 4)}
    return env.get_template("index.html").render(
        root="",
        gallery=gallery,
        renders=renders or {},
        images=images,
        position=position
        if position is not None
        else {im.file: i for i, im in enumerate(gallery.images)},
        quadrant=quadrant,
        page=page,
        pages=pages,
        counts=counts,
        page_name=lambda n: index_name(quadrant, n),
        filter_name=lambda q: index_name(q, 1),
        shards=-(-len(gallery.images) // SHARD_SIZE),
        shard_size=SHARD_SIZE,
    )


def render_picture(env: Environment, gallery: Gallery, i: int, renders: dict | None = None) -> str:
    words = cast(Words, env.globals["words"])
    im = gallery.images[i]
    prev = gallery.images[i - 1] if i > 0 else None
    nxt = gallery.images[i + 1] if i + 1 < len(gallery.images) else None
    return env.get_template("image.html").render(
        root="../",
        gallery=gallery,
        image=im,
        plot=Plot.of(im),
        prev=prev,
        next=nxt,
        why=explain(im, gallery.method, words),
        renders=renders or {},
        summary=plot_summary(im, gallery, words),
        quadrant_rule=words.t(
            f"rule_{im.quadrant_rule}" if im.quadrant_rule in QUADRANT_RULES else "rule_other"
        ),
    )


def plot_summary(im: ImageRecord, gallery: Gallery, words: Words | None = None) -> str:
    """The plane in words, for people who cannot see it."""
    w = words or Words()
    name = w.quadrant(im.quadrant)
    if im.target is not None:
        return w.t(
            "summary_target",
            quadrant=name,
            valence=f"{im.target[0]:+.2f}",
            arousal=f"{im.target[1]:+.2f}",
            size=gallery.catalogue.size,
        )
    if (
        im.impressions
        and gallery.method.startswith(("objects", "caption"))
        and sum(im.quadrant_counts)
    ):
        share = im.quadrant_counts[im.quadrant - 1] / sum(im.quadrant_counts)
        how = w.t("summary_share", share=f"{100 * share:.0f}")
    else:
        how = im.fallback or w.t("rule_other")
    return w.tn(
        "summary_feeling",
        len(im.clusters),
        quadrant=name,
        how=how,
        valence=f"{im.av[0]:+.2f}",
        arousal=f"{im.av[1]:+.2f}",
        words=len(im.impressions),
    )


QUADRANT_RULES = ("reading", "vote", "av", "user", "random")  # each has a message rule_<name>
