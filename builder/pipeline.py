"""The only orchestrator: named stages in one list, progress around the iterable, one failing picture never
stops the build.

Per picture: read (hash, cached analysis) -> decode -> detect -> faces -> colours -> caption -> scene ->
remember (cache) -> impressions. Then, over the collection: recommend (each picture's feeling and music), then
what the method does once for all (the learned method matches music to the whole collection). At each stage the
pipeline asks the method (builder.picture.methods) and the method answers. The site is written by
builder.gallery.site from the resulting Gallery. This is the one place that joins the wings: the per-picture stages
use the picture wing, the Context (builder.context) hands the music wing's index to the methods, and uncached
pictures go to an executor (builder.executors) that is given this module's worker functions.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import orjson

from builder import __version__, curation, executors
from builder.context import Context, Progress, Reading, no_progress
from builder.errors import NOT_UTF8, BuilderError, ImageError, printable
from builder.files import atomic_path, inside
from builder.images import find_images, named_bytes, read_metadata, read_picture, read_rgb
from builder.picture import affect, methods
from builder.picture.feeling import Ingredients, colour_stats
from builder.records import CatalogueInfo, Colour, Detection, FaceRecord, Failure, Gallery, Point
from builder.settings import Settings

MODEL_STAGES = ("detect", "faces", "colours", "caption", "scene")  # the stages that run models (methods.Method)
PER_BUILD = ("recommend", "site")  # recorded once a build, as milliseconds per picture

# Bump when a change makes cached analyses stale (cache keys include it).
ANALYSIS_VERSION = "5"


@dataclass
class Stats:
    stage_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    cached: int = 0
    hashes: dict[str, str] = field(default_factory=dict)  # picture -> sha256 of its file

    def add(self, stage: str, ms: float) -> None:
        self.stage_ms[stage].append(ms)

    def per_picture(self, pictures: int) -> dict[str, float]:
        """Milliseconds per picture for each stage: the stage's total over every picture built (cached ones too,
        whose recognisers cost nothing), so the figures add up to the build's work per picture. Stages recorded
        once a build (PER_BUILD) are recorded per picture already."""
        n = max(1, pictures)
        return {k: round(sum(v) / (len(v) if k in PER_BUILD else n), 3) for k, v in self.stage_ms.items()}

    def to_json(self, wall_s: float, pictures: int, workers: int) -> bytes:
        """The --stats file. model_ms: model inference per picture (the recogniser stages); other_ms: the rest,
        writing the site included. With several workers stage times are summed over the workers (work, not
        wall time)."""
        per = self.per_picture(pictures)
        model = sum(v for k, v in per.items() if k in MODEL_STAGES)
        return orjson.dumps(
            {
                "wall_s": round(wall_s, 3),
                "pictures": pictures,
                "cached": self.cached,
                "workers": workers,
                "stage_ms": per,
                "model_ms": round(model, 3),
                "other_ms": round(sum(per.values()) - model, 3),
            },
            option=orjson.OPT_INDENT_2,
        )


# ---- per-picture stages -------------------------------------------------------------------------------


def _link_loop(path: Path) -> None:
    """ImageError for a link that leads back to itself (else it would be told as leading outside the folder)."""
    import errno
    import os

    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ImageError("is a link that leads back to itself (a loop of links)") from None


def method_of(ctx: Context) -> methods.Method:
    """The method the settings name, or one a test injected into the Context (Context(settings, method=...)).
    Looked up here, not by the Context: the methods import builder.context for their types, so the context never
    imports them back."""
    injected = ctx.__dict__.get("method")
    return injected if injected is not None else methods.get(ctx.settings.method)


def analysis_path(s: Settings, sha: str) -> Path:
    key = f"{s.method}-{s.detector}-{s.min_score}-{s.analysis_side}{methods.get(s.method).cache_key(s)}"
    return s.cache_dir / "analysis" / f"{key}-v{ANALYSIS_VERSION}" / f"{sha}.json"


def stage_read(ctx: Context, r: Reading) -> None:
    """Hash the picture's bytes and look them up in the cache. A cluster task brings the bytes and their hash
    along (builder.executors): its node need not see the input folder."""
    if r.data is None:
        path = ctx.settings.input / r.file
        if path.is_symlink() and not inside(path, ctx.settings.input):
            _link_loop(path)
            raise ImageError("is a link to a file outside the input folder; it is not published")
        r.data, r.sha256 = read_picture(path)
    path = analysis_path(ctx.settings, r.sha256)
    cached = _load_cached(path)
    if cached is None:
        return
    try:  # every field is checked as it is rebuilt: an entry of the wrong shape is recomputed, never served
        width, height = int(cached["width"]), int(cached["height"])
        colour_av = tuple(float(x) for x in cached["colour_av"])
        detections = [Detection(str(d["label"]), float(d["score"]), _box(d["box"])) for d in cached["detections"]]
        colours = [
            Colour(str(c["name"]), tuple(int(x) for x in c["rgb"]), str(c["mask"])) if c else None
            for c in cached["colours"]
        ]
        faces = [
            FaceRecord(
                _box(f["box"]),
                str(f["expression"]),
                float(f["confidence"]),
                {str(k): float(v) for k, v in f["probabilities"].items()},
            )
            for f in cached["faces"]
        ]
        scene = [{"label": str(x["label"]), "score": float(x["score"])} for x in cached["scene"]]
        caption = (str(cached["caption_text"]), str(cached["caption_source"]))
        ingredients = Ingredients.from_json(cached["ingredients"]) if cached.get("ingredients") else None
        if width <= 0 or height <= 0 or len(colour_av) != 2 or len(colours) not in (0, len(detections)):
            raise ValueError("inconsistent entry")
        method_of(ctx).check_cached(ctx, ingredients)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        _forget(path)
        return
    r.width, r.height, r.colour_av = width, height, colour_av
    r.detections, r.colours, r.faces, r.scene = detections, colours, faces, scene
    r.caption_text, r.caption_source = caption
    r.ingredients = ingredients
    meta = cached.get("meta")
    if isinstance(meta, list) and len(meta) == 2 and all(isinstance(x, str) for x in meta):
        r.meta = (meta[0], meta[1])
    else:  # an entry from before titles were read: read them from the bytes at hand, and keep them with it
        r.meta = picture_metadata(r.data)
        _add_meta(path, cached, r.meta)
    r.cached, r.data = True, None


def picture_metadata(data: bytes) -> tuple[str, str]:
    """The picture's own title and description (builder.images.read_metadata), fit for a page."""
    title, description = read_metadata(data)
    return (
        curation.clean(title, curation.TITLE_CAP, one_line=True),
        curation.clean(description, curation.DESCRIPTION_CAP),
    )


