"""The exhibition's own study, read back: what visitors answered on a gallery's study page
(`builder build --study`), as the published method's authors measured theirs (`builder study
report`), and where the visitors placed each picture, as a rated set (`builder fit --study`,
`builder evaluate --study`).

Their Table 1: where people place each picture in the valence/arousal plane, against the quadrant
each condition reads for it (agreement per quadrant, overall, and balanced: the mean per-quadrant
recall). Their Table 2: how well each condition's music fits the picture on a 5-point scale (the
share of pictures whose mean score is 4 or more, the mean score) and how often a condition could not
recommend at all. And the question the tables are for: the gallery's choice against each other
condition (a random track, the published object method), as the mean per-picture difference of
scores.

Every figure has a 95 % interval from resampling visitors with replacement (a visitor's answers are
not independent of each other), 1000 draws, seeded: each visitor's answers are summed once
(builder.lab.metrics.resampled_sums), so the draws cost as much for ten pictures as for a thousand
answers a visitor. The answers are the JSON Lines the study page exports (docs/study.md); each line
is checked, and what is refused is counted and named, never guessed at.
"""

from __future__ import annotations

import csv
import io
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import orjson

from builder.errors import BuilderError, UsageError, printable
from builder.files import inside, regular_input, spreadsheet_safe
from builder.lab.metrics import quadrant_figures, resampled_sums, weighted_r
from builder.plane import quadrants

if TYPE_CHECKING:
    from builder.lab.ratings import RatedSet

KINDS = ("place", "rate", "fail")
SCORES = (1, 2, 3, 4, 5)
FITS = 4  # a picture's music "fits" when its mean score is at least this (the published Table 2)
MAX_LINE = 4096  # bytes: a line longer than any answer the page writes is refused unread
MAX_ID = 200  # characters of a visitor id, a picture's name, a track id
DRAWS = 1000
BASE = "gallery"  # the condition the others are compared with: the gallery's own first track


class NothingToReport(BuilderError):
    """Too few answers to say anything (exit 4, as a build with nothing to build)."""

    exit_code = 4


@dataclass(frozen=True)
class Pick:
    """What one condition offers for one picture: its first track (None: it could not recommend) and
    the quadrant it reads the picture in (None for a condition that reads none, such as random
    choice)."""

    track: str | None
    quadrant: int | None


@dataclass(frozen=True)
class Design:
    """The study a gallery holds (gallery.json's `study`): its build id, the conditions, and each
    picture's pick per condition."""

    gallery: str
    conditions: tuple[str, ...]
    pictures: dict[str, dict[str, Pick]]

    @classmethod
    def from_json(cls, study: object) -> Design:
        """From gallery.json's `study` value; ValueError naming what is malformed."""
        if not isinstance(study, dict):
            raise ValueError("`study` is not an object")
        gid, conditions, pictures = (
            study.get("gallery"),
            study.get("conditions"),
            study.get("pictures"),
        )
        if not isinstance(gid, str) or not gid:
            raise ValueError("`study.gallery` is not a build id")
        if (
            not isinstance(conditions, list)
            or not conditions
            or not all(isinstance(c, str) and c for c in conditions)
            or len(set(conditions)) != len(conditions)
        ):
            raise ValueError("`study.conditions` is not a list of different names")
        if not isinstance(pictures, dict) or not pictures:
            raise ValueError("`study.pictures` holds no picture")
        picks: dict[str, dict[str, Pick]] = {}
        for file, by_condition in pictures.items():
            if not isinstance(by_condition, dict) or set(by_condition) != set(conditions):
                raise ValueError(f"`study.pictures` of {file!r} does not give every condition")
            picks[file] = {}
            for c, pick in by_condition.items():
                if not isinstance(pick, dict):
                    raise ValueError(f"the pick of {c!r} for {file!r} is not an object")
                track, q = pick.get("track"), pick.get("quadrant")
                if track is not None and not isinstance(track, str):
                    raise ValueError(f"the track of {c!r} for {file!r} is not an id")
                if q is not None and (isinstance(q, bool) or q not in (1, 2, 3, 4)):
                    raise ValueError(f"the quadrant of {c!r} for {file!r} is not 1-4")
                picks[file][c] = Pick(track, q)
        return cls(gid, tuple(conditions), picks)

    @classmethod
    def of_gallery(cls, folder: Path) -> Design:
        """The study of the gallery built into folder; UsageError when it has none or is no
        gallery."""
        from builder.gallery.outdir import owned

        path = Path(folder) / "gallery.json"
        if not owned(Path(folder)):
            raise UsageError(
                f"{folder} is not a gallery written by `builder build`; give the folder the build "
                "wrote (its --out)"
            )
        try:
            data = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            raise UsageError(
                f"cannot read {path} ({exc}); give the folder `builder build` wrote"
            ) from None
        if not isinstance(data, dict) or data.get("study") is None:
            raise UsageError(f"the gallery in {folder} has no study; build it with --study")
        try:
            return cls.from_json(data["study"])
        except ValueError as exc:
            raise UsageError(f"{path}: {exc}; build the gallery again") from None

    def reads(self, condition: str) -> bool:
        """Whether the condition reads a quadrant for some picture (random choice reads none)."""
        return any(p[condition].quadrant is not None for p in self.pictures.values())


