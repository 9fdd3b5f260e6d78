"""Writes the static gallery: pages that open from file:// and from any static host.

Layout of OUT:
  index.html              thumbnails of every picture
  pages/<slug>.html        one page per picture (links are relative, so the folder can move)
  img/<slug>.jpg, thumbs/<slug>.jpg   display copy (<= 1600 px) and thumbnail (<= 480 px)
  audio/<id>.mp3           only the audio of tracks actually recommended
  gallery.json             the output contract (README "Output")
  gallery-data.js          the same data as a classic script: window.GALLERY = {...}
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
  root      str                 relative prefix back to OUT ("" on index.html, "../" on picture pages)
  quadrant_names dict[int, str]
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from PIL import Image

from builder import affect
from builder.errors import UsageError
from builder.images import open_upright
from builder.records import Gallery, ImageRecord

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "site_template"
DISPLAY_SIDE, THUMB_SIDE = 1600, 480
PLOT_SIZE = 320


def slug_for(rel: str) -> str:
    """A safe, unique file stem for a picture: readable part + hash of the whole relative path."""
    without_ext = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", rel)
    stem = re.sub(r"[^a-z0-9]+", "-", without_ext.lower()).strip("-")[:60] or "picture"
    return f"{stem}-{hashlib.sha256(rel.encode()).hexdigest()[:8]}"


def script_json(data: bytes) -> str:
    """JSON that is safe inside a classic <script>: no '</script>' break-out, no HTML comment tricks."""
    text = data.decode("utf-8")
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
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
            pts.append({"x": x, "y": y, "r": round(3 + 6 * i.weight, 1), "word": i.word, "source": i.source,
                        "weight": i.weight})
        centres = [dict(zip("xy", cls.xy(*c.centre)), size=c.size, quadrant=c.quadrant, track=c.track)
                   for c in im.clusters]
        tracks = [dict(zip("xy", cls.xy(t.valence, t.arousal)), title=t.title, id=t.id) for t in im.tracks]
        half = s / 2
        qx = {1: half, 2: 16, 3: 16, 4: half}[im.quadrant]
        qy = {1: 16, 2: 16, 3: half, 4: half}[im.quadrant]
        chosen = {"x": qx, "y": qy, "w": half - 16, "h": half - 16}
        return cls(s, pts, centres, tracks, dict(zip("xy", cls.xy(*im.av))), chosen)


def explain(im: ImageRecord) -> dict[str, str]:
    """Per recommended track, a sentence tracing it back to the words that pulled it there."""
    notes: dict[str, str] = {}
    for c in im.clusters:
        if c.track is None or c.track in notes or c.track not in {t.id for t in im.tracks}:
            continue
        members = [im.impressions[i] for i in c.members if i < len(im.impressions)]
        if not members:
            continue
        words = list(dict.fromkeys(m.word for m in sorted(members, key=lambda m: -m.weight)))[:5]
        sources = list(dict.fromkeys(m.source for m in sorted(members, key=lambda m: -m.weight)))[:5]
        notes[c.track] = (f"nearest track to a cluster of {len(members)} impression"
                          f"{'s' * (len(members) != 1)} ({', '.join(words)}) that came from "
                          f"{', '.join(repr(s) for s in sources)}, in the {affect.QUADRANT_NAMES[c.quadrant]} quadrant")
    for t in im.tracks:
        if t.id not in notes:
            notes[t.id] = (im.fallback + ": nearest track to the picture's feeling") if im.fallback else \
                "nearest track to the impressions in the chosen quadrant"
    return notes


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html", "svg"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = lambda x: f"{100 * x:.0f} %"
    return env


RENDER_VERSION = "1"  # bump when rendered copies change, so cached ones are not reused


def _valid_jpeg(path: Path) -> bool:
    try:
        with Image.open(path) as im:
            im.verify()
        return True
    except FileNotFoundError:
        return False
    except Exception:  # any decoding error means a damaged cache entry: recompute it
        path.unlink(missing_ok=True)
        return False


def _render_copy(src: Path, dest: Path, side: int, cache_dir: Path, sha: str) -> None:
    """Scaled JPEG copy, cached by content hash, size and render version."""
    cached = cache_dir / "renders" / f"{sha}-{side}-v{RENDER_VERSION}.jpg"
    if not _valid_jpeg(cached):
        im, _, _ = open_upright(src, side)
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cached.parent, prefix=".tmp-", suffix=".jpg")
        os.close(fd)
        try:
            im.save(tmp, "JPEG", quality=85, optimize=True)
            os.replace(tmp, cached)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    shutil.copyfile(cached, dest)


def prepare_out(out: Path) -> None:
    """Refuse to replace a folder that is not a previous gallery (never delete a user's files)."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "gallery.json").exists())):
        raise UsageError(f"{out} exists and is not a gallery built by this tool; choose another --out "
                         "or empty it first")


def write_site(gallery: Gallery, input_dir: Path, out: Path, cache_dir: Path, hashes: dict[str, str],
               index_writer=None, progress=None) -> Gallery:
    """Write the whole gallery into a temporary folder, then swap it in place of OUT. Returns the final Gallery."""
    prepare_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.building-"))
    try:
        final = _write_into(tmp, gallery, input_dir, cache_dir, hashes, index_writer, progress)
        _swap(tmp, out)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap(tmp: Path, out: Path) -> None:
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_into(tmp: Path, gallery: Gallery, input_dir: Path, cache_dir: Path, hashes: dict[str, str],
                index_writer, progress) -> Gallery:
    for sub in ("pages", "img", "thumbs", "audio", "static"):
        (tmp / sub).mkdir()
    images = []
    audio_done: dict[str, str] = {}
    items = gallery.images if progress is None else progress(gallery.images, "writing pages", len(gallery.images))
    for im in items:
        slug = slug_for(im.file)
        src = input_dir / im.file
        _render_copy(src, tmp / "img" / f"{slug}.jpg", DISPLAY_SIDE, cache_dir, hashes[im.file])
        _render_copy(src, tmp / "thumbs" / f"{slug}.jpg", THUMB_SIDE, cache_dir, hashes[im.file])
        tracks = []
        for t in im.tracks:
            rel = None
            if t.audio:
                if t.id not in audio_done:
                    name = f"audio/{re.sub(r'[^A-Za-z0-9_-]', '_', t.id)}{Path(t.audio).suffix.lower() or '.mp3'}"
                    shutil.copyfile(t.audio, tmp / name)
                    audio_done[t.id] = name
                rel = audio_done[t.id]
            tracks.append(replace(t, audio=rel))
        images.append(replace(im, tracks=tuple(tracks), page=f"pages/{slug}.html", image=f"img/{slug}.jpg",
                              thumb=f"thumbs/{slug}.jpg"))
    final = replace(gallery, images=tuple(images))
    data = orjson.dumps(final, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    (tmp / "gallery.json").write_bytes(data)
    (tmp / "gallery-data.js").write_text(f"window.GALLERY = {script_json(orjson.dumps(final))};\n",
                                         encoding="utf-8")
    if index_writer is not None:
        index_writer(tmp / "music-index.hnsw")
    for f in (TEMPLATE_DIR / "static").iterdir():
        shutil.copyfile(f, tmp / "static" / f.name)
    env = _environment()
    (tmp / "index.html").write_text(render_index(env, final), encoding="utf-8")
    for i, im in enumerate(final.images):
        (tmp / im.page).write_text(render_picture(env, final, i), encoding="utf-8")
    return final


def render_index(env: Environment, gallery: Gallery) -> str:
    return env.get_template("index.html").render(root="", gallery=gallery, quadrant_names=affect.QUADRANT_NAMES)


def render_picture(env: Environment, gallery: Gallery, i: int) -> str:
    im = gallery.images[i]
    prev = gallery.images[i - 1] if i > 0 else None
    nxt = gallery.images[i + 1] if i + 1 < len(gallery.images) else None
    return env.get_template("image.html").render(
        root="../", gallery=gallery, image=im, plot=Plot.of(im), prev=prev, next=nxt, why=explain(im),
        quadrant_names=affect.QUADRANT_NAMES)
