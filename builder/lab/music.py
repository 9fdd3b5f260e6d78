"""Fitting and measuring the music feeling head (builder.music.feeling.MusicFeelingModel) against
music labelled with Russell quadrants: what `builder music fit` and `builder music evaluate` run.

Labels: a CSV with the columns file (relative to the audio folder), quadrant (1-4) and artist — the
4Q audio emotion dataset's annotations.csv has them. Folds are grouped by artist, so no artist is on
both sides. The DEAM clips with human ratings join the fit with the quadrant of their ratings
against the scale's midpoint.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from builder import plane
from builder.errors import UsageError
from builder.lab.fitting import photo_digests, ratings_fingerprint
from builder.lab.metrics import sign_metrics
from builder.music.feeling import (
    CLASSIC,
    EMBEDDING,
    HARMONIC,
    MSD_EMBEDDING,
    MSD_TAGS,
    TAGS,
    AxisModel,
    Head,
    MusicFeelingModel,
)

if TYPE_CHECKING:
    from builder.assets import AssetStore
    from builder.music.listen import Listener

DEAM_SPREAD = (0.2, 0.25)  # fallback spread (valence, arousal) when the fit is not told DEAM's
# (columns, C) per axis of the learned head, and of the classic baseline. Chosen per axis in
# artist-grouped CV on music-4q among a candidate list declared beforehand
# (benchmarks/music_heads.py; docs/music.md): valence gains from the MSD-trained musicnn (tags and
# embedding; picked in every fold of the nested run too); arousal's MSD tags and valence's harmonic
# features were picked by the rule but their gain is within noise. The listener of
# `builder music fit` hears what LEARNED reads.
LEARNED = {
    "valence": (
        np.concatenate([TAGS, EMBEDDING, CLASSIC, MSD_TAGS, MSD_EMBEDDING, HARMONIC]),
        0.02,
    ),
    "arousal": (np.concatenate([TAGS, CLASSIC, MSD_TAGS]), 0.05),
}
BASELINE = {"valence": (CLASSIC, 1.0), "arousal": (CLASSIC, 1.0)}


@dataclass(frozen=True)
class Labelled:
    files: list[str]
    quadrants: np.ndarray
    artists: list[str]


def read_labels(path: Path, audio_dir: Path) -> Labelled:
    """The labelled clips present in audio_dir. A file naming clips outside the folder or the same
    clip twice is refused with its line numbers (like a ratings file:
    builder.lab.ratings.check_rating_rows)."""
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
            f"labels {path} refused: {'; '.join(problems[:5])}{more}; "
            "nothing was measured or fitted"
        )


def hear_all(
    listener: Listener, audio_dir: Path, files: list[str], progress: Callable[..., Iterable]
) -> list:
    """What the listener heard of every labelled file (one listening process a core:
    Listener.hear_all); a file that cannot be read is an error here."""
    from builder.music.audio import AudioError

    heard = []
    found = listener.hear_all([audio_dir / rel for rel in files])
    for rel, got in zip(files, progress(found, "listening", len(files))):
        if isinstance(got, AudioError):
            raise UsageError(f"labelled file {rel} cannot be read: {got}")
        heard.append(got[0])
    return heard


def deam_rated(
    listener: Listener, store: AssetStore, progress: Callable[..., Iterable]
) -> tuple[list, np.ndarray]:
    """The DEAM clips that have audio here, with the quadrant of their (2013-corrected) human
    ratings."""
    from builder.music.audio import AudioError
    from builder.music.catalogue import deam_scale, load_deam_annotations

    audio_dir = store.optional("deam-audio")
    if audio_dir is None:
        return [], np.zeros(0, dtype=int)
    ann = load_deam_annotations(
        store.resolve("deam-static-1-2000"), store.resolve("deam-static-2000-2058"), swap_2013=True
    )
    files = sorted((p for p in audio_dir.glob("*.mp3") if p.stem in ann), key=lambda p: int(p.stem))
    heard, quads = [], []
    found = listener.hear_all(files)
    for p, got in zip(files, progress(found, "listening to DEAM", len(files))):
        if isinstance(got, AudioError):
            raise got
        heard.append(got[0])
        v, a = (deam_scale(x) for x in ann[p.stem])
        quads.append(plane.quadrant((v, a)))
    return heard, np.array(quads, dtype=int)


def deam_spread(store: AssetStore) -> tuple[float, float]:
    from builder.music.catalogue import load_deam

    cat = load_deam(store)
    va = np.array([(t.valence, t.arousal) for t in cat.tracks])
    return float(va[:, 0].std()), float(va[:, 1].std())


def fit_axis(
    x: np.ndarray,
    positive: np.ndarray,
    columns: np.ndarray,
    c: float,
    weights: np.ndarray | None = None,
) -> AxisModel:
    from sklearn.linear_model import LogisticRegression

    x = x[:, columns]
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    lr = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
    lr.fit((x - mean) / scale, positive.astype(int), sample_weight=weights)
    return AxisModel(np.asarray(columns), mean, scale, lr.coef_[0].copy(), float(lr.intercept_[0]))


def fit_head(
    x: np.ndarray,
    quadrants: np.ndarray,
    spec: dict,
    target_spread: tuple[float, float],
    weights: np.ndarray | None = None,
) -> Head:
    pos_v, pos_a = plane.quadrant_signs(quadrants)
    v = fit_axis(x, pos_v, spec["valence"][0], spec["valence"][1], weights)
    a = fit_axis(x, pos_a, spec["arousal"][0], spec["arousal"][1], weights)
    raw = Head(v, a, (1.0, 1.0)).predict(x)[0]
    sd = raw.std(axis=0)
    sv, sa = (float(t / s) if s > 1e-9 else 1.0 for t, s in zip(target_spread, sd))
    return Head(v, a, (sv, sa))


def fit(
    features: np.ndarray,
    quadrants: np.ndarray,
    *,
    target_spread: tuple[float, float] = DEAM_SPREAD,
    meta: dict | None = None,
    weights: np.ndarray | None = None,
) -> MusicFeelingModel:
    return MusicFeelingModel(
        fit_head(features, quadrants, LEARNED, target_spread, weights),
        fit_head(features, quadrants, BASELINE, target_spread, weights),
        dict(meta or {}),
    )


def group_folds(groups: np.ndarray, folds: int) -> list[np.ndarray]:
    """Test indices of each fold; a group (artist) is never split (sklearn's GroupKFold,
    deterministic)."""
    from sklearn.model_selection import GroupKFold

    fold_of = np.zeros(len(groups), dtype=int)
    for i, (_, test) in enumerate(
        GroupKFold(n_splits=folds).split(np.zeros(len(groups)), groups=groups)
    ):
        fold_of[test] = i
    return [np.flatnonzero(fold_of == i) for i in range(folds)]


def cross_validate(
    features: np.ndarray,
    quadrants: np.ndarray,
    groups: np.ndarray,
    folds: int = 5,
    weights: np.ndarray | None = None,
    **kw,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold valence/arousal of the learned head and of the classic baseline, folds grouped
    (by artist)."""
    learned = np.zeros((len(quadrants), 2))
    base = np.zeros((len(quadrants), 2))
    for test in group_folds(groups, folds):
        train = np.setdiff1d(np.arange(len(quadrants)), test)
        w = None if weights is None else weights[train]
        m = fit(features[train], quadrants[train], weights=w, **kw)
        learned[test] = m.learned.predict(features[test])[0]
        base[test] = m.classic.predict(features[test])[0]
    return learned, base


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
        "fingerprint": ratings_fingerprint([h.sha256 for h in heard]),
        # what `music evaluate` checks clips against, one by one
        "clips_sha256": ",".join(photo_digests(heard)),  # the clips' digests, as the photos'
        "spread": f"{spread[0]:.4f},{spread[1]:.4f}",
    }
    return fit(feats, q, target_spread=spread, meta=meta)


