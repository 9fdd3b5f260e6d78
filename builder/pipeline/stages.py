"""The per-picture stages, named in one list (PER_PICTURE), and the loop that runs them over a
collection: in this process, in forked or spawned worker processes, or on a Ray cluster
(builder.pipeline.executors, handed this module's worker functions). One failing picture never stops
the build.

Per picture: read (hash, cached analysis) -> decode -> detect -> faces -> colours -> caption ->
scene -> remember (cache) -> copies -> impressions. At each recogniser stage the pipeline asks the
method (builder.picture.methods) and the method answers.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson

from builder.errors import NOT_UTF8, BuilderError, ImageError, printable
from builder.files import atomic_path, inside
from builder.images import named_bytes, read_metadata, read_picture, read_rgb
from builder.picture import affect, methods
from builder.picture.feeling import Ingredients, colour_stats
from builder.picture.reading import Reading
from builder.pipeline import curation, executors
from builder.pipeline.context import Context, Progress, no_progress
from builder.pipeline.stats import MODEL_STAGES, Stats
from builder.records import Colour, Detection, FaceRecord, Failure, Point
from builder.settings import Settings

# Bump when a change makes cached analyses stale (cache keys include it).
ANALYSIS_VERSION = "5"

# ---- per-picture stages --------------------------------------------------------------------------


def _link_loop(path: Path) -> None:
    """ImageError for a link that leads back to itself (else it would be told as leading outside the
    folder)."""
    import errno
    import os

    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ImageError("is a link that leads back to itself (a loop of links)") from None


def method_of(ctx: Context) -> methods.Method:
    """The method the settings name, or one a test injected into the Context (Context(settings,
    method=...)). Looked up here, not by the Context: the methods name the Context by a protocol of
    their own (builder.picture.reading), so the context never imports them back."""
    injected = ctx.__dict__.get("method")
    return injected if injected is not None else methods.get(ctx.settings.method)


def analysis_path(s: Settings, sha: str) -> Path:
    own = methods.get(s.method).cache_key(s)
    key = f"{s.method}-{s.detector}-{s.min_score}-{s.analysis_side}{own}"
    return s.cache_dir / "analysis" / f"{key}-v{ANALYSIS_VERSION}" / f"{sha}.json"


def stage_read(ctx: Context, r: Reading) -> None:
    """Hash the picture's bytes and look them up in the cache. A cluster task brings the bytes and
    their hash along (builder.pipeline.executors): its node need not see the input folder."""
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
    # every field is checked as it is rebuilt: an entry of the wrong shape is recomputed, never
    # served
    try:
        width, height = int(cached["width"]), int(cached["height"])
        colour_av = tuple(float(x) for x in cached["colour_av"])
        detections = [
            Detection(str(d["label"]), float(d["score"]), _box(d["box"]))
            for d in cached["detections"]
        ]
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
        ingredients = (
            Ingredients.from_json(cached["ingredients"]) if cached.get("ingredients") else None
        )
        if (
            width <= 0
            or height <= 0
            or len(colour_av) != 2
            or len(colours) not in (0, len(detections))
        ):
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
    # an entry from before titles were read: read them from the bytes at hand, and keep them with it
    else:
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
    """Valdez & Mehrabian (1994) from mean HSV brightness and saturation (the first two colour
    statistics)."""
    return affect.valdez_mehrabian(float(stats[0]), float(stats[1]))


def stage_decode(ctx: Context, r: Reading) -> None:
    if r.cached:
        return
    r.meta = picture_metadata(
        r.data
    )  # the header, once, where the picture is analysed; cached with the analysis
    r.rgb, r.width, r.height = read_rgb(
        named_bytes(r.data, r.file), ctx.settings.analysis_side
    )  # the bytes hashed
    if not ctx.copies:
        r.data = None  # otherwise kept for the copies, made once the pixels read here are freed
    r.colour = colour_stats(r.rgb)
    r.colour_av = colour_feeling(r.colour)


def recogniser(name: str) -> Callable[[Context, Reading], None]:
    """The stage that asks the method's recogniser `name` (one of MODEL_STAGES) about a picture the
    cache did not hold."""

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
    """Write a reading's analysis to the cache (the recognisers' findings, not the fitted models'
    output)."""
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
        with atomic_path(
            analysis_path(s, r.sha256), durable=False
        ) as tmp:  # checked field by field when read
            tmp.write_bytes(orjson.dumps(payload))
    except OSError:
        # a cache that cannot take the entry (full, read-only) costs speed next time, never this
        # build
        pass


def stage_copies(ctx: Context, r: Reading) -> None:
    """The picture's copies for the gallery (builder.gallery.copies.cache_copies), made here from
    the bytes at hand after the analysis freed its pixels: on every core, so the site stage only
    copies them out. Never this picture's failure: a copy that cannot be made now is made, or its
    failure reported, by the site stage."""
    data, r.data = r.data, None
    if r.cached or data is None or not ctx.copies:
        return
    _copies(ctx, r.file, r.sha256, max(r.width, r.height), data)


def _copies(
    ctx: Context, rel: str, sha: str, natural: int | None = None, data: bytes | None = None
) -> None:
    from builder.gallery.copies import cache_copies

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

    Each picture is hashed and looked up in the cache here. With one worker the pictures the cache
    lacks are analysed here as they come. With several on Linux, the method's models start loading
    (in a thread) at the first picture the cache lacks, while the rest are hashed; then workers are
    forked from this process, sharing its weights, and this process analyses too
    (builder.pipeline.executors.LocalProcesses, here=). Elsewhere workers are spawned, each loading
    its own models, when there are enough pictures to pay for that."""
    s = ctx.settings
    stats = stats if stats is not None else Stats()
    results: dict[str, Outcome] = {}
    todo: list[Reading] = []
    ray = s.executor == "ray" and not ctx.injected
    workers = s.worker_count() if not ctx.injected else 1
    here = (
        workers > 1 and not ray and executors.can_fork()
    )  # models loaded here, workers forked from here
    # one worker is one core, here as in each worker process (not torch's thread pool); set at the
    # first picture the cache lacks, as its models load: a build the cache serves whole never
    # imports torch
    one_thread = (workers == 1 or here) and not ray and not ctx.injected
    loader: _Loader | None = None
    for rel in progress(files, "reading pictures", len(files)):
        if not _utf8(
            rel
        ):  # the gallery's pages and JSON are UTF-8: such a name cannot be written into them
            results[rel] = (None, Failure(printable(rel), NOT_UTF8), {})
            continue
        r = Reading(rel)
        outcome = _run_stages(ctx, r, PER_PICTURE[:1])  # read: hash, and the cache
        if one_thread and outcome[1] is None and not r.cached and not here:
            executors.single_threaded()
            one_thread = False
        if outcome[1] is None and not r.cached and (workers > 1 or ray):
            todo.append(r)
            # the worker that analyses it reads the file again and checks it against this hash
            r.data = None
            if here and loader is None:
                loader = _Loader(ctx, one_thread)
            continue
        if outcome[1] is None:  # cached pictures too: their impressions and records are made here
            outcome = _merge(outcome, _run_stages(ctx, r, PER_PICTURE[1:]))
        results[rel] = outcome
    if todo and not (here or ray) and len(todo) < MIN_PER_WORKER * workers:
        for r in (
            todo
        ):  # too few to be worth spawning workers that load their own models: analyse them here
            results[r.file] = analyse_one(ctx, r.file, r.sha256)
    elif todo:
        here_work = None
        if loader is not None:
            # while the models load, the other cores make the pictures' copies (without the GIL)
            if ctx.copies:
                for r in todo:
                    if not loader.loading():
                        break
                    _copies(ctx, r.file, r.sha256)
            loader.wait()
            # this process's models: it analyses too, and the forked workers inherit them
            here_work = Worker(ctx)
        executor = executors.make(s, workers, worker_setup, here=here_work)
        outcomes = executor.map([(r.file, r.sha256) for r in todo], progress)
        if ray:  # what the cluster did, for the build's summary
            stats.notes.append(executor.summary())  # type: ignore[attr-defined]
        for r, outcome in zip(todo, outcomes):
            results[r.file] = outcome
            reading = outcome[
                0
            ]  # a Ray node's cache may be its own: keep the analysis in this machine's too
            if (
                ray
                and reading is not None
                and not reading.cached
                and not analysis_path(s, reading.sha256).exists()
            ):
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


