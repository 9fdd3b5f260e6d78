"""How well the builder reads a picture's feeling, against people's ratings (in the spirit of the paper's Table 1).

People's quadrant of a photo comes from its mean ratings against the scale's midpoint (OASIS: 1-7, midpoint 4).
Per method: people's and the method's quadrant shares, per-quadrant agreement (recall), overall agreement,
balanced agreement (mean of the four recalls, so always answering the commonest quadrant scores 25 %),
Pearson r of `av` against the mean ratings, and the confusion matrix.
"""

from __future__ import annotations

import csv
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from builder.errors import UsageError
from builder.music.matching import calibration_table


@dataclass(frozen=True)
class Ratings:
    images: list[str]
    themes: list[str]
    va: np.ndarray  # (n, 2) mapped to [-1, 1]


# the names a ratings CSV may give its columns (case and surrounding spaces aside) -> the name used here
COLUMN_NAMES = {
    **{n: "image" for n in ("image", "file", "filename", "file_name", "picture", "photo")},
    **{n: "valence_mean" for n in ("valence_mean", "valence", "mean_valence", "val")},
    **{n: "arousal_mean" for n in ("arousal_mean", "arousal", "mean_arousal", "aro")},
    "theme": "theme",
    # GAPED's categories (A animals, Sp spiders, ...) are its grouping unit: photos of one share subjects. OASIS
    # has both columns; its finer themes win (canonical names are looked for first)
    "category": "theme",
}


def read_ratings(
    path: Path, images_dir: Path, scale_min: float, scale_max: float, midpoint: float
) -> Ratings:
    """Ratings of the photos present in images_dir, mapped linearly to [-1, 1] around the scale's midpoint
    ((x - midpoint) / the larger half of the scale). Two formats: OASIS-style CSV (image, theme, valence_mean,
    arousal_mean, ...; comma, semicolon or tab separated; the columns may also be called file, valence,
    arousal, and category stands for theme where there is no theme) and Emotion6's ground_truth.txt
    (tab-separated: [image_filename] [valence] [arousal] ...). Without themes each photo is its own group."""
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
    """Refuse a ratings file, naming its rows (line numbers of the file), when a row names a photo outside the
    folder, repeats a photo, or gives a rating that is not a finite number on the scale: fitted or measured on
    such rows, a model or a figure would be wrong without a word. Rows naming photos that are not in the folder
    are left out as before (a folder may hold part of a set)."""
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
                    f"line {line}: the {axis.split('_')[0]} of {name!r} is {x:g}, outside the scale {lo:g}-{hi:g} "
                    "(give the scale with --scale-min/--scale-max)"
                )
    if problems:
        more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise UsageError(
            f"ratings {path} refused: {'; '.join(problems[:5])}{more}; nothing was measured or fitted"
        )


def check_trainable(va: np.ndarray, what: str, arousal: bool = True) -> None:
    """Refuse to fit on ratings that cannot make a model: too few photos, or one axis that does not vary."""
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


def photo_digests(readings) -> list[str]:
    """What a model records of the photos it was fitted on: 64-bit prefixes of their sha256 (by content, so a
    copy under another name or a subset is still recognised)."""
    return sorted({r.sha256[:16] for r in readings if r.sha256})


def in_training(meta: dict, readings) -> tuple[int | None, str]:
    """(how many of these photos the model was fitted on, by content; None when the model does not say)."""
    listed = meta.get("photos_sha256")
    if not listed:
        return None, (
            "this model file does not list the photos it was fitted on; if any of these photos were among them "
            "the learned row is IN-SAMPLE and flatters the model (refit with `builder fit` to record them)"
        )
    known = set(listed.split(","))
    n = sum(1 for r in readings if r.sha256[:16] in known)
    return (
        n,
        f"{n} of these {len(readings)} photos were among the photos the model was fitted on (by content)",
    )


def quadrants(va: np.ndarray) -> np.ndarray:
    from builder.picture.feeling import quadrant_codes

    return quadrant_codes(np.asarray(va, dtype=float).reshape(-1, 2))