def evaluate(
    model: MusicFeelingModel, heard: list, labels: Labelled, folds: int = 5
) -> tuple[dict, str]:
    """Rows of the table, and a note on how the learned rows were made (in-sample data is
    cross-validated)."""
    feats = np.array([model.features_of(h) for h in heard])
    q = labels.quadrants
    seen = ratings_fingerprint([h.sha256 for h in heard]) == model.meta.get("fingerprint")
    listed = set(filter(None, model.meta.get("clips_sha256", "").split(",")))
    overlap = sum(1 for h in heard if h.sha256[:16] in listed)
    if overlap and not seen:  # some of these clips trained the model: only CV figures are honest
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
            f"the shipped model was fitted on {which} clips, so both models were refitted on "
            f"these clips in {folds} folds grouped by artist and each clip was read by a model "
            "that never heard its artist"
        )
    else:
        learned, base = model.learned.predict(feats)[0], model.classic.predict(feats)[0]
        tag = ""
        note = (
            "the shipped models, fitted on other clips (checked clip by clip, by content), read "
            "these clips as a build would"
            if listed
            else "the shipped models read these clips as a build would; the model file does not "
            "list the clips it was fitted on, so if some of these were among them these figures "
            "are IN-SAMPLE and flatter it (refit with `builder music fit` to record them)"
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
    """n readings of (±1, ±1) in quadrant q."""
    return np.tile(np.sign(plane.QUADRANT_CENTRES[q]), (n, 1))
