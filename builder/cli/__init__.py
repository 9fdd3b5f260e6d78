"""The `builder` command. The one place that turns errors into a message and an exit code.

Exit status: 0 every picture built; 1 the gallery was built but some pictures failed (listed in the summary
and in gallery.json "failed"); 2 bad usage; 3 a needed file or package is missing; 4 nothing could be built
(no readable picture); 5 the output could not be written (disk full, permission denied, ...; the path is named);
6 another build is writing the same output folder; 70 an internal error (a bug: run again with --debug for the
traceback); 128 + the signal's number when stopped by a signal: 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP, with a
sentence that says what the stop left behind (builder.signals: before the swap the previous gallery, after it the
new one; no temporary file stays behind).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from builder import signals
from builder.errors import BuilderError, printable
from builder.settings import documented_fields
from builder.signals import Interrupted

app = typer.Typer(
    help="Build a static photo gallery that plays music matching each picture's feeling.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
assets_app = typer.Typer(
    help="List, verify and fetch the external files the builder uses.", no_args_is_help=True
)
app.add_typer(assets_app, name="assets")
music_app = typer.Typer(
    help="Score your own music by feeling, and fit or measure the model that does it.",
    no_args_is_help=True,
)
app.add_typer(music_app, name="music")


def _version(value: bool) -> None:
    if value:
        from builder import __version__

        typer.echo(f"builder {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Build a static photo gallery that plays music matching each picture's feeling."""


EXIT_SOME_FAILED, EXIT_NOTHING_BUILT = 1, 4

HELP = dict(documented_fields())
MirrorOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--mirror", envvar="BUILDER_MIRROR", file_okay=False, exists=True, help=HELP["mirror"]
    ),
]
CacheOpt = Annotated[
    Optional[Path],
    typer.Option("--cache-dir", envvar="BUILDER_CACHE", file_okay=False, help=HELP["cache_dir"]),
]
OfflineOpt = Annotated[
    bool, typer.Option("--offline", envvar="BUILDER_OFFLINE", help=HELP["offline"])
]
CatalogueOpt = Annotated[
    Optional[Path], typer.Option("--catalogue", exists=True, dir_okay=False, help=HELP["catalogue"])
]
SwapOpt = Annotated[
    bool, typer.Option("--deam-2013-swap/--no-deam-2013-swap", help=HELP["deam_2013_swap"])
]
SilentOpt = Annotated[bool, typer.Option("--allow-silent", help=HELP["allow_silent"])]
# --playable-only was the opt-in to what is now the default; it stays as an accepted, hidden alias
PlayableOpt = Annotated[
    bool,
    typer.Option(
        "--playable-only",
        hidden=True,
        help="Accepted for compatibility: recommending only tracks with audio is now the default (see --allow-silent).",
    ),
]
DebugOpt = Annotated[bool, typer.Option("--debug", help=HELP["debug"])]


def _say(message: str, err: bool = False) -> None:
    """Every line the builder prints goes through here: nothing from a file reaches the terminal raw."""
    typer.echo(printable(message, keep_newlines=True), err=err)


