"""Every knob of a build, in one frozen dataclass, each declared once: its type, its default, and
how it is given on the command line (an `OptionSpec` in the field's metadata: help, flag names, the
panel of `builder build --help`, the checks a path gets). The CLI turns these descriptions into its
options (builder.cli.options); this module does not import the CLI's library, so the pipeline and
the lab make Settings without it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from builder.assets import AssetStore, default_cache_dir
from builder.errors import UsageError

METHODS = ("learned", "objects", "caption", "caption-plain", "random")
CAPTIONERS = ("template", "blip")
COLOUR_SPACES = ("lab", "rgb")
NARROW = ("none", "vote", "user")
EXECUTORS = ("local", "ray")
# the study's conditions (--study-conditions): the gallery's own first track, the published object
# method's (narrowing by vote) and a track drawn at random from the catalogue
STUDY_CONDITIONS = ("gallery", "objects", "random")

# the panels of `builder build --help` (each field names its own; None: beside --help)
IN_OUT, PICTURES, MUSIC, CURATION, STUDY, SPEED = (
    "Input and output",
    "Pictures",
    "Music",
    "Curation",
    "Study",
    "Speed",
)
PANELS = (IN_OUT, PICTURES, MUSIC, CURATION, STUDY, SPEED)


def languages() -> list[str]:
    """The visitor's languages: one message catalogue each, package data of the gallery wing (read
    as files, so the hall does not import the wing)."""
    return sorted(p.stem for p in (Path(__file__).parent / "gallery" / "messages").glob("*.json"))


@dataclass(frozen=True)
class OptionSpec:
    """How a setting is given on the command line. The flag is `--` and the field's name with
    dashes; a switch that is off by default is that flag alone, one that is on by default has its
    `--no-` form too.

    short: a one-letter flag besides it; envvar: the environment variable that gives it; argument: a
    positional argument, not an option; exists: a path that must exist; kind: a path that must be a
    folder or a file (when it exists); minimum: the smallest number accepted (the CLI refuses less);
    panel: where `builder build --help` shows it (None: beside --help)."""

    help: str
    panel: str | None
    short: str | None = None
    envvar: str | None = None
    argument: bool = False
    exists: bool = False
    kind: Literal["folder", "file"] | None = None
    minimum: int | None = None


def _setting(help: str, panel: str | None, default: Any = None, **option: Any) -> Any:
    """A Settings field: its default (or default_factory=), and how the command line gives it."""
    factory = option.pop("default_factory", None)
    metadata = {"option": OptionSpec(help, panel, **option)}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    if option.get("argument"):
        return field(metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    input: Path = _setting(
        "folder of pictures (searched recursively)",
        None,
        argument=True,
        exists=True,
        kind="folder",
    )
    out: Path = _setting(
        "output folder for the gallery; replaced as a whole when the build succeeds",
        IN_OUT,
        Path("dist"),
        short="-o",
    )
    mirror: Path | None = _setting(
        "offline mirror folder of external files (env BUILDER_MIRROR)",
        IN_OUT,
        envvar="BUILDER_MIRROR",
        exists=True,
        kind="folder",
    )
    cache_dir: Path = _setting(
        "cache folder for downloads, the music index and per-picture analysis (env BUILDER_CACHE; "
        "default XDG cache)",
        IN_OUT,
        default_factory=default_cache_dir,
        envvar="BUILDER_CACHE",
        kind="folder",
    )
    offline: bool = _setting(
        "never download; fail with a clear message when a file is missing",
        IN_OUT,
        False,
        envvar="BUILDER_OFFLINE",
    )
    method: str = _setting(
        "how a picture is read: learned (default; fitted on rated photos, see docs/pictures.md), "
        "objects (published object method), caption (caption with expression and colour words), "
        "caption-plain (caption only) or random (baseline)",
        PICTURES,
        "learned",
    )
    captioner: str = _setting(
        "caption backend for the caption methods: template (offline, written from "
        "detections and the scene label) or blip (needs the BLIP files)",
        PICTURES,
        "template",
    )
    colour_space: str = _setting(
        "space in which object pixels are clustered for their dominant colour: lab or rgb "
        "(published)",
        PICTURES,
        "lab",
    )
    detector: str = _setting(
        "object detector: yolo-fastest, ssd300 or maskrcnn", PICTURES, "yolo-fastest"
    )
    min_score: float = _setting("minimum detection score", PICTURES, 0.25)
    narrow: str = _setting(
        "which cluster candidates to keep: none, vote (published quadrant vote) or user",
        PICTURES,
        "vote",
    )
    quadrants: Path | None = _setting(
        "CSV image,quadrant (1-4): the quadrant of each listed picture; the same as a --curation "
        "sheet with only those columns (kept for older commands)",
        CURATION,
        exists=True,
        kind="file",
    )
    title: str | None = _setting(
        "the exhibition's title, shown on the index; default: the input folder's name", CURATION
    )
    # not exists=True: a missing --intro or --curation file gets the builder's own sentence
    # (builder.pipeline.curation)
    intro: Path | None = _setting(
        "a text or Markdown file shown on the index above the pictures (raw HTML in it is shown "
        "as text, never run)",
        CURATION,
    )
    curation: Path | None = _setting(
        "the curator's sheet: a CSV (separated by , ; or tab) with column image (path relative to "
        "INPUT) and any of title, caption, order, quadrant, track (a catalogue id or --music file "
        "name: that picture's first track), hide (yes: left out of the gallery); see "
        "docs/gallery.md",
        CURATION,
    )
    catalogue: Path | None = _setting(
        "music catalogue CSV id,title,artist,valence,arousal[,audio,licence]; default DEAM from "
        "the asset registry",
        MUSIC,
        exists=True,
        kind="file",
    )
    audio_root: Path | None = _setting(
        "a folder whose audio files a --catalogue may name, besides the catalogue's own "
        "folder (paths that leave both are refused: nothing from elsewhere is published)",
        MUSIC,
        exists=True,
        kind="folder",
    )
    music: Path | None = _setting(
        "a folder of your own audio files: each is listened to (cached by content) and placed "
        "in valence/arousal, and they become the catalogue; see `builder music score`",
        MUSIC,
        exists=True,
        kind="folder",
    )
    deam_2013_swap: bool = _setting(
        "swap DEAM's valence/arousal columns back for songs 1-1000 (see docs/music.md)",
        MUSIC,
        True,
    )
    allow_silent: bool = _setting(
        "also recommend tracks that have no audio file (by default, when any track of the "
        "catalogue has audio, only those are recommended)",
        MUSIC,
        False,
    )
    exclude_licence: tuple[str, ...] = _setting(
        "leave out tracks whose licence contains this text (repeatable, "
        "case-insensitive; e.g. noncommercial); tracks of unknown licence are "
        "then left out too",
        MUSIC,
        (),
    )
    exclude_genre: tuple[str, ...] = _setting(
        "leave out tracks whose genre contains this text (repeatable, case-insensitive)",
        MUSIC,
        (),
    )
    repeats: int = _setting(
        "how often one track may be the first track of pictures: 0 = automatic (repeats are "
        "traded against distance so the summed distance stays within 1.5 times each picture's "
        "nearest track's), 1 = never repeat; a picture's quadrant is kept first, so a quadrant "
        "with fewer tracks than pictures repeats its tracks as little as it can",
        MUSIC,
        0,
        minimum=0,
    )
    vectors: Path | None = _setting(
        "word vectors (gensim .kv or word2vec .bin/.txt); default GloVe 6B 50d",
        PICTURES,
        exists=True,
        kind="file",
    )
    model: Path | None = _setting(
        "the learned method's fitted model file; default: the one shipped with the builder "
        "(`builder fit --out FILE` writes another, e.g. fitted on an exhibition's visitors: "
        "docs/study.md)",
        PICTURES,
        exists=True,
        kind="file",
    )
    top_words: int = _setting("impression words per object or caption word", PICTURES, 5)
    clusters: int = _setting("clusters per picture (spherical k-means)", PICTURES, 4)
    analysis_side: int = _setting(
        "longest side, in pixels, a picture is scaled to before analysis", PICTURES, 1024
    )
    seed: int = _setting("seed of the random baseline", PICTURES, 0)
    workers: int = _setting(
        "processes that analyse pictures and write their copies at once; 0 = one per core, as "
        "many as the available memory holds",
        SPEED,
        0,
        minimum=0,
    )
    executor: str = _setting(
        "where pictures are analysed: local (worker processes on this machine) or ray (tasks on "
        "a Ray cluster; pip install -e '.[ray]')",
        SPEED,
        "local",
    )
    ray_address: str | None = _setting(
        "the Ray cluster to use with --executor ray (e.g. ray://head:10001 or auto); "
        "default: a Ray instance started on this machine",
        SPEED,
    )
    stats: Path | None = _setting(
        "write the build's timings as JSON to this file: wall seconds, pictures, cached "
        "pictures, workers, milliseconds per picture per stage, model_ms and other_ms",
        SPEED,
        kind="file",
    )
    lang: str = _setting(
        "language of every word the visitor reads: en or ja (a catalogue in "
        "builder/gallery/messages/)",
        CURATION,
        "en",
    )
    kiosk: bool = _setting(
        "the index opens the slideshow in kiosk mode: full screen after one tap, loops for ever, "
        "hides its controls",
        CURATION,
        False,
    )
    study: bool = _setting(
        "add the visitors' study to the gallery (study.html, linked from the index): each visitor "
        "places pictures in valence/arousal and rates, blind, the music of each condition; answers "
        "stay in the browser until exported (docs/study.md)",
        STUDY,
        False,
    )
    study_pictures: int = _setting(
        "pictures one visitor is walked through in the study", STUDY, 10, minimum=1
    )
    study_conditions: str = _setting(
        "the music a visitor rates for each picture, comma-separated: gallery (the gallery's own "
        "first track), objects (the published object method's, narrowing by vote), random (a "
        "track drawn at random from the catalogue)",
        STUDY,
        ",".join(STUDY_CONDITIONS),
    )
    # not exists=True: as --intro, a missing file gets the builder's own sentence
    study_text: Path | None = _setting(
        "a text or Markdown file that replaces the study's first screen (what is asked, that "
        "answers stay on this device and are anonymous, that the visitor may stop at any time)",
        STUDY,
    )
    debug: bool = _setting("re-raise the first error with its traceback", None, False)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UsageError(f"--method must be one of {', '.join(METHODS)}, not '{self.method}'")
        if self.captioner not in CAPTIONERS:
            raise UsageError(
                f"--captioner must be one of {', '.join(CAPTIONERS)}, not '{self.captioner}'"
            )
        if self.colour_space not in COLOUR_SPACES:
            raise UsageError(
                f"--colour-space must be one of {', '.join(COLOUR_SPACES)}, not "
                f"'{self.colour_space}'"
            )
        if self.narrow not in NARROW:
            raise UsageError(f"--narrow must be one of {', '.join(NARROW)}, not '{self.narrow}'")
        if self.narrow == "user" and self.quadrants is None and self.curation is None:
            raise UsageError(
                "--narrow user needs --quadrants FILE (a CSV with columns image,quadrant) or a "
                "--curation sheet with a quadrant column"
            )
        if self.quadrants is not None and self.curation is not None:
            raise UsageError(
                "--quadrants and --curation both give quadrants; put the quadrant column in the "
                "sheet"
            )
        if self.music is not None and self.catalogue is not None:
            raise UsageError("--music and --catalogue both name the music; give one of them")
        if self.repeats < 0:
            raise UsageError("--repeats must be 0 (automatic) or a positive number of uses")
        if not 1 <= self.clusters <= 16:
            raise UsageError("--clusters must be between 1 and 16")
        if not 1 <= self.top_words <= 28:
            raise UsageError("--top-words must be between 1 and 28")
        if not 0.0 <= self.min_score <= 1.0:
            raise UsageError("--min-score must be between 0 and 1")
        if self.analysis_side < 64:
            raise UsageError("--analysis-side must be at least 64")
        if self.workers < 0:
            raise UsageError("--workers must be 0 (one per core) or more")
        if self.lang not in languages():
            raise UsageError(f"--lang must be one of {', '.join(languages())}, not '{self.lang}'")
        conditions = self.conditions()
        if not conditions or not set(conditions) <= set(STUDY_CONDITIONS):
            raise UsageError(
                "--study-conditions must be a comma-separated list of "
                f"{', '.join(STUDY_CONDITIONS)}, not '{self.study_conditions}'"
            )
        if len(set(conditions)) != len(conditions):
            raise UsageError(
                f"--study-conditions names a condition twice: '{self.study_conditions}'"
            )
        if self.study_pictures < 1:
            raise UsageError("--study-pictures must be at least 1")
        if self.executor not in EXECUTORS:
            raise UsageError(
                f"--executor must be one of {', '.join(EXECUTORS)}, not '{self.executor}'"
            )

    def conditions(self) -> tuple[str, ...]:
        """The study's conditions (--study-conditions), in the order given."""
        return tuple(c.strip() for c in self.study_conditions.split(",") if c.strip())

    def check_paths(self) -> None:
        """The checks a build needs before it touches anything."""
        if not self.input.is_dir():
            raise UsageError(f"input folder {self.input} does not exist or is not a folder")
        src, out = self.input.resolve(), self.out.resolve()
        if out == src or src in out.parents:
            raise UsageError(
                f"the output folder {self.out} must not be inside the input folder {self.input}"
            )
        if out in src.parents:
            raise UsageError(
                f"the input folder {self.input} must not be inside the output folder {self.out}"
            )
        cwd = Path.cwd().resolve()
        if out == cwd or out in cwd.parents:
            raise UsageError(
                f"the output folder {self.out} holds the current folder; a new gallery replaces "
                "the "
                "output folder as a whole, so give a folder of its own (e.g. --out dist)"
            )
        if self.music is not None and not self.music.is_dir():
            raise UsageError(f"music folder {self.music} does not exist or is not a folder")
        if self.music is not None and (
            self.music.resolve() == out or out in self.music.resolve().parents
        ):
            raise UsageError(
                f"the music folder {self.music} must not be inside the output folder {self.out}"
            )
        if self.mirror is not None and not self.mirror.is_dir():
            raise UsageError(f"mirror folder {self.mirror} does not exist")
        from builder.files import regular_input

        for path, what, kind in (
            (self.catalogue, "catalogue", "table"),
            (self.quadrants, "quadrants file", "table"),
            (self.vectors, "word vectors file", None),
        ):
            if path is not None:  # a named pipe would block the build for ever, a device never end
                regular_input(path, what, kind)

    def worker_count(self, cores: int | None = None, available_mb: float | None = None) -> int:
        """--workers, with 0 meaning one per core this process may use, as many as the available
        memory holds (memory_workers); --debug analyses in this process. cores and available_mb: the
        machine's figures (measured when not given)."""
        if self.debug:
            return 1
        if self.workers:
            return self.workers
        cores = cores if cores is not None else usable_cores()
        available_mb = available_mb if available_mb is not None else available_memory_mb()
        return min(cores, memory_workers(self.method, available_mb))

    def worker_warning(self, available_mb: float | None = None) -> str | None:
        """A sentence when --workers asks for more workers than the available memory holds, else
        None."""
        if self.debug or not self.workers or self.executor != "local":
            return None
        available_mb = available_mb if available_mb is not None else available_memory_mb()
        fits = memory_workers(self.method, available_mb)
        if available_mb is None or self.workers <= fits:
            return None
        main, each = MEMORY_MB.get(self.method, MEMORY_MB["learned"])
        need = main + (self.workers - 1) * each
        return (
            f"--workers {self.workers} may need about {need / 1024:.1f} GB ({main} MB for the main "
            f"process and {each} MB for each further worker with --method {self.method}), and "
            f"{available_mb / 1024:.1f} GB is "
            f"available; {fits} worker{'s' * (fits != 1)} would fit (the default, --workers 0, "
            "takes the smaller of that and the cores)"
        )

    def store(self) -> AssetStore:
        return AssetStore(
            self.cache_dir, self.mirror.resolve() if self.mirror else None, offline=self.offline
        )


