"""Which quadrant decision, judged on every rated set at once (benchmarks/README.md tells when).

    python benchmarks/decision.py [--mirror ../shared/mirror] [--cache-dir ~/.cache/gallery-builder]
        [--gaped-weight 1,2] [--json F]

Reads oasis-dev (1-7, midpoint 4), Emotion6 (1-9, midpoint 5) and gaped-dev (0-100, midpoint 50)
through the learned method (from the analysis cache), trains as the shipped model is trained
(oasis-dev both axes, Emotion6 and GAPED valence only, each set weighing the same) and reads every
photo out of fold: 5 folds over all three sets at once, grouped by OASIS theme, Emotion6 photo and
GAPED category, as `builder fit` reads them to draw the quadrant lines. Each candidate decision is
then judged as a build would use it: for each fold, the decision is fitted on the other folds'
readings of every set (the rule chosen there too, by `choose_origin`) and applied to this fold's
readings. Cells: balanced agreement / smallest per-quadrant recall / r valence / r arousal, then the
recalls of quadrants 1-4 (%), each set by its own people's quadrants, and the valence sign agreement
(the share of photos on people's side of the valence line: the third lab's second target).

The candidates, fixed before any was run:

- arousal sets: the lines drawn and scored on the sets whose arousal trains (oasis-dev alone; the
  rule shipped before);
- every set: drawn and scored on every set by its own quadrants, each set weighing the same (the
  shipped rule);
- 4-class head: a logistic regression on the two readings (each set and each quadrant weighing the
  same), fitted on every set; it can draw bent lines, so a picture's quadrant could disagree with
  the signs of its reading;
- GAPED valence x W (--gaped-weight): GAPED's valence weighing W times another set's in the fit,
  every set.

The candidates were chosen among on these dev sets, so the winner's figures carry optimism.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from common import cache_option, mirror_option

from builder import plane
from builder.files import tune_allocator
from builder.lab import fitting
from builder.lab.ratings import read_offline, read_rated_set

HERE = Path(__file__).resolve().parent.parent
SETS = (
    ("oasis-dev", "1-7:4", True),
    ("emotion6", "1-9:5", False),
    ("gaped-dev", "0-100:50", False),
)
SHOWN = ("oasis-dev", "gaped-dev", "emotion6")


def head_quadrants(train_p, train_y, train_sets, test_p) -> np.ndarray:
    """A 4-class head on the two readings: each set and, within it, each quadrant weighing the
    same."""
    from sklearn.linear_model import LogisticRegression

    q = plane.quadrants(train_y)
    w = np.ones(len(q))
    for k in np.unique(train_sets):
        for c in (1, 2, 3, 4):
            m = (train_sets == k) & (q == c)
            w[m] = 1.0 / max(m.sum(), 1)
    clf = LogisticRegression(max_iter=2000).fit(train_p, q, sample_weight=w * len(w) / w.sum())
    return clf.predict(test_p)


def judged(oof, folds, y, sets, trained, decide) -> tuple[np.ndarray, np.ndarray]:
    """Each fold's quadrants by the decision fitted on the other folds (its rule chosen there too),
    and whether each photo's valence reading lies on people's side of the valence line (for a
    4-class head: whether its quadrant is on people's side of valence)."""
    quads = np.zeros(len(y), dtype=int)
    for k in np.unique(folds):
        here, other = folds == k, folds != k
        if decide == "4-class head":
            quads[here] = head_quadrants(oof[other], y[other], sets[other], oof[here])
            continue
        _, o, _ = fitting.choose_origin(
            oof[other], y[other], folds[other], sets[other], trained[other], decide
        )
        quads[here] = plane.quadrants(oof[here] - o)
    pleasant = np.isin(quads, (1, 4))
    return quads, pleasant == (y[:, 0] >= 0)


def cells(oof, quads, sign, y, sets, names) -> dict[str, dict]:
    people = plane.quadrants(y)
    out = {}
    for name in SHOWN:
        m = sets == names.index(name)
        r = [
            float(np.mean(quads[m & (people == q)] == q)) if (m & (people == q)).any() else None
            for q in (1, 2, 3, 4)
        ]
        used = [x for x in r if x is not None]
        out[name] = {
            "balanced": float(np.mean(used)),
            "smallest": float(min(used)),
            "r_valence": float(np.corrcoef(oof[m, 0], y[m, 0])[0, 1]),
            "r_arousal": float(np.corrcoef(oof[m, 1], y[m, 1])[0, 1]),
            "recalls": r,
            "valence_sign_agreement": float(np.mean(sign[m])),
        }
    return out


def paired(people, base_q, quads, groups, draws: int = 1000) -> list[float]:
    """95 % interval of (balanced agreement of quads) - (of base_q) over draws of the groups with
    replacement, both read on the same draws: how far the difference could move on another draw of
    such photos."""
    _, index = np.unique(groups, return_inverse=True)
    n = index.max() + 1
    w = (
        np.random.default_rng(0)
        .multinomial(n, np.full(n, 1 / n), size=draws)[:, index]
        .astype(float)
    )

    def bal(q):
        per = []
        for c in (1, 2, 3, 4):
            if (people == c).any():
                total = w @ (people == c)
                per.append(
                    np.where(
                        total > 0, w @ ((people == c) & (q == c)) / np.maximum(total, 1), np.nan
                    )
                )
        return np.nanmean(np.stack(per), axis=0)

    return [round(float(x), 3) for x in np.nanpercentile(bal(quads) - bal(base_q), [2.5, 97.5])]


def text(c: dict) -> str:
    rec = " ".join("-" if x is None else f"{100 * x:.0f}" for x in c["recalls"])
    head = f"{c['balanced']:.3f}/{c['smallest']:.2f}/{c['r_valence']:.2f}/{c['r_arousal']:.2f}"
    return f"{head} ({rec}) sign {c['valence_sign_agreement']:.2f}"


def parser(doc: str | None) -> argparse.ArgumentParser:
    """The options every benchmark over the three rated sets takes: where the mirror, the cache and
    the sets are."""
    ap = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mirror_option(ap)
    cache_option(ap)
    ap.add_argument(
        "--eval",
        type=Path,
        default=HERE.parent / "shared/eval",
        help="the folder of the rated sets",
    )
    ap.add_argument("--json", type=Path, help="also write every cell as JSON")
    return ap


@dataclass
class ThreeSets:
    """oasis-dev, Emotion6 and gaped-dev read as `builder fit --set` reads them, one row per
    photo."""

    ings: list
    y: np.ndarray  # ratings on [-1, 1]
    groups: np.ndarray  # fold groups: "set:theme" (OASIS theme, Emotion6 photo, GAPED category)
    sets: np.ndarray  # which set (index into names)
    arousal: np.ndarray  # whether the photo's arousal rating trains, as shipped
    names: list[str]
    files: list[str]
    ctx: object  # the Context of the last set (its tables, scene labels and lexicons)

    @property
    def trained(self) -> np.ndarray:
        return np.c_[np.ones(len(self.y), bool), self.arousal]


def read_three(args: argparse.Namespace) -> ThreeSets:
    ings, ys, groups, set_ids, arousal, names, files = [], [], [], [], [], [], []
    ctx = None
    for k, (name, scale, aro) in enumerate(SETS):
        rated = read_rated_set(f"{args.eval / name}:{scale}")
        ctx, readings = read_offline(
            rated.images, rated.ratings.images, args.mirror, args.cache_dir
        )
        ings += [r.ingredients for r in readings]
        ys.append(rated.ratings.va)
        groups += [f"{k}:{g}" for g in fitting.theme_groups(rated.ratings.themes)]
        set_ids += [k] * len(rated.ratings.images)
        arousal += [aro] * len(rated.ratings.images)
        files += [str(rated.images / f) for f in rated.ratings.images]
        names.append(name)
    return ThreeSets(
        ings,
        np.vstack(ys),
        np.array(groups),
        np.array(set_ids),
        np.array(arousal),
        names,
        files,
        ctx,
    )


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument(
        "--gaped-weight",
        default="2",
        help="comma-separated weights of GAPED's valence to try (besides 1)",
    )
    args = ap.parse_args()
    tune_allocator()

    data = read_three(args)
    ings, y, groups, sets, arousal, names = (
        data.ings,
        data.y,
        data.groups,
        data.sets,
        data.arousal,
        data.names,
    )
    tables, trained = data.ctx.feeling.tables, data.trained

    def readings(gaped_weight: float):
        if gaped_weight == 1.0:
            return fitting.out_of_fold(ings, y, groups, tables, arousal_rows=arousal, sets=sets)
        plain = fitting.set_weights

        def heavier(
            s, rows
        ):  # GAPED's photos weigh gaped_weight times another set's, the mean weight still 1
            w = plain(s, rows)
            if w is None:
                return None
            w = w * np.where(s[rows] == names.index("gaped-dev"), gaped_weight, 1.0)
            return w * len(w) / w.sum()

        fitting.set_weights = heavier
        try:
            return fitting.out_of_fold(ings, y, groups, tables, arousal_rows=arousal, sets=sets)
        finally:
            fitting.set_weights = plain

    out = {}
    print(f"| decision | {' | '.join(SHOWN)} |\n|---|{'---|' * len(SHOWN)}", flush=True)
    oof, folds = readings(1.0)
    rows = [("arousal sets", oof, "arousal sets"), ("every set", oof, "every set")]
    rows.append(("4-class head", oof, "4-class head"))
    for w in [float(x) for x in args.gaped_weight.split(",") if x]:
        rows.append((f"GAPED valence x{w:g}, every set", readings(w)[0], "every set"))
    people, base = plane.quadrants(y), None
    for label, pred, decide in rows:
        quads, sign = judged(pred, folds, y, sets, trained, decide)
        out[label] = cells(pred, quads, sign, y, sets, names)
        base = quads if base is None else base
        for name in SHOWN:
            m = sets == names.index(name)
            out[label][name]["difference_95"] = paired(people[m], base[m], quads[m], groups[m])
        print(f"| {label} | {' | '.join(text(out[label][n]) for n in SHOWN)} |", flush=True)
    print(
        "\n95 % intervals of each row's balanced agreement minus the arousal sets' (groups "
        "resampled, 1000 draws):"
    )
    for label in out:
        print(f"{label}: " + "  ".join(f"{n} {out[label][n]['difference_95']}" for n in SHOWN))
    if args.json:
        import orjson

        args.json.write_bytes(orjson.dumps(out, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
