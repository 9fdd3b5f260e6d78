"""`builder evaluate` and `builder fit`: the picture reading measured against people's ratings, and
the learned model fitted on rated photos (builder.lab); both also take an exhibition's visitors,
where they placed each picture on the gallery's study page (`--study ANSWERS --gallery OUT`). The
lab's names are imported here, in builder.cli.music and in builder.cli.study only."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from builder import signals
from builder.errors import UsageError, printable
from builder.files import Input, check_output

from . import output
from .boundary import writes
from .options import (
    CacheDir,
    Debug,
    Mirror,
    Model,
    Offline,
    StudyAnswers,
    StudyGallery,
    mine,
    store,
)

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


def study_inputs(study, gallery, model=None) -> list[Input]:
    """What --study reads: the answers files, the gallery whose study collected them, a --model."""
    found = [Input(p, "an answers file") for p in study or []]
    return found + [Input(gallery, "the study's gallery"), Input(model, "the --model file")]


def rated(mirror, cache_dir, offline: bool, debug: bool, model: Path | None = None, reads=()):
    """(settings_for(images folder, method, music folder), context_for(images folder)): the
    Settings, and the learned method's Context, that read a folder of rated photos with one
    store; model: the learned method's model file (default: the shipped one)."""
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
            model=model,
        )

    return settings_for, lambda folder: Context(settings_for(folder, "learned"), assets)


def evaluate(
    images: Annotated[
        Optional[Path],
        typer.Argument(exists=True, file_okay=False, help="Folder of rated photos (or --study)."),
    ] = None,
    ratings: Annotated[
        Optional[Path], typer.Argument(exists=True, dir_okay=False, help=RATINGS_HELP)
    ] = None,
    methods: Methods = "learned,objects,caption,caption-plain,random",
    scale_min: ScaleMin = 1.0,
    scale_max: ScaleMax = 7.0,
    midpoint: Midpoint = 4.0,
    json_out: JsonOut = None,
    plot_out: PlotOut = None,
    with_sets: WithSets = None,
    music: Music = None,
    music_labels: MusicLabels = None,
    study: StudyAnswers = None,
    gallery: StudyGallery = None,
    model: Model = None,
    mirror: Mirror = None,
    cache_dir: CacheDir = None,
    offline: Offline = False,
    debug: Debug = False,
) -> None:
    """Measure each method against people's valence/arousal ratings (quadrant agreement, Pearson r);
    with --music, also how often the music chosen for a picture is labelled with people's quadrant
    of it; with --study, how the learned model reads an exhibition's visitors."""
    from builder.lab.report import plot

    signals.leaves("nothing was written")
    reads = rated_inputs(images, ratings, with_sets or [], music, music_labels)
    reads += study_inputs(study, gallery, model)
    check_tables(json_out, plot_out, [*reads, *mine(cache_dir, mirror)])  # before the long work
    where = (mirror, cache_dir, offline, debug, model, reads)
    if study or gallery is not None:
        if images is not None or music is not None:
            raise UsageError("--study measures the visitors' placements: give no IMAGES or --music")
        return _evaluate_study(study, gallery, with_sets, (json_out, plot_out), *where)
    if images is None or ratings is None:
        raise UsageError("give IMAGES RATINGS, or --study ANSWERS --gallery OUT (its visitors)")
    if (music is None) != (music_labels is None):
        raise UsageError(
            "--music and --music-labels go together: the folder and the labels of its files"
        )
    scale = (scale_min, scale_max, midpoint)
    results, notes, read, labels = _evaluate_rated(
        images, ratings, scale, _methods(methods), with_sets, (music, music_labels), where
    )
    music_results = results.pop("music", None)
    output.say(f"{len(read.images)} rated photos from {ratings} ({_scale(scale)})")
    _say_evaluation(results, notes)
    if music_results is not None:
        _say_music_evaluation(music_results, music, music_labels, len(labels))
    if json_out:
        summary = {"ratings": str(ratings), "n": len(read.images), "results": results}
        write_table(json_out, {**summary, "notes": notes, "music": music_results})
    if plot_out:
        with writes(f"writing {plot_out}", keep="the figures above were printed"):
            plot(results, plot_out)


def _scale(scale: tuple[float, float, float]) -> str:
    return "scale {:g}-{:g}, midpoint {:g}".format(*scale)


def check_tables(json_out: Path | None, plot_out: Path | None, reads: list[Input]) -> None:
    """The --json table and the --plot, checked as every path the builder writes."""
    for path, kind, what in ((json_out, "table", "--json"), (plot_out, "plot", "--plot")):
        if path is not None:
            check_output(path, kind=kind, inputs=reads, what=what)


def _evaluate_rated(images, ratings, scale, wanted, with_sets, music_and_labels, where):
    """`builder evaluate IMAGES RATINGS`: (results, notes, the ratings, the music labels)."""
    from builder.lab import evaluate as ev
    from builder.lab.ratings import read_music_labels, read_rated_set, read_ratings

    music, music_labels = music_and_labels
    settings_for, context_for = rated(*where)
    read = read_ratings(ratings, images, *scale)
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
    return results, notes, read, labels


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


THEMES_RESAMPLED = (
    "themes resampled with replacement, 1000 draws; each photo its own theme where none is given"
)


def _say_evaluation(
    results: dict, notes: dict[str, str], resampled: str = THEMES_RESAMPLED
) -> None:
    from builder.lab.report import format_intervals, format_table

    output.say(format_table(results, smallest=True))
    output.say(
        "95 % intervals of balanced agreement, per-quadrant and smallest recall, and r "
        f"({resampled}):"
    )
    output.say(format_intervals(results))
    for method, note in notes.items():
        output.say(f"note: {method}: {note}")


