"""What looking for faces only where the detector saw people costs and misses.

    python benchmarks/faces_gate.py [--n 40] [--mirror ../shared/mirror] [--photos
    ../shared/eval/oasis-dev/images]

Over the first n OASIS photos plus the demo astronaut: MTCNN + expressions on the whole picture
(downscaled to 640 px) against the builder's way (only the region of detected people). Prints
milliseconds per picture and faces found (detector confidence >= 0.9). Model loading and the object
detector itself are not counted.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import mirror_option

from builder.assets import AssetStore, default_cache_dir
from builder.images import read_rgb
from builder.picture.detect import make_detector
from builder.picture.faces import FaceReader
from builder.picture.methods.caption import person_region

HERE = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=40)
    mirror_option(ap)
    ap.add_argument("--photos", type=Path, default=HERE.parent / "shared/eval/oasis-dev/images")
    args = ap.parse_args()
    detector = make_detector(
        "yolo-fastest", AssetStore(default_cache_dir(), args.mirror.resolve(), offline=True)
    )
    reader = FaceReader()
    files = sorted(
        p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")
    )[: args.n]
    pictures = [read_rgb(f, 1024)[0] for f in files + [HERE / "images" / "astronaut.jpg"]]
    reader.read(pictures[0])  # warm up
    for label, gated in (("whole picture", False), ("person region", True)):
        found, spent = 0, 0.0
        for rgb in pictures:
            region = person_region(detector.detect(rgb)) if gated else None
            t0 = time.perf_counter()
            if not gated or region is not None:
                found += len(reader.read(rgb, region))
            spent += time.perf_counter() - t0
        print(
            f"{label:<14} {1000 * spent / len(pictures):6.1f} ms a picture, {found} faces in "
            f"{len(pictures)} pictures"
        )


if __name__ == "__main__":
    main()
