"""What every stage is handed: the Context, the settings and each heavy thing, loaded once on first
use.

The Context is where the two wings meet without importing each other: it loads the picture wing's
recognisers and the music wing's catalogue and index, and a method reaches music only through
`ctx.index`. The methods name what they use of it by a protocol of their own wing
(builder.picture.reading.Context), so no wing imports this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from builder.assets import AssetStore
from builder.errors import BuilderError
from builder.music.catalogue import Catalogue, load_csv_catalogue, load_deam
from builder.music.index import MusicIndex
from builder.pipeline import curation
from builder.records import Track
from builder.settings import Settings

T = TypeVar("T")
Progress = Callable[[Iterable[T], str, int], Iterator[T]]

ALL_AUDIO_BYTES = 64 << 20


def no_progress(items: Iterable[T], label: str, total: int) -> Iterator[T]:
    yield from items


class Context:
    """Loads each heavy thing once, on first use, and is read-only once made: what it holds is given
    to it (the settings, the store, `copies`, another Context whose music it shares: `music`, the
    fakes a test injects by keyword: detector=..., mapper=...) or computed from that on first use
    and kept (the catalogue and its problems, the curator's sheet and its pins). The warnings found
    while reading are returned with the results (builder.pipeline.run), never appended here."""

    def __init__(
        self,
        settings: Settings,
        store: AssetStore | None = None,
        copies: bool = False,
        music: Context | None = None,
        **injected,
    ):
        given = dict(
            settings=settings,
            store=store or settings.store(),
            # make each analysed picture's gallery copies as it is read (a build does:
            # builder.pipeline.build)
            copies=copies,
            injected=tuple(injected),  # fakes live in this process only: no worker processes then
        )
        if music is not None:  # the same catalogue and index, read once (the study's other method)
            given.update(_music=music._music, index=music.index)
        self.__dict__.update(given, **injected)

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(
            f"a Context is read-only once made: give {name} to Context(...) or compute it from "
            "what it was given"
        )

    @cached_property
    def detector(self):
        from builder.picture.detect import make_detector

        return make_detector(self.settings.detector, self.store, conf=self.settings.min_score)

    @cached_property
    def mapper(self):
        from builder.picture.words import (
            ImpressionMapper,
            impression_vocabulary,
            load_nrc_vad,
            load_vectors,
        )

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

        return (
            FeelingModel.load(self.settings.model) if self.settings.model else FeelingModel.load()
        )

    def listen(self, progress: Progress = no_progress) -> Catalogue:
        """Score the --music folder (cached by content) into a catalogue, once (the first call's
        progress shows it); files that cannot be read are the catalogue's problems."""
        if "_listened" not in self.__dict__:
            from builder.music.listen import Listener, catalogue_of

            s = self.settings
            scored, failed, _ = Listener(self.store, s.cache_dir, moments=True).score(
                s.music, progress, exclude=(s.out, s.cache_dir), workers=s.worker_count()
            )
            if not scored:
                raise BuilderError(
                    f"no audio file in {self.settings.music} could be scored "
                    f"({'; '.join(f'{f.file}: {f.reason}' for f in failed[:3]) or 'none found'})"
                )
            problems = tuple(f"music {f.file}: {f.reason}" for f in failed)
            self.__dict__["_listened"] = (catalogue_of(scored, s.music.name or "music"), problems)
        return self.__dict__["_listened"][0]

    @cached_property
    def _music(self) -> tuple[Catalogue, tuple[str, ...], str | None]:
        """The catalogue music is chosen from (audible tracks only, unless none has audio or
        --allow-silent), the problems found reading it (rows or files left out), and why the gallery
        plays no music (None when it plays)."""
        s = self.settings
        problems: tuple[str, ...] = ()
        if s.music is not None:
            cat = self.listen()
            problems = self.__dict__["_listened"][1]
        elif s.catalogue is not None:
            # never audio from the gallery being written or the cache
            cat, found = load_csv_catalogue(s.catalogue, s.audio_root, (s.out, s.cache_dir))
            problems = tuple(found)
        else:
            cat = load_deam(self.store, swap_2013=s.deam_2013_swap)
        cat = cat.without(s.exclude_licence, s.exclude_genre)
        if not cat.tracks:
            raise BuilderError(
                "no track of the catalogue is left after --exclude-licence and --exclude-genre; "
                "filter less"
            )
        if s.allow_silent:
            return cat, problems, None
        playable = cat.playable()
        if playable.tracks:
            return playable, problems, None
        if s.catalogue is not None:  # the user's own catalogue: DEAM's audio would not help it
            how = (
                f"give each row of {s.catalogue.name} an audio column naming its file (relative to "
                "the catalogue's folder, or under --audio-root), or use your own music with "
                "--music DIR"
            )
        else:
            how = (
                "get audio with `builder assets fetch deam-audio`, or use your own music with "
                "--music DIR, or a --catalogue whose rows name audio files"
            )
        silent = (
            f"no track of the catalogue {cat.name} has an audio file, "
            f"so the gallery plays no music; {how}"
        )
        return cat, problems, silent

    @cached_property
    def catalogue(self) -> Catalogue:
        """The tracks music is chosen from: audible ones only, unless none has audio or
        --allow-silent."""
        return self._music[0]

    @cached_property
    def catalogue_problems(self) -> tuple[str, ...]:
        """The rows of a --catalogue or the files of --music that were left out, each with its
        reason."""
        return self._music[1]

    @cached_property
    def silent(self) -> str | None:
        """Why the gallery plays no music (no track of the catalogue has audio), or None."""
        return self._music[2]

    @cached_property
    def sheet(self) -> curation.Sheet | None:
        """The curator's sheet (--curation), or --quadrants, which is a sheet of image and quadrant
        columns; None without either."""
        s = self.settings
        if s.curation is not None:
            return curation.read_sheet(s.curation)
        if s.quadrants is not None:
            return curation.read_sheet(s.quadrants, "quadrants file")
        return None

    @cached_property
    def pinned(self) -> tuple[dict[str, Track], tuple[str, ...]]:
        """Picture -> the track the curator's sheet pins as its first track, and the warnings about
        rows whose track cannot be pinned (not in the catalogue, or silent)."""
        if self.sheet is None:
            return {}, ()
        pins, warnings = self.sheet.pins(self.catalogue.tracks, self.catalogue.name)
        return pins, tuple(warnings)

    @cached_property
    def pins(self) -> dict[str, int]:
        """Picture -> catalogue index (the index's numbering) of its pinned track: a method choosing
        music for the whole collection counts these uses and solves only the others."""
        if not self.pinned[0]:
            return {}
        position = {t.id: i for i, t in enumerate(self.catalogue.tracks)}  # ids are unique in one
        return {f: position[t.id] for f, t in self.pinned[0].items()}

    @property
    def carry_all_audio(self) -> bool:
        """Whether the gallery carries the audio of every catalogue track (so exploring the plane
        plays too): when every track has audio and all of it together is small (the mirror's DEAM
        clips); else only recommended tracks' audio travels."""
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
