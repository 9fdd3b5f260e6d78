"""`builder build`: its options are the settings (builder.settings, made into options by
builder.cli.options); it hands off to one call (builder.pipeline.build) and prints what that
returns."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import typer

from builder import signals

from . import output
from .boundary import EXIT_SOME_FAILED, NothingBuilt, writes
from .options import settings_from, settings_options, store


@settings_options
def build(**given: Any) -> None:
    """Read every picture in INPUT, choose music for it, and write a static gallery to --out."""
    from builder.assets import default_cache_dir
    from builder.pipeline.build import build as build_gallery
    from builder.pipeline.build import check_outputs

    started = time.perf_counter()
    # until the swap (builder.gallery.site says what a stop leaves after it)
    signals.leaves("the previous gallery was left as it was")
    with writes(f"writing the gallery {given['out']}"):
        settings = settings_from(given, given["cache_dir"] or default_cache_dir())
        # every path the build writes, before anything is made (the cache folder included)
        check_outputs(settings)
        assets = store(given["mirror"], settings.cache_dir, given["offline"], writable=True)
        settings = replace(settings, cache_dir=assets.cache_dir)
        too_many = settings.worker_warning()
        if too_many:
            output.warn(too_many)
        built = build_gallery(settings, assets, output.progress)
        for warning in built.warnings:
            output.warn(warning)
        if not built.gallery.images:
            none = "no picture files found"
            if built.hidden:
                none = (
                    f"every picture was hidden by the sheet ({output.plural(built.hidden, 'row')})"
                )
            why = output.why_nothing(built.gallery.failed, none)
            raise NothingBuilt(f"nothing could be built from {settings.input} ({why})")
    output.built(built, given["out"], started)
    if built.gallery.failed:
        raise typer.Exit(EXIT_SOME_FAILED)