@dataclass
class Answers:
    """The answers kept (the last of each visitor's judgements of a picture), and what was not
    counted."""

    # (kind, visitor, picture, condition) -> (when, value): each judgement once, the visitor's last
    kept: dict[tuple, tuple] = field(default_factory=dict)
    # the judgements some line named as its own condition (not only through its `shared` list): a
    # line whose own judgement is kept as it says already is a repeated export
    own: set[tuple] = field(default_factory=set)
    lines: int = 0
    duplicates: int = 0  # lines repeated by repeated exports, counted once
    replaced: int = 0  # judgements a visitor made again later: the later one counts
    other_galleries: Counter = field(default_factory=Counter)  # build id -> lines
    malformed: Counter = field(default_factory=Counter)  # why -> lines
    first_malformed: list[str] = field(default_factory=list)  # "file:line: why", the first few

    @cached_property
    def places(self) -> dict[tuple[str, str], tuple[float, float]]:
        """(visitor, picture) -> the point placed (valence, arousal)."""
        return {(k[1], k[2]): v for k, (_, v) in self.kept.items() if k[0] == "place"}

    @cached_property
    def scores(self) -> dict[tuple[str, str, str], int]:
        """(visitor, picture, condition) -> the score given."""
        return {k[1:]: v for k, (_, v) in self.kept.items() if k[0] == "rate"}

    @cached_property
    def fails(self) -> set[tuple[str, str]]:
        """(picture, condition) the page reported it could not recommend for."""
        return {(k[2], k[3]) for k in self.kept if k[0] == "fail"}

    def refusals(self) -> list[str]:
        """The sentences that say what was not counted."""
        out = []
        for gid, n in self.other_galleries.most_common():
            out.append(
                f"{n} answer{'s' * (n != 1)} from another gallery's build ({printable(gid)}) "
                f"{'was' if n == 1 else 'were'} not counted"
            )
        for why, n in self.malformed.most_common():
            out.append(f"{n} line{'s' * (n != 1)} refused: {why}")
        if self.duplicates:
            out.append(
                f"{self.duplicates} duplicate line{'s' * (self.duplicates != 1)} counted once"
            )
        if self.replaced:
            out.append(
                f"{self.replaced} judgement{'s' * (self.replaced != 1)} made again later by the "
                "same visitor: the later one counts"
            )
        return out

    def summary(self) -> dict:
        """What was read and what was not counted, for the JSON report (docs/study.md)."""
        return {
            "lines": self.lines,
            "duplicates": self.duplicates,
            "replaced": self.replaced,
            "other_galleries": dict(self.other_galleries.most_common()),
            "malformed": dict(self.malformed.most_common()),
            "first_malformed": list(self.first_malformed),
        }


def _instant(value: object) -> float:
    """An ISO 8601 time as seconds since the epoch (a time without a zone is taken as UTC):
    judgements are ordered by when they were made, whatever the precision or zone they were written
    in."""
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("`at` is not a time")
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))  # ValueError when not ISO 8601
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_ID:
        raise ValueError(f"`{what}` is not a name")
    return value


def _coordinate(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"`{what}` is not a number")
    if not -1.0 <= value <= 1.0:
        raise ValueError(f"`{what}` is outside -1..1")
    return float(value)


