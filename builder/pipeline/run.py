"""The only orchestrator: `analyse` reads what the curator gives, then every picture through the
named stages (builder.pipeline.stages), then the collection: each picture's feeling and music
(recommend), what the method does once for all (the learned method matches music to the whole
collection), the curator's sheet, and where each picture's tracks play from (the moment nearest its
target, or where the track stops being quiet). The site is written by builder.gallery from the
resulting Gallery.

This is the one place that joins the wings: the stages use the picture wing, the Context
(builder.pipeline.context) hands the music wing's index to the methods.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from builder import __version__
from builder.errors import UsageError, printable
from builder.images import find_images
from builder.picture import affect
from builder.picture.reading import Reading
from builder.pipeline import curation, study
from builder.pipeline.context import Context, Progress, no_progress
from builder.pipeline.stages import method_of, read_all
from builder.pipeline.stats import Stats
from builder.records import CatalogueInfo, Failure, Gallery, ImageRecord, Study, Track

# ---- collection stages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Analysis:
    """What reading a collection gives: the Gallery, and the warnings for the person building (rows
    or files the catalogue left out, then what the curator's sheet says of pictures or tracks that
    are not there)."""

    gallery: Gallery
    warnings: tuple[str, ...]
    hidden: int = 0  # pictures of the folder that the curator's sheet hid


def analyse(
    ctx: Context,
    progress: Progress = no_progress,
    stats: Stats | None = None,
    files: list[str] | None = None,
) -> Gallery:
    """The Gallery of the input folder (`analyse_with_warnings` without the warnings): for the lab
    and the benchmarks, which read collections without a curator's sheet."""
    return analyse_with_warnings(ctx, progress, stats, files).gallery


def analyse_with_warnings(
    ctx: Context,
    progress: Progress = no_progress,
    stats: Stats | None = None,
    files: list[str] | None = None,
) -> Analysis:
    """Run every stage over the input folder and return the Gallery (nothing is written to OUT here)
    with the warnings found on the way.

    What the curator gives (--intro, --curation) is read and checked first: a malformed file
    stops the build before any picture or track is read; hidden pictures are not read at all."""
    s = ctx.settings
    stats = stats or Stats()
    sheet = ctx.sheet
    said: list[str] = curation.title_warnings(s.title)
    intro: tuple[str | None, str | None] = (None, None)
    if s.intro is not None:
        text, html, cut = curation.read_intro(s.intro)
        intro = (text, html)
        said += cut
    study_text: tuple[str | None, str | None] = (None, None)
    if s.study and s.study_text is not None:
        text, html, cut = curation.read_intro(s.study_text, "study text file")
        study_text = (text, html)
        said += cut
    unreadable: list[tuple[str, str]] = []
    if files is None:  # the builder's own folders are never input, whatever nests in what
        files, unreadable = find_images(s.input, exclude=(s.out, s.cache_dir))
    unknown: list[str] = []
    hidden = 0
    if sheet is not None:
        unknown = sheet.check_pictures(files)
        shown = [f for f in files if f not in sheet.hidden]
        hidden, files = len(files) - len(shown), shown
    if s.music is not None:
        ctx.listen(progress)  # with its own progress bar, before the pictures
    # the catalogue and index before the loop: a bad catalogue fails before any picture
    _ = ctx.index
    if s.study and ctx.silent:
        raise UsageError(f"--study asks visitors to rate music, and {ctx.silent}")
    pins, unpinned = ctx.pinned  # counted by the method's collection-wide assignment (ctx.pins)
    method_of(ctx).prepare(ctx)  # and the method's models
    readings, failed = read_all(ctx, files, progress, stats)
    failed = [Failure(printable(f), why) for f, why in unreadable] + failed
    gallery = choose_music(ctx, readings, failed, sheet.quadrants if sheet else {}, stats)
    gallery = curate(ctx, gallery, readings, sheet, pins, intro)
    if s.study:  # what the study offers is the gallery as curated: its pinned tracks are its choice
        gallery = replace(gallery, study=study_of(ctx, gallery, stats, progress, study_text))
    # where each picture's tracks play from: after the sheet, so that a pinned track has its start
    # too
    gallery = with_starts(ctx, gallery, progress)
    read = tuple(sheet.warnings) if sheet is not None else ()
    problems = tuple(f"catalogue {problem}" for problem in ctx.catalogue_problems)
    return Analysis(gallery, tuple(said) + problems + read + tuple(unknown) + unpinned, hidden)