def _progress(items, label: str, total: int):
    """A bar on stderr that is hidden when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield from items
        return
    with typer.progressbar(items, length=total, label=label, file=sys.stderr) as bar:
        yield from bar


class _DownloadBar:
    def __init__(self, total: int | None, label: str):
        self.bar = typer.progressbar(
            length=total or 0, label=f"downloading {label}", file=sys.stderr, show_pos=True
        )
        self.bar.__enter__()

    def update(self, n: int) -> None:
        self.bar.update(n)

    def close(self) -> None:
        self.bar.__exit__(None, None, None)


def _fail(exc: BuilderError, debug: bool) -> typer.Exit:
    if debug:
        raise exc
    _say(f"error: {exc}", err=True)
    return typer.Exit(exc.exit_code)


def _store(
    mirror: Optional[Path], cache_dir: Optional[Path], offline: bool, writable: bool = False
):
    """The asset store; writable: the command writes to the cache, so check that it can, and if not, warn and use
    a temporary one (removed at exit) rather than fail."""
    from builder.assets import AssetStore, default_cache_dir
    from builder.files import usable_cache

    cache = cache_dir or default_cache_dir()
    if writable:
        cache, warning = usable_cache(cache)
        if warning:
            _say(f"warning: {warning}", err=True)
    return AssetStore(
        cache, mirror.resolve() if mirror else None, offline=offline, progress=_DownloadBar
    )


@app.command()
def build(
    input: Annotated[Path, typer.Argument(exists=True, file_okay=False, help=HELP["input"])],
    out: Annotated[Path, typer.Option("--out", "-o", help=HELP["out"])] = Path("dist"),
    mirror: MirrorOpt = None,
    cache_dir: CacheOpt = None,
    offline: OfflineOpt = False,
    method: Annotated[str, typer.Option(help=HELP["method"])] = "learned",
    captioner: Annotated[str, typer.Option(help=HELP["captioner"])] = "template",
    colour_space: Annotated[str, typer.Option(help=HELP["colour_space"])] = "lab",
    detector: Annotated[str, typer.Option(help=HELP["detector"])] = "yolo-fastest",
    min_score: Annotated[float, typer.Option(help=HELP["min_score"])] = 0.25,
    narrow: Annotated[str, typer.Option(help=HELP["narrow"])] = "vote",
    quadrants: Annotated[
        Optional[Path], typer.Option(exists=True, dir_okay=False, help=HELP["quadrants"])
    ] = None,
    title: Annotated[Optional[str], typer.Option(help=HELP["title"])] = None,
    # no exists=True: a missing --intro or --curation file gets the builder's own sentence (builder.curation)
    intro: Annotated[Optional[Path], typer.Option(help=HELP["intro"])] = None,
    curation: Annotated[Optional[Path], typer.Option(help=HELP["curation"])] = None,
    catalogue: CatalogueOpt = None,
    audio_root: Annotated[
        Optional[Path], typer.Option(exists=True, file_okay=False, help=HELP["audio_root"])
    ] = None,
    music: Annotated[
        Optional[Path], typer.Option(exists=True, file_okay=False, help=HELP["music"])
    ] = None,
    deam_2013_swap: SwapOpt = True,
    allow_silent: SilentOpt = False,
    playable_only: PlayableOpt = False,
    exclude_licence: Annotated[list[str], typer.Option(help=HELP["exclude_licence"])] = [],  # noqa: B006
    exclude_genre: Annotated[list[str], typer.Option(help=HELP["exclude_genre"])] = [],  # noqa: B006
    repeats: Annotated[int, typer.Option(min=0, help=HELP["repeats"])] = 0,
    vectors: Annotated[
        Optional[Path], typer.Option(exists=True, dir_okay=False, help=HELP["vectors"])
    ] = None,
    top_words: Annotated[int, typer.Option(help=HELP["top_words"])] = 5,
    clusters: Annotated[int, typer.Option(help=HELP["clusters"])] = 4,
    analysis_side: Annotated[int, typer.Option(help=HELP["analysis_side"])] = 1024,
    seed: Annotated[int, typer.Option(help=HELP["seed"])] = 0,
    workers: Annotated[int, typer.Option(min=0, help=HELP["workers"])] = 0,
    executor: Annotated[str, typer.Option(help=HELP["executor"])] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help=HELP["ray_address"])] = None,
    stats_file: Annotated[
        Optional[Path], typer.Option("--stats", dir_okay=False, help=HELP["stats"])
    ] = None,
    lang: Annotated[str, typer.Option(help=HELP["lang"])] = "en",
    kiosk: Annotated[bool, typer.Option("--kiosk", help=HELP["kiosk"])] = False,
    debug: DebugOpt = False,
) -> None:
    """Read every picture in INPUT, choose music for it, and write a static gallery to --out."""
    from builder.gallery.outdir import locked
    from builder.gallery.site import prepare_out, write_site
    from builder.pipeline.context import Context
    from builder.pipeline.run import analyse
    from builder.pipeline.stats import Stats
    from builder.settings import Settings

    start = time.perf_counter()
    signals.leaves(
        "the previous gallery was left as it was"
    )  # until the swap (builder.gallery.site says after)
    try:
        with _signals_as_interrupts():
            store = _store(mirror, cache_dir, offline, writable=True)
            out_path = (
                out.resolve() if out.is_symlink() else Path(os.path.abspath(out))
            )  # a link: where it points
            settings = Settings(
                input=input,
                out=out_path,
                mirror=mirror,
                cache_dir=store.cache_dir,
                offline=offline,
                method=method,
                captioner=captioner,
                colour_space=colour_space,
                detector=detector,
                min_score=min_score,
                narrow=narrow,
                quadrants=quadrants,
                title=title,
                intro=intro,
                curation=curation,
                catalogue=catalogue,
                audio_root=audio_root,
                music=music,
                deam_2013_swap=deam_2013_swap,
                allow_silent=allow_silent and not playable_only,
                exclude_licence=tuple(exclude_licence),
                exclude_genre=tuple(exclude_genre),
                repeats=repeats,
                vectors=vectors,
                top_words=top_words,
                clusters=clusters,
                analysis_side=analysis_side,
                seed=seed,
                workers=workers,
                executor=executor,
                ray_address=ray_address,
                stats=stats_file,
                lang=lang,
                kiosk=kiosk,
                debug=debug,
            )
            settings.check_paths()
            viewer = store.resolve(
                "photoswipe"
            )  # before the long analysis: a missing viewer is exit 3 now
            too_many = settings.worker_warning()
            if too_many:
                _say(f"warning: {too_many}", err=True)
            # the count fixed once for the whole build (the available memory changes as it runs)
            settings = dataclasses.replace(settings, workers=settings.worker_count())
            with locked(settings.out):
                kept = prepare_out(settings.out)
                ctx = Context(settings, store)
                ctx.copies = (
                    True  # the pictures' copies are made where each is analysed, on every core
                )
                stats = Stats()
                gallery = analyse(ctx, _progress, stats)
                for problem in ctx.catalogue_problems:
                    _say(f"warning: catalogue {printable(problem)}", err=True)
                for warning in ctx.warnings:
                    _say(f"warning: {printable(warning)}", err=True)
                if not gallery.images:
                    why = "; ".join(
                        f"{printable(f.file)}: {printable(f.reason)}" for f in gallery.failed[:5]
                    )
                    _say(
                        f"error: nothing could be built from {input} ({why or 'no picture files found'})",
                        err=True,
                    )
                    raise typer.Exit(EXIT_NOTHING_BUILT)
                t_site = time.perf_counter()
                gallery = write_site(
                    gallery,
                    input,
                    settings.out,
                    settings.cache_dir,
                    stats.hashes,
                    index=ctx.index,
                    progress=_progress,
                    all_audio=ctx.carry_all_audio,
                    workers=settings.worker_count(),
                    viewer=viewer,
                )
                stats.add(
                    "site", (time.perf_counter() - t_site) * 1000 / max(1, len(gallery.images))
                )
                if stats_file is not None:
                    _write_stats(
                        stats_file,
                        stats.to_json(
                            time.perf_counter() - start,
                            len(gallery.images),
                            settings.worker_count(),
                        ),
                        out,
                    )
    except BuilderError as exc:
        raise _fail(exc, debug) from None
    except STOPS as exc:
        raise _interrupted(exc) from None
    except OSError as exc:
        raise _fail(_os_error(exc, "writing the gallery"), debug) from None
    n, failed = len(gallery.images), len(gallery.failed)
    _say(
        f"built {n} picture{'s' * (n != 1)} ({stats.cached} cached, {failed} failed) in "
        f"{time.perf_counter() - start:.1f} s -> {out / 'index.html'}",
        err=True,
    )
    _say(_music_summary(gallery), err=True)
    if kept:
        _say(
            f"kept {len(kept)} file{'s' * (len(kept) != 1)} in {out} that the builder did not write: "
            f"{', '.join(printable(k) for k in kept[:10])}{' ...' if len(kept) > 10 else ''}",
            err=True,
        )
    for f in gallery.failed:
        _say(f"  failed: {printable(f.file)}: {printable(f.reason)}", err=True)
    if failed:
        raise typer.Exit(EXIT_SOME_FAILED)


@app.command()
def film(
    gallery: Annotated[
        Path, typer.Argument(help="A gallery folder written by `builder build` (its --out).")
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            dir_okay=False,
            help="The MP4 to write; its chapters go beside it (same name, .json). Inside the gallery, its index "
            "links to the film.",
        ),
    ] = Path("exhibition.mp4"),
    size: Annotated[
        str, typer.Option(help="Frame size WIDTHxHEIGHT, even numbers: 1920x1080, 1280x720, ...")
    ] = ("1920x1080"),
    fps: Annotated[int, typer.Option(min=1, max=120, help="Frames per second.")] = 25,
    seconds: Annotated[
        float, typer.Option(min=1.0, max=600.0, help="Seconds each picture is shown.")
    ] = 8.0,
    motion: Annotated[
        str, typer.Option(help="gentle: a slow zoom and drift on each picture; none: still.")
    ] = ("gentle"),
    allow_licence: Annotated[
        list[str],
        typer.Option(
            help="Also use tracks whose licence contains TEXT (case-insensitive), e.g. one you have the artist's "
            "permission for. Repeatable."
        ),
    ] = [],  # noqa: B006
    debug: DebugOpt = False,
) -> None:
    """Make a video of a built gallery: title card, every picture in the slideshow's order with its music,
    crossfades, and an end card crediting the music (docs/film.md)."""
    from builder import film as fm

    start = time.perf_counter()
    signals.leaves(f"no film was written ({out} was left as it was)")
    try:
        with _signals_as_interrupts():
            options = fm.Options(
                size=fm.parse_size(size),
                fps=fps,
                seconds=seconds,
                motion=motion,
                allow_licences=tuple(allow_licence),
            )
            plan = fm.make_film(gallery, out, options, progress=_progress)
    except BuilderError as exc:
        raise _fail(exc, debug) from None
    except STOPS as exc:
        raise _interrupted(exc) from None
    except OSError as exc:
        raise _fail(_os_error(exc, f"writing {out}", keep="no film was written"), debug) from None
    pictures = sum(c.kind == "picture" for c in plan.chapters)
    minutes, secs = divmod(round(plan.duration), 60)
    _say(
        f"made a film of {pictures} picture{'s' * (pictures != 1)} ({minutes}:{secs:02d}) in "
        f"{time.perf_counter() - start:.1f} s -> {out} (chapters: {out.with_suffix('.json')})",
        err=True,
    )
    for note in plan.notes:
        _say(note + (f" ({plan.silent})" if plan.silent else ""), err=True)
    for warning in plan.warnings:
        _say(f"warning: {warning}", err=True)
    if plan.credited:
        _say(
            f"music: {len(plan.credited)} track{'s' * (len(plan.credited) != 1)} credited on the end card",
            err=True,
        )
    for m, why in plan.left_out:
        _say(f"  left out: {printable(m.title or m.id)} — {printable(m.artist)}: {why}", err=True)
    if plan.left_out:
        _say("  (--allow-licence TEXT uses tracks whose licence you know allows it)", err=True)


@contextmanager
def _signals_as_interrupts():
    """SIGINT, SIGTERM and SIGHUP raise builder.signals.Interrupted in the block also when a command runs without
    main() (in-process: tests, a script calling the Typer app); main() has installed them for the whole process
    already. Signals inherited as ignored stay ignored; the previous handlers come back after the block."""
    previous = {sig: signal.getsignal(sig) for sig in signals.HANDLED}
    signals.install()
    signals.start(leaves=None)
    try:
        yield
    finally:
        for sig, old in previous.items():
            try:
                signal.signal(sig, old)
            except (
                ValueError,
                OSError,
                TypeError,
            ):  # not the main thread, or a handler set outside Python
                pass


STOPS = (
    KeyboardInterrupt,
    Interrupted,
)  # a signal (Interrupted), or Ctrl-C raised before our handler was in


def _interrupted(exc: BaseException) -> typer.Exit:
    """The sentence for a stop, saying what it left behind (builder.signals.leaves), and 128 + the signal."""
    signum = getattr(exc, "signum", signal.SIGINT)
    _say(signals.message(signum), err=True)
    return typer.Exit(signals.exit_code(signum))


def _write_stats(path: Path, data: bytes, out: Path) -> None:
    """The --stats file, after the gallery is in place: a failure says so, not that the gallery failed."""
    from builder.files import write_atomic

    try:
        write_atomic(path, data)
    except OSError as exc:
        raise _os_error(
            exc, f"writing the statistics file {path}", keep=f"the new gallery is in place in {out}"
        )


def _write_table(path: Path, data: bytes) -> None:
    """A --json table (the figures were printed above)."""
    from builder.files import write_atomic

    try:
        write_atomic(path, data)
    except OSError as exc:
        raise _os_error(
            exc, f"writing {path}", keep="the figures above were printed; nothing else was written"
        )


def _os_error(
    exc: OSError, doing: str, keep: str = "the previous gallery was left as it was"
) -> BuilderError:
    """A disk-full, permission or other I/O error as one sentence that names the path (exit status 5)."""
    from builder.errors import OutputError

    where = exc.filename or ""
    reason = exc.strerror or str(exc)
    return OutputError(f"{doing} failed: {reason}" + (f" ({where})" if where else "") + f"; {keep}")


def _music_summary(gallery) -> str:
    """One line on the music: where it came from, whether it plays, and how varied the first tracks are."""
    cat = gallery.catalogue
    if gallery.silent:
        return f"music: {gallery.silent}"
    line = f"music: {cat.size} track{'s' * (cat.size != 1)} of {cat.name}"
    m = gallery.matching
    if m is not None and m.pictures:
        extra = (m.total / m.nearest_total - 1) * 100 if m.nearest_total > 0 else 0.0
        repeated = m.pictures - m.distinct_first
        solved = (
            m.in_quadrant + m.off_quadrant
        )  # the others' first tracks were pinned by the curator's sheet
        pinned = m.pictures - solved
        line += (
            f"; first tracks assigned across the collection: {m.distinct_first} different for {m.pictures} "
            f"pictures ({repeated} repeat{'s' * (repeated != 1)}, a track at most {m.capacity} time"
            f"{'s' * (m.capacity != 1)}{f', capped at {m.repeats} by --repeats' if m.repeats else ''}"
            f"{f', {pinned} pinned by the curation sheet' if pinned else ''}), "
            f"{m.in_quadrant} of {solved} in their picture's quadrant"
            + (
                f" ({m.off_quadrant} whose quadrant has no track in the catalogue got the nearest track elsewhere)"
                if m.off_quadrant
                else ""
            )
            + f", total distance to the targets {m.total:.3f} against {m.nearest_total:.3f} for each "
            f"{'unpinned ' if pinned else ''}picture's nearest track in its quadrant ({extra:+.0f} %)"
        )
    return line


@app.command()
def recommend(
    valence: Annotated[float, typer.Option(min=-1.0, max=1.0, help="Valence in [-1, 1].")],
    arousal: Annotated[float, typer.Option(min=-1.0, max=1.0, help="Arousal in [-1, 1].")],
    k: Annotated[int, typer.Option("-k", min=1, help="How many tracks.")] = 5,
    mirror: MirrorOpt = None,
    cache_dir: CacheOpt = None,
    offline: OfflineOpt = False,
    catalogue: CatalogueOpt = None,
    deam_2013_swap: SwapOpt = True,
    allow_silent: SilentOpt = False,
    playable_only: PlayableOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Print the catalogue tracks nearest to a point of the valence/arousal plane."""
    from builder.music.catalogue import load_csv_catalogue, load_deam
    from builder.music.index import MusicIndex

    try:
        store = _store(mirror, cache_dir, offline)
        if catalogue:
            cat, problems = load_csv_catalogue(catalogue)
            for problem in problems:  # as `build` says them: a row left out is never silent
                _say(f"warning: catalogue {printable(problem)}", err=True)
        else:
            cat = load_deam(store, swap_2013=deam_2013_swap)
        if not allow_silent and cat.playable().tracks:
            cat = cat.playable()
        index = MusicIndex(cat, store.cache_dir)
        for t in index.nearest((valence, arousal), k):
            audio = "audio" if t.audio else "no audio"
            _say(
                f"{printable(t.id)}\t{t.valence:+.3f}\t{t.arousal:+.3f}\t{printable(t.artist)} — "
                f"{printable(t.title)}\t[{audio}]"
            )
    except BuilderError as exc:
        raise _fail(exc, debug) from None


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


