"""Which features each axis of the music feeling head should read: artist-grouped CV on labelled
music.

    python benchmarks/music_heads.py [--audio ../shared/eval/music-4q] [--cache-dir
    /work/cache-music] [--repeats 5]

Hears every labelled clip with both musicnn taggers (MTT and MSD) and the harmonic
features (builder.music.listen, cached: a second run only reads the cache), then, for each axis,
cross-validates a SMALL CANDIDATE LIST DECLARED HERE BEFORE ANY RESULT WAS SEEN: the feature set
shipped before (FORMER), the same plus the MSD tagger, plus the harmonic features, plus both; each
at three strengths C. The folds are those of `builder music evaluate` (5, grouped by artist); every
candidate is read on the same folds. Then the best candidate of each axis is put together and
compared with the former head: balanced quadrant agreement and each sign's accuracy, with 95 %
intervals from resampling artists, and the paired difference against the former head (same resampled
artists), which says whether a gain is more than the noise of which artists happen to be in the set.
`--repeats N` adds N other random artist-grouped 5-fold splits (seeded), so a gain that belongs to
one split shows; `--nested` makes the choice inside each fold, on its training clips only, which
measures the whole procedure without optimism.

The choice among candidates is made on this set, so the chosen figures carry some optimism (12
candidates an axis); the paired intervals and the repeats are the guard. Prints tables; writes
nothing but cache entries.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from common import mirror_option

from builder.assets import AssetStore
from builder.lab.metrics import sign_intervals
from builder.lab.music import LEARNED, deam_spread, fit_axis, fit_head, group_folds, read_labels
from builder.music import feeling as mf
from builder.music.feeling import MusicFeelingModel
from builder.music.listen import Listener
from builder.plane import quadrant_signs, quadrants

HERE = Path(__file__).resolve().parent.parent
MSD = np.concatenate([mf.MSD_TAGS, mf.MSD_EMBEDDING])
CS = (0.02, 0.05, 0.1)
# the head shipped before this choice (the baseline every candidate is compared with; LEARNED of
# builder.lab.music is now the chosen one)
FORMER = {
    "valence": (np.concatenate([mf.TAGS, mf.EMBEDDING, mf.CLASSIC]), 0.05),
    "arousal": (np.concatenate([mf.TAGS, mf.CLASSIC]), 0.1),
}
# the candidate list, per axis: name -> columns (declared before the first run; see the module
# docstring)
SETS = {
    "valence": {
        "former (MTT tags+emb, classic)": FORMER["valence"][0],
        "+ MSD tags+emb": np.concatenate([FORMER["valence"][0], MSD]),
        "+ harmonic": np.concatenate([FORMER["valence"][0], mf.HARMONIC]),
        "+ MSD + harmonic": np.concatenate([FORMER["valence"][0], MSD, mf.HARMONIC]),
    },
    "arousal": {
        "former (MTT tags, classic)": FORMER["arousal"][0],
        "+ MSD tags": np.concatenate([FORMER["arousal"][0], mf.MSD_TAGS]),
        "+ harmonic": np.concatenate([FORMER["arousal"][0], mf.HARMONIC]),
        "+ MSD tags + harmonic": np.concatenate([FORMER["arousal"][0], mf.MSD_TAGS, mf.HARMONIC]),
    },
}


def random_group_folds(groups: np.ndarray, folds: int, seed: int) -> list[np.ndarray]:
    """Another artist-grouped split: artists shuffled (seeded), then dealt to folds in turn."""
    artists = np.unique(groups)
    order = np.random.default_rng(seed).permutation(len(artists))
    fold_of_artist = {artists[a]: i % folds for i, a in enumerate(order)}
    fold = np.array([fold_of_artist[g] for g in groups])
    return [np.flatnonzero(fold == i) for i in range(folds)]


def oof_probability(x, positive, columns, c, splits) -> np.ndarray:
    out = np.zeros(len(x))
    for test in splits:
        train = np.setdiff1d(np.arange(len(x)), test)
        out[test] = fit_axis(x[train], positive[train], columns, c).probability(x[test])
    return out


def oof_head(x, q, spec, splits, spread) -> np.ndarray:
    """Out-of-fold valence/arousal of a whole head (as `builder music evaluate` cross-validates
    it)."""
    va = np.zeros((len(q), 2))
    for test in splits:
        train = np.setdiff1d(np.arange(len(q)), test)
        va[test] = fit_head(x[train], q[train], spec, spread).predict(x[test])[0]
    return va


def balanced(true_q, pred_q) -> float:
    return float(
        np.mean([np.mean(pred_q[true_q == k] == k) for k in (1, 2, 3, 4) if (true_q == k).any()])
    )


def paired(true_q, a_q, b_q, artists, draws=1000, seed=0) -> dict[str, tuple[float, float, float]]:
    """(difference, 2.5 %, 97.5 %) of b minus a, artists resampled together for both."""
    _, index = np.unique(artists, return_inverse=True)
    k = index.max() + 1
    w = (
        np.random.default_rng(seed)
        .multinomial(k, np.full(k, 1 / k), size=draws)[:, index]
        .astype(np.float64)
    )
    tv, ta = quadrant_signs(true_q)
    out = {}
    for name, f in (
        ("val sign", lambda p: quadrant_signs(p)[0] == tv),
        ("aro sign", lambda p: quadrant_signs(p)[1] == ta),
    ):
        da, db = f(a_q).astype(float), f(b_q).astype(float)
        diffs = (w @ db - w @ da) / w.sum(axis=1)
        out[name] = (float(db.mean() - da.mean()), *np.percentile(diffs, [2.5, 97.5]))

    def bal(p):
        rec = []
        for q in (1, 2, 3, 4):
            total = w @ (true_q == q)
            rec.append(w @ ((true_q == q) & (p == q)) / np.maximum(total, 1))
        return np.mean(rec, axis=0)

    out["balanced"] = (
        balanced(true_q, b_q) - balanced(true_q, a_q),
        *np.percentile(bal(b_q) - bal(a_q), [2.5, 97.5]),
    )
    return out


def choose(x, q, groups, folds) -> dict:
    """The best candidate of each axis by out-of-fold sign accuracy over artist-grouped folds of
    these clips."""
    splits = group_folds(groups, folds)
    spec = {}
    for axis, col in (("valence", 0), ("arousal", 1)):
        positive = quadrant_signs(q)[col]
        scores = {
            (name, c): float(
                np.mean((oof_probability(x, positive, columns, c, splits) >= 0.5) == positive)
            )
            for name, columns in SETS[axis].items()
            for c in CS
        }
        (name, c), _ = max(scores.items(), key=lambda kv: kv[1])
        spec[axis] = (SETS[axis][name], c, name)
    return spec


def nested(x, q, artists, splits, spread, shipped_q) -> None:
    """The whole procedure (choose per axis, then fit) repeated inside each outer fold, on its
    training clips only (4 inner folds by artist): the outer test clips never took part in the
    choice."""
    va = np.zeros((len(q), 2))
    print("\nnested: the choice made inside each outer fold (4 inner folds by artist)")
    for i, test in enumerate(splits):
        train = np.setdiff1d(np.arange(len(q)), test)
        spec = choose(x[train], q[train], artists[train], 4)
        print(
            f"  fold {i + 1}: "
            + "; ".join(f"{axis} {spec[axis][2]}, C = {spec[axis][1]}" for axis in spec)
        )
        head = fit_head(x[train], q[train], {a: spec[a][:2] for a in spec}, spread)
        va[test] = head.predict(x[test])[0]
    pq = quadrants(va)
    tv, ta = quadrant_signs(q)
    vs, as_ = (100 * np.mean(quadrant_signs(pq)[k] == t) for k, t in ((0, tv), (1, ta)))
    print(
        f"  nested           balanced {100 * balanced(q, pq):5.1f}%  val sign {vs:5.1f}%  aro sign "
        f"{as_:5.1f}%"
    )
    d = paired(q, shipped_q, pq, artists)
    print(
        "  nested minus former, paired: "
        + "  ".join(
            f"{k} {100 * v[0]:+.1f} pts ({100 * v[1]:+.1f} to {100 * v[2]:+.1f})"
            for k, v in d.items()
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mirror_option(ap)
    ap.add_argument("--audio", type=Path, default=HERE.parent / "shared/eval/music-4q")
    ap.add_argument("--labels", type=Path, default=None, help="default: AUDIO/annotations.csv")
    ap.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "builder")
    ap.add_argument(
        "--repeats", type=int, default=5, help="other random artist-grouped splits to check on"
    )
    ap.add_argument(
        "--nested",
        action="store_true",
        help="also choose the candidates inside each fold (no selection optimism)",
    )
    args = ap.parse_args()
    store = AssetStore(args.cache_dir, args.mirror, offline=True)
    listener = Listener(store, args.cache_dir, msd=True)
    lab = read_labels(args.labels or args.audio / "annotations.csv", args.audio)
    heard = []
    for i, f in enumerate(lab.files):
        heard.append(listener.hear(args.audio / f)[0])
        if (i + 1) % 50 == 0:
            print(f"heard {i + 1} of {len(lab.files)}", file=sys.stderr, flush=True)
    x = np.array([MusicFeelingModel.features_of(h) for h in heard])
    q = lab.quadrants
    artists = np.array(lab.artists)
    spread = deam_spread(store)
    splits = group_folds(artists, 5)
    print(
        f"{len(q)} clips, {len(set(lab.artists))} artists; 5 folds grouped by artist (builder "
        "music evaluate's)"
    )

    best = {}
    for axis, col in (("valence", 0), ("arousal", 1)):
        positive = quadrant_signs(q)[col]
        print(f"\n{axis}: sign accuracy, out of fold (C = {', '.join(map(str, CS))})")
        scores = {}
        for name, columns in SETS[axis].items():
            row = []
            for c in CS:
                p = oof_probability(x, positive, columns, c, splits)
                acc = float(np.mean((p >= 0.5) == positive))
                scores[(name, c)] = acc
                row.append(f"{100 * acc:5.1f}%")
            print(f"  {name:<34} {'  '.join(row)}")
        (name, c), acc = max(scores.items(), key=lambda kv: kv[1])
        best[axis] = (SETS[axis][name], c)
        print(f"  best: {name}, C = {c} ({100 * acc:.1f} %)")

    shipped = FORMER
    rows = {"former head": FORMER, "chosen per axis": best, "shipped (LEARNED)": LEARNED}
    print("\nwhole heads, 5-fold CV by artist (95 % intervals: artists resampled, 1000 draws)")
    preds = {}
    for name, spec in rows.items():
        va = oof_head(x, q, spec, splits, spread)
        pq = quadrants(va)
        preds[name] = pq
        tv, ta = quadrant_signs(q)
        pv, pa = quadrant_signs(pq)
        iv = sign_intervals(q, pq, artists)
        print(
            f"  {name:<18} balanced {100 * balanced(q, pq):5.1f}% "
            f"({100 * iv['balanced_agreement'][0]:.1f}-"
            f"{100 * iv['balanced_agreement'][1]:.1f})  val sign {100 * np.mean(tv == pv):5.1f}% "
            f"({100 * iv['valence_sign_accuracy'][0]:.1f}-"
            f"{100 * iv['valence_sign_accuracy'][1]:.1f})  "
            f"aro sign {100 * np.mean(ta == pa):5.1f}% ({100 * iv['arousal_sign_accuracy'][0]:.1f}-"
            f"{100 * iv['arousal_sign_accuracy'][1]:.1f})"
        )
    d = paired(q, preds["former head"], preds["chosen per axis"], artists)
    print(
        "  chosen minus former, paired: "
        + "  ".join(
            f"{k} {100 * v[0]:+.1f} pts ({100 * v[1]:+.1f} to {100 * v[2]:+.1f})"
            for k, v in d.items()
        )
    )
    if args.nested:
        nested(x, q, artists, splits, spread, preds["former head"])
    if args.repeats:
        print(
            f"\n{args.repeats} other random artist-grouped 5-fold splits (seeds 1-{args.repeats}): "
            "former -> chosen"
        )
        for seed in range(1, args.repeats + 1):
            other = random_group_folds(artists, 5, seed)
            a = quadrants(oof_head(x, q, shipped, other, spread))
            b = quadrants(oof_head(x, q, best, other, spread))
            tv = quadrant_signs(q)[0]
            va, vb = (100 * np.mean(quadrant_signs(p)[0] == tv) for p in (a, b))
            print(
                f"  seed {seed}: balanced {100 * balanced(q, a):5.1f}% -> "
                f"{100 * balanced(q, b):5.1f}%   "
                f"val sign {va:5.1f}% -> {vb:5.1f}%"
            )


if __name__ == "__main__":
    main()