def metrics(
    people: np.ndarray,
    predicted_q: np.ndarray,
    predicted_va: np.ndarray | None,
    true_va: np.ndarray,
    groups: np.ndarray | None = None,
) -> dict:
    """The figures of one method; with groups (themes), also their 95 % intervals (`intervals`)."""
    n = len(people)
    recall = [
        float(np.mean(predicted_q[people == q] == q)) if (people == q).any() else None
        for q in (1, 2, 3, 4)
    ]
    confusion = [
        [int(np.sum((people == t) & (predicted_q == p))) for p in (1, 2, 3, 4)]
        for t in (1, 2, 3, 4)
    ]
    out = {
        "n": n,
        "people_shares": [float(np.mean(people == q)) for q in (1, 2, 3, 4)],
        "method_shares": [float(np.mean(predicted_q == q)) for q in (1, 2, 3, 4)],
        "per_quadrant_agreement": recall,
        "overall_agreement": float(np.mean(people == predicted_q)),
        "balanced_agreement": float(np.mean([r for r in recall if r is not None])),
        # the quadrant people used that the method finds least often: whether every quadrant is reachable
        "smallest_recall": float(min(r for r in recall if r is not None)),
        "r_valence": None,
        "r_arousal": None,
        "confusion": confusion,  # rows: people's quadrant 1-4; columns: the method's
    }
    if (
        predicted_va is not None
        and np.ptp(predicted_va[:, 0]) > 0
        and np.ptp(predicted_va[:, 1]) > 0
    ):
        out["r_valence"] = float(np.corrcoef(predicted_va[:, 0], true_va[:, 0])[0, 1])
        out["r_arousal"] = float(np.corrcoef(predicted_va[:, 1], true_va[:, 1])[0, 1])
    if groups is not None:
        out["interval_95"] = intervals(
            people,
            predicted_q,
            predicted_va if out["r_valence"] is not None else None,
            true_va,
            groups,
        )
    return out


def intervals(
    people: np.ndarray,
    predicted_q: np.ndarray,
    predicted_va: np.ndarray | None,
    true_va: np.ndarray,
    groups: np.ndarray,
    draws: int = 1000,
    seed: int = 0,
) -> dict[str, list[float]]:
    """95 % intervals of balanced agreement, of each quadrant's recall (None for a quadrant people did not use),
    of the smallest recall and of Pearson r, from resampling the groups (themes) with replacement, so
    near-duplicates are drawn together: how far the figures could move on another draw of such photos."""
    _, index = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    counts = np.random.default_rng(seed).multinomial(
        index.max() + 1, np.full(index.max() + 1, 1 / (index.max() + 1)), size=draws
    )
    w = counts[:, index].astype(np.float64)  # (draws, photos): how often each photo is drawn
    recalls = {}
    for q in (1, 2, 3, 4):
        if (people == q).any():
            total = w @ (people == q)
            recalls[q] = np.where(
                total > 0, w @ ((people == q) & (predicted_q == q)) / np.maximum(total, 1), np.nan
            )
    stacked = np.stack(list(recalls.values()))
    # a draw without any photo of a quadrant has no recall for it: the mean and minimum skip it
    balanced_draws = np.nanmean(stacked, axis=0)
    smallest_draws = np.nanmin(stacked, axis=0)

    def span(x: np.ndarray) -> list[float]:
        return [round(float(v), 4) for v in np.nanpercentile(x, [2.5, 97.5])]

    out = {
        "balanced_agreement": span(balanced_draws),
        "per_quadrant_agreement": [
            span(recalls[q]) if q in recalls else None for q in (1, 2, 3, 4)
        ],
        "smallest_recall": span(smallest_draws),
    }
    if predicted_va is not None:
        for j, key in ((0, "r_valence"), (1, "r_arousal")):
            x, y = predicted_va[:, j], true_va[:, j]
            sw = w.sum(axis=1, keepdims=True)
            dx, dy = x - (w @ x)[:, None] / sw, y - (w @ y)[:, None] / sw
            with np.errstate(
                invalid="ignore", divide="ignore"
            ):  # a draw of one theme has no spread: r undefined
                r = (w * dx * dy).sum(1) / np.sqrt((w * dx * dx).sum(1) * (w * dy * dy).sum(1))
            out[key] = span(r)  # nanpercentile: the undefined draws are left out
    return out


