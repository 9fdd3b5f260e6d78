"""`builder film`: a built gallery as a video with its music (builder.film; docs/film.md)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from builder import signals

from . import output
from .boundary import writes
from .options import CacheDir, Debug, Mirror, Offline, store

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
Seconds = Annotated[
    Optional[float],
    typer.Option(min=1.0, max=600.0, help="Seconds each picture is shown [default: 8]."),
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
OneSong = Annotated[
    bool,
    typer.Option(
        "--one-song",
        help="One track carries the whole film: its length sets the pace, and the pictures "
        "follow its feeling through time where DEAM rated it (else the slideshow's order).",
    ),
]
Song = Annotated[
    Optional[str],
    typer.Option(
        help="The track of --one-song (its id in gallery.json) [default: the first track most "
        "pictures hear].",
    ),
]
Force = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace an existing video or JSON at --out (or its chapters' name) that the "
        "builder did not make.",
    ),
]


def film(
    gallery: Annotated[
        Path, typer.Argument(help="A gallery folder written by `builder build` (its --out).")
    ],
    out: Out = Path("exhibition.mp4"),
    size: Size = "1920x1080",
    fps: Annotated[int, typer.Option(min=1, max=120, help="Frames per second.")] = 25,
    seconds: Seconds = None,
    motion: Motion = "gentle",
    allow_licence: AllowLicence = [],  # noqa: B006
    one_song: OneSong = False,
    song: Song = None,
    force: Force = False,
    mirror: Mirror = None,
    cache_dir: CacheDir = None,
    offline: Offline = False,
    debug: Debug = False,
) -> None:
    """Make a video of a built gallery: title card, every picture in the slideshow's order with its
    caption and music, crossfades, and end cards crediting the music and the reading
    (docs/film.md)."""
    from builder.errors import UsageError
    from builder.film import Options, make_film, parse_size

    started = time.perf_counter()
    if one_song and seconds is not None:
        raise UsageError("--seconds and --one-song: the song sets the pace; give one of them")
    if song is not None and not one_song:
        raise UsageError("--song names the track of --one-song; give --one-song too")
    signals.leaves(f"no film was written ({out} was left as it was)")
    with writes(f"writing {out}", keep="no film was written"):
        options = Options(
            size=parse_size(size),
            fps=fps,
            seconds=8.0 if seconds is None else seconds,
            motion=motion,
            allow_licences=tuple(allow_licence),
            one_song=one_song,
            song=song,
            force=force,
        )
        plan = make_film(
            gallery,
            out,
            options,
            progress=output.progress,
            store=store(mirror, cache_dir, offline),
        )
    output.film_made(plan, out, started)
