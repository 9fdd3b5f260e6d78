"""What the gallery copies of its inputs: each picture's display copies and thumbnails (WebP at
every size, one JPEG at the largest; sRGB; never enlarged), kept in the cache by content so a
rebuild only copies them out, and the audio of the tracks it plays.

The analysis makes a picture's copies while it has the picture's bytes at hand (cache_copies, in the
worker processes); writing the gallery then links or copies them out of the cache (picture_copies).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import TypedDict

from PIL import Image

from builder.errors import ImageError
from builder.files import atomic_path
from builder.images import named_bytes, open_upright, read_verified
from builder.records import ImageRecord, Track

DISPLAY_SIDES = (1024, 1600)  # srcset widths (longest side) of the display copies
THUMB_SIDES = (240, 480)  # and of the thumbnails
THUMB_WEBP_QUALITY = 65  # thumbnails are seen small and many at a time (display copies: 80)
NEAR = 1.25  # a copy this close above a size serves for it: no 480 px copy of a 500 px picture
RENDER_VERSION = "4"  # bump when rendered copies change, so cached ones are not reused


class CopySet(TypedDict):
    """One picture's copies at one use (display or thumbnail), as the pages' srcset reads them."""

    jpg: list[tuple[str, int]]  # (path inside OUT, width): the largest size only, <img>'s fallback
    webp: list[tuple[str, int]]  # (path inside OUT, width) at every size, smallest first
    default: str  # the JPEG: what gallery.json, the slideshow and the search name
    size: tuple[int, int]  # the JPEG's width and height


class Copies(TypedDict):
    """Every copy of one picture."""

    image: CopySet  # the display copies
    thumb: CopySet  # the thumbnails


def slug_for(rel: str) -> str:
    """A safe, unique file stem for a picture: readable part + hash of the whole relative path."""
    without_ext = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", rel)
    stem = re.sub(r"[^a-z0-9]+", "-", without_ext.lower()).strip("-")[:60] or "picture"
    return f"{stem}-{hashlib.sha256(rel.encode()).hexdigest()[:8]}"


def audio_name(track: Track) -> str:
    """A track's audio inside OUT: a readable name, unique by construction (ids that sanitise alike,
    'a b' and 'a_b', differ in the hash)."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", track.id)[:60]
    suffix = re.sub(r"[^a-z0-9.]", "", Path(track.audio or "").suffix.lower())[:8] or ".mp3"
    return f"audio/{safe}-{hashlib.sha256(track.id.encode()).hexdigest()[:8]}{suffix}"


class AudioCopies:
    """The audio the gallery carries, copied into OUT's audio/ on first use."""

    def __init__(self, out: Path):
        self.out = out
        self.paths: dict[str, str] = {}  # track id -> path inside OUT

    def copy(self, track: Track) -> str | None:
        """The track's audio inside OUT (copied now if it is not yet), or None: it has no audio."""
        if track.audio and track.id not in self.paths:
            self.paths[track.id] = audio_name(track)
            shutil.copyfile(track.audio, self.out / self.paths[track.id])
        return self.paths.get(track.id)

    def get(self, track: Track) -> str | None:
        """The track's audio inside OUT if it was copied, else None (nothing is copied)."""
        return self.paths.get(track.id)


def _valid_image(path: Path) -> tuple[int, int] | None:
    """A cached render's size, if it is whole: a JPEG from its start-of-image to its end-of-image
    marker, a WebP whose RIFF length is the file's, and a header Pillow reads; None (and the entry
    removed) otherwise. Renders are written atomically, so this catches a copy cut short or
    replaced by other bytes without decoding every pixel of every copy."""
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
    """Scaled copy (JPEG or WebP), cached by content hash, size, format and render version. Returns
    its size.

    The copy is made in the cache, then copied to dest (dest None: only the cache, as the analysis
    workers make copies ahead of the site, see cache_copies). A cache that cannot take it costs
    speed, never the build: the copy is then written straight to dest.
    source: a callable giving the upright picture at this size (a _Decoded), so a picture's copies
    decode it once.
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
        # synced with the whole gallery before the swap
        with atomic_path(dest, durable=False) as tmp:
            _encode(im, tmp, fmt, webp_quality)
        return im.size
    if dest is not None:
        _link_or_copy(cached, dest)
    return im.size


def _link_or_copy(cached: Path, dest: Path) -> None:
    """The gallery's copy of a cached render: a hard link where the cache and the gallery share a
    file system (no bytes copied, and none left to sync before the swap), else a copy. A cache entry
    is never written in place (atomic_path makes a new file), so a gallery linked to an old entry
    keeps that entry's bytes."""
    try:
        os.link(cached, dest)
    except OSError:  # another file system, one without links, or a cache owned by someone else
        shutil.copyfile(cached, dest)


