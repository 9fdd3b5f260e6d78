"""Which backbone, which words, which training data: the measurements behind the shipped feeling model.

    python benchmarks/backbones.py [--mirror ../shared/mirror] [--cache-dir ~/.cache/gallery-builder] [--json F]

Reads oasis-dev (OASIS, 1-7, midpoint 4) and Emotion6 (1-9, midpoint 5) through the builder's learned method
(cold, that is 2362 photos and about 8 minutes on 2 cores; the analysis cache keeps them), maps both to [-1, 1]
around their midpoints, and fits builder.picture.feeling's model with each feature spec:

- mnv2 / lite2 / both: the backbones whose pooled features are reduced by PCA (32 to 192 components);
- the word ratings read the labels of MobileNetV2, of EfficientNet-Lite2, their mean, or none (colour only).

Columns (balanced quadrant agreement / Pearson r valence / r arousal; quadrant origins fitted for balance on
out-of-fold readings of the training photos, as `builder fit` does):

- OASIS CV, E6 CV: 5 folds grouped by OASIS theme (Emotion6: by photo), one set alone;
- E6->OASIS, OASIS->E6: fit on one set, test on the other: the honest proxy for a user's photos;
- OASIS CV +E6: the OASIS folds with all of Emotion6 in training (both axes, or valence only: "+E6 v"), each set
  weighing as much as the other (as `builder fit` weighs them).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from builder.context import Context
from builder.evaluate import metrics, read_rated, read_rated_set
from builder.files import tune_allocator
from builder.picture import feeling
from builder.picture.feeling import Spec
from builder.settings import Settings

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


def cell(pred, quads, y) -> tuple[str, dict]:
    m = metrics(feeling.quadrant_codes(y), quads, pred, y)
    return f"{m['balanced_agreement']:.3f}/{m['r_valence']:.2f}/{m['r_arousal']:.2f}", m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--mirror", type=Path, default=Path(os.environ.get("BUILDER_MIRROR", HERE.parent / "shared/mirror"))
    )
    ap.add_argument(
        "--cache-dir", type=Path, default=Path(os.environ.get("BUILDER_CACHE", Path.home() / ".cache/gallery-builder"))
    )
    ap.add_argument("--oasis", type=Path, default=HERE.parent / "shared/eval/oasis-dev")
    ap.add_argument("--emotion6", type=Path, default=HERE.parent / "shared/eval/emotion6")
    ap.add_argument("--specs", default=",".join(SPECS), help="comma-separated rows of the first table")
    ap.add_argument("--chosen", default="both 128 mean words", help="the spec whose origin rules are compared")
    ap.add_argument("--json", type=Path, help="also write every cell's metrics as JSON")
    args = ap.parse_args()
    tune_allocator()

    def rated(spec: str):  # as `builder fit --set` reads a rated set
        rated_set = read_rated_set(spec)
        ctx = Context(
            Settings(
                input=rated_set.images,
                out=Path("/nonexistent-out"),
                mirror=args.mirror.resolve(),
                cache_dir=args.cache_dir,
                offline=True,
                allow_silent=True,
            )
        )
        return ctx, rated_set.ratings, [x.ingredients for x in read_rated(ctx, rated_set.ratings.images)]

    octx, o, o_ing = rated(f"{args.oasis}:1-7:4")
    _, e, e_ing = rated(f"{args.emotion6}:1-9:5")
    tables = octx.feeling.tables
    og, eg = feeling.theme_groups(o.themes), np.array(e.themes)
    both_ing, both_y = o_ing + e_ing, np.vstack([o.va, e.va])
    oasis_only = np.r_[np.ones(len(o_ing), bool), np.zeros(len(e_ing), bool)]

    both_groups = np.r_[og, eg]
    both_sets = np.r_[np.zeros(len(o_ing), int), np.ones(len(e_ing), int)]

    def with_e6(spec, arousal_rows):
        """The OASIS folds, each with all of Emotion6 added to its training photos: OASIS readings, folds."""
        return feeling.out_of_fold(
            both_ing,
            both_y,
            both_groups,
            tables,
            spec=spec,
            arousal_rows=arousal_rows,
            sets=both_sets,
            tested=oasis_only,
        )

    def runs(spec):
        """Readings of every column: (column, readings, people, folds or None, training readings, training y)."""
        po, fo = feeling.out_of_fold(o_ing, o.va, og, tables, spec=spec)
        pe, fe = feeling.out_of_fold(e_ing, e.va, eg, tables, spec=spec)
        yield "OASIS CV", po, o.va, fo, None, None
        yield "E6 CV", pe, e.va, fe, None, None
        yield "E6->OASIS", feeling.fit(e_ing, e.va, tables, spec=spec).predict(o_ing), o.va, None, pe, e.va
        yield "OASIS->E6", feeling.fit(o_ing, o.va, tables, spec=spec).predict(e_ing), e.va, None, po, o.va
        for col, rows in (("OASIS CV +E6", None), ("OASIS CV +E6 v", oasis_only)):
            pred, folds = with_e6(spec, rows)
            yield col, pred, o.va, folds, None, None

    def quads(rule, pred, y, folds, train_pred, train_y):
        if folds is not None:  # origin from the other folds' readings
            return feeling.rule_quadrants(rule, pred, y, folds)
        return feeling.quadrant_codes(pred - feeling.origin(rule, train_pred, train_y))

    cols = ["OASIS CV", "E6 CV", "E6->OASIS", "OASIS->E6", "OASIS CV +E6", "OASIS CV +E6 v"]
    out: dict = {"features": {}, "origin rules": {}}
    print(
        "Features (quadrant origin: the mean reading of the other folds, or of the training set's out-of-fold "
        "readings)\n"
    )
    print(f"| features | {' | '.join(cols)} |\n|---|{'---|' * len(cols)}")
    for name in args.specs.split(","):
        row = {}
        for col, pred, y, folds, tp, ty in runs(SPECS[name]):
            row[col] = cell(pred, quads("mean reading", pred, y, folds, tp, ty), y)
        print(f"| {name} | {' | '.join(row[c][0] for c in cols)} |", flush=True)
        out["features"][name] = {c: row[c][1] for c in cols}
    print(f"\nQuadrant origin rules ({args.chosen}; balanced agreement, origins drawn without the tested photos)\n")
    print(f"| rule | {' | '.join(cols)} |\n|---|{'---|' * len(cols)}")
    table = {rule: {} for rule in feeling.ORIGIN_RULES}
    for col, pred, y, folds, tp, ty in runs(SPECS[args.chosen]):
        for rule in feeling.ORIGIN_RULES:
            table[rule][col] = cell(pred, quads(rule, pred, y, folds, tp, ty), y)
    for rule, row in table.items():
        print(f"| {rule} | {' | '.join(row[c][0].split('/')[0] if c in row else '-' for c in cols)} |")
        out["origin rules"][rule] = {c: v[1] for c, v in row.items()}
    if args.json:
        import orjson

        args.json.write_bytes(orjson.dumps(out, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
