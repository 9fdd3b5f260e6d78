"""How often what the classifier "saw" is right, by its confidence: the threshold above which the
gallery shows a label (builder.gallery.text.SEEN_THRESHOLD).

Each picture's labels are those the gallery would show (the learned model's label probabilities,
both classifiers averaged: FeelingModel.label_probs), top 5 above 1 %. A label counts as right when
one of its ImageNet names shares a word with what the picture is known to show (or a word
of 4 letters or more holds the other: "snake" in "rattlesnake"): its theme (OASIS,
"Penguins 2" -> penguins), its file name (the demo, "yellow-flower.jpg") or its category (GAPED's
Sn and Sp folders: snake, spider). Only pictures whose subject names some ImageNet class by this
rule count, so "Angry pose" or "Nature" neither help nor hurt; a right label the rule cannot see
("espresso" on "coffee") counts as wrong, so the precision printed is a lower bound.

    python benchmarks/seen_threshold.py [--cache-dir D] [--mirror M] [--eval /work/shared/eval]

Prints, per threshold, how many labels reach it and the share of them that is right, and the lowest
threshold whose share is at least --target (0.7: usually right, seven times in ten).
"""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

from common import cache_option, mirror_option

HERE = Path(__file__).resolve().parent.parent
# ImageNet's snakes and spiders (WordNet hyponyms of snake and spider) whose names lack the word:
# label line index (0 is "background") -> the word added to their names
KINDS = {**{i: "snake" for i in range(53, 70)}, **{i: "spider" for i in range(73, 79)}}
THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def words(text: str) -> set[str]:
    """Lower-case words of a name, plurals folded ("Penguins" -> penguin)."""
    out = set()
    for w in re.findall(r"[a-z]+", text.lower()):
        if len(w) > 3 and w.endswith("ies"):
            w = w[:-3] + "y"
        elif len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        if len(w) > 2:
            out.add(w)
    return out


def same(subject: set[str], label: set[str]) -> bool:
    """Whether a subject and a label name the same thing: a shared word, or a word of 4 letters or
    more inside another ("snake" in "rattlesnake", "spider" in "spiderweb")."""
    return any(
        s == x or (len(s) >= 4 and s in x) or (len(x) >= 4 and x in s)
        for s in subject
        for x in label
    )


def subjects(eval_dir: Path, demo: Path) -> list[tuple[str, Path, str, set[str]]]:
    """(set, folder, file, the subject's words) of every picture with a known subject."""
    out = []
    oasis = eval_dir / "oasis-dev"
    if (oasis / "ratings.csv").is_file():
        with open(oasis / "ratings.csv", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                theme = re.sub(r"\s*\d+$", "", r["theme"])
                out.append(("oasis", oasis / "images", r["image"], words(theme)))
    gaped = eval_dir / "gaped-dev"
    for prefix, subject in (("Sn", "snake"), ("Sp", "spider")):
        for p in sorted(gaped.glob(f"{prefix}*.jpg")):
            out.append(("gaped", gaped, p.name, {subject}))
    for p in sorted(demo.glob("*.jpg")):
        out.append(("demo", demo, p.name, words(p.stem)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--eval", type=Path, default=HERE.parent / "shared" / "eval")
    ap.add_argument("--demo", type=Path, default=HERE / "images")
    mirror_option(ap)
    cache_option(ap)
    ap.add_argument("--target", type=float, default=0.7)
    args = ap.parse_args()

    import numpy as np

    from builder.lab.ratings import read_offline
    from builder.picture.feeling import FeelingModel
    from builder.picture.scene import label_lines

    model = FeelingModel.load()
    pictures = subjects(args.eval, args.demo)
    names: list[set[str]] | None = None
    labels: list[tuple[str, float, bool]] = []  # (set, score, right)
    counted = 0
    by_folder: dict[Path, list[tuple[str, str, set[str]]]] = {}
    for name, folder, file, subject in pictures:
        by_folder.setdefault(folder, []).append((name, file, subject))
    for folder, items in by_folder.items():
        ctx, readings = read_offline(folder, [f for _, f, _ in items], args.mirror, args.cache_dir)
        if names is None:
            lines = label_lines(ctx.store)
            names = [set().union(*(words(n) for n in ln.split(","))) for ln in lines]
            for i, kind in KINDS.items():
                names[i].add(kind)
        for (name, _, subject), r in zip(items, readings):
            if r.ingredients is None or not any(same(subject, n) for n in names):
                continue  # no ImageNet class names this subject: it says nothing either way
            counted += 1
            probs = model.label_probs(r.ingredients)
            top = [int(i) for i in np.argsort(-probs, kind="stable")[:6] if i != 0][:5]
            for i in top:
                if probs[i] >= 0.01:
                    labels.append((name, float(probs[i]), same(subject, names[i])))
    print(f"{counted} pictures whose subject names an ImageNet class; {len(labels)} labels shown")
    print("threshold  labels  right  share   (oasis / gaped / demo share)")
    chosen = None
    for t in THRESHOLDS:
        above = [x for x in labels if x[1] >= t]
        if not above:
            continue
        share = sum(x[2] for x in above) / len(above)
        per = []
        for s in ("oasis", "gaped", "demo"):
            mine = [x for x in above if x[0] == s]
            per.append(f"{sum(x[2] for x in mine) / len(mine):.2f}" if mine else "-")
        print(
            f"{t:9.2f}  {len(above):6d}  {sum(x[2] for x in above):5d}  {share:5.2f}   "
            f"{' / '.join(per)}"
        )
        if chosen is None and share >= args.target:
            chosen = t
    print(f"lowest threshold with at least {args.target:.0%} right: {chosen}")


if __name__ == "__main__":
    main()
