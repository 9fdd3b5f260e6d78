"""Which demo pictures a new feeling model moves to another quadrant: each demo photo's quadrant and
relative reading under two model files (e.g. the previous commit's and the working tree's).

    git show HEAD~1:builder/picture/data/feeling-model.npz > /tmp/before.npz
    python benchmarks/demo_quadrants.py /tmp/before.npz builder/picture/data/feeling-model.npz \
        [--cache-dir D]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import cache_option, mirror_option

from builder.lab.ratings import read_offline
from builder.picture.feeling import FeelingModel

HERE = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--images", type=Path, default=HERE / "images")
    mirror_option(ap)
    cache_option(ap)
    args = ap.parse_args()
    files = sorted(p.name for p in args.images.glob("*.jpg"))
    _, readings = read_offline(args.images, files, args.mirror, args.cache_dir)
    ings = [r.ingredients for r in readings]
    models = [FeelingModel.load(args.before), FeelingModel.load(args.after)]
    for name, ing in zip(files, ings):
        cells = []
        for m in models:
            reading = m.predict([ing])[0]
            cells.append((m.quadrant(reading), m.relative(reading)))
        moved = "  moved" if cells[0][0] != cells[1][0] else ""
        print(f"{name:<20} " + " ".join(f"q{q} {str(av):<20}" for q, av in cells) + moved)


if __name__ == "__main__":
    main()
