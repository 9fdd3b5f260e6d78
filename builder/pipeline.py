"""The only orchestrator: named stages in one list, progress around the iterable, one failing picture never
stops the build.

Per picture: read (hash, cached analysis) -> decode -> detect -> impressions. Then, over the collection: vote (quadrant means, narrowing) ->
recommend (clusters, nearest tracks). The site is written by builder.site from the resulting Gallery.
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import orjson

from builder import __version__, affect
from builder.assets import AssetStore
from builder.catalogue import Catalogue, load_csv_catalogue, load_deam
from builder.errors import BuilderError, ImageError, UsageError
from builder.images import file_digest, list_images, read_rgb
from builder.music import MusicIndex
from builder.records import (
    CatalogueInfo, Cluster, Detection, Failure, Gallery, ImageRecord, Impression, ObjectRecord, Point, Track,
)
from builder.settings import Settings

T = TypeVar("T")
Progress = Callable[[Iterable[T], str, int], Iterator[T]]

# Bump when a change makes cached analyses stale (cache keys include it).
ANALYSIS_VERSION = "2"


def no_progress(items: Iterable[T], label: str, total: int) -> Iterator[T]:
    yield from items


@dataclass
class Reading:
    """What the per-picture stages learn; the collection stages turn it into an ImageRecord."""

    file: str
    sha256: str = ""
    width: int = 0
    height: int = 0
    detections: list[Detection] = field(default_factory=list)
    objects: list[ObjectRecord] = field(default_factory=list)
    impressions: list[Impression] = field(default_factory=list)
    colour_av: Point = (0.0, 0.0)
    cached: bool = False
    rgb: np.ndarray | None = None  # the decoded picture, only between decode and detect


@dataclass
class Stats:
    stage_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    cached: int = 0
    seconds: float = 0.0
    hashes: dict[str, str] = field(default_factory=dict)  # picture -> sha256 of its file

    def add(self, stage: str, ms: float) -> None:
        self.stage_ms[stage].append(ms)


class Context:
    """Loads each heavy thing once, on first use."""

    def __init__(self, settings: Settings, store: AssetStore | None = None, detector=None, mapper=None):
        self.settings = settings
        self.store = store or settings.store()
        self._detector = detector
        self._mapper = mapper
        self._catalogue: Catalogue | None = None
        self._index: MusicIndex | None = None
        self.catalogue_problems: list[str] = []

    @property
    def detector(self):
        if self._detector is None:
            from builder.detect import make_detector

            self._detector = make_detector(self.settings.detector, self.store, **(
                {"conf": self.settings.min_score}))
        return self._detector

    @property
    def mapper(self):
        if self._mapper is None:
            from builder.words import ImpressionMapper, impression_vocabulary, load_nrc_vad, load_vectors

            lexicon = load_nrc_vad(self.store.resolve("nrc-vad"))
            self._mapper = ImpressionMapper(load_vectors(self.settings.vectors), impression_vocabulary(lexicon))
        return self._mapper

    @property
    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            s = self.settings
            if s.catalogue is not None:
                cat, self.catalogue_problems = load_csv_catalogue(s.catalogue)
            else:
                cat = load_deam(self.store, swap_2013=s.deam_2013_swap)
            if s.playable_only:
                cat = cat.playable()
                if not cat.tracks:
                    raise BuilderError("--playable-only: no track of the catalogue has an audio file; "
                                       "fetch the audio (builder assets fetch deam-audio) or use a mirror with it")
            self._catalogue = cat
        return self._catalogue

    @property
    def index(self) -> MusicIndex:
        if self._index is None:
            self._index = MusicIndex(self.catalogue, self.settings.cache_dir)
        return self._index


# ---- per-picture stages -------------------------------------------------------------------------------


def _analysis_path(ctx: Context, sha: str) -> Path:
    s = ctx.settings
    key = f"{s.detector}-{s.min_score}-{s.analysis_side}-v{ANALYSIS_VERSION}"
    return s.cache_dir / "analysis" / key / f"{sha}.json"


def stage_read(ctx: Context, r: Reading) -> None:
    r.sha256 = file_digest(ctx.settings.input / r.file)
    cached = _load_cached(_analysis_path(ctx, r.sha256))
    if cached is not None:
        r.width, r.height = cached["width"], cached["height"]
        r.detections = [Detection(d["label"], d["score"], tuple(d["box"])) for d in cached["detections"]]
        r.colour_av = tuple(cached["colour_av"])
        r.cached = True


def _load_cached(path: Path) -> dict | None:
    try:
        data = orjson.loads(path.read_bytes())
        if not isinstance(data, dict) or "detections" not in data:
            raise ValueError("incomplete")
        return data
    except FileNotFoundError:
        return None
    except (ValueError, OSError, orjson.JSONDecodeError):
        path.unlink(missing_ok=True)  # a corrupt entry is recomputed, never fatal
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def colour_feeling(rgb: np.ndarray) -> Point:
    """Valdez & Mehrabian (1994) from mean HSV brightness and saturation."""
    x = rgb.reshape(-1, 3).astype(np.float64) / 255.0
    mx, mn = x.max(axis=1), x.min(axis=1)
    sat = np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-12), 0.0)
    return affect.valdez_mehrabian(float(mx.mean()), float(sat.mean()))


def stage_decode(ctx: Context, r: Reading) -> None:
    if r.cached:
        return
    r.rgb, r.width, r.height = read_rgb(ctx.settings.input / r.file, ctx.settings.analysis_side)
    r.colour_av = colour_feeling(r.rgb)


def stage_detect(ctx: Context, r: Reading) -> None:
    if r.cached:
        return
    r.detections = ctx.detector.detect(r.rgb) if ctx.settings.method == "objects" else []
    r.rgb = None  # free the pixels: only the analysis is kept
    payload = {"width": r.width, "height": r.height, "colour_av": list(r.colour_av),
               "detections": [{"label": d.label, "score": d.score, "box": list(d.box)} for d in r.detections]}
    _write_atomic(_analysis_path(ctx, r.sha256), orjson.dumps(payload))


def stage_impressions(ctx: Context, r: Reading) -> None:
    if ctx.settings.method != "objects":
        return
    weights = affect.class_weights(r.detections)
    r.objects = [ObjectRecord(d.label, d.score, d.box, round(weights[d.label], 4)) for d in r.detections]
    for label in sorted(weights, key=lambda lb: (-weights[lb], lb)):
        for word, sim in ctx.mapper.top(label, ctx.settings.top_words):
            r.impressions.append(Impression(word.word, round(word.valence, 4), round(word.arousal, 4),
                                            round(weights[label], 4), label, round(sim, 4)))


PER_PICTURE: list[tuple[str, Callable[[Context, Reading], None]]] = [
    ("read", stage_read),
    ("decode", stage_decode),
    ("detect", stage_detect),
    ("impressions", stage_impressions),
]


# ---- collection stages ----------------------------------------------------------------------------------


def read_user_quadrants(path: Path) -> dict[str, int]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise UsageError(f"cannot read quadrants file {path}: {exc}") from exc
    out = {}
    for line, row in enumerate(rows, start=2):
        image, q = (row.get("image") or "").strip(), (row.get("quadrant") or "").strip()
        if not image or q not in ("1", "2", "3", "4"):
            raise UsageError(f"{path} line {line}: expected image,quadrant with quadrant 1-4")
        out[image] = int(q)
    return out


def recommend(ctx: Context, r: Reading, means: tuple[float, ...], user: dict[str, int]) -> ImageRecord:
    s = ctx.settings
    if s.method == "random":
        return _random_record(ctx, r)
    pts = affect.points(r.impressions)
    counts = affect.quadrant_counts(pts)
    av = affect.weighted_mean(r.impressions)
    fallback = None
    if av is None:  # nothing detected: read the picture's colours instead, and say so
        fallback = "no-objects: feeling from colour (Valdez & Mehrabian 1994)"
        av = r.colour_av
        pts = np.array([av])
    labels, centres = affect.spherical_kmeans(pts, s.clusters)
    clusters = []
    for j, c in enumerate(centres):
        centre = (round(float(c[0]), 4), round(float(c[1]), 4))
        track = ctx.index.nearest(centre, 1)[0]
        clusters.append(Cluster(centre, int((labels == j).sum()), affect.quadrant(centre), track.id))
    clusters.sort(key=lambda c: (-c.size, c.quadrant))
    if s.narrow == "user" and r.file in user:
        chosen = user[r.file]
    elif s.narrow == "vote" and fallback is None:
        chosen = affect.vote(counts, means) or affect.quadrant(av)
    else:
        chosen = affect.quadrant(av)
    kept = clusters if s.narrow == "none" else [c for c in clusters if c.quadrant == chosen]
    by_id = ctx.catalogue.by_id()
    tracks: list[Track] = []
    for c in kept:
        if c.track and by_id[c.track] not in tracks:
            tracks.append(by_id[c.track])
    if not tracks:  # no cluster centre in the chosen quadrant: the nearest track to that quadrant's points
        in_q = [p for p in pts if affect.quadrant((float(p[0]), float(p[1]))) == chosen]
        target = tuple(np.mean(in_q, axis=0)) if in_q else affect.QUADRANT_CENTRES[chosen]
        tracks = ctx.index.nearest((float(target[0]), float(target[1])), 1)
    return ImageRecord(
        file=r.file, av=(round(av[0], 4), round(av[1], 4)), quadrant=chosen, impressions=tuple(r.impressions),
        clusters=tuple(clusters), tracks=tuple(tracks), objects=tuple(r.objects), width=r.width,
        height=r.height, fallback=fallback, quadrant_counts=counts,
    )


def _random_record(ctx: Context, r: Reading) -> ImageRecord:
    seed = int.from_bytes(hashlib.sha256(f"{ctx.settings.seed}:{r.file}".encode()).digest()[:8], "big")
    track = random.Random(seed).choice(ctx.catalogue.tracks)
    av = (track.valence, track.arousal)
    return ImageRecord(file=r.file, av=av, quadrant=affect.quadrant(av), impressions=(), clusters=(),
                       tracks=(track,), objects=(), width=r.width, height=r.height,
                       fallback="random baseline: a random track", quadrant_counts=(0, 0, 0, 0))


def analyse(ctx: Context, progress: Progress = no_progress, stats: Stats | None = None,
            files: list[str] | None = None) -> Gallery:
    """Run every stage over the input folder and return the Gallery (nothing is written to OUT here)."""
    s = ctx.settings
    stats = stats or Stats()
    start = time.perf_counter()
    files = files if files is not None else list_images(s.input, exclude=s.out)
    user = read_user_quadrants(s.quadrants) if s.narrow == "user" and s.quadrants else {}
    _ = ctx.index  # load the catalogue and index before the loop: a bad catalogue fails before any picture
    readings: list[Reading] = []
    failed: list[Failure] = []
    for rel in progress(files, "reading pictures", len(files)):
        r = Reading(rel)
        try:
            for name, stage in PER_PICTURE:
                t0 = time.perf_counter()
                stage(ctx, r)
                stats.add(name, (time.perf_counter() - t0) * 1000)
        except ImageError as exc:
            failed.append(Failure(rel, str(exc)))
            continue
        except BuilderError:
            raise  # a missing model or asset concerns every picture: stop with its message
        except Exception as exc:  # one failing picture never stops the build
            if s.debug:
                raise
            failed.append(Failure(rel, f"unexpected error: {type(exc).__name__}: {exc}"))
            continue
        stats.cached += r.cached
        stats.hashes[rel] = r.sha256
        readings.append(r)
    t0 = time.perf_counter()
    counts = [affect.quadrant_counts(affect.points(r.impressions)) for r in readings]
    means = affect.collection_means([c for c in counts if sum(c)])
    records = []
    for r in readings:
        try:
            records.append(recommend(ctx, r, means, user))
        except Exception as exc:
            if s.debug:
                raise
            failed.append(Failure(r.file, f"unexpected error: {type(exc).__name__}: {exc}"))
    stats.add("recommend", (time.perf_counter() - t0) * 1000 / max(1, len(readings)))
    stats.seconds = time.perf_counter() - start
    return Gallery(
        method=s.method if s.method != "objects" else f"objects:{s.detector}",
        narrow=s.narrow,
        quadrant_means=tuple(round(m, 4) for m in means),
        catalogue=CatalogueInfo(ctx.catalogue.name, len(ctx.catalogue.tracks)),
        images=tuple(records),
        failed=tuple(sorted(failed, key=lambda f: f.file)),
        version=__version__,
    )