def _encode(im: Image.Image, path: Path, fmt: str, webp_quality: int) -> None:
    if fmt == "webp":
        im.save(path, "WEBP", quality=webp_quality, method=1)  # 2: slower, for slightly fewer bytes
    else:
        im.save(path, "JPEG", quality=85)  # baseline: faster than progressive, for a fallback


class _Decoded:
    """One picture's pixels for its copies: decoded once, on the first copy the cache lacks, at the
    largest size any copy needs (a JPEG is decoded scaled down already: Pillow's draft), converted
    to sRGB; each smaller size is then made from the smallest larger one already made (cheaper than
    from the full decode, and as sharp)."""

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
) -> CopySet:
    """Every size in WebP, and the largest also in JPEG; returns srcsets (relative to OUT) and the
    JPEG with its size. Every current browser shows WebP, so the one JPEG is what the <img> inside
    <picture> falls back to for a browser that does not, and the copy gallery.json, the slideshow
    and the search name ("jpg" is a one-element list).

    folder None: the copies are only made in the cache (cache_copies).
    natural: the picture's longest side; pictures are never enlarged, so sizes above it collapse.
    made: the copies of this picture made so far ({side: {fmt: (name, (w, h))}}, shared between the
    display and thumbnail sets): a size for which one of them is at most NEAR times larger is served
    by that one.
    """
    sides = tuple(sorted({min(side, max(1, natural)) for side in sides}))
    source = source or _Decoded(src, sha, max(sides))
    made = made if made is not None else {}
    out: dict = {"jpg": [], "webp": []}
    for side in reversed(sides):  # the largest first: each smaller copy is made from the one above
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


def cache_copies(
    src: Path, sha: str, cache_dir: Path, natural: int, data: bytes | None = None
) -> None:
    """Make one picture's copies in the cache, exactly those picture_copies will want, without
    writing a gallery.

    The build calls this while it analyses the picture (in the worker processes, and in the main
    process while the models load), so the copies are made on every core and from bytes already
    read, and writing the gallery only copies them out. natural: the picture's longest side; data:
    its bytes, whose sha256 the caller checked."""
    decoded = _Decoded(src, sha, min(max(DISPLAY_SIDES), max(1, natural)), data)
    made: dict = {}
    _render_set(src, None, "", DISPLAY_SIDES, cache_dir, sha, natural, 80, decoded, made)
    _render_set(
        src, None, "", THUMB_SIDES, cache_dir, sha, natural, THUMB_WEBP_QUALITY, decoded, made
    )


def mean_colour(path: Path) -> str:
    """A copy's mean colour as #rrggbb (its smallest thumbnail's: a few thousand pixels say it as
    well as millions); "" where it cannot be read."""
    try:
        with Image.open(path) as im:
            im.draft("RGB", (64, 64))
            pixel = im.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    except (OSError, ValueError):
        return ""
    if not isinstance(pixel, tuple) or len(pixel) < 3:
        return ""
    return "#" + "".join(f"{int(c):02x}" for c in pixel[:3])


def picture_copies(
    im: ImageRecord, input_dir: Path, out: Path, cache_dir: Path, sha: str
) -> Copies | str:
    """Every copy of one picture (its display sizes into out/img, its thumbnails into out/thumbs),
    or why it could not be made."""
    slug, src, natural = slug_for(im.file), input_dir / im.file, max(im.width, im.height)
    decoded = _Decoded(src, sha, min(max(DISPLAY_SIDES), max(1, natural)))  # one decode for all
    made: dict = {}
    try:
        return {
            "image": _render_set(
                src, out / "img", slug, DISPLAY_SIDES, cache_dir, sha, natural, 80, decoded, made
            ),
            "thumb": _render_set(
                src,
                out / "thumbs",
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
    except ImageError as exc:  # the picture changed or vanished after it was read: say why
        for folder in ("img", "thumbs"):
            for p in (out / folder).glob(f"{slug}-*"):
                p.unlink(missing_ok=True)
        return str(exc)