def _add_meta(path: Path, entry: dict, meta: tuple[str, str]) -> None:
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(orjson.dumps({**entry, "meta": list(meta)}))
    except OSError:
        pass  # read again next time; never this build's concern


def _box(b) -> tuple[float, float, float, float]:
    box = tuple(float(x) for x in b)
    if len(box) != 4:
        raise ValueError("a box has four numbers")
    return box


def _forget(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def _load_cached(path: Path) -> dict | None:
    try:
        data = orjson.loads(path.read_bytes())
        missing = {
            "width",
            "height",
            "colour_av",
            "detections",
            "colours",
            "faces",
            "scene",
            "caption_text",
            "caption_source",
        } - set(data)
        if missing:
            raise ValueError(f"incomplete: {missing}")
        return data
    except FileNotFoundError:
        return None
    except (ValueError, OSError, TypeError, orjson.JSONDecodeError):
        _forget(path)  # a corrupt entry is recomputed, never fatal
        return None


def colour_feeling(stats: np.ndarray) -> Point:
    """Valdez & Mehrabian (1994) from mean HSV brightness and saturation (the first two colour statistics)."""
    return affect.valdez_mehrabian(float(stats[0]), float(stats[1]))


def stage_decode(ctx: Context, r: Reading) -> None:
    if r.cached:
        return
    r.meta = picture_metadata(r.data)  # the header, once, where the picture is analysed; cached with the analysis
    r.rgb, r.width, r.height = read_rgb(named_bytes(r.data, r.file), ctx.settings.analysis_side)  # the bytes hashed
    if not ctx.copies:
        r.data = None  # otherwise kept for the copies, made once the pixels read here are freed
    r.colour = colour_stats(r.rgb)
    r.colour_av = colour_feeling(r.colour)


def recogniser(name: str) -> Callable[[Context, Reading], None]:
    """The stage that asks the method's recogniser `name` (one of MODEL_STAGES) about a picture the cache did not
    hold."""

    def stage(ctx: Context, r: Reading) -> None:
        if not r.cached:
            getattr(method_of(ctx), name)(ctx, r)

    stage.__name__ = stage.__qualname__ = f"stage_{name}"
    return stage


def stage_remember(ctx: Context, r: Reading) -> None:
    """Write what the recognisers found to the cache, and free the pixels."""
    r.rgb, r.masks, r.colour = None, None, None
    if not r.cached:
        remember(ctx.settings, r)


def remember(s: Settings, r: Reading) -> None:
    """Write a reading's analysis to the cache (the recognisers' findings, not the fitted models' output)."""
    payload = {
        "width": r.width,
        "height": r.height,
        "colour_av": list(r.colour_av),
        "detections": r.detections,
        "colours": r.colours,
        "faces": r.faces,
        "scene": r.scene,
        "caption_text": r.caption_text,
        "caption_source": r.caption_source,
        "ingredients": r.ingredients.to_json() if r.ingredients is not None else None,
        "meta": list(r.meta),
    }
    try:
        with atomic_path(analysis_path(s, r.sha256), durable=False) as tmp:  # checked field by field when read
            tmp.write_bytes(orjson.dumps(payload))
    except OSError:
        pass  # a cache that cannot take the entry (full, read-only) costs speed next time, never this build


def stage_copies(ctx: Context, r: Reading) -> None:
    """The picture's copies for the gallery (builder.gallery.site.cache_copies), made here from the bytes at hand
    after the analysis freed its pixels: on every core, so the site stage only copies them out. Never this
    picture's failure: a copy that cannot be made now is made, or its failure reported, by the site stage."""
    data, r.data = r.data, None
    if r.cached or data is None or not ctx.copies:
        return
    _copies(ctx, r.file, r.sha256, max(r.width, r.height), data)


def _copies(ctx: Context, rel: str, sha: str, natural: int | None = None, data: bytes | None = None) -> None:
    from builder.gallery.site import cache_copies

    try:
        if natural is None:  # the picture's longest side, from its header, as the analysis reads it
            from PIL import Image

            with Image.open(ctx.settings.input / rel) as im:
                natural = max(im.size)
        cache_copies(ctx.settings.input / rel, sha, ctx.settings.cache_dir, natural, data)
    except Exception:  # noqa: BLE001 - the site stage makes it again, and says why it cannot
        if ctx.settings.debug:
            raise


def stage_impressions(ctx: Context, r: Reading) -> None:
    method_of(ctx).impressions(ctx, r)


PER_PICTURE: list[tuple[str, Callable[[Context, Reading], None]]] = [
    ("read", stage_read),
    ("decode", stage_decode),
    *((name, recogniser(name)) for name in MODEL_STAGES),
    ("remember", stage_remember),
    ("copies", stage_copies),
    ("impressions", stage_impressions),
]


# ---- collection stages ----------------------------------------------------------------------------------


def read_sheet(s: Settings) -> curation.Sheet | None:
    """The curator's sheet (--curation), or --quadrants, which is a sheet of image and quadrant columns."""
    if s.curation is not None:
        return curation.read_sheet(s.curation)
    if s.quadrants is not None:
        return curation.read_sheet(s.quadrants, "quadrants file")
    return None


def analyse(
    ctx: Context, progress: Progress = no_progress, stats: Stats | None = None, files: list[str] | None = None
) -> Gallery:
    """Run every stage over the input folder and return the Gallery (nothing is written to OUT here).

    What the curator gives (--intro, --curation) is read and checked first: a malformed file stops the build
    before any picture or track is read; hidden pictures are not read at all."""
    s = ctx.settings
    stats = stats or Stats()
    sheet = read_sheet(s)
    intro = curation.read_intro(s.intro) if s.intro is not None else (None, None)
    unreadable: list[tuple[str, str]] = []
    if files is None:  # the builder's own folders are never input, whatever nests in what
        files, unreadable = find_images(s.input, exclude=(s.out, s.cache_dir))
    if sheet is not None:
        sheet.check_pictures(files)
        hidden = sheet.hidden
        files = [f for f in files if f not in hidden]
    if s.music is not None:
        ctx.listen(progress)  # with its own progress bar, before the pictures
    _ = ctx.index  # load the catalogue and index before the loop: a bad catalogue fails before any picture
    pins = sheet.pins(ctx.catalogue.tracks, ctx.catalogue.name) if sheet is not None else {}
    # the method's collection-wide assignment takes the pins as given (by catalogue index: the index's numbering)
    position = {t.id: i for i, t in enumerate(ctx.catalogue.tracks)}  # ids are unique in a catalogue
    ctx.pins = {f: position[t.id] for f, t in pins.items()}
    if sheet is not None:
        ctx.warnings.extend(sheet.warnings)
    method_of(ctx).prepare(ctx)  # and the method's models
    readings, failed = read_all(ctx, files, progress, stats)
    failed = [Failure(printable(f), why) for f, why in unreadable] + failed
    gallery = choose_music(ctx, readings, failed, sheet.quadrants if sheet else {}, stats)
    # where each played track stops being quiet: after the sheet, so that a pinned track has its start too
    return with_starts(ctx, curate(ctx, gallery, readings, sheet, pins, intro), progress)


def curate(
    ctx: Context,
    gallery: Gallery,
    readings: list[Reading],
    sheet: curation.Sheet | None,
    pins: dict,
    intro: tuple[str | None, str | None],
) -> Gallery:
    """The curator's sheet and the pictures' own titles applied after the method chose music for the collection
    (which counted the pins already, ctx.pins): titles, captions, alt text, pinned first tracks, and the curator's
    order (which the slideshow follows too: pictures given an order first, then the others in the usual walk,
    builder.gallery.site.slideshow_order)."""
    from builder.gallery.site import slideshow_order

    images = curation.apply(list(gallery.images), sheet, {r.file: r.meta for r in readings}, pins)
    slideshow: tuple[str, ...] = ()
    if curation.has_order(sheet):
        given = [im.file for im in images if im.file in sheet.entries and sheet.entries[im.file].order is not None]
        placed = set(given)
        slideshow = tuple(given) + tuple(slideshow_order([im for im in images if im.file not in placed]))
    return replace(
        gallery,
        images=tuple(images),
        slideshow=slideshow,
        title=curation.exhibition_title(ctx.settings.title, ctx.settings.input),
        intro=intro[0],
        intro_html=intro[1],
    )


def with_starts(ctx: Context, gallery: Gallery, progress: Progress = no_progress) -> Gallery:
    """Set Track.start (where each track stops being quiet) on every recommended track with audio, so the
    slideshow and the film skip a silent opening. Cached by the audio's content hash; a track that cannot be
    decoded keeps 0 (it is the player's problem to report, not the build's)."""
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace

    from builder.music.excerpt import ExcerptError, cached_loud_start

    def start(path: str) -> float | None:
        try:
            return cached_loud_start(Path(path), ctx.settings.cache_dir)
        except (ExcerptError, OSError):
            return None
        except Exception:  # noqa: BLE001 - a track the decoder trips over keeps start 0; it never stops the build
            if ctx.settings.debug:
                raise
            return None

    paths = sorted({t.audio for im in gallery.images for t in im.tracks if t.audio})
    starts: dict[str, float] = {}
    threads = 1 if ctx.injected else ctx.settings.worker_count()  # the decoder works without the GIL
    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(paths)))) as pool:
        found = progress(pool.map(start, paths), "finding where the music starts", len(paths))
        starts = {path: value for path, value in zip(paths, found) if value is not None}
    if not starts:
        return gallery
    images = tuple(
        replace(im, tracks=tuple(replace(t, start=starts[t.audio]) if t.audio in starts else t for t in im.tracks))
        for im in gallery.images
    )
    return replace(gallery, images=images)


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def read_all(
    ctx: Context, files: list[str], progress: Progress = no_progress, stats: Stats | None = None
) -> tuple[list[Reading], list[Failure]]:
    """Run the per-picture stages; a picture that fails is listed with its reason, never fatal.

    Each picture is hashed and looked up in the cache here. With one worker the pictures the cache lacks are
    analysed here as they come. With several on Linux, the method's models start loading (in a thread) at the
    first picture the cache lacks, while the rest are hashed; then workers are forked from this process, sharing
    its weights, and this process analyses too (builder.executors.LocalProcesses, here=True). Elsewhere workers
    are spawned, each loading its own models, when there are enough pictures to pay for that."""
    s = ctx.settings
    stats = stats if stats is not None else Stats()
    results: dict[str, Outcome] = {}
    todo: list[Reading] = []
    ray = s.executor == "ray" and not ctx.injected
    workers = s.worker_count() if not ctx.injected else 1
    here = workers > 1 and not ray and executors.can_fork()  # models loaded here, workers forked from here
    # one worker is one core, here as in each worker process (not torch's thread pool); set at the first picture
    # the cache lacks, as its models load: a build the cache serves whole never imports torch
    one_thread = (workers == 1 or here) and not ray and not ctx.injected
    loader: _Loader | None = None
    for rel in progress(files, "reading pictures", len(files)):
        if not _utf8(rel):  # the gallery's pages and JSON are UTF-8: such a name cannot be written into them
            results[rel] = (None, Failure(printable(rel), NOT_UTF8), {})
            continue
        r = Reading(rel)
        outcome = _run_stages(ctx, r, PER_PICTURE[:1])  # read: hash, and the cache
        if one_thread and outcome[1] is None and not r.cached and not here:
            executors.single_threaded()
            one_thread = False
        if outcome[1] is None and not r.cached and (workers > 1 or ray):
            todo.append(r)
            r.data = None  # the worker that analyses it reads the file again and checks it against this hash
            if here and loader is None:
                loader = _Loader(ctx, one_thread)
            continue
        if outcome[1] is None:  # cached pictures too: their impressions and records are made here
            outcome = _merge(outcome, _run_stages(ctx, r, PER_PICTURE[1:]))
        results[rel] = outcome
    if todo and not (here or ray) and len(todo) < MIN_PER_WORKER * workers:
        for r in todo:  # too few to be worth spawning workers that load their own models: analyse them here
            results[r.file] = analyse_one(ctx, r.file, r.sha256)
    elif todo:
        global _WORKER
        if loader is not None:
            if ctx.copies:  # while the models load, the other cores make the pictures' copies (without the GIL)
                for r in todo:
                    if not loader.loading():
                        break
                    _copies(ctx, r.file, r.sha256)
            loader.wait()
            _WORKER = ctx  # this process's models: the forked workers inherit them, and it analyses too
        try:
            executor = executors.make(s, workers, worker_setup, worker_analyse, here=here)
            outcomes = executor.map([(r.file, r.sha256) for r in todo], progress)
            if ray:  # for the build's summary
                ctx.notes.append(executor.summary())  # type: ignore[attr-defined]
        finally:
            _WORKER = None
        for r, outcome in zip(todo, outcomes):
            results[r.file] = outcome
            reading = outcome[0]  # a Ray node's cache may be its own: keep the analysis in this machine's too
            if ray and reading is not None and not reading.cached and not analysis_path(s, reading.sha256).exists():
                remember(s, reading)
    readings: list[Reading] = []
    failed: list[Failure] = []
    for rel in files:
        r, failure, ms = results[rel]
        for name, value in ms.items():
            stats.add(name, value)
        if failure is not None:
            failed.append(failure)
            continue
        stats.cached += r.cached
        stats.hashes[rel] = r.sha256
        readings.append(r)
    return readings, failed


