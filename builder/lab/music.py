"""Fitting and measuring the music feeling head against music labelled with Russell quadrants.

Labels: a CSV with the columns file (relative to the audio folder), quadrant (1-4) and artist — the 4Q audio
emotion dataset's annotations.csv has them. Folds are grouped by artist, so no artist is on both sides.
The DEAM clips with human ratings join the fit with the quadrant of their ratings against the scale's midpoint.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from builder.errors import UsageError
from builder.lab.evaluate import format_table as evaluate_table
from builder.lab.evaluate import metrics
from builder.music.feeling import (
    MusicFeelingModel,
    cross_validate,
    fingerprint,
    fit,
    quadrant_of,
    quadrant_signs,
)

if TYPE_CHECKING:
    from builder.assets import AssetStore
    from builder.music.listen import Listener


@dataclass(frozen=True)
class Labelled:
    files: list[str]
    quadrants: np.ndarray
    artists: list[str]


def read_labels(path: Path, audio_dir: Path) -> Labelled:
    """The labelled clips present in audio_dir. A file naming clips outside the folder or the same clip twice is
    refused with its line numbers (like a ratings file: builder.evaluate.check_rating_rows)."""
    from builder.files import regular_input

    regular_input(path, "labels file")  # a named pipe would block for ever
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"cannot read labels {path}: {exc}") from None
    need = {"file", "quadrant"}
    if not rows or not need <= set(rows[0]):
        raise UsageError(
            f"{path} needs the columns file, quadrant (1-4) and, for grouped folds, artist"
        )
    _check_label_rows(rows, path, audio_dir)
    files, quads, artists = [], [], []
    for line, r in enumerate(rows, start=2):
        try:
            q = int(float(r["quadrant"]))
        except (TypeError, ValueError):
            q = 0
        if q not in (1, 2, 3, 4):
            raise UsageError(
                f"{path} line {line}: quadrant must be 1, 2, 3 or 4, not {r['quadrant']!r}"
            )
        if (audio_dir / r["file"]).is_file():
            files.append(r["file"])
            quads.append(q)
            artists.append(" ".join((r.get("artist") or r["file"]).lower().split()))
    if not files:
        raise UsageError(f"none of the files named in {path} is in {audio_dir}")
    return Labelled(files, np.array(quads), artists)


def _check_label_rows(rows: list[dict], path: Path, audio_dir: Path) -> None:
    root = audio_dir.resolve()
    problems: list[str] = []
    first: dict[str, int] = {}
    for line, r in enumerate(rows, start=2):
        name = (r.get("file") or "").strip()
        if not name:
            continue
        try:
            resolved = (audio_dir / name).resolve()
        except (OSError, RuntimeError, ValueError):
            resolved = None
        if (
            Path(name).is_absolute()
            or ".." in Path(name).parts
            or resolved is None
            or root not in resolved.parents
        ):
            problems.append(f"line {line}: {name!r} lies outside {audio_dir}")
        elif name in first:
            problems.append(f"line {line}: {name!r} repeats line {first[name]}")
        else:
            first[name] = line
    if problems:
        more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
        raise UsageError(
            f"labels {path} refused: {'; '.join(problems[:5])}{more}; nothing was measured or fitted"
        )


def clip_digests(heard: list) -> str:
    """What a model records of the clips it was fitted on: 64-bit prefixes of their sha256, by content."""
    return ",".join(sorted({h.sha256[:16] for h in heard}))


def hear_all(
    listener: Listener, audio_dir: Path, files: list[str], progress: Callable[..., Iterable]
) -> list:
    """What the listener heard of every labelled file; a file that cannot be read is an error here."""
    from builder.music.audio import AudioError

    heard = []
    for rel in progress(files, "listening", len(files)):
        try:
            heard.append(listener.hear(audio_dir / rel)[0])
        except AudioError as exc:
            raise UsageError(f"labelled file {rel} cannot be read: {exc}") from None
    return heard


def deam_rated(
    listener: Listener, store: AssetStore, progress: Callable[..., Iterable]
) -> tuple[list, np.ndarray]:
    """The DEAM clips that have audio here, with the quadrant of their (2013-corrected) human ratings."""
    from builder.music.catalogue import deam_scale, load_deam_annotations

    audio_dir = store.optional("deam-audio")
    if audio_dir is None:
        return [], np.zeros(0, dtype=int)
    ann = load_deam_annotations(
        store.resolve("deam-static-1-2000"), store.resolve("deam-static-2000-2058"), swap_2013=True
    )
    files = sorted((p for p in audio_dir.glob("*.mp3") if p.stem in ann), key=lambda p: int(p.stem))
    heard, quads = [], []
    for p in progress(files, "listening to DEAM", len(files)):
        heard.append(listener.hear(p)[0])
        v, a = (deam_scale(x) for x in ann[p.stem])
        quads.append(int(quadrant_of(np.array([[v, a]]))[0]))
    return heard, np.array(quads, dtype=int)


def deam_spread(store: AssetStore) -> tuple[float, float]:
    from builder.music.catalogue import load_deam

    cat = load_deam(store)
    va = np.array([(t.valence, t.arousal) for t in cat.tracks])
    return float(va[:, 0].std()), float(va[:, 1].std())


def fit_model(
    heard: list,
    quads: np.ndarray,
    extra: list,
    extra_quads: np.ndarray,
    spread: tuple[float, float],
    name: str,
) -> MusicFeelingModel:
    feats = np.array([MusicFeelingModel.features_of(h) for h in heard + extra])
    q = np.concatenate([quads, extra_quads]).astype(int)
    meta = {
        "fitted_on": name,
        "n": len(q),
        "n_deam": len(extra),
        "fingerprint": fingerprint([h.sha256 for h in heard]),
        "clips_sha256": clip_digests(
            heard
        ),  # what `music evaluate` checks clips against, one by one
        "spread": f"{spread[0]:.4f},{spread[1]:.4f}",
    }
    return fit(feats, q, target_spread=spread, meta=meta)


def sign_metrics(true_q: np.ndarray, va: np.ndarray, artists: np.ndarray | None = None) -> dict:
    """Quadrant agreement (builder.evaluate.metrics) plus the accuracy of each sign; with artists, their 95 %
    intervals from resampling artists (`interval_95`)."""
    pred_q = quadrant_of(va)
    m = metrics(true_q, pred_q, None, np.zeros((len(true_q), 2)))
    tv, ta = quadrant_signs(true_q)
    pv, pa = quadrant_signs(pred_q)
    m["valence_sign_accuracy"] = float(np.mean(tv == pv))
    m["arousal_sign_accuracy"] = float(np.mean(ta == pa))
    if artists is not None:
        m["interval_95"] = sign_intervals(true_q, pred_q, artists)
    return m


def sign_intervals(
    true_q: np.ndarray, pred_q: np.ndarray, artists: np.ndarray, draws: int = 1000, seed: int = 0
) -> dict[str, list[float]]:
    """95 % intervals of balanced agreement and of each sign's accuracy, drawing artists with replacement (an
    artist's clips sound alike, so they are drawn together): how far the figures could move on other artists."""
    _, index = np.unique(np.asarray(artists, dtype=str), return_inverse=True)
    k = index.max() + 1
    w = (
        np.random.default_rng(seed)
        .multinomial(k, np.full(k, 1 / k), size=draws)[:, index]
        .astype(np.float64)
    )
    tv, ta = quadrant_signs(true_q)
    pv, pa = quadrant_signs(pred_q)
    recalls = []
    for q in (1, 2, 3, 4):
        if (true_q == q).any():
            total = w @ (true_q == q)
            recalls.append(
                np.where(
                    total > 0, w @ ((true_q == q) & (pred_q == q)) / np.maximum(total, 1), np.nan
                )
            )

    def span(x: np.ndarray) -> list[float]:
        return [round(float(v), 4) for v in np.nanpercentile(x, [2.5, 97.5])]

    sw = w.sum(axis=1)
    return {
        "balanced_agreement": span(np.nanmean(np.stack(recalls), axis=0)),
        "valence_sign_accuracy": span(w @ (tv == pv) / sw),
        "arousal_sign_accuracy": span(w @ (ta == pa) / sw),
    }


