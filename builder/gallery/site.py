"""Writes the static gallery: pages that open from file:// and from any static host.

Layout of OUT:
  index.html              thumbnails of every picture
  pages/<slug>.html        one page per picture (links are relative, so the folder can move)
  img/<slug>.jpg, thumbs/<slug>.jpg   display copy (<= 1600 px) and thumbnail (<= 480 px)
  audio/<id>.mp3           only the audio of tracks actually recommended
  index-2.html, index-q1.html ...  further pages of the index, and each quadrant's pages (PAGE_SIZE cards each)
  gallery.json             the output contract (README "Output")
  film.js                  `window.GALLERY_FILM = null;` until `builder film` writes a film into the gallery
  data/slides-N.js, data/names-N.js  the slideshow's and the search's data, SHARD_SIZE pictures a classic script
  music-index.hnsw         the hnswlib index of the catalogue used
  static/                  CSS and JS

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
  quadrant_names dict[int, str]
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np
import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from PIL import Image

from builder import plane
from builder.errors import ImageError
from builder.files import atomic_path
from builder.gallery.outdir import carry_foreign, exchange, foreign_files, locked, normal_permissions, write_marker
from builder.images import open_upright, read_verified
from builder.records import Failure, Gallery, ImageRecord

TEMPLATE_DIR = Path(str(resources.files("builder.site_template")))  # package data: wheel or source tree
STATIC_FILES = (".css", ".js")  # what of site_template/static/ is copied into a gallery
DISPLAY_SIDES, THUMB_SIDES = (1024, 1600), (240, 480)  # srcset widths (longest side); JPEG and WebP each
PLOT_SIZE = 320
PAGE_SIZE = 24  # cards per index page: the first screen stays light whatever the collection's size
THUMB_WEBP_QUALITY = 65  # thumbnails are seen small and many at a time (display copies: 80)
SHARD_SIZE = 1000  # pictures per data file of the slideshow and of the name search


def slug_for(rel: str) -> str:
    """A safe, unique file stem for a picture: readable part + hash of the whole relative path."""
    without_ext = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", rel)
    stem = re.sub(r"[^a-z0-9]+", "-", without_ext.lower()).strip("-")[:60] or "picture"
    return f"{stem}-{hashlib.sha256(rel.encode()).hexdigest()[:8]}"


def script_json(data: bytes) -> str:
    """JSON that is safe inside a classic <script>: no '</script>' break-out, no HTML comment tricks."""
    text = data.decode("utf-8")
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
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
            dict(zip("xy", cls.xy(*c.centre)), size=c.size, quadrant=c.quadrant, track=c.track) for c in im.clusters
        ]
        tracks = [dict(zip("xy", cls.xy(t.valence, t.arousal)), title=t.title, id=t.id) for t in im.tracks]
        # the ring: where music was looked for (learned: the target, in the music's frame), else the feeling
        half = s / 2
        qx = {1: half, 2: 16, 3: 16, 4: half}[im.quadrant]
        qy = {1: 16, 2: 16, 3: half, 4: half}[im.quadrant]
        chosen = {"x": qx, "y": qy, "w": half - 16, "h": half - 16}
        return cls(s, pts, centres, tracks, dict(zip("xy", cls.xy(*(im.target or im.av)))), chosen)


def explain(im: ImageRecord, method: str = "") -> dict[str, str]:
    """Per recommended track, a sentence tracing it back to the words that pulled it there."""
    notes: dict[str, str] = {}
    if method.startswith("learned"):
        for n, t in enumerate(im.tracks):
            notes[t.id] = (
                "chosen for this picture across the whole exhibition: the nearest track to where its "
                "music was looked for that no other picture had taken first"
                if n == 0
                else f"the {'second' if n == 1 else 'third' if n == 2 else f'{n + 1}th'} nearest track to "
                "where this picture's music was looked for"
            )
        return notes
    for c in im.clusters:
        if c.track is None or c.track in notes or c.track not in {t.id for t in im.tracks}:
            continue
        members = [im.impressions[i] for i in c.members if i < len(im.impressions)]
        if not members:
            continue
        words = list(dict.fromkeys(m.word for m in sorted(members, key=lambda m: -m.weight)))[:5]
        sources = list(dict.fromkeys(m.source for m in sorted(members, key=lambda m: -m.weight)))[:5]
        notes[c.track] = (
            f"nearest track to a cluster of {len(members)} impression"
            f"{'s' * (len(members) != 1)} ({', '.join(words)}) that came from "
            f"{', '.join(repr(s) for s in sources)}, in the {plane.QUADRANT_NAMES[c.quadrant]} quadrant"
        )
    for t in im.tracks:
        if t.id not in notes:
            notes[t.id] = (
                (im.fallback + ": nearest track to the picture's feeling")
                if im.fallback
                else "nearest track to the impressions in the chosen quadrant"
            )
    return notes


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html", "svg"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda x: f"{100 * x:.0f} %"
    env.filters["srcset"] = lambda items, root="": ", ".join(f"{root}{path} {w}w" for path, w in items)
    return env


RENDER_VERSION = "3"  # bump when rendered copies change, so cached ones are not reused


def _valid_image(path: Path) -> bool:
    """A cached render is served only if it is whole: a JPEG from its start-of-image to its end-of-image marker,
    a WebP whose RIFF length is the file's, and a header Pillow reads. Renders are written atomically, so this
    catches a copy cut short or replaced by other bytes without decoding every pixel of every copy."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            f.seek(-2, os.SEEK_END)
            tail = f.read(2)
            size = f.seek(0, os.SEEK_END)
        if path.suffix == ".jpg":
            whole = head[:2] == b"\xff\xd8" and tail == b"\xff\xd9"
        else:
            whole = head[:4] == b"RIFF" and head[8:12] == b"WEBP" and int.from_bytes(head[4:8], "little") + 8 == size
        if whole:
            with Image.open(path) as im:
                whole = im.size[0] > 0 and im.size[1] > 0  # the header parses
    except FileNotFoundError:
        return False
    except Exception:  # noqa: BLE001 - any reading error means a damaged cache entry: recompute it
        whole = False
    if not whole:
        path.unlink(missing_ok=True)
    return whole


