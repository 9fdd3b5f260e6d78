"""Which backbone, which words, which training data: the measurements behind the shipped feeling
model.

    python benchmarks/backbones.py [--mirror ../shared/mirror] [--cache-dir
        ~/.cache/gallery-builder] [--json F] [--specs "both 128 mean words,..."]

Reads oasis-dev (OASIS, 1-7, midpoint 4), Emotion6 (1-9, midpoint 5) and gaped-dev (GAPED, 0-100,
midpoint 50) through the builder's learned method (cold, that is 2725 photos and about 10 minutes on
2 quiet cores; the analysis cache keeps them), maps them to [-1, 1] around their midpoints, and fits
builder.picture.feeling's model with each feature spec:

- mnv2 / lite2 / both: the backbones whose pooled features are reduced by PCA (32 to 192
  components);
- the word ratings read the labels of MobileNetV2, of EfficientNet-Lite2, their mean, or none
  (colour only).

Columns of the features table (balanced quadrant agreement / Pearson r valence / r arousal; quadrant
origin at the mean out-of-fold reading of the training photos, as `builder fit` draws it without the
tested photos):

- OASIS CV, E6 CV, GAPED CV: 5 folds grouped by OASIS theme, Emotion6 photo, GAPED category (six
  categories: each fold tests one or two whole categories: near-duplicate spiders never sit on both
  sides), one set alone;
- A->B: fit on set A, test on set B: the honest proxy for another lab's photos; "others->B": fit on
  the two other sets (both axes, each set weighing alike);
- OASIS CV +E6, +E6 v: the OASIS folds with all of Emotion6 in training (both axes, or valence
  only).

The first table printed (the --chosen spec) says which sets train which axis: each row a training
mix, each column a tested set read out of fold (its folds as above, the rest of the mix in every
fold's training) or, where the mix leaves it out, by the mix fitted whole; cells are balanced /
smallest per-quadrant recall / r valence / r arousal. The last table gives each quadrant origin
rule's balanced agreement / smallest recall for the features table's columns.
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path

import numpy as np
from common import cache_option, mirror_option

from builder import plane
from builder.files import tune_allocator
from builder.lab import fitting
from builder.lab.metrics import metrics
from builder.lab.ratings import read_offline, read_rated_set
from builder.picture import feeling
from builder.picture.feeling import Spec

HERE = Path(__file__).resolve().parent.parent

SPECS = {
    "mnv2 32 (before)": Spec(("mobilenet_v2",), "mobilenet_v2", 32),
    "mnv2 64": Spec(("mobilenet_v2",), "mobilenet_v2", 64),
    "lite2 64": Spec(("efficientnet_lite2",), "efficientnet_lite2", 64),
    "lite2 64 no words": Spec(("efficientnet_lite2",), "none", 64),
    "both 64 mnv2 words": Spec(feeling.BACKBONES, "mobilenet_v2", 64),
    "both 64 mean words": Spec(feeling.BACKBONES, "mean", 64),
    "both 64 no words": Spec(feeling.BACKBONES, "none", 64),
    "both 32 mean words": Spec(feeling.BACKBONES, "mean", 32),
    "both 96 mean words": Spec(feeling.BACKBONES, "mean", 96),
    "both 128 mean words": Spec(feeling.BACKBONES, "mean", 128),
    "both 192 mean words": Spec(feeling.BACKBONES, "mean", 192),
}


def cell(pred, quads, y, smallest: bool = False) -> tuple[str, dict]:
    m = metrics(plane.quadrants(y), quads, pred, y)
    low = f"/{min(x for x in m['per_quadrant_agreement'] if x is not None):.2f}" if smallest else ""
    return f"{m['balanced_agreement']:.3f}{low}/{m['r_valence']:.2f}/{m['r_arousal']:.2f}", m


COLS = [
    "OASIS CV",
    "E6 CV",
    "GAPED CV",
    "E6->OASIS",
    "OASIS->E6",
    "OASIS->GAPED",
    "GAPED->OASIS",
    "E6->GAPED",
    "others->OASIS",
    "others->E6",
    "others->GAPED",
    "OASIS CV +E6",
    "OASIS CV +E6 v",
]
# training mixes of the second table: (set, whether its arousal trains)
MIXES = {
    "OASIS": (("OASIS", True),),
    "OASIS + E6 v (before)": (("OASIS", True), ("E6", False)),
    "OASIS + GAPED": (("OASIS", True), ("GAPED", True)),
    "OASIS + GAPED v": (("OASIS", True), ("GAPED", False)),
    "OASIS + E6 v + GAPED": (("OASIS", True), ("E6", False), ("GAPED", True)),
    "OASIS + E6 v + GAPED v": (("OASIS", True), ("E6", False), ("GAPED", False)),
}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mirror_option(ap)
    cache_option(ap)
    ap.add_argument("--oasis", type=Path, default=HERE.parent / "shared/eval/oasis-dev")
    ap.add_argument("--emotion6", type=Path, default=HERE.parent / "shared/eval/emotion6")
    ap.add_argument("--gaped", type=Path, default=HERE.parent / "shared/eval/gaped-dev")
    ap.add_argument(
        "--specs", default=",".join(SPECS), help="comma-separated rows of the features table"
    )
    ap.add_argument(
        "--mixes", default=",".join(MIXES), help="comma-separated rows of the training-sets table"
    )
    ap.add_argument(
        "--chosen", default="both 128 mean words", help="the spec of the second and third tables"
    )
    ap.add_argument("--json", type=Path, help="also write every cell's metrics as JSON")
    args = ap.parse_args()
    tune_allocator()

    def rated(spec: str):  # as `builder fit --set` reads a rated set
        rated_set = read_rated_set(spec)
        ctx, readings = read_offline(
            rated_set.images, rated_set.ratings.images, args.mirror, args.cache_dir
        )
        return ctx, rated_set.ratings, [x.ingredients for x in readings]

    octx, o, o_ing = rated(f"{args.oasis}:1-7:4")
    _, e, e_ing = rated(f"{args.emotion6}:1-9:5")
    _, g, g_ing = rated(f"{args.gaped}:0-100:50")
    tables = octx.feeling.tables
    data = {  # set -> (ingredients, ratings, fold groups)
        "OASIS": (o_ing, o.va, fitting.theme_groups(o.themes)),
        "E6": (e_ing, e.va, np.array(e.themes)),
        "GAPED": (g_ing, g.va, fitting.theme_groups(g.themes)),  # categories
    }

    def stack(mix):
        """One training pool of a mix: ingredients, ratings, groups, set ids, arousal rows."""
        ings, ys, groups, sets, arousal = [], [], [], [], []
        for k, (name, aro) in enumerate(mix):
            i, y, gr = data[name]
            ings += i
            ys.append(y)
            groups += [f"{k}:{x}" for x in gr]
            sets += [k] * len(i)
            arousal += [aro] * len(i)
        return ings, np.vstack(ys), np.array(groups), np.array(sets), np.array(arousal)

    @functools.cache  # the tables share many of these (each is five fits)
    def cv(spec, tested: str, mix=(), arousal_trains: bool = True):
        """Out-of-fold readings of `tested` with the mix in every fold's training; folds.
        arousal_trains: whether the tested set's own arousal ratings train (else its arousal is read
        by the mix's notion of it)."""
        ings, y, groups, sets, arousal = stack(((tested, arousal_trains), *mix))
        return fitting.out_of_fold(
            ings,
            y,
            groups,
            tables,
            spec=spec,
            arousal_rows=None if arousal.all() else arousal,
            sets=sets if len(mix) else None,
            tested=sets == 0,
        )

    @functools.cache
    def mix_oof(spec, mix):
        ings, y, groups, sets, arousal = stack(mix)
        rows, multi = None if arousal.all() else arousal, sets if len(mix) > 1 else None
        return fitting.out_of_fold(
            ings, y, groups, tables, spec=spec, arousal_rows=rows, sets=multi
        )[0]

    def cross(spec, mix, tested: str, train_oof=None):
        """Readings of `tested` by a model fitted on the whole mix, and the mix's out-of-fold
        readings (where the quadrant origin is drawn, as `builder fit` draws it), its ratings, set
        ids and trained axes."""
        ings, y, groups, sets, arousal = stack(mix)
        rows = None if arousal.all() else arousal
        multi = sets if len(mix) > 1 else None
        model = fitting.fit(ings, y, tables, spec=spec, arousal_rows=rows, sets=multi)
        if train_oof is None:
            train_oof = mix_oof(spec, mix)
        return model.predict(data[tested][0]), (
            train_oof,
            y,
            sets,
            np.c_[np.ones(len(y), bool), arousal],
        )

    def runs(spec):
        """Readings of every column: (column, readings, people, folds or None, (training readings,
        y, sets, trained axes) or None)."""
        alone = {name: cv(spec, name, (), True) for name in data}
        for name in data:
            yield f"{name} CV", alone[name][0], data[name][1], alone[name][1], None
        for a, b in (
            ("E6", "OASIS"),
            ("OASIS", "E6"),
            ("OASIS", "GAPED"),
            ("GAPED", "OASIS"),
            ("E6", "GAPED"),
        ):
            pred, train = cross(spec, ((a, True),), b, alone[a][0])
            yield f"{a}->{b}", pred, data[b][1], None, train
        for b in data:
            pred, train = cross(spec, tuple((a, True) for a in data if a != b), b)
            yield f"others->{b}", pred, data[b][1], None, train
        for col, aro in (("OASIS CV +E6", True), ("OASIS CV +E6 v", False)):
            pred, folds = cv(spec, "OASIS", (("E6", aro),), True)
            yield col, pred, o.va, folds, None

    def quads(rule, pred, y, folds, train):
        if folds is not None:  # origin from the other folds' readings
            return fitting.rule_quadrants(rule, pred, y, folds)
        return plane.quadrants(pred - fitting.origin(rule, *train))

    out: dict = {"features": {}, "training sets": {}, "origin rules": {}}
    spec = SPECS[args.chosen]
    tested_cols = ("OASIS", "GAPED")
    print(
        f"Training sets ({args.chosen}; balanced / smallest recall / r valence / r arousal; v: "
        "valence only; origin at the mean reading)\n"
    )
    print(f"| trained on | {' | '.join(tested_cols)} |\n|---|{'---|' * len(tested_cols)}")
    for mix_name in args.mixes.split(","):
        mix = MIXES[mix_name]
        cells = []
        for tested in tested_cols:
            names = [n for n, _ in mix]
            if tested in names:
                rest = tuple(m for m in mix if m[0] != tested)
                pred, folds = cv(spec, tested, rest, dict(mix)[tested])
                q = fitting.rule_quadrants("mean reading", pred, data[tested][1], folds)
            else:
                pred, train = cross(spec, mix, tested)
                q = quads("mean reading", pred, data[tested][1], None, train)
            text, m = cell(pred, q, data[tested][1], smallest=True)
            out["training sets"].setdefault(mix_name, {})[tested] = m
            cells.append(text)
        print(f"| {mix_name} | {' | '.join(cells)} |", flush=True)

    print()
    print(
        "Features (quadrant origin: the mean reading of the other folds, or of the training set's "
        "out-of-fold readings)\n"
    )
    chosen_runs = None
    for part in (COLS[:6], COLS[6:]):  # two tables of readable width
        print(f"| features | {' | '.join(part)} |\n|---|{'---|' * len(part)}")
        for name in args.specs.split(","):
            if name not in out["features"]:
                got = list(runs(SPECS[name]))
                if name == args.chosen:
                    chosen_runs = got
                row = {
                    col: cell(pred, quads("mean reading", pred, y, folds, tr), y)
                    for col, pred, y, folds, tr in got
                }
                out["features"][name] = row
            row = out["features"][name]
            print(f"| {name} | {' | '.join(row[c][0] for c in part)} |", flush=True)
        print()
    out["features"] = {n: {c: v[1] for c, v in row.items()} for n, row in out["features"].items()}

    print(
        f"Quadrant origin rules ({args.chosen}; balanced agreement / smallest per-quadrant recall, "
        "origins drawn without the tested photos)\n"
    )
    print(f"| rule | {' | '.join(COLS)} |\n|---|{'---|' * len(COLS)}")
    table = {rule: {} for rule in fitting.ORIGIN_RULES}
    for col, pred, y, folds, tr in chosen_runs or runs(spec):
        for rule in fitting.ORIGIN_RULES:
            table[rule][col] = cell(pred, quads(rule, pred, y, folds, tr), y, smallest=True)
    for rule, row in table.items():
        print(
            "| "
            + " | ".join(
                [rule, *("/".join(row[c][0].split("/")[:2]) if c in row else "-" for c in COLS)]
            )
            + " |"
        )
        out["origin rules"][rule] = {c: v[1] for c, v in row.items()}
    if args.json:
        import orjson

        args.json.write_bytes(orjson.dumps(out, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