def format_intervals(results: dict[str, dict], width: int = 32) -> str:
    """One line per row that has intervals: balanced agreement, each quadrant's recall, the smallest recall and
    Pearson r, 95 % by resampling themes."""
    lines = []

    def pct(span) -> str:
        return "-" if span is None else f"{100 * span[0]:.0f}-{100 * span[1]:.0f}"

    for name, m in results.items():
        iv = m.get("interval_95")
        if iv:
            b = iv["balanced_agreement"]
            line = f"{name.strip():<{width}} balanced {100 * b[0]:4.1f}-{100 * b[1]:4.1f} %"
            if "per_quadrant_agreement" in iv:
                line += "  q1-q4 " + " ".join(pct(x) for x in iv["per_quadrant_agreement"]) + " %"
                line += f"  smallest {pct(iv['smallest_recall'])} %"
            for key, label in (("r_valence", "r val"), ("r_arousal", "r aro")):
                if key in iv:
                    line += f"  {label} {iv[key][0]:+.2f} to {iv[key][1]:+.2f}"
            lines.append(line)
    return "\n".join(lines)


def baselines(ratings: Ratings, colour_va: np.ndarray) -> dict[str, dict]:
    people = quadrants(ratings.va)
    commonest = int(np.bincount(people, minlength=5)[1:].argmax() + 1)
    chance = {
        "n": len(people),
        "people_shares": [float(np.mean(people == q)) for q in (1, 2, 3, 4)],
        "method_shares": [0.25] * 4,
        "per_quadrant_agreement": [0.25] * 4,
        "overall_agreement": 0.25,
        "balanced_agreement": 0.25,
        "smallest_recall": 0.25,
        "r_valence": None,
        "r_arousal": None,
        "confusion": None,
    }
    return {
        "chance (expected)": chance,
        f"always quadrant {commonest}": metrics(
            people, np.full(len(people), commonest), None, ratings.va
        ),
        "colour (Valdez & Mehrabian)": metrics(people, quadrants(colour_va), colour_va, ratings.va),
    }


def _r(x) -> str:
    return "    -" if x is None else f"{x:+.2f}"


R_COLUMNS = (("r val", "r_valence", _r), ("r aro", "r_arousal", _r))


def format_table(
    results: dict[str, dict],
    label: str = "method",
    width: int = 32,
    who: str = "people",
    columns: tuple = R_COLUMNS,
    smallest: bool = False,
) -> str:
    """The agreement table; columns: the last ones, as (header, key, formatter) (default: Pearson r per axis);
    smallest: the smallest per-quadrant recall beside balanced agreement."""

    def pct(x):
        return "   -" if x is None else f"{100 * x:4.0f}"

    head = (
        f"{label:<{width}} {who + ' q1-q4 %':<19} {label + ' q1-q4 %':<19} {'agree q1-q4 %':<19} "
        f"{'overall':>7} {'balanced':>8} "
        + (f"{'smallest':>8} " if smallest else "")
        + " ".join(f"{h:>{max(6, len(h))}}" for h, _, _ in columns)
    )
    lines = [head, "-" * len(head)]
    for name, m in results.items():
        lines.append(
            f"{name:<{width}} {' '.join(pct(x) for x in m['people_shares']):<19} "
            f"{' '.join(pct(x) for x in m['method_shares']):<19} "
            f"{' '.join(pct(x) for x in m['per_quadrant_agreement']):<19} "
            f"{100 * m['overall_agreement']:6.1f}% {100 * m['balanced_agreement']:7.1f}% "
            + (
                f"{100 * min(x for x in m['per_quadrant_agreement'] if x is not None):7.1f}% "
                if smallest
                else ""
            )
            + " ".join(f"{fmt(m[key]):>{max(6, len(h))}}" for h, key, fmt in columns)
        )
    lines.append("")
    for name, m in results.items():
        if m.get("confusion"):
            rows = "  ".join("[" + " ".join(f"{c:3d}" for c in row) + "]" for row in m["confusion"])
            lines.append(f"confusion {name}: {rows}")
    return "\n".join(lines)


def plot(results: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(names) + 1.2))
    ax.barh(names, [100 * results[n]["balanced_agreement"] for n in names], color="#2a6f97")
    ax.axvline(25, color="#999", linestyle="--", linewidth=1)
    ax.set_xlabel("balanced quadrant agreement with people (%)")
    ax.invert_yaxis()
    fig.tight_layout()
    from builder.files import write_with

    with write_with(path) as fh:
        fig.savefig(fh, dpi=100, format="png")
    plt.close(fig)


def read_rated(ctx, images: list[str], progress=None) -> list:
    """Readings of every rated photo; a photo that cannot be read is an error here (the figures need them all)."""
    from builder.pipeline.context import no_progress
    from builder.pipeline.stages import read_all

    readings, failed = read_all(ctx, images, progress or no_progress)
    if failed:
        raise UsageError(
            f"{len(failed)} rated photos could not be read, e.g. {failed[0].file}: {failed[0].reason}"
        )
    return readings