def _rated_contexts(mirror, cache_dir, offline, debug):
    """context_for(images folder): the learned method's Context that reads a rated set's photos."""
    from builder.pipeline.context import Context

    store = _store(mirror, cache_dir, offline)
    return lambda folder: Context(
        _rated_settings(folder, mirror, cache_dir, offline, debug)[1]("learned"), store
    )


def _rated_settings(images: Path, mirror, cache_dir, offline, debug, music: Optional[Path] = None):
    from builder.lab.evaluate import temporary_out
    from builder.settings import Settings

    store = _store(mirror, cache_dir, offline)
    # the whole catalogue: evaluation measures readings, not what plays (the random baseline draws from all tracks)
    return store, (
        lambda method: Settings(
            input=images,
            out=temporary_out(),
            mirror=mirror,
            cache_dir=store.cache_dir,
            offline=offline,
            method=method,
            debug=debug,
            allow_silent=True,
            music=music,
        )
    )


@app.command()
def evaluate(
    images: Annotated[
        Path, typer.Argument(exists=True, file_okay=False, help="Folder of rated photos.")
    ],
    ratings: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="Ratings: a CSV in OASIS format (image, theme, valence_mean, "
            "arousal_mean, ...; or image, valence, arousal) or Emotion6's "
            "ground_truth.txt.",
        ),
    ],
    methods: Annotated[
        str, typer.Option(help="Comma-separated methods to measure.")
    ] = "learned,objects,caption,caption-plain,random",
    scale_min: ScaleMin = 1.0,
    scale_max: ScaleMax = 7.0,
    midpoint: Midpoint = 4.0,
    json_out: Annotated[
        Optional[Path], typer.Option("--json", dir_okay=False, help="Also write the table as JSON.")
    ] = None,
    plot_out: Annotated[
        Optional[Path],
        typer.Option(
            "--plot", dir_okay=False, help="Also draw balanced agreement per method (PNG)."
        ),
    ] = None,
    with_sets: Annotated[
        Optional[list[str]],
        typer.Option(
            "--with-set",
            metavar="FOLDER:MIN-MAX:MID",
            help="When the learned model was fitted on these photos and others: another rated set it was fitted on "
            "(as given to `builder fit --set`), added to every fold's training and read out of fold to draw each "
            "fold's quadrant lines, as `builder fit` draws them. Repeatable.",
        ),
    ] = None,
    music: Annotated[
        Optional[Path],
        typer.Option(
            exists=True,
            file_okay=False,
            help="Also choose each picture's first track from this folder of audio files, read by listening as "
            "`build --music` reads it, and measure how often the track's label (--music-labels) agrees with "
            "people's quadrant of the picture.",
        ),
    ] = None,
    music_labels: Annotated[
        Optional[Path],
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Labels of the --music files: a CSV with the columns file (relative to the folder) and quadrant "
            "(1-4), as the 4Q dataset's annotations.csv.",
        ),
    ] = None,
    mirror: MirrorOpt = None,
    cache_dir: CacheOpt = None,
    offline: OfflineOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Measure each method against people's valence/arousal ratings (quadrant agreement, Pearson r); with --music,
    also how often the music chosen for a picture is labelled with people's quadrant of it."""
    import orjson

    from builder.errors import UsageError
    from builder.lab.evaluate import evaluate as evaluate_methods
    from builder.lab.ratings import read_music_labels, read_rated_set, read_ratings
    from builder.lab.report import format_intervals, format_table, plot
    from builder.settings import METHODS

    signals.leaves("nothing was written")
    try:
        wanted = [m.strip() for m in methods.split(",") if m.strip()]
        unknown = [m for m in wanted if m not in METHODS]
        if unknown:
            raise UsageError(
                f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}"
            )
        if (music is None) != (music_labels is None):
            raise UsageError(
                "--music and --music-labels go together: the folder and the labels of its files"
            )
        _, settings_for = _rated_settings(images, mirror, cache_dir, offline, debug, music)
        rated = read_ratings(ratings, images, scale_min, scale_max, midpoint)
        others = [read_rated_set(text) for text in with_sets or []]
        labels = read_music_labels(music_labels, music) if music is not None else None
        results, notes = evaluate_methods(
            settings_for,
            rated,
            wanted,
            _progress,
            others,
            _rated_contexts(mirror, cache_dir, offline, debug),
            music_labels=labels,
        )
        music_results = results.pop("music", None)
    except BuilderError as exc:
        raise _fail(exc, debug) from None
    _say(
        f"{len(rated.images)} rated photos from {ratings} (scale {scale_min:g}-{scale_max:g}, midpoint {midpoint:g})"
    )
    _say(format_table(results, smallest=True))
    _say(
        "95 % intervals of balanced agreement, per-quadrant and smallest recall, and r (themes resampled with "
        "replacement, 1000 draws; each photo its own theme where none is given):"
    )
    _say(format_intervals(results))
    for method, note in notes.items():
        _say(f"note: {method}: {note}")
    if music_results is not None:
        _say("")
        _say(
            f"music: each picture's first track from {music} ({len(labels)} labelled files), as a build chooses "
            f"it; agreement of the track's label with people's quadrant of the picture"
        )
        _say(format_table(music_results, width=46, who="people", columns=()))
        _say("95 % intervals (themes resampled with replacement, 1000 draws):")
        _say(format_intervals(music_results, width=46))
        unlabelled = sum(m.get("unlabelled_first", 0) for m in music_results.values())
        if unlabelled:
            _say(
                f"note: {unlabelled} first tracks have no label in {music_labels}; they count as disagreeing"
            )
    try:
        if json_out:
            _write_table(
                json_out,
                orjson.dumps(
                    {
                        "ratings": str(ratings),
                        "n": len(rated.images),
                        "results": results,
                        "notes": notes,
                        "music": music_results,
                    },
                    option=orjson.OPT_INDENT_2,
                ),
            )
        if plot_out:
            try:
                plot(results, plot_out)
            except OSError as exc:
                raise _os_error(
                    exc, f"writing {plot_out}", keep="the figures above were printed"
                ) from None
    except BuilderError as exc:
        raise _fail(exc, debug) from None


