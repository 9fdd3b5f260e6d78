"""Reading what people rated: ratings files of photos (OASIS-style CSV, Emotion6's
ground_truth.txt), rated sets (a folder with its ratings and scale, `builder fit --set`), the
readings of their photos, and the quadrant labels of music files (`--music-labels`).

A ratings file is refused, naming its rows, where it would make a figure or a model wrong without a
word (photos outside the folder, repeated photos, ratings off the scale); photos it names that are
not in the folder are left out (a folder may hold part of a set).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from builder.errors import UsageError


@dataclass(frozen=True)
class Ratings:
    images: list[str]
    themes: list[str]
    va: np.ndarray  # (n, 2) mapped to [-1, 1]
    # (n,) each photo's weight within its set, e.g. how many visitors placed it; None: all alike
    weights: np.ndarray | None = None


# the names a ratings CSV may give its columns (case and surrounding spaces aside) -> ours
COLUMN_NAMES = {
    **{n: "image" for n in ("image", "file", "filename", "file_name", "picture", "photo")},
    **{n: "valence_mean" for n in ("valence_mean", "valence", "mean_valence", "val")},
    **{n: "arousal_mean" for n in ("arousal_mean", "arousal", "mean_arousal", "aro")},
    "theme": "theme",
    # GAPED's categories (A animals, Sp spiders, ...) are its grouping unit: photos of one share
    # subjects. OASIS has both columns; its finer themes win (canonical names are looked for first)
    "category": "theme",
}


def read_ratings(
    path: Path, images_dir: Path, scale_min: float, scale_max: float, midpoint: float
) -> Ratings:
    """Ratings of the photos present in images_dir, mapped linearly to [-1, 1] around the scale's
    midpoint ((x - midpoint) / the larger half of the scale). Two formats: OASIS-style CSV (image,
    theme, valence_mean, arousal_mean, ...; comma, semicolon or tab separated; the columns may also
    be called file, valence, arousal, and category stands for theme where there is no theme) and
    Emotion6's ground_truth.txt (tab-separated: [image_filename] [valence] [arousal] ...). Without
    themes each photo is its own group."""
    half = max(midpoint - scale_min, scale_max - midpoint)
    if half <= 0 or not scale_min < midpoint < scale_max:
        raise UsageError("the rating scale needs --scale-min < --midpoint < --scale-max")
    from builder.files import regular_input

    regular_input(path, "ratings file")  # a named pipe would block for ever
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read ratings {path}: {exc}") from exc
    decimal_comma = False
    if text.startswith("[image_filename]"):  # Emotion6
        rows = [
            {"image": r[0], "valence_mean": r[1], "arousal_mean": r[2]}
            for r in csv.reader(text.splitlines()[1:], delimiter="\t")
            if len(r) >= 3
        ]
    else:
        lines = text.splitlines()
        try:
            dialect = csv.Sniffer().sniff(lines[0] if lines else "", delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(lines, dialect=dialect)
        decimal_comma = dialect.delimiter != ","  # 4,5 in a semicolon- or tab-separated file is 4.5
        found: dict[str, str] = {}
        for name in sorted(
            reader.fieldnames or [],
            key=lambda n: (n or "").strip().lower() not in COLUMN_NAMES.values(),
        ):
            key = COLUMN_NAMES.get((name or "").strip().lower())
            if key:
                found.setdefault(key, name)  # valence_mean before valence, where a file has both
        need = ("image", "valence_mean", "arousal_mean")
        if not set(need) <= set(found):
            raise UsageError(
                f"{path} needs the columns {', '.join(need)} (or image/file, valence, arousal)"
            )
        rows = [
            {key: row.get(found[key]) for key in (*need, "theme") if key in found} for row in reader
        ]
    images, themes, va = [], [], []

    def number(x) -> float:
        return float(x.replace(",", ".") if decimal_comma and isinstance(x, str) else x)

    check_rating_rows(rows, path, images_dir, scale_min, scale_max, number)
    for r in rows:
        if r.get("image") and (images_dir / r["image"]).is_file():
            try:
                v, a = (
                    (number(r["valence_mean"]) - midpoint) / half,
                    (number(r["arousal_mean"]) - midpoint) / half,
                )
            except (TypeError, ValueError):
                raise UsageError(f"{path}: the ratings of {r['image']} are not numbers") from None
            images.append(r["image"])
            themes.append(r.get("theme") or str(Path(r["image"]).with_suffix("")))
            va.append((v, a))
    if not images:
        raise UsageError(f"none of the photos named in {path} is in {images_dir}")
    return Ratings(images, themes, np.array(va))


def check_rating_rows(
    rows: list[dict], path: Path, images_dir: Path, lo: float, hi: float, number
) -> None:
    """Refuse a ratings file, naming its rows (line numbers of the file), when a row names a photo
    outside the folder, repeats a photo, or gives a rating that is not a finite number on the scale:
    fitted or measured on such rows, a model or a figure would be wrong without a word. Rows naming
    photos that are not in the folder are left out as before (a folder may hold part of a set)."""
    import math

    root = images_dir.resolve()
    problems, first = [], {}
    for line, r in enumerate(rows, start=2):  # line 1 is the header
        name = (r.get("image") or "").strip()
        if not name:
            continue
        where = Path(name)
        try:
            resolved = (images_dir / where).resolve()
        except (OSError, RuntimeError, ValueError):
            resolved = None
        if (
            where.is_absolute()
            or ".." in where.parts
            or resolved is None
            or root not in resolved.parents
        ):
            problems.append(f"line {line}: {name!r} lies outside {images_dir}")
            continue
        if name in first:
            problems.append(f"line {line}: {name!r} repeats line {first[name]}")
            continue
        first[name] = line
        for axis in ("valence_mean", "arousal_mean"):
            try:
                x = number(r.get(axis))
            except (TypeError, ValueError):
                continue  # not a number at all: told below, where the photo is in the folder
            if not math.isfinite(x):
                problems.append(
                    f"line {line}: the {axis.split('_')[0]} of {name!r} is {x}, not a finite number"
                )
            elif not lo <= x <= hi:
                problems.append(
                    f"line {line}: the {axis.split('_')[0]} of {name!r} is {x:g}, "
                    f"outside the scale {lo:g}-{hi:g} (give the scale with --scale-min/--scale-max)"
                )
    if problems:
        more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise UsageError(
            f"ratings {path} refused: {'; '.join(problems[:5])}{more}; "
            "nothing was measured or fitted"
        )


def check_trainable(va: np.ndarray, what: str, arousal: bool = True) -> None:
    """Refuse to fit on ratings that cannot make a model: too few photos, or one axis that does not
    vary."""
    if len(va) < 5:  # the origin and calibration come from 5 folds
        raise UsageError(
            f"{what}: only {len(va)} rated photos; at least 5 are needed to fit a model"
        )
    if not np.isfinite(va).all():
        raise UsageError(f"{what}: the ratings hold values that are not finite numbers")
    for k, axis in enumerate(("valence", "arousal")[: 1 + arousal]):
        if float(np.ptp(va[:, k])) == 0.0:
            raise UsageError(
                f"{what}: every photo has the same {axis}; a model cannot be fitted on that"
            )


def read_rated(ctx, images: list[str], progress=None) -> list:
    """Readings of every rated photo; a photo that cannot be read is an error here (the figures need
    them all)."""
    from builder.pipeline.context import no_progress
    from builder.pipeline.stages import read_all

    readings, failed = read_all(ctx, images, progress or no_progress)
    if failed:
        raise UsageError(
            f"{len(failed)} rated photos could not be read, "
            f"e.g. {failed[0].file}: {failed[0].reason}"
        )
    return readings


def read_offline(images: Path, files: list[str], mirror: Path, cache_dir: Path | None):
    """(the Context, the readings) of `files` in `images` by the default method, offline, from the
    cache where it holds them: the benchmarks read rated photos this way, as `builder fit --set`
    does."""
    from builder.pipeline.context import Context
    from builder.settings import Settings

    settings = Settings(
        input=images,
        out=Path("/nonexistent-out"),
        mirror=mirror.resolve(),
        cache_dir=cache_dir,
        offline=True,
        allow_silent=True,
    )
    ctx = Context(settings)
    return ctx, read_rated(ctx, files)


@dataclass(frozen=True)
class RatedSet:
    """A folder of rated photos: a ratings file (ratings.csv in OASIS format, or Emotion6's
    ground_truth.txt) and the photos in images/ or beside it (GAPED), on a scale given by the
    curator."""

    name: str
    images: Path
    ratings: Ratings
    scale: str  # "1-7 midpoint 4"
    arousal: bool = True  # whether its arousal ratings train the arousal model
    # whether numbered themes are near-duplicates ("Beach 1" ... "Beach 8", fitting.theme_groups)
    # that cross-validation keeps in one group; False: each theme is a group of its own
    near_duplicates: bool = True


SET_SPEC = re.compile(
    r"^(?P<folder>.+):(?P<lo>[-+]?[\d.]+)-(?P<hi>[-+]?[\d.]+):(?P<mid>[-+]?[\d.]+)"
    r"(?P<valence>:valence)?$"
)


def parse_rated_set(text: str) -> tuple[Path, float, float, float, bool]:
    """FOLDER:MIN-MAX:MIDPOINT[:valence] -> (folder, min, max, midpoint, whether arousal trains
    too)."""
    m = SET_SPEC.match(text)
    try:
        return Path(m["folder"]), float(m["lo"]), float(m["hi"]), float(m["mid"]), not m["valence"]
    except (TypeError, ValueError):
        raise UsageError(
            f"--set {text!r}: expected FOLDER:MIN-MAX:MIDPOINT, e.g. eval/oasis-dev:1-7:4, "
            "and :valence at the end to train only the valence model on it"
        ) from None


def read_rated_set(text: str) -> RatedSet:
    folder, lo, hi, mid, arousal = parse_rated_set(text)
    images = folder / "images" if (folder / "images").is_dir() else folder
    found = [folder / n for n in ("ratings.csv", "ground_truth.txt") if (folder / n).is_file()]
    if not found:
        raise UsageError(
            f"{folder} needs ratings.csv (OASIS format) or ground_truth.txt (Emotion6 format), "
            "and its photos in an images/ folder or beside the ratings"
        )
    return RatedSet(
        folder.resolve().name,
        images,
        read_ratings(found[0], images, lo, hi, mid),
        f"{lo:g}-{hi:g} midpoint {mid:g}",
        arousal,
    )


def read_music_labels(path: Path, music: Path) -> dict[str, int]:
    """Track id (file relative to the --music folder, as the listener names tracks) -> labelled
    quadrant. The columns are those `builder music evaluate` reads (file, quadrant 1-4); files not
    in the folder are skipped."""
    from builder.files import regular_input

    regular_input(path, "music labels file")  # a named pipe would block for ever
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"cannot read music labels {path}: {exc}") from None
    if not rows or not {"file", "quadrant"} <= set(rows[0]):
        raise UsageError(f"{path} needs the columns file and quadrant (1-4)")
    out = {}
    for line, r in enumerate(rows, start=2):
        q = (r["quadrant"] or "").strip()
        if q not in ("1", "2", "3", "4"):
            raise UsageError(f"{path} line {line}: quadrant must be 1, 2, 3 or 4, not {q!r}")
        if (music / r["file"]).is_file():
            out[Path(r["file"]).as_posix()] = int(q)
    if not out:
        raise UsageError(f"none of the files named in {path} is in {music}")
    return out