def _conditions(obj: dict, picture: str, design: Design, kind: str) -> tuple[str, ...]:
    """The conditions a rate or fail line counts for: its `condition`, and for a rating, the
    conditions of its `shared` list (those that picked the same track, which was played once)."""
    condition = obj.get("condition")
    if condition not in design.conditions:
        raise ValueError("`condition` is not one of the gallery's conditions")
    if kind == "fail":
        return (condition,)
    shared = obj.get("shared", [])
    if not isinstance(shared, list) or not all(c in design.conditions for c in shared):
        raise ValueError("`shared` is not a list of the gallery's conditions")
    # the same judgement, whichever line names it; the line's own condition first
    counted = (condition, *sorted(set(shared) - {condition}))
    track = obj.get("track")
    if any(design.pictures[picture][c].track != track for c in counted):
        raise ValueError("`track` is not the track the study plays for that condition")
    return counted


def _line(raw: bytes, design: Design) -> tuple[str, tuple]:
    """One answer: (its build id, (kind, visitor, picture, conditions, at, value)); ValueError
    saying why not. The answer is empty for another gallery's line."""
    if len(raw) > MAX_LINE:
        raise ValueError("a line longer than any answer")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ValueError("not JSON (a line cut short?)") from None
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    gid = _name(obj.get("gallery"), "gallery")
    # one copy of each name however many lines repeat it (a file may hold a million)
    visitor = sys.intern(_name(obj.get("visitor"), "visitor"))
    picture = sys.intern(_name(obj.get("picture"), "picture"))
    kind, at = obj.get("kind"), _instant(obj.get("at"))
    if kind not in KINDS:
        raise ValueError("`kind` is not place, rate or fail")
    if gid != design.gallery:
        return gid, ()
    if picture not in design.pictures:
        raise ValueError("a picture the gallery's study does not hold")
    if kind == "place":
        va = (
            _coordinate(obj.get("valence"), "valence"),
            _coordinate(obj.get("arousal"), "arousal"),
        )
        return gid, ("place", visitor, picture, ("",), at, va)
    conditions = _conditions(obj, picture, design, kind)
    if kind == "fail":
        return gid, ("fail", visitor, picture, conditions, at, None)
    score = obj.get("score")
    if isinstance(score, bool) or not isinstance(score, int) or score not in SCORES:
        raise ValueError("`score` is not a whole number from 1 to 5")
    return gid, ("rate", visitor, picture, conditions, at, score)


def read_answers(paths: list[Path], design: Design, first: int = 5) -> Answers:
    """Every answer of the files that belongs to this gallery's build, each judgement once: lines
    repeated by repeated exports count once, and a visitor's later judgement of the same thing
    replaces the earlier one (of two made at the same instant, the one read last)."""
    answers = Answers()
    for path in paths:
        regular_input(path, "answers file", "table")
        with open(path, "rb") as fh:
            for number, raw in enumerate(fh, 1):
                raw = raw.strip()
                if not raw:
                    continue
                answers.lines += 1
                try:
                    gid, answer = _line(raw, design)
                except ValueError as exc:
                    answers.malformed[str(exc)] += 1
                    if len(answers.first_malformed) < first:
                        answers.first_malformed.append(f"{printable(path.name)}:{number}: {exc}")
                    continue
                if not answer:
                    answers.other_galleries[gid] += 1
                    continue
                _keep(answers, answer)
    return answers


def _keep(answers: Answers, answer: tuple) -> None:
    """Keep one answer for each condition it names, unless the visitor judged the same thing later.
    A line whose own judgement is kept as it says already is a duplicate (a repeated export); the
    same value for a condition named in another line's `shared` list (the page writes a line for
    each condition of a track played once) is the same judgement; another value replaces an earlier
    one."""
    kind, visitor, picture, conditions, at, value = answer
    keys = [(kind, visitor, picture, condition) for condition in conditions]
    if keys[0] in answers.own and answers.kept.get(keys[0]) == (at, value):
        answers.duplicates += 1
        return
    answers.own.add(keys[0])
    for key in keys:
        before = answers.kept.get(key)
        if before is not None and before[1] == value:
            answers.kept[key] = (max(before[0], at), value)
            continue
        if before is not None:
            answers.replaced += 1
            if before[0] > at:
                continue  # an earlier judgement than the one kept
        answers.kept[key] = (at, value)