def read_offline(images: Path, files: list[str], mirror: Path, cache_dir: Path | None):
    """(the Context, the readings) of `files` in `images` by the default method, offline, from the cache where it
    holds them: the benchmarks read rated photos this way, as `builder fit --set` does."""
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
    """A folder of rated photos: a ratings file (ratings.csv in OASIS format, or Emotion6's ground_truth.txt) and
    the photos in images/ or beside it (GAPED), on a scale given by the curator."""

    name: str
    images: Path
    ratings: Ratings
    scale: str  # "1-7 midpoint 4"
    arousal: bool = True  # whether its arousal ratings train the arousal model


SET_SPEC = re.compile(
    r"^(?P<folder>.+):(?P<lo>[-+]?[\d.]+)-(?P<hi>[-+]?[\d.]+):(?P<mid>[-+]?[\d.]+)"
    r"(?P<valence>:valence)?$"
)


def parse_rated_set(text: str) -> tuple[Path, float, float, float, bool]:
    """FOLDER:MIN-MAX:MIDPOINT[:valence] -> (folder, min, max, midpoint, whether arousal trains too)."""
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
            f"{folder} needs ratings.csv (OASIS format) or ground_truth.txt (Emotion6 format), and its photos "
            "in an images/ folder or beside the ratings"
        )
    return RatedSet(
        folder.resolve().name,
        images,
        read_ratings(found[0], images, lo, hi, mid),
        f"{lo:g}-{hi:g} midpoint {mid:g}",
        arousal,
    )


def fit_on_sets(
    context_for, sets: list[RatedSet], spec=None, progress=None, decide_on: str = "every set"
):
    """Fit the learned feeling model on one or more rated sets (what `builder fit` runs). context_for(images)
    gives the Context that reads a set's photos. Every set's ratings are already in one frame ([-1, 1] around
    its scale's midpoint). The quadrant origin and the calibration of feeling -> music come from out-of-fold
    readings (folds grouped by theme within each set), the origin fitted for balance and the smallest recall
    averaged over the sets (decide_on: every set by its own people's quadrants, or the sets whose arousal trains,
    as in round 1 of issue 22; builder.picture.feeling.DECIDE_ON)."""
    from builder.picture import feeling
    from builder.picture.words import load_nrc_vad

    ings, targets, groups, set_ids, arousal = [], [], [], [], []
    ctx = None
    digests = []
    for k, rated in enumerate(sets):
        check_trainable(rated.ratings.va, rated.name, rated.arousal)
        ctx = context_for(rated.images)
        readings = read_rated(ctx, rated.ratings.images, progress)
        ings += [r.ingredients for r in readings]
        digests += photo_digests(readings)
        targets.append(rated.ratings.va)
        groups += [f"{k}:{g}" for g in feeling.theme_groups(rated.ratings.themes)]
        set_ids += [k] * len(rated.ratings.images)
        arousal += [rated.arousal] * len(rated.ratings.images)
    y, groups, set_ids, arousal = (
        np.vstack(targets),
        np.array(groups),
        np.array(set_ids),
        np.array(arousal),
    )
    if not arousal.any():
        raise UsageError("no rated set trains the arousal model (all are marked :valence)")
    reader = feeling.LabelReader(
        ctx.mapper.vectors,
        load_nrc_vad(ctx.store.resolve("nrc-vad")),
        feeling.load_warriner(ctx.store.resolve("warriner")),
    )
    names = getattr(ctx.detector, "names", None) or ctx.detector.categories
    tables = feeling.build_tables(ctx.scene.synonyms, list(names), reader)
    rows = None if arousal.all() else arousal
    meta = {
        "fingerprint": "+".join(feeling.ratings_fingerprint(s.ratings.images) for s in sets),
        "ratings": "+".join(s.name for s in sets),
        "scale": "; ".join(s.scale for s in sets),
        "arousal_from": "+".join(s.name for s in sets if s.arousal),
        "photos_sha256": ",".join(
            sorted(set(digests))
        ),  # what `builder evaluate` checks photos against
    }
    model = feeling.fit(ings, y, tables, meta, spec, rows, set_ids)
    oof, folds = feeling.out_of_fold(
        ings, y, groups, tables, spec=spec, arousal_rows=rows, sets=set_ids
    )
    trained = np.c_[np.ones(len(y), bool), arousal]
    rule, model.reference, scores = feeling.choose_origin(
        oof, y, folds, set_ids, trained, decide_on
    )
    # what the chosen rule gave each set whose quadrants were scored, out of fold: every quadrant reachable?
    quads = feeling.rule_quadrants(rule, oof, y, folds, set_ids, trained, decide_on)
    people_q, scored = feeling.quadrant_codes(y), feeling.quadrant_sets(set_ids, trained, decide_on)
    model.meta.update(
        origin_rule=rule,
        origin_decided_on=decide_on,
        origin_criterion="(balanced agreement + smallest per-quadrant recall) / 2, mean over "
        + (
            "every set, by its own people's quadrants"
            if decide_on == "every set"
            else "the sets training arousal"
        ),
        origin_scores=", ".join(f"{r}: {v:.3f}" for r, v in scores.items()),
        origin_recalls="; ".join(
            f"{rated.name}: "
            + " ".join(
                f"{100 * np.mean(quads[(set_ids == k) & (people_q == q)] == q):.0f}"
                if ((set_ids == k) & (people_q == q)).any()
                else "-"
                for q in (1, 2, 3, 4)
            )
            for k, rated in enumerate(sets)
            if scored[set_ids == k].any()
        ),
    )
    model.calibration = calibration_table(oof - model.reference)
    return model