def format_intervals(results: dict[str, dict]) -> str:
    """One line per row with intervals: balanced agreement and each sign's accuracy, 95 % by resampling artists."""
    keys = (
        ("balanced", "balanced_agreement"),
        ("val sign", "valence_sign_accuracy"),
        ("aro sign", "arousal_sign_accuracy"),
    )
    lines = []
    for name, m in results.items():
        iv = m.get("interval_95")
        if iv:
            spans = "  ".join(
                f"{label} {100 * iv[k][0]:4.1f}-{100 * iv[k][1]:4.1f} %" for label, k in keys
            )
            lines.append(f"{name:<46} {spans}")
    return "\n".join(lines)


def evaluate(
    model: MusicFeelingModel, heard: list, labels: Labelled, folds: int = 5
) -> tuple[dict, str]:
    """Rows of the table, and a note on how the learned rows were made (in-sample data is cross-validated)."""
    feats = np.array([model.features_of(h) for h in heard])
    q = labels.quadrants
    seen = fingerprint([h.sha256 for h in heard]) == model.meta.get("fingerprint")
    listed = set(filter(None, model.meta.get("clips_sha256", "").split(",")))
    overlap = sum(1 for h in heard if h.sha256[:16] in listed)
    if (
        overlap and not seen
    ):  # some of these clips trained the model: only cross-validated figures are honest
        seen = True
    if seen:
        spread = tuple(float(x) for x in model.meta.get("spread", "0.2,0.25").split(","))
        learned, base = cross_validate(
            feats, q, np.array(labels.artists), folds=folds, target_spread=spread
        )
        tag = f" ({folds}-fold CV by artist)"
        which = (
            "these" if not overlap or overlap == len(heard) else f"{overlap} of these {len(heard)}"
        )
        note = (
            f"the shipped model was fitted on {which} clips, so both models were refitted on these clips in "
            f"{folds} folds grouped by artist and each clip was read by a model that never heard its artist"
        )
    else:
        learned, base = model.learned.predict(feats)[0], model.classic.predict(feats)[0]
        tag = ""
        note = (
            "the shipped models, fitted on other clips (checked clip by clip, by content), read these clips as a "
            "build would"
            if listed
            else "the shipped models read these clips as a build would; the model file does not list the clips it "
            "was fitted on, so if some of these were among them these figures are IN-SAMPLE and flatter it (refit "
            "with `builder music fit` to record them)"
        )
    commonest = int(np.bincount(q, minlength=5)[1:].argmax() + 1)
    artists = np.array(labels.artists)
    results = {
        f"musicnn + feeling head{tag}": sign_metrics(q, learned, artists),
        f"classic features{tag}": sign_metrics(q, base, artists),
        "chance (expected)": {
            **sign_metrics(q, np.ones((len(q), 2))),
            "per_quadrant_agreement": [0.25] * 4,
            "overall_agreement": 0.25,
            "balanced_agreement": 0.25,
            "method_shares": [0.25] * 4,
            "valence_sign_accuracy": 0.5,
            "arousal_sign_accuracy": 0.5,
            "confusion": None,
        },
        f"always quadrant {commonest}": sign_metrics(q, _quadrant_point(commonest, len(q))),
    }
    return results, note


def _quadrant_point(q: int, n: int) -> np.ndarray:
    v = 1.0 if q in (1, 4) else -1.0
    a = 1.0 if q in (1, 2) else -1.0
    return np.tile([v, a], (n, 1))


def format_table(results: dict[str, dict]) -> str:
    def pct(x):
        return f"{100 * x:7.1f}%"

    return evaluate_table(
        results,
        label="model",
        width=46,
        who="labels",
        columns=(
            ("val sign", "valence_sign_accuracy", pct),
            ("aro sign", "arousal_sign_accuracy", pct),
        ),
    )
