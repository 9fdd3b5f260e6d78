"""Classic audio features: the baseline the learned music reading must beat (`builder music evaluate`).

Fourteen numbers a clip, each a textbook descriptor: loudness (RMS in dB: mean, spread), brightness (spectral
centroid and 85 % roll-off), spectral flux (mean, spread), noisiness (zero-crossing rate, spectral flatness),
tempo (the strongest periodicity of the onset envelope between 40 and 200 BPM, and how strong it is) and mode
(correlation of the chroma with the Krumhansl-Kessler major and minor key profiles, the best of each over the
12 keys, and their difference). They are computed from the same 16 kHz samples as musicnn's input.
"""

from __future__ import annotations

import numpy as np

from builder.music.audio import HOP, MEL_FILTERS, N_FFT, SR, power_spectrogram

NAMES = (
    "loudness_db",
    "loudness_sd",
    "centroid_khz",
    "centroid_sd",
    "rolloff_khz",
    "flux",
    "flux_sd",
    "zcr",
    "flatness",
    "tempo_bpm",
    "tempo_strength",
    "major",
    "minor",
    "major_minus_minor",
)

# Krumhansl & Kessler (1982) probe-tone profiles, tonic first
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _chroma_map() -> np.ndarray:
    freqs = np.linspace(0, SR / 2, 1 + N_FFT // 2)
    out = np.zeros((12, len(freqs)), np.float32)
    ok = (freqs >= 55.0) & (freqs <= 4000.0)
    pc = np.round(12 * np.log2(freqs[ok] / 440.0)).astype(int) % 12  # 0 = A
    out[(pc + 9) % 12, np.flatnonzero(ok)] = 1.0  # 0 = C
    return out


_CHROMA = _chroma_map()


def _key_strength(chroma: np.ndarray, profile: np.ndarray) -> float:
    c = chroma - chroma.mean()
    best = -1.0
    for k in range(12):
        p = np.roll(profile, k) - profile.mean()
        denom = np.linalg.norm(c) * np.linalg.norm(p)
        best = max(best, float(c @ p / denom) if denom > 0 else 0.0)
    return best


def _tempo(onset: np.ndarray) -> tuple[float, float]:
    fps = SR / HOP
    o = onset - onset.mean()
    if len(o) < 4 or not np.any(o):
        return 0.0, 0.0
    ac = np.correlate(o, o, mode="full")[len(o) - 1 :]
    ac = ac / ac[0]
    lags = np.arange(len(ac))
    bpm = np.where(lags > 0, 60.0 * fps / np.maximum(lags, 1), 0.0)
    band = (bpm >= 40) & (bpm <= 200)
    if not band.any():
        return 0.0, 0.0
    prior = np.exp(-0.5 * (np.log2(np.maximum(bpm, 1e-9) / 120.0)) ** 2)  # a mild preference for ~120 BPM
    score = np.where(band, ac * prior, -np.inf)
    lag = int(np.argmax(score))
    return float(bpm[lag]), float(ac[lag])


def classic_features(samples: np.ndarray, power: np.ndarray | None = None) -> np.ndarray:
    """The 14 features of NAMES for 16 kHz mono samples (power: their power spectrogram, if already made)."""
    power = power_spectrogram(samples) if power is None else power
    freqs = np.linspace(0, SR / 2, power.shape[1])
    total = power.sum(axis=1) + 1e-12
    rms_db = 10 * np.log10(power.mean(axis=1) * 2 / N_FFT + 1e-10)
    centroid = (power @ freqs) / total / 1000.0
    cum = np.cumsum(power, axis=1)
    rolloff = freqs[np.argmax(cum >= 0.85 * cum[:, -1:], axis=1)] / 1000.0
    mag = np.sqrt(power)
    norm = mag / (mag.sum(axis=1, keepdims=True) + 1e-12)
    flux = np.sqrt((np.diff(norm, axis=0) ** 2).sum(axis=1)) if len(norm) > 1 else np.zeros(1)
    flatness = np.exp(np.log(power + 1e-12).mean(axis=1)) / (power.mean(axis=1) + 1e-12)
    signs = np.signbit(samples)
    zcr = float(np.mean(signs[1:] != signs[:-1])) if len(samples) > 1 else 0.0
    mel = np.log10(10000.0 * (power @ MEL_FILTERS.T) + 1.0)
    onset = np.maximum(np.diff(mel, axis=0), 0).sum(axis=1) if len(mel) > 1 else np.zeros(1)
    tempo, strength = _tempo(onset)
    chroma = (power @ _CHROMA.T).mean(axis=0)
    major, minor = _key_strength(chroma, MAJOR), _key_strength(chroma, MINOR)
    return np.array(
        [
            rms_db.mean(),
            rms_db.std(),
            centroid.mean(),
            centroid.std(),
            rolloff.mean(),
            flux.mean(),
            flux.std(),
            zcr,
            flatness.mean(),
            tempo,
            strength,
            major,
            minor,
            major - minor,
        ],
        np.float64,
    )