def study_of(study: list[Path] | None, gallery: Path | None):
    """(the rated set, the placements) of an exhibition's visitors: where they placed each picture
    of the gallery's study (builder.lab.study), what was not counted said on stderr."""
    from builder.lab.study import Design, placed, rated_set, read_answers

    if not study or gallery is None:
        raise UsageError(
            "--study and --gallery go together: the answers, and the gallery whose study page "
            "collected them"
        )
    design = Design.of_gallery(gallery)
    answers = read_answers(study, design)
    for line in answers.refusals():
        output.say(f"note: {line}", err=True)
    where = placed(design, answers)
    return rated_set(where, gallery), where


def _placements(where) -> str:
    """How many visitors placed how many pictures: what stands behind a fit or a figure."""
    pictures = output.plural(len(where.pictures), "picture")
    return (
        f"{output.plural(where.visitors, 'visitor')} placed {pictures} "
        f"of the study of gallery {printable(where.gallery)} "
        f"({output.plural(where.placements, 'placement')})"
    )


def _evaluate_study(
    study, gallery, with_sets, files, mirror, cache_dir, offline, debug, model, reads
):
    """`builder evaluate --study`: the learned model against each picture's mean placed point;
    files: (--json, --plot)."""
    from builder.lab.evaluate import evaluate_study
    from builder.lab.ratings import read_rated_set
    from builder.lab.report import plot

    rated_photos, where = study_of(study, gallery)
    _, context_for = rated(mirror, cache_dir, offline, debug, model, reads)
    others = [read_rated_set(text) for text in with_sets or []]
    results, notes = evaluate_study(
        context_for(gallery), rated_photos, where, others, context_for, output.progress
    )
    output.say(
        f"{_placements(where)}; each picture's point is the mean of its visitors'; the model: "
        f"{printable(str(model)) if model else 'the one shipped with the builder'}"
    )
    _say_evaluation(results, notes, "visitors resampled with replacement, 1000 draws")
    json_out, plot_out = files
    if json_out:
        head = {"gallery": where.gallery, "visitors": where.visitors, "model": str(model or "")}
        counts = {"pictures": len(where.pictures), "placements": where.placements}
        write_table(json_out, {**head, **counts, "results": results, "notes": notes})
    if plot_out:
        with writes(f"writing {plot_out}", keep="the figures above were printed"):
            plot(results, plot_out)


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
    study: StudyAnswers = None,
    gallery: StudyGallery = None,
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
    one); with --study, also on an exhibition's visitors (written only where --out says)."""
    from builder.lab.fitting import fit_on_sets
    from builder.picture.feeling import MODEL_PATH

    signals.leaves("the model file was left as it was")
    if study and out is None:
        raise UsageError(
            "--study fits the model on one exhibition's visitors: name the file to write with "
            "--out (the shipped model is left as it is; build with it by --model FILE)"
        )
    target = out or MODEL_PATH
    reads = rated_inputs(images, ratings, rated_sets or []) + study_inputs(study, gallery)
    # before the photos are read: the model may be written there
    check_output(target, kind="model", inputs=[*reads, *mine(cache_dir, mirror)])
    scale = (scale_min, scale_max, midpoint)
    sets, where = _fit_sets(images, ratings, scale, rated_sets, study, gallery)
    _, context_for = rated(mirror, cache_dir, offline, debug, reads=reads)
    model = fit_on_sets(context_for, sets, progress=output.progress)
    save_model(model, target)
    meta = model.meta
    output.say(
        f"fitted on {meta['n']} photos of {len(sets)} rated set(s) (alpha valence "
        f"{meta['alpha_valence']:g}, arousal {meta['alpha_arousal']:g}; quadrant origin "
        f"{model.reference.round(3).tolist()}) -> {target}"
    )
    if where is not None:
        output.say(
            f"{_placements(where)}: each picture's mean point weighs as many as the visitors who "
            "placed it, and the exhibition as much as each rated set (docs/study.md)"
        )


def _fit_sets(images, ratings, scale, rated_sets, study, gallery):
    """The rated sets `builder fit` fits on: IMAGES RATINGS, each --set, and the visitors'
    placements of --study (with their builder.lab.study.Placed, else None)."""
    from builder.lab.ratings import RatedSet, read_rated_set, read_ratings

    sets, where = [], None
    if images is not None:
        if ratings is None:
            raise UsageError("give the ratings file after the folder of rated photos")
        read = read_ratings(ratings, images, *scale)
        sets.append(RatedSet(ratings.name, images, read, "{:g}-{:g} midpoint {:g}".format(*scale)))
    sets += [read_rated_set(text) for text in rated_sets or []]
    if study or gallery is not None:
        study_set, where = study_of(study, gallery)
        sets.append(study_set)
    if not sets:
        raise UsageError("nothing to fit on: give IMAGES RATINGS, one or more --set, or --study")
    return sets, where


def save_model(model: Any, target: Path) -> None:
    """Write a fitted model (atomically: builder.files); a failure names the file and keeps the old
    model. A model whose numbers are not all finite (degenerate ratings) is refused before anything
    is written."""
    import numpy as np

    if not all(np.isfinite(a).all() for a in _float_arrays(model)):
        raise UsageError(
            f"the fitted model holds numbers that are not finite; {target} was not written"
        )
    with writes(f"writing the model {target}", "the previous model file was left as it was"):
        model.save(target)
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

    with writes(f"writing {path}", "the figures above were printed; nothing else was written"):
        write_atomic(path, orjson.dumps(table, option=orjson.OPT_INDENT_2))
