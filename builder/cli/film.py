"""`builder film`: a built gallery as a video with its music (builder.film; docs/film.md)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from builder import signals

from . import output
from .boundary import writes
from .options import Debug

Out = Annotated[
    Path,
    typer.Option(
        "--out",
        "-o",
        dir_okay=False,
        help="The MP4 to write; its chapters go beside it (same name, .json). Inside the gallery, "
        "its index links to the film.",
    ),
]
Size = Annotated[
    str, typer.Option(help="Frame size WIDTHxHEIGHT, even numbers: 1920x1080, 1280x720, ...")
]
Motion = Annotated[
    str, typer.Option(help="gentle: a slow zoom and drift on each picture; none: still.")
]
AllowLicence = Annotated[
    list[str],
    typer.Option(
        help="Also use tracks whose licence contains TEXT (case-insensitive), e.g. one you have "
        "the artist's permission for. Repeatable."
    ),
]


def film(
    gallery: Annotated[
        Path, typer.Argument(help="A gallery folder written by `builder build` (its --out).")
    ],
    out: Out = Path("exhibition.mp4"),
    size: Size = "1920x1080",
    fps: Annotated[int, typer.Option(min=1, max=120, help="Frames per second.")] = 25,
    seconds: Annotated[
        float, typer.Option(min=1.0, max=600.0, help="Seconds each picture is shown.")
    ] = 8.0,
    motion: Motion = "gentle",
    allow_licence: AllowLicence = [],  # noqa: B006
    debug: Debug = False,
) -> None:
    """Make a video of a built gallery: title card, every picture in the slideshow's order with its
    music, crossfades, and an end card crediting the music (docs/film.md)."""
    from builder.film import Options, make_film, parse_size

    started = time.perf_counter()
    signals.leaves(f"no film was written ({out} was left as it was)")
    with writes(f"writing {out}", keep="no film was written"):
        options = Options(
            size=parse_size(size),
            fps=fps,
            seconds=seconds,
            motion=motion,
            allow_licences=tuple(allow_licence),
        )
        plan = make_film(gallery, out, options, progress=output.progress)
    output.film_made(plan, out, started)