MIN_PER_WORKER = (
    8  # uncached pictures per spawned worker below which analysing here beats starting workers
)


class _Loader:
    """The method's models, loading in a thread while the main thread hashes the other pictures
    (hashing and reading files release the GIL, and so does most of the models' loading)."""

    def __init__(self, ctx: Context, one_thread: bool):
        import threading

        self.error: BaseException | None = None
        self.thread = threading.Thread(
            target=self._load, args=(ctx, one_thread), name="load-models", daemon=True
        )
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


# ---- what a worker process runs (builder.pipeline.executors calls worker_setup by name) ---------


class Worker:
    """A worker's work: each job (one uncached picture) analysed with one Context, whose models load
    once."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def __call__(self, job: executors.Job, data: bytes | None = None) -> Outcome:
        return analyse_one(self.ctx, job[0], job[1], data)


def worker_setup(settings: Settings) -> Worker:
    """The work of a worker process, with its own Context (the executor has made it
    single-threaded); a worker forked from the main process is handed the main process's Worker
    instead, models loaded."""
    return Worker(Context(settings))


def analyse_one(ctx: Context, rel: str, sha: str, data: bytes | None = None) -> Outcome:
    """One uncached picture, away from the main process: read it (or take its bytes: a node of a
    cluster need not see the input folder), check it is the content the main process hashed, and
    analyse it."""
    r = Reading(rel)
    if data is not None:
        r.data, r.sha256 = data, hashlib.sha256(data).hexdigest()
    outcome = _run_stages(ctx, r, PER_PICTURE[:1])
    if outcome[1] is None and r.sha256 != sha:
        return (
            None,
            Failure(rel, "changed while the build was reading it; build again to include it"),
            outcome[2],
        )
    if outcome[1] is not None:
        return outcome
    return _merge(outcome, _run_stages(ctx, r, PER_PICTURE[1:]))
