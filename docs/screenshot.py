"""Make docs/screenshot.webp, the README's picture of a gallery: build the demo, open it in
Chromium, capture.

    BUILDER_MIRROR=../shared/mirror python docs/screenshot.py [--open-viewer] [--out
    docs/screenshot.webp]

Builds `images/` into a temporary folder with the default method, opens `index.html` from file:// in
Debian's Chromium through Playwright (executable_path: no browser is downloaded) at 1280 x 800, and
saves a WebP of the first screen scaled to 960 px wide. With --open-viewer the first picture is
opened before the capture.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.webp")
    ap.add_argument(
        "--open-viewer", action="store_true", help="open the first picture in the viewer first"
    )
    ap.add_argument(
        "--chromium",
        default=os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium",
    )
    args = ap.parse_args()

    from PIL import Image
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "dist"
        cmd = [
            sys.executable,
            "-m",
            "builder",
            "build",
            str(ROOT / "images"),
            "--out",
            str(out),
            "--offline",
            "--title",
            "Demo exhibition",
        ]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if (
            done.returncode != 0 and "--title" in done.stderr
        ):  # a builder without the curator's sheet
            done = subprocess.run(cmd[:-2], capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto((out / "index.html").as_uri())
            page.wait_for_load_state("networkidle")
            if args.open_viewer:
                page.click("ul.grid a >> nth=0")
                page.wait_for_timeout(
                    1500
                )  # a picture for the README: let the viewer's opening animation end
            png = page.screenshot()
            browser.close()
    shot = Image.open(io.BytesIO(png)).convert("RGB")
    shot = shot.resize((960, round(shot.height * 960 / shot.width)), Image.Resampling.LANCZOS)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    shot.save(args.out, "WEBP", quality=72, method=6)
    print(f"{args.out} ({args.out.stat().st_size // 1024} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