def _too_few(n: int, did: str, answers: Answers) -> NothingToReport:
    """Fewer than 2 visitors: say how many, and where the answers given belong instead."""
    text = (
        f"{n} visitor{'s' * (n != 1)} {did} this gallery's study; at least 2 are needed (their "
        "answers are compared with each other's)"
    )
    if answers.other_galleries:
        gid, lines = answers.other_galleries.most_common(1)[0]
        text += (
            f"; {lines} answer{'s' * (lines != 1)} came from another build ({printable(gid)}): "
            "give --gallery the gallery whose study page collected them"
        )
    return NothingToReport(text)


def _figure(x: np.ndarray) -> dict:
    """A figure and its 95 % interval: {"value", "low", "high"}, from x (draws + 1,): the figure as
    answered, then in each draw of visitors (a draw without the answers it needs leaves a NaN, left
    out). None where it cannot be computed."""
    value, draws = float(x[0]), x[1:][np.isfinite(x[1:])]
    low, high = (
        [round(float(v), 4) for v in np.percentile(draws, [2.5, 97.5])]
        if len(draws)
        else [None] * 2
    )
    return {"value": round(value, 4) if math.isfinite(value) else None, "low": low, "high": high}


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def _nanmean(x: np.ndarray, axis: int) -> np.ndarray:
    """np.nanmean without its warning for a row with nothing to average (NaN there)."""
    n = np.isfinite(x).sum(axis=axis)
    return _safe_div(np.where(np.isfinite(x), x, 0).sum(axis=axis), n)


def _columns(blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]], visitors: int):
    """One sparse (visitors, columns) matrix of the blocks (rows, columns, values, width) side by
    side, and where each block starts."""
    from scipy import sparse

    starts, rows, cols, vals, width = [], [], [], [], 0
    for r, c, v, w in blocks:
        starts.append(width)
        rows.append(r)
        cols.append(c + width)
        vals.append(v)
        width += w
    matrix = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(visitors, width),
    )
    return matrix, starts


def report(design: Design, answers: Answers, draws: int = DRAWS, seed: int = 0) -> dict:
    """Every figure of the two tables and the paired differences, each with its interval
    (docs/study.md names the keys). NothingToReport when fewer than 2 visitors answered or nobody
    rated any music."""
    visitors = sorted({v for v, _ in answers.places} | {v for v, _, _ in answers.scores})
    if len(visitors) < 2:
        raise _too_few(len(visitors), "answered", answers)
    if not answers.scores:
        raise NothingToReport("no visitor rated any music; the tables need ratings")
    pictures, conditions = sorted(design.pictures), design.conditions
    vi = {v: i for i, v in enumerate(visitors)}
    pi = {p: i for i, p in enumerate(pictures)}
    ci = {c: i for i, c in enumerate(conditions)}
    reading = [c for c in conditions if design.reads(c)]  # random choice has no row in Table 1

    # each visitor's answers, summed: their placements' quadrants (4 columns), per condition that
    # reads quadrants the pairs (visitor's quadrant 1-4, the condition's 0-4) (20 columns), and per
    # picture and condition the sum and the number of their scores
    place_keys = list(answers.places)
    who = np.array([vi[v] for v, _ in place_keys], dtype=int)
    people_q = quadrants(np.array([answers.places[k] for k in place_keys]).reshape(-1, 2))
    ones = np.ones(len(place_keys))
    blocks = [(who, people_q - 1, ones, 4)]
    for c in reading:
        read = np.array([design.pictures[p][c].quadrant or 0 for _, p in place_keys], dtype=int)
        blocks.append((who, (people_q - 1) * 5 + read, ones, 20))
    score_keys = list(answers.scores)
    raters = np.array([vi[v] for v, _, _ in score_keys], dtype=int)
    cells = np.array([pi[p] * len(conditions) + ci[c] for _, p, c in score_keys], dtype=int)
    values = np.array([answers.scores[k] for k in score_keys], dtype=np.float64)
    width = len(pictures) * len(conditions)
    blocks += [(raters, cells, values, width), (raters, cells, np.ones(len(score_keys)), width)]
    matrix, starts = _columns(blocks, len(visitors))
    # (draws + 1, columns): the first row is the answers as they are, then each draw of visitors
    sums = resampled_sums(matrix, draws, seed)

    def block(k: int, w: int) -> np.ndarray:
        return sums[:, starts[k] : starts[k] + w]

    result: dict = {
        "gallery": design.gallery,
        "conditions": list(conditions),
        "visitors": len(visitors),
        "pictures": len({p for _, p in answers.places} | {p for _, p, _ in answers.scores}),
        "placements": len(answers.places),
        "ratings": len(answers.scores),
        "judgements": len(answers.places) + len(answers.scores),
        "draws": draws,
    }
    placed = block(0, 4)
    shares = _safe_div(placed, placed.sum(axis=1, keepdims=True))
    table1: dict = {
        "visitors": {f"q{q}": _figure(shares[:, q - 1]) for q in (1, 2, 3, 4)},
        "conditions": {},
    }
    for k, c in enumerate(reading, start=1):
        f = quadrant_figures(block(k, 20).reshape(-1, 4, 5))
        agreement = {f"q{q}": _figure(f["recall"][:, q - 1]) for q in (1, 2, 3, 4)}
        table1["conditions"][c] = {
            "distribution": {f"q{q}": _figure(f["reading_shares"][:, q - 1]) for q in (1, 2, 3, 4)},
            "agreement": {
                **agreement,
                "overall": _figure(f["overall"]),
                "balanced": _figure(f["balanced"]),
            },
        }
    result["table1"] = table1

    # Table 2: per condition, per picture, the mean of its visitors' scores
    k = len(reading) + 1
    shape = (-1, len(pictures), len(conditions))
    counts = block(k + 1, width).reshape(shape)
    means = _safe_div(block(k, width).reshape(shape), counts)
    table2: dict = {}
    for c in conditions:
        m = means[:, :, ci[c]]
        rated = np.isfinite(m)
        fits = _safe_div((m >= FITS).sum(axis=1).astype(float), rated.sum(axis=1).astype(float))
        failed = sum(
            1 for p in pictures if design.pictures[p][c].track is None or (p, c) in answers.fails
        )
        table2[c] = {
            "fits": _figure(fits),
            "mean": _figure(_nanmean(m, axis=1)),
            "failures": {"value": round(failed / len(pictures), 4), "pictures": failed},
            "pictures": int(rated[0].sum()),
            "ratings": int(counts[0, :, ci[c]].sum()),
        }
    result["table2"] = table2

    paired: dict = {}
    for c in conditions:
        if BASE not in ci or c == BASE:
            continue
        diff = (
            means[:, :, ci[BASE]] - means[:, :, ci[c]]
        )  # NaN where either was not rated in that draw
        paired[f"{BASE}-{c}"] = {
            **_figure(_nanmean(diff, axis=1)),
            "pictures": int(np.isfinite(diff[0]).sum()),
        }
    result["paired"] = paired
    result["answers"] = answers.summary()
    return result


