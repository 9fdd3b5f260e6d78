"""What every stage is handed: the Context (settings and each heavy thing, loaded once on first use) and the
Reading (what the per-picture stages learn of one picture).

They live here, below both the pipeline that runs the stages and the methods (builder.picture.methods) that answer
at each stage, so neither imports the other to name them. The Context is also where the two wings meet without
importing each other: it loads the picture wing's recognisers and the music wing's catalogue and index, and a
method reaches music only through `ctx.index`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from builder.assets import AssetStore
from builder.errors import BuilderError
from builder.music.catalogue import Catalogue, load_csv_catalogue, load_deam
from builder.music.index import MusicIndex
from builder.records import Caption, Colour, Detection, FaceRecord, Impression, ObjectRecord, Point, Track
from builder.settings import Settings

if TYPE_CHECKING:
    from builder.picture.feeling import Ingredients

T = TypeVar("T")
Progress = Callable[[Iterable[T], str, int], Iterator[T]]

ALL_AUDIO_BYTES = 64 << 20


def no_progress(items: Iterable[T], label: str, total: int) -> Iterator[T]:
    yield from items


@dataclass
class Reading:
    """What the per-picture stages learn; the collection stages turn it into an ImageRecord."""

    file: str
    sha256: str = ""
    width: int = 0
    height: int = 0
    detections: list[Detection] = field(default_factory=list)
    colours: list[Colour | None] = field(default_factory=list)  # aligned with detections
    faces: list[FaceRecord] = field(default_factory=list)
    scene: list[dict] = field(default_factory=list)  # [{label, score}] from the ImageNet classifier
    caption_text: str = ""
    caption_source: str = ""
    objects: list[ObjectRecord] = field(default_factory=list)
    impressions: list[Impression] = field(default_factory=list)
    caption: Caption | None = None
    colour_av: Point = (0.0, 0.0)
    colour: np.ndarray | None = None  # colour statistics (feeling.colour_stats), only while recognisers run
    cached: bool = False
    ingredients: Ingredients | None = None  # learned method: what its features are made from
    rgb: np.ndarray | None = None  # the decoded picture, only while recognisers run
    masks: list | None = None  # Mask R-CNN masks of the detections, only while recognisers run
    data: bytes | None = None  # the file's bytes as hashed, only until decoded
    meta: tuple[str, str] = ("", "")  # the picture's own title and description, from its metadata


class Context:
    """Loads each heavy thing once, on first use. Tests inject fakes by keyword (detector=..., mapper=...)."""

    def __init__(self, settings: Settings, store: AssetStore | None = None, **injected):
        self.settings = settings
        self.store = store or settings.store()
        self.catalogue_problems: list[str] = []
        self.warnings: list[str] = []  # for the person building (the curator's sheet); the CLI prints them
        self.notes: list[str] = []  # for the build's summary (what a Ray cluster analysed)
        self.silent: str | None = None  # why the gallery plays no music (set with the catalogue)
        self.injected = tuple(injected)  # fakes live in this process only: no worker processes then
        self.copies = False  # make each analysed picture's gallery copies as it is read (`builder build` sets it)
        # picture -> catalogue index of the track the curator's sheet pins as its first track (the pipeline sets
        # it): a method choosing music for the whole collection counts these uses and solves only the others
        self.pins: dict[str, int] = {}
        self.__dict__.update(injected)

    @cached_property
    def detector(self):
        from builder.picture.detect import make_detector

        return make_detector(self.settings.detector, self.store, conf=self.settings.min_score)

    @cached_property
    def mapper(self):
        from builder.picture.words import ImpressionMapper, impression_vocabulary, load_nrc_vad, load_vectors

        lexicon = load_nrc_vad(self.store.resolve("nrc-vad"))
        return ImpressionMapper(load_vectors(self.settings.vectors), impression_vocabulary(lexicon))

    @cached_property
    def faces(self):
        from builder.picture.faces import FaceReader

        return FaceReader()

    @cached_property
    def segmenter(self):
        from builder.picture.colours import Segmenter

        return Segmenter.from_store(self.store)

    @cached_property
    def namer(self):
        from builder.picture.colours import ColourNamer, colour_names

        return ColourNamer(colour_names(self.mapper.vectors.key_to_index))

    @cached_property
    def scene(self):
        from builder.picture.scene import SceneClassifier

        return SceneClassifier.from_store(self.store)

    @cached_property
    def lite(self):
        from builder.picture.backbone import Lite2

        return Lite2.from_store(self.store)

    @cached_property
    def captioner(self):
        from builder.picture.caption import BlipCaptioner

        return BlipCaptioner.from_store(self.store)

    @cached_property
    def tagger(self):
        from builder.picture.caption import load_tagger

        return load_tagger()

    @cached_property
    def feeling(self):
        from builder.picture.feeling import FeelingModel

        return FeelingModel.load()

    def listen(self, progress: Progress = no_progress) -> Catalogue:
        """Score the --music folder (cached by content) into a catalogue; unreadable files become warnings."""
        if "music_catalogue" not in self.__dict__:
            from builder.music.listen import Listener, catalogue_of

            s = self.settings
            scored, failed, _ = Listener(self.store, s.cache_dir).score(
                s.music, progress, exclude=(s.out, s.cache_dir), workers=s.worker_count()
            )
            self.catalogue_problems.extend(f"music {f.file}: {f.reason}" for f in failed)
            if not scored:
                raise BuilderError(
                    f"no audio file in {self.settings.music} could be scored "
                    f"({'; '.join(f'{f.file}: {f.reason}' for f in failed[:3]) or 'none found'})"
                )
            self.music_catalogue = catalogue_of(scored, self.settings.music.name or "music")
        return self.music_catalogue

    @cached_property
    def catalogue(self) -> Catalogue:
        """The tracks music is chosen from: audible ones only, unless none has audio or --allow-silent."""
        s = self.settings
        if s.music is not None:
            cat = self.listen()
        elif s.catalogue is not None:
            cat, problems = load_csv_catalogue(s.catalogue, s.audio_root)
            self.catalogue_problems.extend(problems)
        else:
            cat = load_deam(self.store, swap_2013=s.deam_2013_swap)
        cat = cat.without(s.exclude_licence, s.exclude_genre)
        if not cat.tracks:
            raise BuilderError(
                "no track of the catalogue is left after --exclude-licence and --exclude-genre; filter less"
            )
        if not s.allow_silent:
            playable = cat.playable()
            if playable.tracks:
                return playable
            if s.catalogue is not None:  # the user's own catalogue: DEAM's audio would not help it
                how = (
                    f"give each row of {s.catalogue.name} an audio column naming its file (relative to the "
                    "catalogue's folder, or under --audio-root), or use your own music with --music DIR"
                )
            else:
                how = (
                    "get audio with `builder assets fetch deam-audio`, or use your own music with --music "
                    "DIR, or a --catalogue whose rows name audio files"
                )
            self.silent = (
                f"no track of the catalogue {cat.name} has an audio file, so the gallery plays no music; {how}"
            )
        return cat

    @property
    def carry_all_audio(self) -> bool:
        """Whether the gallery carries the audio of every catalogue track (so exploring the plane plays too): when
        every track has audio and all of it together is small (the mirror's DEAM clips); else only recommended
        tracks' audio travels."""
        tracks = self.catalogue.tracks
        if not all(t.audio for t in tracks):
            return False
        total = 0
        for t in tracks:
            try:
                total += Path(t.audio).stat().st_size
            except OSError:
                return False
        return total <= ALL_AUDIO_BYTES

    @cached_property
    def imagenet_labels(self) -> list[str]:
        from builder.picture.scene import first_name, label_lines

        return [first_name(ln) for ln in label_lines(self.store)]

    @cached_property
    def tracks_by_id(self) -> dict[str, Track]:
        return self.catalogue.by_id()

    @cached_property
    def index(self) -> MusicIndex:
        return MusicIndex(self.catalogue, self.settings.cache_dir)
