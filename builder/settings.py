"""Every knob of a build, in one frozen dataclass. Each field's help text is what the CLI and README show."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from builder.assets import AssetStore, default_cache_dir
from builder.errors import UsageError

METHODS = ("learned", "objects", "caption", "caption-plain", "random")
CAPTIONERS = ("template", "blip")
COLOUR_SPACES = ("lab", "rgb")
NARROW = ("none", "vote", "user")
EXECUTORS = ("local", "ray")


def languages() -> list[str]:
    """The visitor's languages: one message catalogue each, package data of the gallery wing (read as files, so
    the hall does not import the wing)."""
    return sorted(p.stem for p in (Path(__file__).parent / "gallery" / "messages").glob("*.json"))


def _help(text: str, **kw):
    return field(metadata={"help": text}, **kw)


@dataclass(frozen=True)
class Settings:
    input: Path = _help("folder of pictures (searched recursively)")
    out: Path = _help(
        "output folder for the gallery; replaced as a whole when the build succeeds", default=Path("dist")
    )
    mirror: Path | None = _help("offline mirror folder of external files (env BUILDER_MIRROR)", default=None)
    cache_dir: Path = _help(
        "cache folder for downloads, the music index and per-picture analysis (env BUILDER_CACHE; default XDG cache)",
        default_factory=default_cache_dir,
    )
    offline: bool = _help("never download; fail with a clear message when a file is missing", default=False)
    method: str = _help(
        "how a picture is read: learned (default; fitted on rated photos, see docs/pictures.md), objects "
        "(published object method), caption (caption with expression and colour words), "
        "caption-plain (caption only) or random (baseline)",
        default="learned",
    )
    captioner: str = _help(
        "caption backend for the caption methods: template (offline, written from "
        "detections and the scene label) or blip (needs the BLIP files)",
        default="template",
    )
    colour_space: str = _help(
        "space in which object pixels are clustered for their dominant colour: lab or rgb (published)", default="lab"
    )
    detector: str = _help("object detector: yolo-fastest, ssd300 or maskrcnn", default="yolo-fastest")
    min_score: float = _help("minimum detection score", default=0.25)
    narrow: str = _help(
        "which cluster candidates to keep: none, vote (published quadrant vote) or user", default="vote"
    )
    quadrants: Path | None = _help(
        "CSV image,quadrant (1-4): the quadrant of each listed picture; the same as a --curation sheet with "
        "only those columns (kept for older commands)",
        default=None,
    )
    title: str | None = _help(
        "the exhibition's title, shown on the index; default: the input folder's name", default=None
    )
    intro: Path | None = _help(
        "a text or Markdown file shown on the index above the pictures (raw HTML in it is shown as text, never run)",
        default=None,
    )
    curation: Path | None = _help(
        "the curator's sheet: a CSV (separated by , ; or tab) with column image (path relative to INPUT) and "
        "any of title, caption, order, quadrant, track (a catalogue id or --music file name: that picture's "
        "first track), hide (yes: left out of the gallery); see docs/gallery.md",
        default=None,
    )
    catalogue: Path | None = _help(
        "music catalogue CSV id,title,artist,valence,arousal[,audio,licence]; default DEAM from the asset registry",
        default=None,
    )
    audio_root: Path | None = _help(
        "a folder whose audio files a --catalogue may name, besides the catalogue's own "
        "folder (paths that leave both are refused: nothing from elsewhere is "
        "published)",
        default=None,
    )
    music: Path | None = _help(
        "a folder of your own audio files: each is listened to (cached by content) and placed "
        "in valence/arousal, and they become the catalogue; see `builder music score`",
        default=None,
    )
    deam_2013_swap: bool = _help(
        "swap DEAM's valence/arousal columns back for songs 1-1000 (see docs/music.md)", default=True
    )
    allow_silent: bool = _help(
        "also recommend tracks that have no audio file (by default, when any track of the "
        "catalogue has audio, only those are recommended)",
        default=False,
    )
    exclude_licence: tuple[str, ...] = _help(
        "leave out tracks whose licence contains this text (repeatable, "
        "case-insensitive; e.g. noncommercial); tracks of unknown licence are "
        "then left out too",
        default=(),
    )
    exclude_genre: tuple[str, ...] = _help(
        "leave out tracks whose genre contains this text (repeatable, case-insensitive)", default=()
    )
    repeats: int = _help(
        "how often one track may be the first track of pictures: 0 = automatic (repeats are traded against "
        "distance so the summed distance stays within 1.5 times each picture's nearest track's), 1 = never "
        "repeat; a picture's quadrant is kept first, so a quadrant with fewer tracks than pictures repeats "
        "its tracks as little as it can",
        default=0,
    )
    vectors: Path | None = _help("word vectors (gensim .kv or word2vec .bin/.txt); default GloVe 6B 50d", default=None)
    top_words: int = _help("impression words per object or caption word", default=5)
    clusters: int = _help("clusters per picture (spherical k-means)", default=4)
    analysis_side: int = _help("longest side, in pixels, a picture is scaled to before analysis", default=1024)
    seed: int = _help("seed of the random baseline", default=0)
    workers: int = _help(
        "processes that analyse pictures and write their copies at once; 0 = one per core, as many as the "
        "available memory holds",
        default=0,
    )
    executor: str = _help(
        "where pictures are analysed: local (worker processes on this machine) or ray (tasks on "
        "a Ray cluster; pip install -e '.[ray]')",
        default="local",
    )
    ray_address: str | None = _help(
        "the Ray cluster to use with --executor ray (e.g. ray://head:10001 or auto); "
        "default: a Ray instance started on this machine",
        default=None,
    )
    stats: Path | None = _help(
        "write the build's timings as JSON to this file: wall seconds, pictures, cached "
        "pictures, workers, milliseconds per picture per stage, model_ms and other_ms",
        default=None,
    )
    lang: str = _help(
        "language of every word the visitor reads: en or ja (a catalogue in builder/gallery/messages/)",
        default="en",
    )
    kiosk: bool = _help(
        "the index opens the slideshow in kiosk mode: full screen after one tap, loops for ever, hides its controls",
        default=False,
    )
    debug: bool = _help("re-raise the first error with its traceback", default=False)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise UsageError(f"--method must be one of {', '.join(METHODS)}, not '{self.method}'")
        if self.captioner not in CAPTIONERS:
            raise UsageError(f"--captioner must be one of {', '.join(CAPTIONERS)}, not '{self.captioner}'")
        if self.colour_space not in COLOUR_SPACES:
            raise UsageError(f"--colour-space must be one of {', '.join(COLOUR_SPACES)}, not '{self.colour_space}'")
        if self.narrow not in NARROW:
            raise UsageError(f"--narrow must be one of {', '.join(NARROW)}, not '{self.narrow}'")
        if self.narrow == "user" and self.quadrants is None and self.curation is None:
            raise UsageError(
                "--narrow user needs --quadrants FILE (a CSV with columns image,quadrant) or a --curation sheet "
                "with a quadrant column"
            )
        if self.quadrants is not None and self.curation is not None:
            raise UsageError("--quadrants and --curation both give quadrants; put the quadrant column in the sheet")
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
        if self.executor not in EXECUTORS:
            raise UsageError(f"--executor must be one of {', '.join(EXECUTORS)}, not '{self.executor}'")

    def check_paths(self) -> None:
        """The checks a build needs before it touches anything."""
        if not self.input.is_dir():
            raise UsageError(f"input folder {self.input} does not exist or is not a folder")
        src, out = self.input.resolve(), self.out.resolve()
        if out == src or src in out.parents:
            raise UsageError(f"the output folder {self.out} must not be inside the input folder {self.input}")
        if out in src.parents:
            raise UsageError(f"the input folder {self.input} must not be inside the output folder {self.out}")
        cwd = Path.cwd().resolve()
        if out == cwd or out in cwd.parents:
            raise UsageError(
                f"the output folder {self.out} holds the current folder; a new gallery replaces the "
                "output folder as a whole, so give a folder of its own (e.g. --out dist)"
            )
        if self.music is not None and not self.music.is_dir():
            raise UsageError(f"music folder {self.music} does not exist or is not a folder")
        if self.music is not None and (self.music.resolve() == out or out in self.music.resolve().parents):
            raise UsageError(f"the music folder {self.music} must not be inside the output folder {self.out}")
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
        """--workers, with 0 meaning one per core this process may use, as many as the available memory holds
        (memory_workers); --debug analyses in this process. cores and available_mb: the machine's figures
        (measured when not given)."""
        if self.debug:
            return 1
        if self.workers:
            return self.workers
        cores = cores if cores is not None else usable_cores()
        available_mb = available_mb if available_mb is not None else available_memory_mb()
        return min(cores, memory_workers(self.method, available_mb))

    def worker_warning(self, available_mb: float | None = None) -> str | None:
        """A sentence when --workers asks for more workers than the available memory holds, else None."""
        if self.debug or not self.workers or self.executor != "local":
            return None
        available_mb = available_mb if available_mb is not None else available_memory_mb()
        fits = memory_workers(self.method, available_mb)
        if available_mb is None or self.workers <= fits:
            return None
        main, each = MEMORY_MB.get(self.method, MEMORY_MB["learned"])
        need = main + (self.workers - 1) * each
        return (
            f"--workers {self.workers} may need about {need / 1024:.1f} GB ({main} MB for the main process and "
            f"{each} MB for each further worker with --method {self.method}), and {available_mb / 1024:.1f} GB is "
            f"available; {fits} worker{'s' * (fits != 1)} would fit (the default, --workers 0, takes the smaller "
            "of that and the cores)"
        )

    def store(self) -> AssetStore:
        return AssetStore(self.cache_dir, self.mirror.resolve() if self.mirror else None, offline=self.offline)


# Peak memory of a build, MB: (the main process with the method's models, each further worker forked from it),
# as proportional set size, so the weights the workers share with the main process count once. Measured on 12-60
# oasis-dev photos, rounded up (docs/speed.md "Memory that fits"): the tree's PSS with one worker, and the largest
# private memory of a forked worker (learned 569-593 MB and 84 MB, objects 612 and 41, caption 886-920 and 123,
# random 477 and 24). caption-plain was not measured: it loads fewer models than caption, whose figures it takes.
# learned, since its networks run in OpenVINO without torch: 313-319 MB and 50-56 MB (60 and 240 photos).
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
    """How many workers the available memory holds: the main process (which analyses too) and as many forked
    workers as fit beside it; at least one. Unknown memory: no limit from it."""
    if available_mb is None:
        return 1 << 16
    main, each = MEMORY_MB.get(method, MEMORY_MB["learned"])
    return max(1, 1 + int((available_mb - main) // each))


def documented_fields() -> list[tuple[str, str]]:
    return [(f.name, f.metadata.get("help", "")) for f in fields(Settings)]