MIN_PER_WORKER = 8  # uncached pictures per spawned worker below which analysing here beats starting workers


class _Loader:
    """The method's models, loading in a thread while the main thread hashes the other pictures (hashing and
    reading files release the GIL, and so does most of the models' loading)."""

    def __init__(self, ctx: Context, one_thread: bool):
        import threading

        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._load, args=(ctx, one_thread), name="load-models", daemon=True)
        self.thread.start()

    def _load(self, ctx: Context, one_thread: bool) -> None:
        try:
            if one_thread:
                executors.single_threaded()
            method_of(ctx).load(ctx)
        except BaseException as exc:  # noqa: BLE001 - raised in the main thread by wait()
            self.error = exc

    def loading(self) -> bool:
        return self.thread.is_alive()

    def wait(self) -> None:
        self.thread.join()
        if self.error is not None:
            raise self.error


def _merge(a, b):
    return b[0], b[1], {**a[2], **b[2]}


Outcome = tuple[Reading | None, Failure | None, dict[str, float]]


def _run_stages(ctx: Context, r: Reading, stages) -> Outcome:
    """Run stages on one picture: (the reading, None, ms per stage) or (None, the failure, ms)."""
    ms: dict[str, float] = {}
    try:
        for name, stage in stages:
            t0 = time.perf_counter()
            stage(ctx, r)
            ms[name] = (time.perf_counter() - t0) * 1000
    except ImageError as exc:
        return None, Failure(r.file, str(exc)), ms
    except BuilderError:
        raise  # a missing model or asset concerns every picture: stop with its message
    except MemoryError:  # this picture's alone: the next one may well fit
        return None, Failure(r.file, "there was not enough memory to analyse it"), ms
    except Exception as exc:  # one failing picture never stops the build
        if ctx.settings.debug:
            raise
        return None, Failure(r.file, f"unexpected error: {type(exc).__name__}: {exc}"), ms
    return r, None, ms