def read_music_labels(path: Path, music: Path) -> dict[str, int]:
    """Track id (file relative to the --music folder, as the listener names tracks) -> labelled quadrant. The
    columns are those `builder music evaluate` reads (file, quadrant 1-4); files not in the folder are skipped."""
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


def out_of_fold_targets(
    pred: np.ndarray, quads: np.ndarray, lines: dict, catalogue_table: np.ndarray
) -> np.ndarray:
    """Where a build would look for music for each out-of-fold reading (learned.record): the reading relative to
    its fold's origin, mapped onto the catalogue by the calibration of the readings that fold's lines were drawn
    through (lines, as feeling.cross_validate fills it), and sent to the middle of the quadrant's music where the
    mapping leaves the picture's quadrant (quads: the cross-validated row's, so the music row and the picture
    row judge the same quadrants)."""
    from builder import plane
    from builder.music.matching import calibrate, quadrant_middle

    tables = {k: calibration_table(seen) for k, seen in lines["through"].items()}
    targets = np.zeros_like(pred)
    for i, k in enumerate(lines["fold"].tolist()):
        t = calibrate(tuple(pred[i] - lines["origin"][k]), tables[k], catalogue_table)
        targets[i] = (
            t if plane.quadrant(t) == quads[i] else quadrant_middle(int(quads[i]), catalogue_table)
        )
    return targets


def music_metrics(
    people: np.ndarray, first_ids: list[str], labels: dict[str, int], va, groups
) -> dict:
    """How often the first track's label agrees with people's quadrant of the picture (per quadrant, balanced,
    with 95 % intervals from resampling themes); a first track without a label counts as disagreeing."""
    got = np.array([labels.get(i, 0) for i in first_ids])
    m = metrics(people, got, None, va, groups)
    m["unlabelled_first"] = int(np.sum(got == 0))
    m["method_shares"] = [float(np.mean(got == q)) for q in (1, 2, 3, 4)]
    return m


def music_baseline(people: np.ndarray, catalogue_ids: list[str], labels: dict[str, int]) -> dict:
    """A track drawn at random from the catalogue: per quadrant, the share of the catalogue labelled so."""
    lab = np.array([labels.get(i, 0) for i in catalogue_ids])
    shares = [float(np.mean(lab == q)) for q in (1, 2, 3, 4)]
    present = [q for q in (1, 2, 3, 4) if (people == q).any()]
    return {
        "n": len(people),
        "people_shares": [float(np.mean(people == q)) for q in (1, 2, 3, 4)],
        "method_shares": shares,
        "per_quadrant_agreement": shares,
        "overall_agreement": float(sum(np.mean(people == q) * shares[q - 1] for q in (1, 2, 3, 4))),
        "balanced_agreement": float(np.mean([shares[q - 1] for q in present])),
        "r_valence": None,
        "r_arousal": None,
        "confusion": None,
    }