# ---- the visitors' placements as a rated set -----------------------------------------------------


@dataclass(frozen=True)
class Placed:
    """Where the visitors placed the study's pictures: each picture's mean placed point (each
    visitor's last placement of it counts once) and how many visitors placed it, and each visitor's
    placements summed per picture, to resample visitors."""

    gallery: str
    pictures: list[str]  # the study's picture files that at least one visitor placed, sorted
    va: np.ndarray  # (pictures, 2) the mean placed point, valence right and arousal up, in [-1, 1]
    counts: np.ndarray  # (pictures,) how many visitors placed it
    visitors: int
    per_visitor: object  # scipy sparse (visitors, 3 * pictures): valence sum, arousal sum, count

    @property
    def placements(self) -> int:
        return int(self.counts.sum())


def placed(design: Design, answers: Answers) -> Placed:
    """The visitors' placements of each picture; NothingToReport when fewer than 2 visitors placed
    any."""
    from scipy import sparse

    keys = sorted(
        answers.places
    )  # by visitor, then picture: the same sums whatever the files' order
    visitors = sorted({v for v, _ in keys})
    if len(visitors) < 2:
        raise _too_few(len(visitors), "placed pictures of", answers)
    pictures = sorted({p for _, p in keys})
    vi, pi = {v: i for i, v in enumerate(visitors)}, {p: i for i, p in enumerate(pictures)}
    rows = np.array([vi[v] for v, _ in keys] * 3, dtype=int)
    n = len(pictures)
    cols = np.concatenate([np.array([pi[p] for _, p in keys]) + k * n for k in range(3)])
    va = np.array([answers.places[key] for key in keys], dtype=np.float64).reshape(-1, 2)
    vals = np.concatenate([va[:, 0], va[:, 1], np.ones(len(keys))])
    per_visitor = sparse.csr_matrix((vals, (rows, cols)), shape=(len(visitors), 3 * n))
    totals = np.zeros(3 * n)
    np.add.at(totals, cols, vals)  # in the order of `keys`: the same bits on every run
    counts = totals[2 * n :]
    means = np.c_[totals[:n], totals[n : 2 * n]] / counts[:, None]
    return Placed(design.gallery, pictures, means, counts.astype(int), len(visitors), per_visitor)