def _render_copy(
    src: Path, dest: Path, side: int, cache_dir: Path, sha: str, fmt: str = "jpg", source=None, webp_quality: int = 80
) -> tuple[int, int]:
    """Scaled copy (JPEG or WebP), cached by content hash, size, format and render version. Returns its size.

    source: a callable giving the upright picture already decoded, so a set of sizes decodes it once.
    """
    quality = f"-q{webp_quality}" if fmt == "webp" else ""
    cached = cache_dir / "renders" / f"{sha}-{side}{quality}-v{RENDER_VERSION}.{fmt}"
    if _valid_image(cached):
        shutil.copyfile(cached, dest)
        with Image.open(dest) as im:
            return im.size
    im = (source() if source else open_upright(src, side)[0]).copy()
    im.thumbnail((side, side), Image.Resampling.LANCZOS)
    with atomic_path(dest) as tmp:
        if fmt == "webp":
            im.save(tmp, "WEBP", quality=webp_quality, method=2)
        else:
            im.save(tmp, "JPEG", quality=85, progressive=True)
    try:  # keep a copy for the next build; a cache that cannot take it costs speed, never this build
        with atomic_path(cached) as tmp:
            shutil.copyfile(dest, tmp)
    except OSError:
        pass
    return im.size


def _render_set(
    src: Path,
    folder: Path,
    slug: str,
    sides: tuple[int, ...],
    cache_dir: Path,
    sha: str,
    natural: int,
    webp_quality: int = 80,
) -> dict:
    """Every size in JPEG and WebP; returns srcsets (relative to OUT) and the largest JPEG with its size.

    natural: the picture's longest side; pictures are never enlarged, so sizes above it collapse into one.
    """
    sides = tuple(sorted({min(side, max(1, natural)) for side in sides}))
    loaded: list = []

    def source():
        if not loaded:
            loaded.append(open_upright(read_verified(src, sha), max(sides))[0])
        return loaded[0]

    out: dict = {"jpg": [], "webp": []}
    for side in sides:
        for fmt in ("jpg", "webp"):
            name = f"{folder.name}/{slug}-{side}.{fmt}"
            w, h = _render_copy(src, folder.parent / name, side, cache_dir, sha, fmt, source, webp_quality)
            out[fmt].append((name, w))
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
    index=None,
    progress=None,
    all_audio: bool = False,
    workers: int = 1,
) -> Gallery:
    """Write the whole gallery into a temporary folder, then swap it in place of OUT. Returns the final Gallery.

    index: the MusicIndex used (saved into OUT, and its catalogue inlined for exploring the plane);
    all_audio: copy the audio of every catalogue track (a small, playable catalogue), so that tracks found by
    exploring the plane play too. Otherwise only recommended audio is copied. Pictures that vanished or changed
    since they were read are moved to `failed`. workers: threads that render the picture copies (Pillow decodes,
    scales and encodes without holding the GIL). See builder.gallery.outdir for ownership, the lock and the swap.
    """
    out = Path(os.path.abspath(out))
    with locked(out):
        foreign = foreign_files(out)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.building-{os.getpid()}-"))
        try:
            final = _write_into(tmp, gallery, input_dir, cache_dir, hashes, index, progress, all_audio, workers)
            carry_foreign(out, tmp, foreign)
            write_marker(tmp, final.version, foreign)
            normal_permissions(tmp)
            old = exchange(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if old is not None:  # the new gallery is in place: a signal now waits until the old one is gone
            held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
            previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
            try:
                shutil.rmtree(old, ignore_errors=True)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return final


def _audio_name(track) -> str:
    """A readable name, unique by construction: ids that sanitise alike ('a b', 'a_b') differ in the hash."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", track.id)[:60]
    suffix = re.sub(r"[^a-z0-9.]", "", Path(track.audio).suffix.lower())[:8] or ".mp3"
    return f"audio/{safe}-{hashlib.sha256(track.id.encode()).hexdigest()[:8]}{suffix}"


def slideshow_order(images) -> list[str]:
    """A walk through the pictures that keeps consecutive tracks close in feeling: start from the calmest
    picture's first track, then always go to the nearest not yet shown (greedy nearest neighbour; of equal
    distances the first file name). Pictures at the same point follow one another in name order. A k-d tree of
    the points not yet shown (rebuilt as it empties) keeps 100,000 pictures to seconds."""
    from scipy.spatial import cKDTree

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
                i = min((c for c, dc in zip(j[free], d[free]) if dc == best), key=lambda c: first_file[c])
                break
            if k >= len(left):  # pragma: no cover - every free point was asked for
                raise AssertionError("no free point left")
            k *= 4


def _renders(im: ImageRecord, input_dir: Path, tmp: Path, cache_dir: Path, sha: str) -> dict | str:
    """Every copy of one picture (its display sizes and thumbnails), or why it could not be made."""
    slug, src, natural = slug_for(im.file), input_dir / im.file, max(im.width, im.height)
    try:
        return {
            "image": _render_set(src, tmp / "img", slug, DISPLAY_SIDES, cache_dir, sha, natural),
            "thumb": _render_set(src, tmp / "thumbs", slug, THUMB_SIDES, cache_dir, sha, natural, THUMB_WEBP_QUALITY),
        }
    except ImageError as exc:  # the picture changed or vanished after it was read: leave it out, say why
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
        made = pool.map(lambda im: _renders(im, input_dir, tmp, cache_dir, hashes[im.file]), gallery.images)
        made = made if progress is None else progress(made, "writing pages", len(gallery.images))
        made = list(made)
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
        slideshow=tuple(slideshow_order(images)),
        failed=tuple(sorted(failed, key=lambda f: f.file)),
    )
    (tmp / "gallery.json").write_bytes(orjson.dumps(final, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
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
        (tmp / "catalogue.js").write_text(f"window.CATALOGUE = {script_json(orjson.dumps(table))};\n", encoding="utf-8")
    # the index's film link: none until `builder film` writes a film into the gallery and overwrites this
    (tmp / "film.js").write_text("window.GALLERY_FILM = null;\n", encoding="utf-8")
    for f in sorted((TEMPLATE_DIR / "static").iterdir()):
        if f.suffix in STATIC_FILES:
            shutil.copyfile(f, tmp / "static" / f.name)
    env = _environment()
    write_index_pages(tmp, env, final, renders)
    write_shards(tmp, final)
    (tmp / "slideshow.html").write_text(render_page(env, "slideshow.html", final), encoding="utf-8")
    (tmp / "credits.html").write_text(render_page(env, "credits.html", final), encoding="utf-8")
    for i, im in enumerate(final.images):
        (tmp / im.page).write_text(render_picture(env, final, i, renders), encoding="utf-8")
    return final


def render_page(env: Environment, template: str, gallery: Gallery) -> str:
    return env.get_template(template).render(
        root="",
        gallery=gallery,
        quadrant_names=plane.QUADRANT_NAMES,
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
                ),
                encoding="utf-8",
            )


def write_shards(tmp: Path, gallery: Gallery) -> None:
    """Classic scripts of SHARD_SIZE pictures each, loaded on demand (they work from file://, where fetch does
    not): data/slides-N.js, the slideshow in its order (what a slide shows and plays); data/names-N.js, every
    picture's name, page, thumbnail and quadrant for the index's search."""
    (tmp / "data").mkdir()
    by_file = {im.file: im for im in gallery.images}
    slides = []
    for f in gallery.slideshow:
        im = by_file[f]
        t = next((t for t in im.tracks if t.audio), None)
        first = im.tracks[0] if im.tracks else None
        slides.append(
            [
                im.file,
                im.image,
                im.caption.text if im.caption else "",
                first.title if first else "",
                first.artist if first else "",
                t.audio if t else None,
                t.title if t else "",
                t.artist if t else "",
            ]
        )
    names = [[im.file, im.page, im.thumb, im.quadrant] for im in gallery.images]
    for kind, rows in (("slides", slides), ("names", names)):
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
    images=None,
    quadrant: int | None = None,
    page: int = 1,
    pages: int = 1,
    counts: dict | None = None,
) -> str:
    images = list(gallery.images[:PAGE_SIZE]) if images is None else images
    counts = counts or {q: sum(im.quadrant == q for im in gallery.images) for q in (1, 2, 3, 4)}
    return env.get_template("index.html").render(
        root="",
        gallery=gallery,
        quadrant_names=plane.QUADRANT_NAMES,
        renders=renders or {},
        images=images,
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
        why=explain(im, gallery.method),
        quadrant_names=plane.QUADRANT_NAMES,
        renders=renders or {},
        summary=plot_summary(im, gallery),
        quadrant_rule=QUADRANT_RULES.get(im.quadrant_rule, "chosen by the method"),
    )


def plot_summary(im: ImageRecord, gallery: Gallery) -> str:
    """The plane in words, for people who cannot see it."""
    name = plane.QUADRANT_NAMES[im.quadrant].replace("-", "–")
    if im.target is not None:
        return (
            f"{name} quadrant; music looked for at valence {im.target[0]:+.2f}, arousal {im.target[1]:+.2f} "
            f"of the catalogue's scale, among {gallery.catalogue.size} tracks"
        )
    if im.impressions and gallery.method.startswith(("objects", "caption")) and sum(im.quadrant_counts):
        share = im.quadrant_counts[im.quadrant - 1] / sum(im.quadrant_counts)
        how = f"{100 * share:.0f} % of the impression words fall there"
    else:
        how = im.fallback or "chosen by the method"
    return (
        f"{name} quadrant ({how}); feeling valence {im.av[0]:+.2f}, arousal {im.av[1]:+.2f}; "
        f"{len(im.impressions)} impression words in {len(im.clusters)} cluster{'s' * (len(im.clusters) != 1)}"
    )


QUADRANT_RULES = {
    "reading": "the quadrant of the reading",
    "vote": (
        "chosen by the published vote: the quadrant holding the most impression words relative to the "
        "collection's average, so it can differ from the signs of the mean feeling"
    ),
    "av": "the quadrant of the mean feeling",
    "user": "given by the curator (--quadrants); it can differ from the signs of the reading",
    "random": "the quadrant of a randomly chosen track (baseline)",
}
