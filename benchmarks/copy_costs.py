"""What one picture's copies cost, part by part: decoding (as the site does, upright and in sRGB),
each encoding into memory, and scaling the thumbnail, in CPU milliseconds a picture.

    python benchmarks/copy_costs.py [--photos ../shared/eval/oasis-dev/images] [--n 100]

The sizes are a 500 px OASIS photo's copies (its display copy in WebP and JPEG, a 240 px WebP
thumbnail); a larger photo's copies cost more. Used to say where the site stage's time goes against
a peer's (benchmarks/peers.py).
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

from PIL import Image

from builder.gallery.copies import THUMB_WEBP_QUALITY
from builder.images import open_upright

HERE = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--photos", type=Path, default=HERE.parent / "shared/eval/oasis-dev/images")
    ap.add_argument("--n", type=int, default=100)
    args = ap.parse_args()
    files = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))[
        : args.n
    ]
    cost = dict.fromkeys(
        ("decode", "webp display", "jpeg display", "scale thumbnail", "webp thumbnail"), 0.0
    )

    def timed(part: str, work):
        t = time.process_time()
        out = work()
        cost[part] += time.process_time() - t
        return out

    for f in files:
        im = timed("decode", lambda: open_upright(f, 1600, srgb=True)[0])
        timed("webp display", lambda: im.save(io.BytesIO(), "WEBP", quality=80, method=1))
        timed("jpeg display", lambda: im.save(io.BytesIO(), "JPEG", quality=85))
        small = im.copy()
        timed("scale thumbnail", lambda: small.thumbnail((240, 240), Image.Resampling.LANCZOS))
        timed(
            "webp thumbnail",
            lambda: small.save(io.BytesIO(), "WEBP", quality=THUMB_WEBP_QUALITY, method=1),
        )
    for part, s in cost.items():
        print(f"{part:<16} {s * 1000 / len(files):6.2f} ms a picture")
    print(
        f"{'all':<16} {sum(cost.values()) * 1000 / len(files):6.2f} ms a picture ({len(files)} "
        "photos)"
    )


if __name__ == "__main__":
    main()