def rated_set(where: Placed, folder: Path) -> RatedSet:
    """The placements as a rated set of the gallery's own display copies (gallery.json names each
    picture's copy, so the folder of originals is not needed): each picture its own group in
    cross-validation, its weight the number of visitors who placed it."""
    from builder.lab.ratings import RatedSet, Ratings
    from builder.records import Gallery

    path = Path(folder) / "gallery.json"
    try:
        gallery = Gallery.from_json(path.read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot read {path} ({exc.strerror or exc})") from None
    except ValueError as exc:  # orjson's JSONDecodeError too
        raise UsageError(f"{path} is not a gallery description ({exc}); build it again") from None
    copies = {im.file: im.image for im in gallery.images}
    images = []
    for p in where.pictures:
        copy = copies.get(p)
        if not copy or not inside(Path(folder) / copy, Path(folder)):
            raise UsageError(
                f"{Path(folder) / 'gallery.json'} names no copy of the study's picture {p!r} "
                "inside the gallery; build the gallery again"
            )
        if not (Path(folder) / copy).is_file():
            raise UsageError(f"the gallery's copy of {p!r} ({copy}) is missing; build it again")
        images.append(copy)
    ratings = Ratings(images, list(where.pictures), where.va, weights=where.counts.astype(float))
    scale = f"visitors' mean placements in -1..1 ({where.visitors} visitors)"
    return RatedSet(f"study-{where.gallery}", Path(folder), ratings, scale, near_duplicates=False)


def placed_intervals(
    where: Placed, pred: np.ndarray, read_q: np.ndarray, draws: int = DRAWS, seed: int = 0
) -> dict[str, list[float] | None | list]:
    """95 % intervals of how a reading agrees with the visitors (pred: the reading of each picture
    of `where`, read_q: its quadrant), from resampling visitors with replacement: in each draw every
    picture's mean placed point is that of the visitors drawn (a picture none of them placed is left
    out of that draw). The keys are builder.lab.metrics.intervals' (balanced_agreement,
    per_quadrant_agreement, smallest_recall, r_valence, r_arousal) and overall_agreement."""
    n = len(where.pictures)
    sums = resampled_sums(where.per_visitor, draws, seed)[1:]  # the draws only
    counts = sums[:, 2 * n :]
    present = counts > 0
    means = np.stack([_safe_div(sums[:, :n], counts), _safe_div(sums[:, n : 2 * n], counts)], -1)
    people = np.where(present, quadrants(np.nan_to_num(means).reshape(-1, 2)).reshape(-1, n), 0)
    read = np.broadcast_to(np.asarray(read_q, dtype=int), people.shape)
    confusion = np.stack(
        [((people == t) & (read == r)).sum(axis=1) for t in (1, 2, 3, 4) for r in range(5)], axis=1
    ).reshape(-1, 4, 5)
    f = quadrant_figures(confusion)

    def spread(x: np.ndarray) -> list[float] | None:
        x = x[np.isfinite(x)]
        return [round(float(v), 4) for v in np.percentile(x, [2.5, 97.5])] if len(x) else None

    out: dict = {
        "balanced_agreement": spread(f["balanced"]),
        "per_quadrant_agreement": [
            spread(f["recall"][:, q]) if (quadrants(where.va) == q + 1).any() else None
            for q in range(4)
        ],
        "smallest_recall": spread(f["smallest"]),
        "overall_agreement": spread(f["overall"]),
    }
    w = present.astype(np.float64)
    for j, key in ((0, "r_valence"), (1, "r_arousal")):
        out[key] = spread(
            weighted_r(w, np.asarray(pred, dtype=np.float64)[:, j], np.nan_to_num(means[..., j]))
        )
    return out


# ---- the report in words and in files ------------------------------------------------------------


def _pct(f: dict | None) -> str:
    if not f or f.get("value") is None:
        return "-"
    text = f"{100 * f['value']:.1f} %"
    if f.get("low") is not None:
        text += f" ({100 * f['low']:.1f}-{100 * f['high']:.1f})"
    return text


def _num(f: dict | None, signed: bool = False) -> str:
    if not f or f.get("value") is None:
        return "-"
    fmt = "{:+.2f}" if signed else "{:.2f}"
    text = fmt.format(f["value"])
    if f.get("low") is not None:
        text += f" ({fmt.format(f['low'])} to {fmt.format(f['high'])})"
    return text


def format_report(result: dict) -> str:
    """The two tables and the paired differences as the terminal shows them (intervals in brackets;
    the names gallery.json gives, control characters made visible)."""
    q = ("q1", "q2", "q3", "q4")
    lines = [
        f"study of gallery {printable(result['gallery'])}: {result['visitors']} visitors, "
        f"{result['pictures']} pictures, {result['judgements']} judgements ("
        f"{result['placements']} placements, {result['ratings']} ratings); 95 % intervals from "
        f"resampling visitors, {result['draws']} draws",
        "",
        "Table 1: where visitors place the pictures, and how often each condition's quadrant "
        "agrees",
        f"{'':<22}" + "".join(f"{name:>24}" for name in ("Q1", "Q2", "Q3", "Q4")),
        f"{'visitors placed':<22}"
        + "".join(f"{_pct(result['table1']['visitors'][k]):>24}" for k in q),
    ]
    for c, entry in result["table1"]["conditions"].items():
        lines.append(
            f"{printable(c) + ' reads':<22}"
            + "".join(f"{_pct(entry['distribution'][k]):>24}" for k in q)
        )
    lines.append("agreement with visitors")
    for c, entry in result["table1"]["conditions"].items():
        a = entry["agreement"]
        lines.append(f"  {printable(c):<20}" + "".join(f"{_pct(a[k]):>24}" for k in q))
        lines.append(f"  {'':<20}overall {_pct(a['overall'])}, balanced {_pct(a['balanced'])}")
    lines += [
        "",
        "Table 2: how well the music fits (1 = does not fit, 5 = fits)",
        f"{'':<22}{'mean >= 4':>26}{'mean score':>28}{'no music':>12}{'pictures':>10}"
        f"{'ratings':>9}",
    ]
    for c, entry in result["table2"].items():
        lines.append(
            f"{printable(c):<22}{_pct(entry['fits']):>26}{_num(entry['mean']):>28}"
            f"{100 * entry['failures']['value']:>10.1f} %{entry['pictures']:>10}"
            f"{entry['ratings']:>9}"
        )
    if result["paired"]:
        lines += [
            "",
            "The gallery's choice against the others: mean difference of scores per picture",
        ]
        for name, f in result["paired"].items():
            paired = f"{_num(f, signed=True):>28}  over {f['pictures']} pictures"
            lines.append(f"  {printable(name):<20}{paired}")
    return "\n".join(lines)


def csv_text(result: dict) -> str:
    """The tables as rows for a spreadsheet: table, row, column, value, low, high (cells
    formula-safe)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["table", "row", "column", "value", "low", "high"])

    def row(table: str, name: str, column: str, f: dict) -> None:
        cells = [table, name, column, f.get("value"), f.get("low"), f.get("high")]
        writer.writerow([spreadsheet_safe(str(x)) if isinstance(x, str) else x for x in cells])

    for k, f in result["table1"]["visitors"].items():
        row("table1", "visitors", k, f)
    for c, entry in result["table1"]["conditions"].items():
        for k, f in entry["distribution"].items():
            row("table1", f"{c} reads", k, f)
        for k, f in entry["agreement"].items():
            row("table1", f"{c} agreement", k, f)
    for c, entry in result["table2"].items():
        row("table2", c, "fits", entry["fits"])
        row("table2", c, "mean", entry["mean"])
        row("table2", c, "failures", entry["failures"])
    for name, f in result["paired"].items():
        row("paired", name, "mean difference", f)
    for key in ("visitors", "pictures", "placements", "ratings", "judgements"):
        row("counts", key, "n", {"value": result[key]})
    refused = result.get("answers", {})
    for key in ("lines", "duplicates", "replaced"):
        if key in refused:
            row("answers", key, "n", {"value": refused[key]})
    for gid, n in refused.get("other_galleries", {}).items():
        row("answers", "another gallery's build", gid, {"value": n})
    for why, n in refused.get("malformed", {}).items():
        row("answers", "refused", why, {"value": n})
    return out.getvalue()
