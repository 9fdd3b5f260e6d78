"""`builder music score | fit | evaluate`: your own music read by feeling, and the model that reads
it fitted and measured (builder.music.listen; builder.lab.music, whose names are imported here
only)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from builder import signals
from builder.files import Input, check_output

from . import output
from .boundary import EXIT_SOME_FAILED, NothingBuilt, writes
from .lab import ModelOut, check_tables, save_model, write_table
from .options import CacheDir, Debug, Mirror, Offline, mine, store

app = typer.Typer(
    help="Score your own music by feeling, and fit or measure the model that does it.",
    no_args_is_help=True,
)

AudioDir = Annotated[
    Path,
    typer.Argument(
        exists=True,
        file_okay=False,
        help="Folder of audio files (searched recursively: mp3, wav, flac, ogg, opus, m4a, ...).",
    ),
]
LabelsArg = Annotated[
    Path,
    typer.Argument(
        exists=True,
        dir_okay=False,
        help="Labels CSV: file (relative to AUDIO_DIR), quadrant (1-4), artist.",
    ),
]
CatalogueOut = Annotated[
    Path,
    typer.Option(
        "--out",
        "-o",
        dir_okay=False,
        help="Catalogue CSV to write (id, title, artist, valence, arousal, audio, "
        "licence, genre, confidence, moments: the reading of each window of about 12 s); "
        "audio paths relative to it.",
    ),
]
FOLDS_HELP = (
    "Cross-validation folds (grouped by artist) when the clips are those the shipped model was "
    "fitted on."
)


@app.command("score")
def music_score(
    audio_dir: AudioDir,
    out: CatalogueOut = Path("catalogue.csv"),
    mirror: Mirror = None,
    cache_dir: CacheDir = None,
    offline: Offline = False,
    debug: Debug = False,
) -> None:
    """Listen to every audio file in AUDIO_DIR and write a catalogue that places each in
    valence/arousal."""
    from builder.music.audio import AUDIO_SUFFIXES
    from builder.music.listen import Listener, write_catalogue

    started = time.perf_counter()
    signals.leaves("nothing was written")
    with writes(f"writing {out}", keep="nothing was written"):
        # the catalogue may lie in the folder it describes, but never be (or replace) its audio
        music = Input(audio_dir, "the audio folder", AUDIO_SUFFIXES)
        check_output(out, kind="catalogue", inputs=[music, *mine(cache_dir, mirror)])
        assets = store(mirror, cache_dir, offline, writable=True, reads=[music])
        scored, failed, cached = Listener(assets, assets.cache_dir, moments=True).score(
            audio_dir, output.progress, exclude=(assets.cache_dir,)
        )
        if not scored:
            why = output.why_nothing(failed, "no audio files found")
            raise NothingBuilt(f"no track could be scored in {audio_dir} ({why})")
        write_catalogue(scored, out)
        signals.leaves(f"the catalogue was written to {out}")
    base, music_dir = out.resolve().parent, audio_dir.resolve()
    if base != music_dir and base not in music_dir.parents:
        output.say(
            f"note: the audio files lie outside the catalogue's folder; build with --catalogue "
            f"{out} --audio-root {audio_dir} so that the builder accepts them",
            err=True,
        )
    output.scored(len(scored), cached, failed, out, started)
    if failed:
        raise typer.Exit(EXIT_SOME_FAILED)


def clips(audio_dir: Path, labels: Path) -> list[Input]:
    """What `music fit` and `music evaluate` read: the audio folder (for its audio files) and the
    labels."""
    from builder.music.audio import AUDIO_SUFFIXES

    return [Input(audio_dir, "the audio folder", AUDIO_SUFFIXES), Input(labels, "the labels file")]


def labelled_clips(audio_dir: Path, labels: Path, mirror, cache_dir, offline: bool):
    """What `music fit` and `music evaluate` both start from: the store, the listener, the labels,
    what was heard."""
    from builder.lab import music as lab
    from builder.lab.music import LEARNED
    from builder.music.feeling import spec_needs_msd
    from builder.music.listen import Listener

    assets = store(mirror, cache_dir, offline, writable=True, reads=clips(audio_dir, labels))
    # fitting (and cross-validating) a head of the LEARNED spec needs what it reads, whatever the
    # shipped one read
    listener = Listener(assets, assets.cache_dir, msd=spec_needs_msd(LEARNED) or None)
    read = lab.read_labels(labels, audio_dir)
    return assets, listener, read, lab.hear_all(listener, audio_dir, read.files, output.progress)


@app.command("fit")
def music_fit(
    audio_dir: AudioDir,
    labels: LabelsArg,
    out: ModelOut = None,
    deam: Annotated[
        bool,
        typer.Option(
            "--deam/--no-deam",
            help="Add the DEAM clips that have audio and human ratings to the fit.",
        ),
    ] = True,
    mirror: Mirror = None,
    cache_dir: CacheDir = None,
    offline: Offline = False,
    debug: Debug = False,
) -> None:
    """Fit the music feeling head on labelled clips (regenerates
    builder/music/data/music-feeling-model.npz)."""
    import numpy as np

    from builder.lab import music as lab
    from builder.music.feeling import MODEL_PATH

    signals.leaves("the model file was left as it was")
    target = out or MODEL_PATH
    # before hours of listening: the model may be written there
    check_output(target, kind="model", inputs=[*clips(audio_dir, labels), *mine(cache_dir, mirror)])
    assets, listener, read, heard = labelled_clips(audio_dir, labels, mirror, cache_dir, offline)
    extra, extra_q = (
        lab.deam_rated(listener, assets, output.progress) if deam else ([], np.zeros(0, dtype=int))
    )
    spread = lab.deam_spread(assets)
    model = lab.fit_model(heard, read.quadrants, extra, extra_q, spread, labels.name)
    save_model(model, target)
    output.say(
        f"fitted on {len(heard)} labelled clips and {len(extra)} DEAM clips "
        f"(spread {model.learned.spread[0]:.3f}, {model.learned.spread[1]:.3f}) -> {target}"
    )


@app.command("evaluate")
def music_evaluate(
    audio_dir: AudioDir,
    labels: LabelsArg,
    folds: Annotated[int, typer.Option(min=2, help=FOLDS_HELP)] = 5,
    json_out: Annotated[
        Optional[Path], typer.Option("--json", dir_okay=False, help="Also write the table as JSON.")
    ] = None,
    mirror: Mirror = None,
    cache_dir: CacheDir = None,
    offline: Offline = False,
    debug: Debug = False,
) -> None:
    """Measure the music reading against quadrant labels: agreement per quadrant, sign accuracy,
    baselines."""
    from builder.lab import music as lab
    from builder.lab.report import format_music_intervals, format_music_table

    signals.leaves("nothing was written")
    check_tables(json_out, None, [*clips(audio_dir, labels), *mine(cache_dir, mirror)])
    _, listener, read, heard = labelled_clips(audio_dir, labels, mirror, cache_dir, offline)
    results, note = lab.evaluate(listener.head, heard, read, folds=folds)
    n_artists = len(set(read.artists))
    output.say(f"{len(read.files)} labelled clips from {labels} ({n_artists} artists)")
    output.say(format_music_table(results))
    output.say("95 % intervals (artists resampled with replacement, 1000 draws):")
    output.say(format_music_intervals(results))
    output.say(f"note: {note}")
    if json_out:
        table = {"labels": str(labels), "n": len(read.files), "results": results, "note": note}
        write_table(json_out, table)