# ---- what a worker process runs (builder.executors calls these by name) ------------------------------------

_WORKER: Context | None = None


def worker_setup(settings: Settings) -> None:
    """Load the models of a worker process once (the executor has made it single-threaded). A worker forked from
    the main process has its Context, models loaded, already."""
    global _WORKER
    if _WORKER is None or _WORKER.settings != settings:
        _WORKER = Context(settings)


def worker_analyse(job: executors.Job, data: bytes | None = None) -> Outcome:
    assert _WORKER is not None, "worker_setup was not called in this process"
    return analyse_one(_WORKER, job[0], job[1], data)


def analyse_one(ctx: Context, rel: str, sha: str, data: bytes | None = None) -> Outcome:
    """One uncached picture, away from the main process: read it (or take its bytes: a node of a cluster need
    not see the input folder), check it is the content the main process hashed, and analyse it."""
    r = Reading(rel)
    if data is not None:
        r.data, r.sha256 = data, hashlib.sha256(data).hexdigest()
    outcome = _run_stages(ctx, r, PER_PICTURE[:1])
    if outcome[1] is None and r.sha256 != sha:
        return None, Failure(rel, "changed while the build was reading it; build again to include it"), outcome[2]
    if outcome[1] is not None:
        return outcome
    return _merge(outcome, _run_stages(ctx, r, PER_PICTURE[1:]))