def curate(
    ctx: Context,
    gallery: Gallery,
    readings: list[Reading],
    sheet: curation.Sheet | None,
    pins: dict,
    intro: tuple[str | None, str | None],
) -> Gallery:
    """The curator's sheet and the pictures' own titles applied after the method chose music for the
    collection (which counted the pins already: ctx.pins): titles, captions, alt text, pinned first
    tracks, and the curator's order (which the slideshow follows too: pictures given an order first,
    then the others in the usual walk, builder.gallery.order.slideshow_order)."""
    from builder.gallery.order import slideshow_order

    images = curation.apply(list(gallery.images), sheet, {r.file: r.meta for r in readings}, pins)
    slideshow: tuple[str, ...] = ()
    if curation.has_order(sheet):
        given = [
            im.file
            for im in images
            if im.file in sheet.entries and sheet.entries[im.file].order is not None
        ]
        placed = set(given)
        slideshow = tuple(given) + tuple(
            slideshow_order([im for im in images if im.file not in placed])
        )
    return replace(
        gallery,
        images=tuple(images),
        slideshow=slideshow,
        title=curation.exhibition_title(ctx.settings.title, ctx.settings.input),
        intro=intro[0],
        intro_html=intro[1],
    )


def study_of(
    ctx: Context,
    gallery: Gallery,
    stats: Stats,
    progress: Progress = no_progress,
    text: tuple[str | None, str | None] = (None, None),
) -> Study:
    """The visitors' study of the gallery (builder.pipeline.study.design). When the object method is
    one of its conditions, it reads the gallery's pictures through the same stages, and the same
    analysis cache, as `--method objects` would, sharing this build's catalogue and music index."""
    t0 = time.perf_counter()
    s = ctx.settings
    objects: dict[str, ImageRecord] = {}
    if "objects" in s.conditions():
        other = Context(study.objects_settings(s), ctx.store, music=ctx)
        method_of(other).prepare(other)
        files = [im.file for im in gallery.images]
        readings, failed = read_all(other, files, study.relabelled(progress), Stats())
        found = choose_music(other, readings, failed, {}, Stats())
        objects = {im.file: im for im in found.images}
    design = study.design(s, gallery, ctx.catalogue.tracks, stats.hashes, objects, text)
    stats.add("study", (time.perf_counter() - t0) * 1000)  # per picture once divided (Stats)
    return design


def with_starts(ctx: Context, gallery: Gallery, progress: Progress = no_progress) -> Gallery:
    """Set Track.start, where each picture's excerpt of a track with audio begins, so that the
    gallery, the slideshow, the film and the study play the part of the track that fits the
    picture: the start of the track's moment nearest the picture's target (its `av` for methods
    without one) where the catalogue knows the track's moments (builder.music.moments: DEAM's
    ratings through time, the windowed listening of --music), else where the track stops being
    quiet (builder.music.excerpt), which the study's list of tracks keeps too. The index and the
    assignment use the whole track's point; only where it plays from follows the moment. Quiet
    openings are found by decoding, cached by the audio's content hash; a track that cannot be
    decoded keeps 0 (it is the player's problem to report, not the build's)."""
    from concurrent.futures import ThreadPoolExecutor

    from builder.music.excerpt import ExcerptError, cached_loud_start
    from builder.music.moments import nearest

    moments = ctx.catalogue.moments

    def start(path: str) -> float | None:
        try:
            return cached_loud_start(Path(path), ctx.settings.cache_dir)
        except (ExcerptError, OSError):
            return None
        except Exception:  # noqa: BLE001 - a track the decoder trips over keeps start 0; it never stops the build
            if ctx.settings.debug:
                raise
            return None

    listed = gallery.study.tracks if gallery.study is not None else ()
    heard = [t for im in gallery.images for t in im.tracks if not moments.get(t.id)]
    paths = sorted({t.audio for t in (*heard, *listed) if t.audio})
    starts: dict[str, float] = {}
    threads = (
        1 if ctx.injected else ctx.settings.worker_count()
    )  # the decoder works without the GIL
    if paths:
        with ThreadPoolExecutor(max_workers=max(1, min(threads, len(paths)))) as pool:
            found = progress(pool.map(start, paths), "finding where the music starts", len(paths))
            starts = {path: value for path, value in zip(paths, found) if value is not None}

    def moment(t: Track, point) -> float | None:
        """Where the track's moment nearest the point begins; None without moments or audio."""
        found = nearest(moments.get(t.id, ()), point) if t.audio else None
        return None if found is None else found.start

    def started(tracks: tuple[Track, ...], point=None) -> tuple[Track, ...]:
        out = []
        for t in tracks:
            at = moment(t, point) if point is not None else None
            if at is None and t.audio in starts:
                at = starts[t.audio]
            out.append(t if at is None else replace(t, start=at))
        return tuple(out)

    def point_of(im: ImageRecord):
        return im.target if im.target is not None else im.av

    images = tuple(replace(im, tracks=started(im.tracks, point_of(im))) for im in gallery.images)
    if gallery.study is not None:
        by_id = {t.id: t for t in gallery.study.tracks}
        where = {im.file: point_of(im) for im in gallery.images}
        pictures = {
            file: {
                c: replace(p, start=moment(by_id[p.track], where[file]))
                if p.track in by_id and file in where
                else p
                for c, p in picks.items()
            }
            for file, picks in gallery.study.pictures.items()
        }
        study = replace(gallery.study, tracks=started(gallery.study.tracks), pictures=pictures)
        gallery = replace(gallery, study=study)
    return replace(gallery, images=images)


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