@app.command()
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
        typer.Option(
            "--set",
            metavar="FOLDER:MIN-MAX:MID",
            help="A rated set as FOLDER:MIN-MAX:MIDPOINT (FOLDER holds ratings.csv or ground_truth.txt, and the "
            "photos in images/ or beside it; a category column groups the folds); add :valence to train only "
            "the valence model on it. Repeatable.",
        ),
    ] = None,
    out: ModelOut = None,
    scale_min: ScaleMin = 1.0,
    scale_max: ScaleMax = 7.0,
    midpoint: Midpoint = 4.0,
    mirror: MirrorOpt = None,
    cache_dir: CacheOpt = None,
    offline: OfflineOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Fit the learned feeling model on rated photos and write it (regenerates builder/picture/data/feeling-model.npz:
    docs/pictures.md gives the command that made the shipped one)."""
    from builder.errors import UsageError
    from builder.lab.fitting import fit_on_sets
    from builder.lab.ratings import RatedSet, read_rated_set, read_ratings
    from builder.picture.feeling import MODEL_PATH

    signals.leaves("the model file was left as it was")
    try:
        sets = []
        if images is not None:
            if ratings is None:
                raise UsageError("give the ratings file after the folder of rated photos")
            sets.append(
                RatedSet(
                    ratings.name,
                    images,
                    read_ratings(ratings, images, scale_min, scale_max, midpoint),
                    f"{scale_min:g}-{scale_max:g} midpoint {midpoint:g}",
                )
            )
        sets += [read_rated_set(text) for text in rated_sets or []]
        if not sets:
            raise UsageError("nothing to fit on: give IMAGES RATINGS or one or more --set")
        model = fit_on_sets(
            _rated_contexts(mirror, cache_dir, offline, debug), sets, progress=_progress
        )
        target = out or MODEL_PATH
        _save_model(model, target)
    except BuilderError as exc:
        raise _fail(exc, debug) from None
    _say(
        f"fitted on {model.meta['n']} photos of {len(sets)} rated set(s) (alpha valence "
        f"{model.meta['alpha_valence']:g}, arousal {model.meta['alpha_arousal']:g}; quadrant origin "
        f"{model.reference.round(3).tolist()}) -> {target}"
    )


@assets_app.command("list")
def assets_list(mirror: MirrorOpt = None, cache_dir: CacheOpt = None) -> None:
    """Every registered external file: where it is now, its licence and what it is for."""
    store = _store(mirror, cache_dir, True)
    for asset, where, path in store.status():
        _say(f"{asset.name}\t{where}\t{path or asset.url}")
        _say(f"    {asset.purpose}; licence: {asset.licence}")
        if asset.unverified:
            _say(f"    not hash-checked: {asset.unverified}")


@assets_app.command("verify")
def assets_verify(mirror: MirrorOpt = None, cache_dir: CacheOpt = None) -> None:
    """Check the sha256 of every asset found in the cache or mirror. Exit 3 if any is corrupt."""
    store = _store(mirror, cache_dir, True)
    bad = 0
    for asset, where, path in store.status():
        state = {"missing": "missing", "corrupt": "CORRUPT"}.get(where, "ok")
        bad += where == "corrupt"
        _say(f"{state}\t{asset.name}\t{path or ''}")
    if bad:
        raise typer.Exit(3)


@assets_app.command("fetch")
def assets_fetch(
    name: Annotated[str, typer.Argument(help="Asset name, as `builder assets list` shows it.")],
    mirror: MirrorOpt = None,
    cache_dir: CacheOpt = None,
    force: Annotated[
        bool, typer.Option(help="Download even if the cache or mirror has it.")
    ] = False,
    debug: DebugOpt = False,
) -> None:
    """Download one asset into the cache (with a progress bar and a sha256 check)."""
    store = _store(mirror, cache_dir, False)
    try:
        path, where = store.locate(name)
        if path is not None and not force:
            _say(f"{name} is already in the {where}: {path}")
            return
        _say(f"fetched {name} -> {store.fetch(name)}")
    except BuilderError as exc:
        raise _fail(exc, debug) from None


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


@music_app.command("score")
def music_score(
    audio_dir: AudioDir,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            dir_okay=False,
            help="Catalogue CSV to write (id, title, artist, valence, arousal, audio, "
            "licence, genre, confidence); audio paths relative to it.",
        ),
    ] = Path("catalogue.csv"),
    mirror: MirrorOpt = None,
    cache_dir: CacheOpt = None,
    offline: OfflineOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Listen to every audio file in AUDIO_DIR and write a catalogue that places each in valence/arousal."""
    from builder.music.listen import Listener, write_catalogue

    start = time.perf_counter()
    signals.leaves("nothing was written")
    try:
        with _signals_as_interrupts():
            if out.resolve().is_dir():
                raise _usage(f"--out {out} is a folder; give the CSV file to write")
            store = _store(mirror, cache_dir, offline, writable=True)
            scored, failed, cached = Listener(store, store.cache_dir).score(
                audio_dir, _progress, exclude=(store.cache_dir,)
            )
            if not scored:
                why = "; ".join(f"{printable(f.file)}: {printable(f.reason)}" for f in failed[:5])
                _say(
                    f"error: no track could be scored in {audio_dir} ({why or 'no audio files found'})",
                    err=True,
                )
                raise typer.Exit(EXIT_NOTHING_BUILT)
            write_catalogue(scored, out)
            signals.leaves(f"the catalogue was written to {out}")
    except BuilderError as exc:
        raise _fail(exc, debug) from None
    except STOPS as exc:
        raise _interrupted(exc) from None
    except OSError as exc:
        raise _fail(_os_error(exc, f"writing {out}", keep="nothing was written"), debug) from None
    n = len(scored)
    base, music_dir = out.resolve().parent, audio_dir.resolve()
    if base != music_dir and base not in music_dir.parents:
        _say(
            f"note: the audio files lie outside the catalogue's folder; build with --catalogue {out} "
            f"--audio-root {audio_dir} so that the builder accepts them",
            err=True,
        )
    _say(
        f"scored {n} track{'s' * (n != 1)} ({cached} cached, {len(failed)} failed) in "
        f"{time.perf_counter() - start:.1f} s -> {out}",
        err=True,
    )
    for f in failed:
        _say(f"  failed: {printable(f.file)}: {printable(f.reason)}", err=True)
    if failed:
        raise typer.Exit(EXIT_SOME_FAILED)


