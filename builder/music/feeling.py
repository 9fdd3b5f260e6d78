"""The feeling head: from what musicnn heard to valence and arousal. This is the model a build loads
and applies; it is fitted on music with quadrant labels by the lab (builder.lab.music:
`builder music fit`), which also measures it (`builder music evaluate`).

Features of a clip (one vector): musicnn's 50 MagnaTagATune tag probabilities and its 200-d
penultimate embedding, each averaged over the clip's 3 s patches, the 14 classic features of
builder.music.audiofeatures, the Million-Song-Dataset musicnn's 50 tags and 200-d embedding (same
patches), and the 23 harmonic features. Two logistic regressions with balanced class weights, on
standardised features, give P(valence > 0) and P(arousal > 0), each reading the columns its axis was
fitted on (stored in the model file; which ones and why: builder.lab.music.LEARNED, docs/music.md).
A track's valence is (2 P - 1) times a spread factor, likewise arousal, so the signs give its
Russell quadrant and the spread factor puts the tracks in the frame of DEAM's human ratings (it
makes the training clips' standard deviation equal DEAM's). Confidence is the probability of the
track's own quadrant, P(valence sign) x P(arousal sign), rescaled from [0.25, 1] to [0, 1].

The same file holds the baseline of classic features alone, fitted the same way (C = 1), so that
`builder music evaluate` can compare both on clips neither saw. Fitted on ../shared/eval/music-4q
and the DEAM clips that have human ratings (docs/data.md gives the terms it inherits).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MODEL_PATH = Path(__file__).resolve().parent / "data" / "music-feeling-model.npz"
TAGS, EMBEDDING, CLASSIC = np.arange(0, 50), np.arange(50, 250), np.arange(250, 264)
# what the listener hears beyond version 1 (builder.music.listen.LISTEN_VERSION 2): the MSD tagger's
# tags and embedding (NaN when not heard: a head reading them must be given them) and the harmonic
# features
MSD_TAGS, MSD_EMBEDDING, HARMONIC = np.arange(264, 314), np.arange(314, 514), np.arange(514, 537)
N_FEATURES = 537


def spec_needs_msd(spec: dict) -> bool:
    """Whether a head of this spec (axis -> (columns, C)) reads the MSD tagger."""
    used = np.concatenate([np.asarray(columns) for columns, _ in spec.values()])
    return bool(np.isin(used, np.concatenate([MSD_TAGS, MSD_EMBEDDING])).any())


@dataclass
class AxisModel:
    """Standardise, then a logistic regression for one sign: numpy only at prediction time."""

    columns: np.ndarray  # which features of the clip's vector it reads
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def probability(self, x: np.ndarray) -> np.ndarray:
        z = ((x[:, self.columns] - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


@dataclass
class Head:
    valence: AxisModel
    arousal: AxisModel
    spread: tuple[float, float]

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, 2) valence/arousal in [-1, 1] and (n,) confidence in [0, 1]."""
        pv, pa = self.valence.probability(x), self.arousal.probability(x)
        va = np.stack([(2 * pv - 1) * self.spread[0], (2 * pa - 1) * self.spread[1]], axis=1)
        own = np.maximum(pv, 1 - pv) * np.maximum(pa, 1 - pa)
        return np.clip(va, -1, 1), np.clip((own - 0.25) / 0.75, 0, 1)


@dataclass
class MusicFeelingModel:
    learned: Head  # on musicnn tags + embedding
    classic: Head  # the baseline, on classic features
    meta: dict = field(default_factory=dict)

    @staticmethod
    def features_of(heard: Any) -> np.ndarray:
        """The clip's feature vector: MTT tags (50), MTT embedding (200), classic features (14),
        MSD tags (50), MSD embedding (200), harmonic features (23); the MSD part NaN when it was
        not heard."""
        msd = (
            [np.asarray(heard.msd_probs), np.asarray(heard.msd_embedding)]
            if len(heard.msd_probs)
            else [np.full(len(MSD_TAGS) + len(MSD_EMBEDDING), np.nan)]
        )
        harmonic = (
            np.asarray(heard.harmonic, dtype=np.float64)
            if len(heard.harmonic)
            else np.full(len(HARMONIC), np.nan)
        )
        return np.concatenate(
            [
                np.asarray(heard.tag_probs),
                np.asarray(heard.embedding),
                np.asarray(heard.classic, dtype=np.float64),
                *msd,
                harmonic,
            ]
        )

    @property
    def needs_msd(self) -> bool:
        """Whether the learned head reads the MSD tagger (the listener then runs it: twice the
        listening time)."""
        return spec_needs_msd(
            {axis: (getattr(self.learned, axis).columns, 0) for axis in ("valence", "arousal")}
        )

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.learned.predict(x)

    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {}
        for name, head in (("learned", self.learned), ("classic", self.classic)):
            for axis in ("valence", "arousal"):
                m: AxisModel = getattr(head, axis)
                for k in ("columns", "mean", "scale", "coef"):
                    arrays[f"{name}_{axis}_{k}"] = getattr(m, k)
                arrays[f"{name}_{axis}_intercept"] = np.array(m.intercept)
            arrays[f"{name}_spread"] = np.array(head.spread)
        meta = np.array(sorted((k, str(v)) for k, v in self.meta.items()))
        from builder.files import write_with

        with write_with(path) as f:  # a full disk leaves the old model, never one cut short
            contents: dict[str, Any] = {"meta": meta, **arrays}
            np.savez(f, **contents)

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> MusicFeelingModel:
        from builder.errors import AssetMissing

        try:
            z = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise AssetMissing(
                f"the music feeling model {path} cannot be read ({exc}); run `builder music fit` "
                "to make it"
            ) from None
        heads = {}
        for name in ("learned", "classic"):
            axes = {
                axis: AxisModel(
                    z[f"{name}_{axis}_columns"],
                    z[f"{name}_{axis}_mean"],
                    z[f"{name}_{axis}_scale"],
                    z[f"{name}_{axis}_coef"],
                    float(z[f"{name}_{axis}_intercept"]),
                )
                for axis in ("valence", "arousal")
            }
            sv, sa = (float(s) for s in z[f"{name}_spread"])
            heads[name] = Head(axes["valence"], axes["arousal"], (sv, sa))
        meta = {str(k): str(v) for k, v in z["meta"]} if "meta" in z else {}
        return cls(heads["learned"], heads["classic"], meta)