def evaluate(
    settings_for,
    ratings: Ratings,
    methods: list[str],
    progress=None,
    with_sets: list[RatedSet] = (),
    context_for=None,
    music_labels: dict[str, int] | None = None,
) -> tuple[dict[str, dict], dict]:
    """Run each method over the rated photos. settings_for(method) gives the Settings of that run.

    The learned method is cross-validated (5 folds grouped by theme) when the shipped model was fitted on these
    very photos, so no figure is in-sample; with_sets are then in every fold's training, as `builder fit --set`
    trains with them (context_for(images folder) gives the Context that reads a set's photos). Returns (results,
    notes).

    music_labels (track id -> labelled quadrant; the settings then name a --music folder): the pictures' first
    tracks are chosen as a build would choose them, from that folder read by listening, and results["music"]
    holds, per method, how often the first track's label agrees with people's quadrant of the picture. The learned
    method's tracks are assigned from its out-of-fold readings (out_of_fold_targets), with the build's assignment.
    """
    from builder.picture.feeling import cross_validate, ratings_fingerprint, theme_groups
    from builder.pipeline.context import Context, no_progress
    from builder.pipeline.run import analyse

    progress = progress or no_progress
    people = quadrants(ratings.va)
    groups = theme_groups(ratings.themes)
    results: dict[str, dict] = {}
    music: dict[str, dict] = {}
    notes: dict[str, str] = {}
    colour_va = None
    for method in methods:
        ctx = Context(settings_for(method))
        if music_labels is not None:
            ctx.listen(progress)  # with its own progress bar, before the pictures (as a build does)
        model = ctx.feeling if method == "learned" else None
        seen, seen_note = (
            (None, "")
            if model is None
            else in_training(model.meta, read_rated(ctx, ratings.images))
        )
        if model is not None and (
            ratings_fingerprint(ratings.images) in model.meta.get("fingerprint", "").split("+")
            or seen
        ):
            for (
                other
            ) in with_sets:  # its photos would be in every fold's training: figures in-sample
                if ratings_fingerprint(other.ratings.images) == ratings_fingerprint(ratings.images):
                    raise UsageError(
                        f"--with-set {other.name} is the set being measured; give the other sets the "
                        "model was fitted on"
                    )
            readings = read_rated(ctx, ratings.images, progress)
            others = [
                (
                    [
                        r.ingredients
                        for r in read_rated(context_for(s.images), s.ratings.images, progress)
                    ],
                    s.ratings.va,
                    s.arousal,
                    theme_groups(s.ratings.themes),
                )
                for s in with_sets
            ]
            lines: dict = {}
            pred, quads = cross_validate(
                [r.ingredients for r in readings],
                ratings.va,
                groups,
                model.tables,
                spec=model.spec,
                rule=model.meta.get("origin_rule", "mean rating"),
                others=others,
                arousal=trains_arousal(model.meta, ratings),
                # a model fitted before round 2 of issue 22 drew its lines on the sets whose arousal trains
                decide_on=model.meta.get("origin_decided_on", "arousal sets"),
                lines=lines,
            )
            results["learned (5-fold CV by theme)"] = metrics(
                people, quads, pred, ratings.va, groups
            )
            if music_labels is not None:
                music.update(
                    learned_music(ctx, pred, quads, lines, ratings, groups, people, music_labels)
                )
            # the same estimates, quadrants chosen by other rules (README "Choosing the quadrant")
            results["  quadrant by scale midpoint"] = metrics(
                people, quadrants(pred), pred, ratings.va
            )
            results["  quadrant by collection median"] = metrics(
                people, quadrants(pred - np.median(pred, axis=0)), pred, ratings.va
            )
            notes["learned"] = learned_note(model.meta, ratings, with_sets) + (
                f"; {seen_note}" if seen else ""
            )
            colour_va = np.array([r.colour_av for r in readings])
            continue
        if method == "learned" and with_sets:
            notes["learned"] = (
                "--with-set was not used: the model was not fitted on these photos, so it was measured as it is"
            )
        if method == "learned" and seen is None:
            notes["learned"] = (
                notes.get("learned", "") + "; " if "learned" in notes else ""
            ) + seen_note
        gallery = analyse(ctx, progress, files=ratings.images)
        by_file = {im.file: im for im in gallery.images}
        missing = [f for f in ratings.images if f not in by_file]
        if missing:
            raise UsageError(f"{method}: {len(missing)} rated photos failed, e.g. {missing[0]}")
        va = np.array([by_file[f].av for f in ratings.images])
        q = np.array([by_file[f].quadrant for f in ratings.images])
        label = {
            "objects": "objects (published)",
            "caption": "caption (published)",
            "random": "random tracks",
        }
        results[label.get(method, method)] = metrics(people, q, va, ratings.va, groups)
        if music_labels is not None:
            firsts = [by_file[f].tracks[0].id if by_file[f].tracks else "" for f in ratings.images]
            music[label.get(method, method)] = music_metrics(
                people, firsts, music_labels, ratings.va, groups
            )
        if method in ("objects", "caption"):  # the published vote against the simpler sign of av
            results[f"  {method}, quadrant of av"] = metrics(people, quadrants(va), va, ratings.va)
        if colour_va is None:
            readings = read_rated(ctx, ratings.images)  # all cached by now
            colour_va = np.array([r.colour_av for r in readings])
    results.update(baselines(ratings, colour_va))
    if music_labels is not None:
        ids = [t.id for t in ctx.catalogue.tracks]
        music["a catalogue track at random (expected)"] = music_baseline(people, ids, music_labels)
        results["music"] = music
    return results, notes