def choose_music(
    ctx: Context, readings: list[Reading], failed: list[Failure], user: dict[str, int], stats: Stats
) -> Gallery:
    """The collection stages: quadrant means, narrowing, clusters and nearest tracks."""
    s = ctx.settings
    t0 = time.perf_counter()
    counts = [affect.quadrant_counts(affect.points(r.impressions)) for r in readings]
    means = affect.collection_means([c for c in counts if sum(c)])
    records = []
    for r in readings:
        try:
            records.append(method_of(ctx).record(ctx, r, means, user))
        except Exception as exc:
            if s.debug:
                raise
            failed.append(Failure(r.file, f"unexpected error: {type(exc).__name__}: {exc}"))
    records, matching = method_of(ctx).finish(ctx, records)
    stats.add("recommend", (time.perf_counter() - t0) * 1000 / max(1, len(readings)))
    return Gallery(
        method=method_of(ctx).label(s),
        narrow=s.narrow,
        quadrant_means=tuple(round(m, 4) for m in means),
        catalogue=CatalogueInfo(ctx.catalogue.name, len(ctx.catalogue.tracks)),
        images=tuple(records),
        failed=tuple(sorted(failed, key=lambda f: f.file)),
        version=__version__,
        reference=method_of(ctx).reference(ctx),
        matching=matching,
        silent=ctx.silent,
        lang=s.lang,
        kiosk=s.kiosk,
    )