def _save_model(model, target: Path) -> None:
    """Write a fitted model (atomically: builder.files); a failure names the file and keeps the old model. A model
    whose numbers are not all finite (degenerate ratings) is refused before anything is written."""
    import numpy as np

    def arrays(obj, depth=0):
        for value in vars(obj).values() if hasattr(obj, "__dict__") else ():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                yield value
            elif depth < 2 and hasattr(value, "__dict__") and not isinstance(value, type):
                yield from arrays(value, depth + 1)

    if not all(np.isfinite(a).all() for a in arrays(model)):
        raise _usage(
            f"the fitted model holds numbers that are not finite; {target} was not written"
        )
    try:
        model.save(target)
    except OSError as exc:
        raise _os_error(
            exc, f"writing the model {target}", keep="the previous model file was left as it was"
        ) from None
    signals.leaves(f"the new model was written to {target}")


def _usage(message: str) -> BuilderError:
    from builder.errors import UsageError

    return UsageError(message)


def _labelled_clips(audio_dir: Path, labels: Path, mirror, cache_dir, offline: bool):
    """What `music fit` and `music evaluate` both start from: the store, the listener, the labels, what was heard."""
    from builder.lab import music as me
    from builder.lab.music import LEARNED
    from builder.music.feeling import spec_needs_msd
    from builder.music.listen import Listener

    store = _store(mirror, cache_dir, offline, writable=True)
    # fitting (and cross-validating) a head of the LEARNED spec needs what it reads, whatever the shipped one read
    listener = Listener(store, store.cache_dir, msd=spec_needs_msd(LEARNED) or None)
    lab = me.read_labels(labels, audio_dir)
    return store, listener, lab, me.hear_all(listener, audio_dir, lab.files, _progress)


