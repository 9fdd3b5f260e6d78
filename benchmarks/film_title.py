"""Which engine draws the film's Japanese title more lightly: Pillow with the CJK font the builder
resolves (builder.film.text), or a headless Chromium screenshot of a page holding the title.

    python benchmarks/film_title.py [--title 光と天気] [--chromium /usr/bin/chromium]

Each is run in a fresh process, as a film would start it; prints the wall time and the peak memory
(max RSS) of each, and whether the title's glyphs were drawn (four different shapes) or as boxes.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PILLOW = """
import sys
from PIL import Image, ImageDraw
from builder.assets import AssetStore, default_cache_dir
from builder.film import text as tx
fonts = tx.font_files("ja", tx.cjk_fonts(AssetStore(default_cache_dir(), None, offline=True)))
im = Image.new("RGB", (1920, 1080), (16, 16, 18))
ImageDraw.Draw(im).text((960, 540), sys.argv[1], font=tx.font_for(sys.argv[1], 76, fonts),
                        fill=(238, 238, 238), anchor="mm")
im.save(sys.argv[2])
"""

PAGE = (
    '<!doctype html><meta charset="utf-8"><body style="margin:0;background:#101012;color:#eee;'
    'font:76px sans-serif;display:flex;align-items:center;justify-content:center;height:1080px">'
    "{title}</body>"
)


def timed(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (MB) of one child process."""
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024


def same_pixels(a: Path, b: Path) -> bool:
    import numpy as np
    from PIL import Image

    return np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--title", default="光と天気")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    boxes = "\ue000" * len(args.title)  # a private-use character: no font has it, a box
    with tempfile.TemporaryDirectory() as tmp:
        shots = {}
        for engine in ("pillow", "chromium"):
            for name, text in (("title", args.title), ("boxes", boxes)):
                png = Path(tmp) / f"{engine}-{name}.png"
                if engine == "pillow":
                    cmd = [sys.executable, "-c", PILLOW, text, str(png)]
                else:
                    page = Path(tmp) / f"{name}.html"
                    page.write_text(PAGE.format(title=text), encoding="utf-8")
                    cmd = [args.chromium, "--headless", "--no-sandbox", "--disable-gpu"]
                    cmd += ["--window-size=1920,1080", f"--screenshot={png}", page.as_uri()]
                shots[engine, name] = png
                if name == "title":
                    wall, rss = timed(cmd)
                else:
                    subprocess.run(cmd, check=True, capture_output=True)
            drawn = not same_pixels(shots[engine, "title"], shots[engine, "boxes"])
            print(
                f"{engine}: {wall:.2f} s, peak {rss} MB (the largest child process so far), "
                f"the title {'drawn' if drawn else 'drawn as empty boxes'}"
            )


if __name__ == "__main__":
    main()
