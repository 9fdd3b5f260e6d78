"""The visitors' study a gallery holds (`builder build --study`, docs/study.md): what each
condition offers for each picture, and the build id every answer carries (builder.lab.study reads
the answers back).

The conditions (builder.settings.STUDY_CONDITIONS), as the published method's authors compared
theirs:

  gallery  the gallery's own first track for the picture (the one it plays), and the quadrant it
           reads the picture in;
  objects  the published object method (`--method objects`, narrowing by vote), run alongside the
           gallery's own through the same stages and analysis cache
           (builder.pipeline.run.study_of);
  random   a track drawn at random from the catalogue, seeded per picture as `--method random`
           draws.

A condition that reads a quadrant could not recommend (the paper's failure: its pick's track is
None) where the catalogue has no track in that quadrant; the object method also where the
published vote keeps none of the picture's clusters (its quadrant holds no cluster centre, so the
method as published has nothing to recommend; `--method objects` alone would then take the track
nearest the quadrant).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

import orjson

from builder import plane
from builder.picture.methods.random_track import draw
from builder.pipeline.context import Progress
from builder.records import Gallery, ImageRecord, Study, StudyPick, Track
from builder.settings import Settings

EXCERPT_S = 15.0  # seconds of each track a visitor hears, from where it stops being quiet


def objects_settings(s: Settings) -> Settings:
    """The settings of the object method a study runs alongside the gallery's: the published method
    with its vote, whatever the curator's sheet says (the sheet's quadrants and pins are the
    gallery's, not the method's), and nothing of the build's own outputs (--stats)."""
    return replace(s, method="objects", narrow="vote", curation=None, quadrants=None, stats=None)


def relabelled(progress: Progress) -> Progress:
    """The progress of the object method's reading, named as the study's."""

    def shown(items: Iterable, label: str, total: int) -> Iterator:
        return progress(items, f"{label} for the study (object method)", total)

    return shown


def audible(tracks: Sequence[Track]) -> list[Track]:
    """The tracks a visitor can hear (all of them when none has audio: the study then says why)."""
    heard = [t for t in tracks if t.audio]
    return heard or list(tracks)


def _first_audible(tracks: Sequence[Track]) -> Track | None:
    return next((t for t in tracks if t.audio), None)


def design(
    settings: Settings,
    gallery: Gallery,
    catalogue: Sequence[Track],
    hashes: dict[str, str],
    objects: dict[str, ImageRecord] | None = None,
    text: tuple[str | None, str | None] = (None, None),
) -> Study:
    """The study of a gallery: each picture's pick per condition (--study-conditions), the tracks
    picked, and the build id.

    catalogue: the tracks music is chosen from; hashes: picture file -> the sha256 of its content;
    objects: the object method's records by picture file (a picture it could not read recommends
    nothing); text: the --study-text file's text and HTML."""
    heard = audible(catalogue)
    held = {plane.quadrant((t.valence, t.arousal)) for t in heard}
    objects = objects or {}
    used: dict[str, Track] = {}

    def pick(track: Track | None, quadrant: int | None, reads: bool = True) -> StudyPick:
        if track is None or (reads and quadrant not in held):
            return StudyPick(None, quadrant)
        used.setdefault(track.id, track)
        return StudyPick(track.id, quadrant)

    pictures: dict[str, dict[str, StudyPick]] = {}
    for im in gallery.images:
        picks: dict[str, StudyPick] = {}
        for condition in settings.conditions():
            if condition == "gallery":
                picks[condition] = pick(_first_audible(im.tracks), im.quadrant)
            elif condition == "objects":
                found = objects.get(im.file)
                if found is None:
                    picks[condition] = StudyPick(None, None)
                    continue
                voted = any(c.quadrant == found.quadrant for c in found.clusters)
                track = _first_audible(found.tracks) if voted else None
                picks[condition] = pick(track, found.quadrant)
            else:  # random: reads no quadrant
                picks[condition] = pick(draw(heard, settings.seed, im.file), None, reads=False)
        pictures[im.file] = picks
    conditions = settings.conditions()
    return Study(
        gallery=build_id(conditions, pictures, hashes),
        conditions=conditions,
        pictures=pictures,
        tracks=tuple(used.values()),
        size=settings.study_pictures,
        excerpt=EXCERPT_S,
        text=text[0],
        text_html=text[1],
    )


def build_id(
    conditions: Sequence[str], pictures: dict[str, dict[str, StudyPick]], hashes: dict[str, str]
) -> str:
    """The build id: "g-" and 16 hex digits of a sha256 of what the answers are about: the
    conditions, each picture's content and each condition's pick. Rebuilding the same study gives
    the same id, so its answers stay valid; any other study (another picture, another pick) has
    another."""
    content = {
        "conditions": list(conditions),
        "pictures": {
            file: {
                "sha256": hashes.get(file, ""),
                "picks": {c: [p.track, p.quadrant] for c, p in picks.items()},
            }
            for file, picks in pictures.items()
        },
    }
    digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"g-{digest[:16]}"