@music_app.command("fit")
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
    mirror: MirrorOpt = None,
    cache_dir: CacheOpt = None,
    offline: OfflineOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Fit the music feeling head on labelled clips (regenerates builder/music/data/music-feeling-model.npz)."""
    import numpy as np

    from builder.lab import music as me
    from builder.music.feeling import MODEL_PATH

    signals.leaves("the model file was left as it was")
    try:
        store, listener, lab, heard = _labelled_clips(audio_dir, labels, mirror, cache_dir, offline)
        extra, extra_q = (
            me.deam_rated(listener, store, _progress) if deam else ([], np.zeros(0, dtype=int))
        )
        model = me.fit_model(
            heard, lab.quadrants, extra, extra_q, me.deam_spread(store), labels.name
        )
        target = out or MODEL_PATH
        _save_model(model, target)
    except BuilderError as exc:
        raise _fail(exc, debug) from None
    _say(
        f"fitted on {len(heard)} labelled clips and {len(extra)} DEAM clips "
        f"(spread {model.learned.spread[0]:.3f}, {model.learned.spread[1]:.3f}) -> {target}"
    )


@music_app.command("evaluate")
def music_evaluate(
    audio_dir: AudioDir,
    labels: LabelsArg,
    folds: Annotated[
        int,
        typer.Option(
            min=2,
            help="Cross-validation folds (grouped by artist) when the clips are those the shipped model was fitted on.",
        ),
    ] = 5,
    json_out: Annotated[
        Optional[Path], typer.Option("--json", dir_okay=False, help="Also write the table as JSON.")
    ] = None,
    mirror: MirrorOpt = None,
    cache_dir: CacheOpt = None,
    offline: OfflineOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Measure the music reading against quadrant labels: agreement per quadrant, sign accuracy, baselines."""
    import orjson

    from builder.lab import music as me
    from builder.lab.report import format_music_intervals, format_music_table

    signals.leaves("nothing was written")
    try:
        _, listener, lab, heard = _labelled_clips(audio_dir, labels, mirror, cache_dir, offline)
        results, note = me.evaluate(listener.head, heard, lab, folds=folds)
    except BuilderError as exc:
        raise _fail(exc, debug) from None
    _say(f"{len(lab.files)} labelled clips from {labels} ({len(set(lab.artists))} artists)")
    _say(format_music_table(results))
    _say("95 % intervals (artists resampled with replacement, 1000 draws):")
    _say(format_music_intervals(results))
    _say(f"note: {note}")
    if json_out:
        try:
            _write_table(
                json_out,
                orjson.dumps(
                    {"labels": str(labels), "n": len(lab.files), "results": results, "note": note},
                    option=orjson.OPT_INDENT_2,
                ),
            )
        except BuilderError as exc:
            raise _fail(exc, debug) from None


