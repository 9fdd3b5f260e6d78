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
from builder.errors import OutputError
from builder.files import write_atomic
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
    analysis the cache held."""

    gallery: Gallery
    warnings: tuple[str, ...]
    kept: tuple[str, ...]
    cached: int


def output_folder(out: Path) -> Path:
    """The folder a build writes: --out made absolute, or where it points if it is a link."""
    return out.resolve() if out.is_symlink() else Path(os.path.abspath(out))


def build(settings: Settings, store: AssetStore, progress: Progress = no_progress) -> Built:
    """Build the gallery the settings describe with the assets of `store`; see the module's
    docstring."""
    from builder.gallery.outdir import locked
    from builder.gallery.site import prepare_out, write_site

    start = time.perf_counter()
    given_out = settings.out
    # the worker count fixed once for the whole build (the available memory changes as it runs)
    settings = replace(settings, out=output_folder(settings.out), workers=settings.worker_count())
    settings.check_paths()
    with locked(settings.out):
        kept = tuple(prepare_out(settings.out))  # refuses a folder the builder did not write
        viewer = store.resolve(
            "photoswipe"
        )  # before the long analysis: a missing viewer stops it now
        ctx = Context(settings, store, copies=True)  # copies made where each picture is analysed
        stats = Stats()
        found = analyse_with_warnings(ctx, progress, stats)
        if not found.gallery.images:
            return Built(found.gallery, found.warnings, kept, stats.cached)
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
    return Built(gallery, found.warnings, kept, stats.cached)


def write_stats(path: Path, data: bytes, out: Path) -> None:
    """The --stats file, after the gallery is in place: a failure says so, not that the gallery
    failed."""
    try:
        write_atomic(path, data)
    except OSError as exc:
        named = f" ({exc.filename})" if exc.filename else ""
        raise OutputError(
            f"writing the statistics file {path} failed: {exc.strerror or exc}{named}; the new "
            f"gallery is in place in {out}"
        ) from None
