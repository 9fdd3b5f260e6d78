"""The exhibition's own study, read back: what visitors answered on a gallery's study page (`builder build
--study`), as the published method's authors measured theirs.

Their Table 1: where people place each picture in the valence/arousal plane, against the quadrant each
condition reads for it (agreement per quadrant, overall, and balanced: the mean per-quadrant recall). Their
Table 2: how well each condition's music fits the picture on a 5-point scale (the share of pictures whose mean
score is 4 or more, the mean score) and how often a condition could not recommend at all. And the question the
tables are for: the gallery's choice against a random track and against the published object method, as the
mean per-picture difference of scores.

Every figure has a 95 % interval from resampling visitors with replacement (a visitor's answers are not
independent of each other), 1000 draws, seeded. The answers are the JSON Lines the study page exports
(docs/study.md); each line is checked, and what is refused is counted and named, never guessed at.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import orjson

from builder.errors import BuilderError, UsageError
from builder.files import regular_input, spreadsheet_safe
from builder.plane import quadrant

KINDS = ("place", "rate", "fail")
SCORES = (1, 2, 3, 4, 5)
FITS = 4  # a picture's music "fits" when its mean score is at least this (the published Table 2)
MAX_LINE = 4096  # bytes: a line longer than any answer the page writes is refused unread
MAX_ID = 200  # characters of a visitor id, a picture's name, a track id
DRAWS = 1000
PAIRS = (
    ("gallery", "random"),
    ("gallery", "objects"),
)  # the paired differences reported, where both exist


class NothingToReport(BuilderError):
    """Too few answers to say anything (exit 4, as a build with nothing to build)."""

    exit_code = 4


@dataclass(frozen=True)
class Pick:
    """What one condition offers for one picture: its first track (None: it could not recommend) and the
    quadrant it reads the picture in (None for a condition that reads none, such as random choice)."""

    track: str | None
    quadrant: int | None


@dataclass(frozen=True)
class Design:
    """The study a gallery holds (gallery.json's `study`): its build id, the conditions, and each picture's
    pick per condition."""

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
        if not isinstance(conditions, list) or not all(isinstance(c, str) for c in conditions):
            raise ValueError("`study.conditions` is not a list of names")
        if not isinstance(pictures, dict) or not pictures:
            raise ValueError("`study.pictures` holds no picture")
        picks: dict[str, dict[str, Pick]] = {}
        for file, by_condition in pictures.items():
            if not isinstance(by_condition, dict) or set(by_condition) != set(conditions):
                raise ValueError(f"`study.pictures` of {file!r} does not give every condition")
            picks[file] = {}
            for c, pick in by_condition.items():
                track, q = (pick or {}).get("track"), (pick or {}).get("quadrant")
                if track is not None and not isinstance(track, str):
                    raise ValueError(f"the track of {c!r} for {file!r} is not an id")
                if q is not None and q not in (1, 2, 3, 4):
                    raise ValueError(f"the quadrant of {c!r} for {file!r} is not 1-4")
                picks[file][c] = Pick(track, q)
        return cls(gid, tuple(conditions), picks)

    @classmethod
    def of_gallery(cls, folder: Path) -> Design:
        """The study of the gallery built into folder; UsageError when it has none or is no gallery."""
        path = Path(folder) / "gallery.json"
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


@dataclass
class Answers:
    """The answers kept (the last of each visitor's judgements of a picture), and what was refused."""

    places: dict[tuple[str, str], tuple[float, float]] = field(
        default_factory=dict
    )  # (visitor, picture)
    scores: dict[tuple[str, str, str], int] = field(
        default_factory=dict
    )  # (visitor, picture, condition)
    fails: set[tuple[str, str]] = field(
        default_factory=set
    )  # (picture, condition) reported as failed
    lines: int = 0
    duplicates: int = 0
    other_galleries: Counter = field(default_factory=Counter)  # build id -> lines
    malformed: Counter = field(default_factory=Counter)  # why -> lines
    first_malformed: list[str] = field(default_factory=list)  # "file:line: why", the first few

    def refusals(self) -> list[str]:
        """The sentences that say what was not counted."""
        out = []
        for gid, n in self.other_galleries.most_common():
            out.append(
                f"{n} answer{'s' * (n != 1)} from another gallery's build ({gid}) were not counted"
            )
        for why, n in self.malformed.most_common():
            out.append(f"{n} line{'s' * (n != 1)} refused: {why}")
        if self.duplicates:
            out.append(
                f"{self.duplicates} duplicate line{'s' * (self.duplicates != 1)} counted once"
            )
        return out


def _when(value: object) -> str:
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("`at` is not a time")
    datetime.fromisoformat(value.replace("Z", "+00:00"))  # ValueError when it is not ISO 8601
    return value


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


def _line(raw: bytes, design: Design) -> tuple[str, tuple]:
    """One answer: (its build id, (kind, visitor, picture, condition, at, value)); ValueError saying why not."""
    if len(raw) > MAX_LINE:
        raise ValueError("a line longer than any answer")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ValueError("not JSON (a line cut short?)") from None
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    gid = _name(obj.get("gallery"), "gallery")
    visitor, picture = _name(obj.get("visitor"), "visitor"), _name(obj.get("picture"), "picture")
    kind, at = obj.get("kind"), _when(obj.get("at"))
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
        return gid, ("place", visitor, picture, "", at, va)
    condition = obj.get("condition")
    if condition not in design.conditions:
        raise ValueError("`condition` is not one of the gallery's conditions")
    if kind == "fail":
        return gid, ("fail", visitor, picture, condition, at, None)
    score = obj.get("score")
    if isinstance(score, bool) or not isinstance(score, int) or score not in SCORES:
        raise ValueError("`score` is not a whole number from 1 to 5")
    return gid, ("rate", visitor, picture, condition, at, score)


def read_answers(paths: list[Path], design: Design, first: int = 5) -> Answers:
    """Every answer of the files that belongs to this gallery's build, each judgement once: lines repeated by
    repeated exports count once, and a visitor's later judgement of the same thing replaces the earlier one."""
    answers = Answers()
    seen: set[tuple] = set()
    latest: dict[tuple, str] = {}
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
                        answers.first_malformed.append(f"{path.name}:{number}: {exc}")
                    continue
                if not answer:
                    answers.other_galleries[gid] += 1
                    continue
                if answer in seen:  # the same judgement exported twice
                    answers.duplicates += 1
                    continue
                seen.add(answer)
                kind, visitor, picture, condition, at, value = answer
                key = (kind, visitor, picture, condition)
                if key in latest and latest[key] > at:
                    continue  # an earlier judgement than the one kept
                latest[key] = at
                if kind == "place":
                    answers.places[(visitor, picture)] = value
                elif kind == "rate":
                    answers.scores[(visitor, picture, condition)] = value
                else:
                    answers.fails.add((picture, condition))
    return answers


def _span(x: np.ndarray) -> list[float] | None:
    x = x[np.isfinite(x)]
    if not len(x):
        return None
    return [round(float(v), 4) for v in np.percentile(x, [2.5, 97.5])]


def _figure(value: float, draws: np.ndarray) -> dict:
    """A figure and its interval: {"value", "low", "high"} (None where it cannot be computed)."""
    span = _span(draws)
    return {
        "value": round(float(value), 4) if math.isfinite(value) else None,
        "low": span[0] if span else None,
        "high": span[1] if span else None,
    }


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def report(design: Design, answers: Answers, draws: int = DRAWS, seed: int = 0) -> dict:
    """Every figure of the two tables and the paired differences, each with its interval (docs/study.md names
    the keys). NothingToReport when fewer than 2 visitors answered or nobody rated any music."""
    from scipy import sparse

    visitors = sorted({v for v, _ in answers.places} | {v for v, _, _ in answers.scores})
    if len(visitors) < 2:
        raise NothingToReport(
            f"{len(visitors)} visitor{'s' * (len(visitors) != 1)} answered this gallery's study; a report "
            "needs at least 2 (their answers are compared with each other's)"
        )
    if not answers.scores:
        raise NothingToReport("no visitor rated any music; the tables need ratings")
    pictures = sorted(design.pictures)
    vi = {v: i for i, v in enumerate(visitors)}
    pi = {p: i for i, p in enumerate(pictures)}
    rng = np.random.default_rng(seed)
    nv = len(visitors)
    w = rng.multinomial(nv, np.full(nv, 1 / nv), size=draws).astype(np.float64)  # (draws, visitors)
    ones = np.ones((1, nv))
    result: dict = {
        "gallery": design.gallery,
        "visitors": nv,
        "pictures": len({p for _, p in answers.places} | {p for _, p, _ in answers.scores}),
        "placements": len(answers.places),
        "ratings": len(answers.scores),
        "judgements": len(answers.places) + len(answers.scores),
        "draws": draws,
    }

    # Table 1: each placement's quadrant, and the quadrant each condition reads for that picture
    place_keys = list(answers.places)
    people_q = np.array([quadrant(answers.places[k]) for k in place_keys], dtype=int)
    rows = np.array([vi[v] for v, _ in place_keys], dtype=int)
    # (visitors, placements): which visitor made each placement; a draw weighs each by its visitor's count
    by_visitor = sparse.csr_matrix(
        (np.ones(len(place_keys)), (rows, np.arange(len(place_keys)))), shape=(nv, len(place_keys))
    )
    wp, once = (
        np.asarray(by_visitor.T @ w.T).T,
        np.asarray(by_visitor.T @ ones.T).T,
    )  # (draws | 1, places)
    table1: dict = {
        "visitors": {f"q{q}": _figure(*_share(once, wp, people_q == q)) for q in (1, 2, 3, 4)},
        "conditions": {},
    }
    for c in design.conditions:
        read = np.array([design.pictures[p][c].quadrant or 0 for _, p in place_keys], dtype=int)
        if not read.any():
            continue  # a condition that reads no quadrant (random choice) has no row in Table 1
        entry: dict = {
            "distribution": {f"q{q}": _figure(*_share(once, wp, read == q)) for q in (1, 2, 3, 4)},
            "agreement": {},
        }
        recalls, recall_draws = [], []
        for q in (1, 2, 3, 4):
            mine = people_q == q
            if not mine.any():
                entry["agreement"][f"q{q}"] = _figure(math.nan, np.array([]))
                continue
            value, d = _share(once, wp, read == q, within=mine)
            entry["agreement"][f"q{q}"] = _figure(value, d)
            recalls.append(value)
            recall_draws.append(d)
        entry["agreement"]["overall"] = _figure(*_share(once, wp, read == people_q))
        with np.errstate(invalid="ignore"), _quiet():
            entry["agreement"]["balanced"] = _figure(
                float(np.mean(recalls)), np.nanmean(np.stack(recall_draws), axis=0)
            )
        table1["conditions"][c] = entry
    result["table1"] = table1

    # Table 2: per condition, per picture, the mean of its visitors' scores
    nc, np_ = len(design.conditions), len(pictures)
    ci = {c: i for i, c in enumerate(design.conditions)}
    keys = list(answers.scores)
    cols = np.array([pi[p] * nc + ci[c] for _, p, c in keys], dtype=int)
    vrows = np.array([vi[v] for v, _, _ in keys], dtype=int)
    vals = np.array([answers.scores[k] for k in keys], dtype=np.float64)
    score_sum = sparse.csr_matrix((vals, (vrows, cols)), shape=(nv, np_ * nc))
    score_n = sparse.csr_matrix((np.ones(len(keys)), (vrows, cols)), shape=(nv, np_ * nc))
    # (draws + 1, pictures, conditions): the first row is the answers as they are
    weights = np.vstack([ones, w])
    sums = np.asarray((score_sum.T @ weights.T).T).reshape(-1, np_, nc)
    counts = np.asarray((score_n.T @ weights.T).T).reshape(-1, np_, nc)
    means = _safe_div(sums, counts)
    table2: dict = {}
    for c in design.conditions:
        k = ci[c]
        m = means[:, :, k]
        rated = np.isfinite(m)
        with _quiet():
            fits = _safe_div((m >= FITS).sum(axis=1).astype(float), rated.sum(axis=1).astype(float))
            mean = np.nanmean(m, axis=1)
        failed = sum(
            1 for p in pictures if design.pictures[p][c].track is None or (p, c) in answers.fails
        )
        table2[c] = {
            "fits": _figure(fits[0], fits[1:]),
            "mean": _figure(mean[0], mean[1:]),
            "failures": {"value": round(failed / np_, 4), "pictures": failed},
            "pictures": int(rated[0].sum()),
            "ratings": int(counts[0, :, k].sum()),
        }
    result["table2"] = table2

    paired: dict = {}
    for a, b in PAIRS:
        if a not in ci or b not in ci:
            continue
        diff = (
            means[:, :, ci[a]] - means[:, :, ci[b]]
        )  # NaN where either was not rated in that draw
        with _quiet():
            mean_diff = np.nanmean(diff, axis=1)
        paired[f"{a}-{b}"] = {
            **_figure(mean_diff[0], mean_diff[1:]),
            "pictures": int(np.isfinite(diff[0]).sum()),
        }
    result["paired"] = paired
    return result


class _quiet:
    """numpy's 'mean of empty slice' warnings off: a draw without any answer of a kind has no figure for it."""

    def __enter__(self):
        import warnings

        self.catch = warnings.catch_warnings()
        self.catch.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self.catch.__exit__(*exc)


def _share(
    once: np.ndarray, draws: np.ndarray, hit: np.ndarray, within: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """The share of placements (within a subset) that hit, as answered and in each draw of visitors."""
    inside = np.ones(len(hit), bool) if within is None else within
    value = _safe_div(once @ (hit & inside), once @ inside)[0]
    return float(value), _safe_div(draws @ (hit & inside), draws @ inside)


# ---- the report in words and in files ------------------------------------------------------------------


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
    """The two tables and the paired differences as the terminal shows them (intervals in brackets)."""
    q = ("q1", "q2", "q3", "q4")
    lines = [
        f"study of gallery {result['gallery']}: {result['visitors']} visitors, {result['pictures']} "
        f"pictures, {result['judgements']} judgements ({result['placements']} placements, "
        f"{result['ratings']} ratings); 95 % intervals from resampling visitors, {result['draws']} draws",
        "",
        "Table 1: where visitors place the pictures, and how often each condition's quadrant agrees",
        f"{'':<22}" + "".join(f"{name:>24}" for name in ("Q1", "Q2", "Q3", "Q4")),
        f"{'visitors placed':<22}"
        + "".join(f"{_pct(result['table1']['visitors'][k]):>24}" for k in q),
    ]
    for c, entry in result["table1"]["conditions"].items():
        lines.append(
            f"{c + ' reads':<22}" + "".join(f"{_pct(entry['distribution'][k]):>24}" for k in q)
        )
    lines.append("agreement with visitors")
    for c, entry in result["table1"]["conditions"].items():
        a = entry["agreement"]
        lines.append(f"  {c:<20}" + "".join(f"{_pct(a[k]):>24}" for k in q))
        lines.append(f"  {'':<20}overall {_pct(a['overall'])}, balanced {_pct(a['balanced'])}")
    lines += [
        "",
        "Table 2: how well the music fits (1 = does not fit, 5 = fits)",
        f"{'':<22}{'mean >= 4':>26}{'mean score':>28}{'no music':>12}{'pictures':>10}{'ratings':>9}",
    ]
    for c, entry in result["table2"].items():
        lines.append(
            f"{c:<22}{_pct(entry['fits']):>26}{_num(entry['mean']):>28}"
            f"{100 * entry['failures']['value']:>10.1f} %{entry['pictures']:>10}{entry['ratings']:>9}"
        )
    if result["paired"]:
        lines += [
            "",
            "The gallery's choice against the others: mean difference of scores per picture",
        ]
        for name, f in result["paired"].items():
            lines.append(f"  {name:<20}{_num(f, signed=True):>28}  over {f['pictures']} pictures")
    return "\n".join(lines)


def csv_text(result: dict) -> str:
    """The tables as rows for a spreadsheet: table, row, column, value, low, high (cells formula-safe)."""
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
    return out.getvalue()