# Peak memory of a build, MB: (the main process with the method's models, each further worker forked
# from it), as proportional set size, so the weights the workers share with the main process count
# once. Measured on 12-60 oasis-dev photos, rounded up (docs/speed.md "Memory that fits"): the
# tree's PSS with one worker, and the largest private memory of a forked worker (learned 569-593 MB
# and 84 MB, objects 612 and 41, caption 886-920 and 123, random 477 and 24). caption-plain was not
# measured: it loads fewer models than caption, whose figures it takes. learned, since its networks
# run in OpenVINO without torch: 313-319 MB and 50-56 MB (60 and 240 photos).
MEMORY_MB = {
    "learned": (350, 75),
    "objects": (650, 100),
    "caption": (950, 150),
    "caption-plain": (950, 150),
    "random": (500, 50),
}


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def available_memory_mb() -> float | None:
    """Memory available to new work (Linux's MemAvailable), in MB; None where it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (ValueError, OSError, AttributeError):
        return None


def memory_workers(method: str, available_mb: float | None) -> int:
    """How many workers the available memory holds: the main process (which analyses too) and as
    many forked workers as fit beside it; at least one. Unknown memory: no limit from it."""
    if available_mb is None:
        return 1 << 16
    main, each = MEMORY_MB.get(method, MEMORY_MB["learned"])
    return max(1, 1 + int((available_mb - main) // each))


def option_specs() -> dict[str, OptionSpec]:
    """Each setting's name and how the command line gives it, in the order of the fields."""
    return {f.name: f.metadata["option"] for f in fields(Settings)}


def documented_fields() -> list[tuple[str, str]]:
    return [(name, spec.help) for name, spec in option_specs().items()]
