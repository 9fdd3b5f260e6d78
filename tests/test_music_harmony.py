"""The harmonic features, the listener's version-2 cache (MSD tagger heard only when asked), and a
head whose axes read different feature sets."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from .audio_fixtures import tone, write_audio
from .conftest import MIRROR, requires_import, requires_mirror

SR = 16000
C4, E4, EB4, G4 = 261.63, 329.63, 311.13, 392.0


def chord(freqs, seconds=4.0, seed=0):
    """Notes with two harmonics each and a little noise, as an instrument would sound them."""
    t = np.arange(int(seconds * SR)) / SR
    x = sum(
        np.sin(2 * np.pi * f * t)
        + 0.4 * np.sin(4 * np.pi * f * t)
        + 0.2 * np.sin(6 * np.pi * f * t)
        for f in freqs
    )
    x = x + 0.05 * np.random.default_rng(seed).standard_normal(len(t))
    return (0.2 * x / np.abs(x).max()).astype(np.float32)


def named(values):
    from builder.music.audiofeatures import HARMONIC_NAMES

    assert len(values) == len(HARMONIC_NAMES)
    return dict(zip(HARMONIC_NAMES, values))


def test_a_major_chord_reads_major_and_a_minor_chord_minor():
    from builder.music.audiofeatures import harmonic_features

    major = named(harmonic_features(chord([C4, E4, G4])))
    minor = named(harmonic_features(chord([C4, EB4, G4])))
    assert major["mode"] > 0.1 and major["mode_frames"] > 0.1
    assert minor["mode"] < -0.1 and minor["mode_frames"] < -0.1
    # the chords are tonal, and differ only in the third: E against E flat
    assert major["key_clarity"] > 0.5 and minor["key_clarity"] > 0.5
    assert major["chroma_E"] > major["chroma_D#"] and minor["chroma_D#"] > minor["chroma_E"]


def test_a_pure_a_tone_puts_the_chroma_on_a():
    from builder.music.audiofeatures import HARMONIC_NAMES, harmonic_features

    t = np.arange(3 * SR) / SR
    f = named(harmonic_features((0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)))
    chroma = [f[n] for n in HARMONIC_NAMES[:12]]
    assert int(np.argmax(chroma)) == 9 and f["chroma_A"] > 0.5  # C = 0 ... A = 9
    assert abs(sum(chroma) - 1) < 1e-6
    assert f["harmonic_change"] < 0.01  # one steady note: the tonal centroid does not move


def test_a_chord_change_moves_the_tonal_centroid_and_silence_reads_zero():
    from builder.music.audiofeatures import harmonic_features

    c_major, f_sharp_major = [C4, E4, G4], [185.0, 233.08, 277.18]
    steady = named(
        harmonic_features(np.concatenate([chord(c_major, 0.5, seed=i) for i in range(8)]))
    )
    moving = named(
        harmonic_features(
            np.concatenate([chord((c_major, f_sharp_major)[i % 2], 0.5) for i in range(8)])
        )
    )
    assert moving["harmonic_change"] > 2 * steady["harmonic_change"]
    assert not np.any(harmonic_features(np.zeros(2 * SR, np.float32)))


def _heard(**over):
    from builder.music.listen import Heard

    base = dict(
        sha256="ab" * 32,
        duration_s=3.0,
        windows=1,
        tag_probs=tuple(np.linspace(0, 1, 50)),
        embedding=tuple(np.linspace(-1, 1, 200)),
        classic=tuple(range(14)),
        top_tags=("a",),
        harmonic=tuple(np.linspace(0, 0.5, 23)),
    )
    return Heard(**{**base, **over})


def test_the_feature_vector_marks_an_unheard_msd_part_as_missing():
    from builder.music.feeling import (
        HARMONIC,
        MSD_EMBEDDING,
        MSD_TAGS,
        N_FEATURES,
        MusicFeelingModel,
    )

    without = MusicFeelingModel.features_of(_heard())
    assert without.shape == (N_FEATURES,)
    assert np.isnan(without[MSD_TAGS]).all() and np.isnan(without[MSD_EMBEDDING]).all()
    assert (
        np.allclose(without[HARMONIC], np.linspace(0, 0.5, 23)) and np.isfinite(without[:264]).all()
    )
    heard = _heard(msd_probs=tuple(np.full(50, 0.3)), msd_embedding=tuple(np.full(200, -0.2)))
    full = MusicFeelingModel.features_of(heard)
    assert np.allclose(full[MSD_TAGS], 0.3) and np.allclose(full[MSD_EMBEDDING], -0.2)


def test_a_head_fitted_per_axis_saves_loads_predicts_and_says_whether_it_needs_the_msd_tagger(
    tmp_path,
):
    from builder.lab.music import BASELINE, fit_head
    from builder.music import feeling as mf

    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, mf.N_FEATURES))
    # valence lives in the MSD tags, arousal in the classic features: each axis must read its own
    # columns
    v = x[:, mf.MSD_TAGS[:3]].sum(axis=1) > 0
    a = x[:, mf.CLASSIC[:2]].sum(axis=1) > 0
    q = np.where(v, np.where(a, 1, 4), np.where(a, 2, 3))
    spec = {"valence": (np.concatenate([mf.TAGS, mf.MSD_TAGS]), 1.0), "arousal": (mf.CLASSIC, 1.0)}
    learned = fit_head(x, q, spec, (0.2, 0.25))
    model = mf.MusicFeelingModel(learned, fit_head(x, q, BASELINE, (0.2, 0.25)), {"n": "120"})
    assert model.needs_msd
    model.save(tmp_path / "m.npz")
    back = mf.MusicFeelingModel.load(tmp_path / "m.npz")
    assert back.needs_msd and back.meta == {"n": "120"}
    va, conf = back.predict(x)
    assert np.allclose(va, model.predict(x)[0]) and np.isfinite(conf).all()
    assert np.mean((va[:, 0] >= 0) == v) > 0.9 and np.mean((va[:, 1] >= 0) == a) > 0.9
    # an MTT-only head predicts from a vector whose MSD part was never heard (NaN there)
    mtt_spec = {
        "valence": (np.concatenate([mf.TAGS, mf.EMBEDDING, mf.HARMONIC]), 0.05),
        "arousal": (mf.TAGS, 0.1),
    }
    assert not mf.spec_needs_msd(mtt_spec) and mf.spec_needs_msd(spec)
    mtt_only = fit_head(x, q, mtt_spec, (0.2, 0.25))
    no_msd = x.copy()
    no_msd[:, mf.MSD_TAGS] = np.nan
    no_msd[:, mf.MSD_EMBEDDING] = np.nan
    assert not mf.MusicFeelingModel(mtt_only, mtt_only).needs_msd
    assert np.isfinite(mtt_only.predict(no_msd)[0]).all()


@requires_mirror
@requires_import("openvino", "av", "soxr")
@pytest.mark.slow
def test_the_version_2_cache_neither_misreads_old_entries_nor_skips_the_msd_tagger(tmp_path):
    from builder.assets import AssetStore
    from builder.music.listen import LISTEN_VERSION, Listener

    song = write_audio(tmp_path / "song.wav", tone(4, freq=330, beat_hz=2), rate=16000)
    cache = tmp_path / "cache"
    store = AssetStore(cache, MIRROR, offline=True)
    plain = Listener(store, cache, msd=False)
    assert LISTEN_VERSION >= 2 and plain.cache.name == f"musicnn-v{LISTEN_VERSION}"
    # a version-1 entry (MTT only, the former folder) is not read by version 2, which listens afresh
    old_dir = cache / "music" / "musicnn-mtt-v1"
    heard, was_cached = plain.hear(song)
    old_dir.mkdir(parents=True)
    old = {
        k: v for k, v in orjson.loads((plain.cache / f"{heard.sha256}.json").read_bytes()).items()
    }
    for key in ("harmonic", "msd_probs", "msd_embedding"):
        old.pop(key)
    (old_dir / f"{heard.sha256}.json").write_bytes(orjson.dumps(old))
    assert not was_cached and len(heard.harmonic) == 23 and heard.msd_probs == ()
    # the same version-1 entry put where version 2 looks is refused and recomputed, never served
    (plain.cache / f"{heard.sha256}.json").write_bytes(orjson.dumps(old))
    again, was_cached = plain.hear(song)
    assert not was_cached and again == heard
    assert plain.hear(song) == (heard, True)
    # a listener that needs the MSD tagger does not take the MTT-only entry: it listens again, and
    # keeps both
    both = Listener(store, cache, msd=True)
    full, was_cached = both.hear(song)
    assert not was_cached and len(full.msd_probs) == 50 and len(full.msd_embedding) == 200
    assert np.allclose(full.tag_probs, heard.tag_probs) and full.harmonic == heard.harmonic
    assert both.hear(song) == (full, True)
    assert plain.hear(song) == (
        full,
        True,
    )  # an entry with more than asked serves a plain listener too


@requires_mirror
def test_the_shipped_head_reads_per_axis_what_its_spec_says_and_the_listener_hears_it(tmp_path):
    from builder.assets import AssetStore
    from builder.lab.music import LEARNED
    from builder.music import feeling as mf
    from builder.music.listen import Listener

    model = mf.MusicFeelingModel.load()
    for axis in ("valence", "arousal"):
        assert np.array_equal(getattr(model.learned, axis).columns, LEARNED[axis][0]), axis
    assert model.needs_msd == mf.spec_needs_msd(LEARNED)
    assert Listener(AssetStore(tmp_path, MIRROR, offline=True), tmp_path).msd == model.needs_msd
    x = np.zeros((2, mf.N_FEATURES))
    x[1, mf.MSD_TAGS] = 1.0  # the clips differ only in what the MSD tagger heard
    va, conf = model.predict(x)
    assert np.isfinite(va).all() and np.isfinite(conf).all()
    assert va[0, 0] != va[1, 0]  # valence listens to the MSD tags
