"""`builder evaluate` and `builder fit`: the picture reading measured against people's ratings, and
the learned model fitted on rated photos (builder.lab). The lab's names are imported here and in
builder.cli.music only."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from builder import signals
from builder.errors import UsageError
from builder.files import Input, check_output

from . import output
from .boundary import os_error, writes
from .options import CacheDir, Debug, Mirror, Offline, mine, store

ScaleMin = Annotated[float, typer.Option(help="Lowest value of the rating scale.")]
ScaleMax = Annotated[float, typer.Option(help="Highest value of the rating scale.")]
Midpoint = Annotated[
    float, typer.Option(help="Neutral point of the rating scale (people's quadrant boundary).")
]
ModelOut = Annotated[
    Optional[Path],
    typer.Option(
        "--out", dir_okay=False, help="Where to write the model (default: the shipped file)."
    ),
]
RATINGS_HELP = (
    "Ratings: a CSV in OASIS format (image, theme, valence_mean, arousal_mean, ...; or image, "
    "valence, arousal) or Emotion6's ground_truth.txt."
)
WITH_SET_HELP = (
    "When the learned model was fitted on these photos and others: another rated set it was fitted "
    "on (as given to `builder fit --set`), added to every fold's training and read out of fold to "
    "draw each fold's quadrant lines, as `builder fit` draws them. Repeatable."
)
MUSIC_HELP = (
    "Also choose each picture's first track from this folder of audio files, read by listening as "
    "`build --music` reads it, and measure how often the track's label (--music-labels) agrees "
    "with people's quadrant of the picture."
)
MUSIC_LABELS_HELP = (
    "Labels of the --music files: a CSV with the columns file (relative to the folder) and "
    "quadrant (1-4), as the 4Q dataset's annotations.csv."
)
SET_HELP = (
    "A rated set as FOLDER:MIN-MAX:MIDPOINT (FOLDER holds ratings.csv or ground_truth.txt, and the "
    "photos in images/ or beside it; a category column groups the folds); add :valence to train "
    "only the valence model on it. Repeatable."
)
Methods = Annotated[str, typer.Option(help="Comma-separated methods to measure.")]
JsonOut = Annotated[
    Optional[Path], typer.Option("--json", dir_okay=False, help="Also write the table as JSON.")
]
PlotOut = Annotated[
    Optional[Path],
    typer.Option("--plot", dir_okay=False, help="Also draw balanced agreement per method (PNG)."),
]
WithSets = Annotated[
    Optional[list[str]],
    typer.Option("--with-set", metavar="FOLDER:MIN-MAX:MID", help=WITH_SET_HELP),
]
Music = Annotated[Optional[Path], typer.Option(exists=True, file_okay=False, help=MUSIC_HELP)]
MusicLabels = Annotated[
    Optional[Path], typer.Option(exists=True, dir_okay=False, help=MUSIC_LABELS_HELP)
]


def rated_inputs(
    images: Path | None, ratings: Path | None, sets: list[str], music=None, labels=None
) -> list[Input]:
    """What `evaluate` and `fit` read: the rated photos and their ratings, the other rated sets'
    folders, and the --music folder and its labels."""
    from builder.lab.ratings import parse_rated_set

    found = [
        Input(images, "the folder of rated photos"),
        Input(ratings, "the ratings file"),
        Input(music, "the --music folder"),
        Input(labels, "the --music-labels file"),
    ]
    return found + [Input(parse_rated_set(text)[0], "a rated set's folder") for text in sets]


def rated(mirror, cache_dir, offline: bool, debug: bool, reads: tuple | list = ()):
    """(settings_for(images folder, method, music folder), context_for(images folder)): the
    Settings, and the learned method's Context, that read a folder of rated photos with one
    store."""
    from builder.lab.evaluate import temporary_out
    from builder.pipeline.context import Context
    from builder.settings import Settings

    assets = store(mirror, cache_dir, offline, reads=reads)

    def settings_for(images: Path, method: str, music: Path | None = None) -> Settings:
        # the whole catalogue: evaluation measures readings, not what plays (the random baseline
        # draws from every track)
        return Settings(
            input=images,
            out=temporary_out(),
            mirror=mirror,
            cache_dir=assets.cache_dir,
            offline=offline,
            method=method,
            debug=debug,
            allow_silent=True,
            music=music,
        )

    return settings_for, lambda folder: Context(settings_for(folder, "learned"), assets)


def evaluate(
    images: Annotated[
        Path, typer.Argument(exists=True, file_okay=False, help="Folder of rated photos.")
    ],
    ratings: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=RATINGS_HELP)],
    methods: Methods = "learned,objects,caption,caption-plain,random",
    scale_min: ScaleMin = 1.0,
    scale_max: ScaleMax = 7.0,
    midpoint: Midpoint = 4.0,
    json_out: JsonOut = None,
    plot_out: PlotOut = None,
    with_sets: WithSets = None,
    music: Music = None,
    music_labels: MusicLabels = None,
    mirror: Mirror = None,
    cache_dir: CacheDir = None,
    offline: Offline = False,
    debug: Debug = False,
) -> None:
    """Measure each method against people's valence/arousal ratings (quadrant agreement, Pearson r);
    with --music, also how often the music chosen for a picture is labelled with people's quadrant
    of it."""
    from builder.lab import evaluate as ev
    from builder.lab.ratings import read_music_labels, read_rated_set, read_ratings
    from builder.lab.report import plot

    signals.leaves("nothing was written")
    wanted = _methods(methods)
    if (music is None) != (music_labels is None):
        raise UsageError(
            "--music and --music-labels go together: the folder and the labels of its files"
        )
    reads = rated_inputs(images, ratings, with_sets or [], music, music_labels)
    check_tables(json_out, plot_out, [*reads, *mine(cache_dir, mirror)])  # before the long work
    settings_for, context_for = rated(mirror, cache_dir, offline, debug, reads)
    read = read_ratings(ratings, images, scale_min, scale_max, midpoint)
    others = [read_rated_set(text) for text in with_sets or []]
    labels = read_music_labels(music_labels, music) if music is not None else None
    results, notes = ev.evaluate(
        lambda method: settings_for(images, method, music),
        read,
        wanted,
        output.progress,
        others,
        context_for,
        music_labels=labels,
    )
    music_results = results.pop("music", None)
    head = f"{len(read.images)} rated photos from {ratings} (scale {scale_min:g}-{scale_max:g}, "
    output.say(head + f"midpoint {midpoint:g})")
    _say_evaluation(results, notes)
    if music_results is not None:
        _say_music_evaluation(music_results, music, music_labels, len(labels))
    if json_out:
        summary = {"ratings": str(ratings), "n": len(read.images), "results": results}
        write_table(json_out, {**summary, "notes": notes, "music": music_results})
    if plot_out:
        with writes(f"writing {plot_out}", keep="the figures above were printed"):
            plot(results, plot_out)


def check_tables(json_out: Path | None, plot_out: Path | None, reads: list[Input]) -> None:
    """The --json table and the --plot, checked as every path the builder writes."""
    for path, kind, what in ((json_out, "table", "--json"), (plot_out, "plot", "--plot")):
        if path is not None:
            check_output(path, kind=kind, inputs=reads, what=what)


def _methods(text: str) -> list[str]:
    """--methods as a list, each one of builder.settings.METHODS."""
    from builder.settings import METHODS

    wanted = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in wanted if m not in METHODS]
    if unknown:
        raise UsageError(
            f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}"
        )
    return wanted


def _say_evaluation(results: dict, notes: dict[str, str]) -> None:
    from builder.lab.report import format_intervals, format_table

    output.say(format_table(results, smallest=True))
    output.say(
        "95 % intervals of balanced agreement, per-quadrant and smallest recall, and r (themes "
        "resampled with replacement, 1000 draws; each photo its own theme where none is given):"
    )
    output.say(format_intervals(results))
    for method, note in notes.items():
        output.say(f"note: {method}: {note}")


def _say_music_evaluation(results: dict, music: Path, labels: Path, n: int) -> None:
    from builder.lab.report import format_intervals, format_table

    output.say("")
    output.say(
        f"music: each picture's first track from {music} ({n} labelled files), as a build chooses "
        f"it; agreement of the track's label with people's quadrant of the picture"
    )
    output.say(format_table(results, width=46, who="people", columns=()))
    output.say("95 % intervals (themes resampled with replacement, 1000 draws):")
    output.say(format_intervals(results, width=46))
    unlabelled = sum(m.get("unlabelled_first", 0) for m in results.values())
    if unlabelled:
        output.say(
            f"note: {unlabelled} first tracks have no label in {labels}; they count as disagreeing"
        )


def fit(
    images: Annotated[
        Optional[Path],
        typer.Argument(exists=True, file_okay=False, help="Folder of rated photos (or use --set)."),
    ] = None,
    ratings: Annotated[
        Optional[Path],
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="Its ratings: OASIS-format CSV or Emotion6's ground_truth.txt.",
        ),
    ] = None,
    rated_sets: Annotated[
        Optional[list[str]],
        typer.Option("--set", metavar="FOLDER:MIN-MAX:MID", help=SET_HELP),
    ] = None,
    out: ModelOut = None,
    scale_min: ScaleMin = 1.0,
    scale_max: ScaleMax = 7.0,
    midpoint: Midpoint = 4.0,
    mirror: Mirror = None,
    cache_dir: CacheDir = None,
    offline: Offline = False,
    debug: Debug = False,
) -> None:
    """Fit the learned feeling model on rated photos and write it (regenerates
    builder/picture/data/feeling-model.npz: docs/pictures.md gives the command that made the shipped
    one)."""
    from builder.lab.fitting import fit_on_sets
    from builder.lab.ratings import RatedSet, read_rated_set, read_ratings
    from builder.picture.feeling import MODEL_PATH

    signals.leaves("the model file was left as it was")
    target = out or MODEL_PATH
    reads = rated_inputs(images, ratings, rated_sets or [])
    # before the photos are read: the model may be written there
    check_output(target, kind="model", inputs=[*reads, *mine(cache_dir, mirror)])
    sets = []
    if images is not None:
        if ratings is None:
            raise UsageError("give the ratings file after the folder of rated photos")
        scale = f"{scale_min:g}-{scale_max:g} midpoint {midpoint:g}"
        read = read_ratings(ratings, images, scale_min, scale_max, midpoint)
        sets.append(RatedSet(ratings.name, images, read, scale))
    sets += [read_rated_set(text) for text in rated_sets or []]
    if not sets:
        raise UsageError("nothing to fit on: give IMAGES RATINGS or one or more --set")
    _, context_for = rated(mirror, cache_dir, offline, debug, reads)
    model = fit_on_sets(context_for, sets, progress=output.progress)
    save_model(model, target)
    meta = model.meta
    output.say(
        f"fitted on {meta['n']} photos of {len(sets)} rated set(s) (alpha valence "
        f"{meta['alpha_valence']:g}, arousal {meta['alpha_arousal']:g}; quadrant origin "
        f"{model.reference.round(3).tolist()}) -> {target}"
    )


def save_model(model: Any, target: Path) -> None:
    """Write a fitted model (atomically: builder.files); a failure names the file and keeps the old
    model. A model whose numbers are not all finite (degenerate ratings) is refused before anything
    is written."""
    import numpy as np

    if not all(np.isfinite(a).all() for a in _float_arrays(model)):
        raise UsageError(
            f"the fitted model holds numbers that are not finite; {target} was not written"
        )
    try:
        model.save(target)
    except OSError as exc:
        keep = "the previous model file was left as it was"
        raise os_error(exc, f"writing the model {target}", keep=keep) from None
    signals.leaves(f"the new model was written to {target}")


def _float_arrays(obj: Any, depth: int = 0):
    """The float arrays of a model and of the objects it holds (two levels down)."""
    import numpy as np

    for value in vars(obj).values() if hasattr(obj, "__dict__") else ():
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            yield value
        elif depth < 2 and hasattr(value, "__dict__") and not isinstance(value, type):
            yield from _float_arrays(value, depth + 1)


def write_table(path: Path, table: dict) -> None:
    """A --json table, after the figures were printed."""
    import orjson

    from builder.files import write_atomic

    try:
        write_atomic(path, orjson.dumps(table, option=orjson.OPT_INDENT_2))
    except OSError as exc:
        keep = "the figures above were printed; nothing else was written"
        raise os_error(exc, f"writing {path}", keep=keep) from None