def main() -> None:
    """The console entry point: anything that escapes the commands' own handling is one sentence, never a
    traceback (unless --debug). Click itself handles usage errors, --help and exit codes."""
    from builder.files import tune_allocator

    signals.install()  # again, for an entry point that came straight here (builder.__main__ does it first)
    tune_allocator()
    signals.start()
    try:
        app()
    except (
        Interrupted
    ) as exc:  # a signal in a command that has nothing more to say than what signals.leaves
        _say(signals.message(exc.signum), err=True)
        sys.exit(signals.exit_code(exc.signum))
    except (
        KeyboardInterrupt
    ):  # Ctrl-C raised by Python's own handler (SIGINT ignored at start, then restored)
        _say(signals.message(signal.SIGINT), err=True)
        sys.exit(signals.exit_code(signal.SIGINT))
    except (
        OSError
    ) as exc:  # an I/O error no command turned into a sentence yet (a --json file, say)
        if "--debug" in sys.argv:
            raise
        _say(
            f"error: {printable(exc.strerror or str(exc))}"
            + (f" ({printable(str(exc.filename))})" if exc.filename else ""),
            err=True,
        )
        sys.exit(5)
    except Exception as exc:  # the last line of defence against tracebacks
        if "--debug" in sys.argv:
            raise
        _say(
            f"internal error: {type(exc).__name__}: {printable(str(exc))} (run again with --debug for the "
            "traceback, and please report it)",
            err=True,
        )
        sys.exit(70)