def learned_music(
    ctx, pred, quads, lines: dict, ratings: Ratings, groups, people, labels: dict[str, int]
) -> dict[str, dict]:
    """The learned method's first tracks from its out-of-fold readings and the cross-validated row's quadrants
    (lines: where each fold's lines were drawn, feeling.cross_validate): assigned for the whole collection as a
    build assigns them, and, for comparison, each picture's nearest track in its quadrant (no variety)."""
    from builder.music.matching import assign

    targets = out_of_fold_targets(pred, quads, lines, ctx.index.table)
    ids = [t.id for t in ctx.catalogue.tracks]
    built = ctx.index.assign(targets, quadrants=quads.tolist(), repeats=ctx.settings.repeats)
    nearest = assign(targets, ctx.index.points, quadrants=quads.tolist(), penalty=0.0)
    return {
        "learned (5-fold CV by theme), as built": music_metrics(
            people, [ids[i] for i in built.first], labels, ratings.va, groups
        ),
        "  each picture's nearest track in its quadrant": music_metrics(
            people, [ids[i] for i in nearest.first], labels, ratings.va, groups
        ),
    }


def trains_arousal(meta: dict, ratings: Ratings) -> bool:
    """Whether the model was fitted on these photos' arousal ratings too (not a set given as :valence)."""
    from builder.picture.feeling import ratings_fingerprint

    names = dict(zip(meta.get("fingerprint", "").split("+"), meta.get("ratings", "").split("+")))
    name = names.get(ratings_fingerprint(ratings.images))
    return name is None or name in meta.get("arousal_from", meta.get("ratings", "")).split("+")


def learned_note(meta: dict, ratings: Ratings, with_sets: list[RatedSet]) -> str:
    """What the learned row of a cross-validated evaluation measured, and what it left out."""
    from builder.picture.feeling import ratings_fingerprint

    added = (
        f" with {', '.join(s.name for s in with_sets)} in every fold's training"
        if with_sets
        else " alone"
    )
    note = (
        f"the model was fitted on these photos, so a model of its kind was refitted on these photos{added} in 5 "
        "folds grouped by theme, and each photo was read by a model that never saw its theme (its quadrant "
        "lines drawn by the model's rule through the other folds' readings"
        + (", of every set read out of fold, as `builder fit` draws them)" if with_sets else ")")
    )
    if not trains_arousal(meta, ratings):
        note += "; as in the model, their arousal ratings did not train (valence only)"
    names = meta.get("ratings", "").split("+")
    scales = meta.get("scale", "").split("; ")
    arousal_from = set(meta.get("arousal_from", meta.get("ratings", "")).split("+"))
    used = {ratings_fingerprint(ratings.images)} | {
        ratings_fingerprint(s.ratings.images) for s in with_sets
    }
    missing = [
        f"{name} ({scale}{'' if name in arousal_from else ', valence only'})"
        for f, name, scale in zip(meta.get("fingerprint", "").split("+"), names, scales)
        if f not in used
    ]
    if missing:
        note += (
            f"; the model was also fitted on {', '.join(missing)}: add it with --with-set "
            "FOLDER:MIN-MAX:MIDPOINT[:valence] to measure the model as it was fitted"
        )
    return note


def temporary_out() -> Path:
    return Path(tempfile.mkdtemp(prefix="builder-evaluate-")) / "out"
