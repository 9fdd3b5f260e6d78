"""`builder recommend`: the catalogue tracks nearest to a point of the valence/arousal plane."""

from __future__ import annotations

from typing import Annotated

import typer

from builder.errors import printable

from . import output
from .options import (
    AllowSilent,
    CacheDir,
    Catalogue,
    Debug,
    Mirror,
    Offline,
    PlayableOnly,
    Swap,
    store,
)


def recommend(
    valence: Annotated[float, typer.Option(min=-1.0, max=1.0, help="Valence in [-1, 1].")],
    arousal: Annotated[float, typer.Option(min=-1.0, max=1.0, help="Arousal in [-1, 1].")],
    k: Annotated[int, typer.Option("-k", min=1, help="How many tracks.")] = 5,
    mirror: Mirror = None,
    cache_dir: CacheDir = None,
    offline: Offline = False,
    catalogue: Catalogue = None,
    deam_2013_swap: Swap = True,
    allow_silent: AllowSilent = False,
    playable_only: PlayableOnly = False,
    debug: Debug = False,
) -> None:
    """Print the catalogue tracks nearest to a point of the valence/arousal plane."""
    from builder.music.catalogue import load_csv_catalogue, load_deam
    from builder.music.index import MusicIndex

    assets = store(mirror, cache_dir, offline)
    if catalogue:
        cat, problems = load_csv_catalogue(catalogue)
        for problem in problems:  # as `build` says them: a row left out is never silent
            output.warn(f"catalogue {problem}")
    else:
        cat = load_deam(assets, swap_2013=deam_2013_swap)
    # --playable-only, the old opt-in, wins over --allow-silent as in `build` (settings_from)
    if not (allow_silent and not playable_only) and cat.playable().tracks:
        cat = cat.playable()
    for t in MusicIndex(cat, assets.cache_dir).nearest((valence, arousal), k):
        audio = "audio" if t.audio else "no audio"
        output.say(
            f"{printable(t.id)}\t{t.valence:+.3f}\t{t.arousal:+.3f}\t{printable(t.artist)} — "
            f"{printable(t.title)}\t[{audio}]"
        )
