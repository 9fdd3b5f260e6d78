"""A build in one call: from the settings to a gallery in --out, and what the CLI says about it.

    built = build(settings, store, progress)

checks the paths, takes OUT (a folder the builder did not write is refused before any asset is
looked for), reads every picture and chooses its music (builder.pipeline.run), writes the site
(builder.gallery.site) and the --stats file. Nothing is printed here: the warnings come back with
the result.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from builder.assets import AssetStore
from builder.errors import UsageError, os_error
from builder.files import Input, check_output, write_atomic
from builder.pipeline.context import Context, Progress, no_progress
from builder.pipeline.run import analyse_with_warnings
from builder.pipeline.stats import Stats
from builder.records import Gallery
from builder.settings import Settings


@dataclass(frozen=True)
class Built:
    """What a build made. gallery: as written (without pictures when none could be read: then
    nothing was written); warnings: for the person building (builder.pipeline.run.Analysis); kept:
    the files in OUT the builder did not write, carried into the new gallery; cached: pictures whose
    analysis the cache held; hidden: pictures the curator's sheet hid."""

    gallery: Gallery
    warnings: tuple[str, ...]
    kept: tuple[str, ...]
    cached: int
    hidden: int = 0
    notes: tuple[str, ...] = ()  # for the summary (builder.pipeline.stats.Stats.notes)


def output_folder(out: Path) -> Path:
    """The folder a build writes: --out with every link on its way resolved (the lock, the swap and
    the checks are of the real folder, however it is named)."""
    return Path(os.path.realpath(out))


def inputs_of(settings: Settings) -> list[Input]:
    """Every path a build reads, as builder.files.check_output takes them: nothing it writes may be
    one of them or lie inside one (a catalogue's folder and --audio-root only for the audio files
    they hold)."""
    from builder.music.audio import AUDIO_SUFFIXES

    s = settings
    found = [
        Input(s.input, "the picture folder"),
        Input(s.music, "the --music folder"),
        Input(s.catalogue, "the catalogue"),
        Input(s.audio_root, "the --audio-root folder", AUDIO_SUFFIXES),
        Input(s.curation, "the curation sheet"),
        Input(s.quadrants, "the quadrants file"),
        Input(s.intro, "the introduction file"),
        Input(s.study_text, "the study text file"),
        Input(s.model, "the --model file"),
        Input(s.vectors, "the word vectors file"),
        Input(s.mirror, "the mirror"),
    ]
    if s.catalogue is not None:
        found.append(Input(s.catalogue.parent, "the catalogue's folder", AUDIO_SUFFIXES))
    return found


def check_outputs(settings: Settings) -> None:
    """Every path a build writes, checked before anything is made (builder.files.check_output): the
    gallery, its lock, the cache and the --stats file. Each is refused with a sentence when it is,
    or lies inside, something the build reads or another gallery; the cache also inside OUT (a
    gallery is replaced as a whole, so it would be lost or published); --stats also inside OUT or
    the cache."""
    from builder.gallery.outdir import check_lock, lock_path
    from builder.images import IMAGE_SUFFIXES
    from builder.music.audio import AUDIO_SUFFIXES

    s = settings
    s.check_paths()
    reads = inputs_of(s)
    out = check_output(s.out, kind="gallery", inputs=reads, what="--out")
    lock = lock_path(out)
    for i in reads:
        if i.path is not None and Path(os.path.realpath(i.path)) == lock:
            raise UsageError(
                f"{i.what} {i.path} lies where the builder keeps the lock of {out}; rename it "
                "or choose another --out — nothing was written"
            )
    check_lock(out)  # a link or a file that is not a lock at its name: never followed nor truncated
    gallery = Input(out, "the output folder", role="which every build replaces as a whole")
    # the cache may lie in the picture or music folder (their walks skip it), never be one
    walked = {s.input: IMAGE_SUFFIXES, s.music: AUDIO_SUFFIXES}
    around = [
        Input(i.path, i.what, walked[i.path]) if i.path is not None and i.path in walked else i
        for i in reads
    ]
    check_output(s.cache_dir, kind="cache", inputs=[*around, gallery], what="--cache-dir")
    if s.stats is not None:
        mine = [
            gallery,
            Input(s.cache_dir, "the cache folder", role="which holds the builder's own files"),
            Input(lock, "the output folder's lock", role="which the build holds while it runs"),
        ]
        check_output(s.stats, kind="stats", inputs=[*reads, *mine], what="--stats")


def build(settings: Settings, store: AssetStore, progress: Progress = no_progress) -> Built:
    """Build the gallery the settings describe with the assets of `store`; see the module's
    docstring."""
    from builder.gallery.outdir import locked
    from builder.gallery.site import prepare_out, write_site

    start = time.perf_counter()
    given_out = settings.out
    # the worker count fixed once for the whole build (the available memory changes as it runs)
    settings = replace(settings, out=output_folder(settings.out), workers=settings.worker_count())
    check_outputs(settings)
    with locked(settings.out):
        kept, dropped = prepare_out(settings.out)  # refuses a folder the builder did not write
        viewer = store.resolve(
            "photoswipe"
        )  # before the long analysis: a missing viewer stops it now
        ctx = Context(settings, store, copies=True)  # copies made where each picture is analysed
        stats = Stats()
        found = analyse_with_warnings(ctx, progress, stats)
        warnings = found.warnings + left_behind(dropped, given_out)
        if not found.gallery.images:
            return Built(found.gallery, warnings, tuple(kept), stats.cached, found.hidden)
        t_site = time.perf_counter()
        gallery = write_site(
            found.gallery,
            settings.input,
            settings.out,
            settings.cache_dir,
            stats.hashes,
            index=ctx.index,
            progress=progress,
            all_audio=ctx.carry_all_audio,
            workers=settings.worker_count(),
            viewer=viewer,
        )
        stats.add("site", (time.perf_counter() - t_site) * 1000 / max(1, len(gallery.images)))
        if settings.stats is not None:
            wall = time.perf_counter() - start
            data = stats.to_json(wall, len(gallery.images), settings.worker_count())
            write_stats(settings.stats, data, given_out)
    return Built(gallery, warnings, tuple(kept), stats.cached, found.hidden, tuple(stats.notes))


def left_behind(dropped: list[str], out: Path) -> tuple[str, ...]:
    """The warning when OUT held the builder's temporary or cache files, which no gallery
    carries."""
    if not dropped:
        return ()
    more = " ..." if len(dropped) > 5 else ""
    return (
        f"{out} held {len(dropped)} temporary or cache file{'s' * (len(dropped) != 1)} of the "
        f"builder, which the new gallery leaves out: {', '.join(dropped[:5])}{more}",
    )


def write_stats(path: Path, data: bytes, out: Path) -> None:
    """The --stats file, after the gallery is in place: a failure says so, not that the gallery
    failed."""
    try:
        write_atomic(path, data)
    except OSError as exc:
        keep = f"the new gallery is in place in {out}"
        raise os_error(exc, f"writing the statistics file {path}", keep) from None
