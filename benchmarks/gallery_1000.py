"""Page weight and time to first render of a large gallery (1000 pictures, or --n 10000), in
headless Chromium.

    python benchmarks/gallery_1000.py [--n 1000] [--mirror ../shared/mirror] [--photos
    ../shared/eval/oasis-dev/images]

Makes a folder of n pictures (hard links to the OASIS photos, or copies, repeated under different
names), builds it with the default method, opens pages from file:// in Debian's Chromium
(Playwright, executable_path) and prints for each: the bytes of the page itself and its scripts and
styles, the bytes of images loaded at first (lazy loading keeps the rest away), first contentful
paint, DOMContentLoaded and load times. Pages: the index's first page, its last page, one quadrant's
first page, the slideshow (with its first data shard) and a picture page. Then it searches the index
by name (every name shard loaded) and times that. Writes only to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

from common import mirror_option

from builder.gallery.site import write_site
from builder.pipeline.context import Context
from builder.pipeline.run import analyse
from builder.pipeline.stats import Stats
from builder.settings import Settings

HERE = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def measure(page, target: Path) -> dict:
    """Timings from the browser; bytes from disk for what the page really loaded (file:// pages get
    no Resource Timing entries): the HTML, its scripts and styles, and the images whose chosen
    source loaded."""
    page.goto(target.as_uri())
    page.wait_for_load_state("load")
    for _ in range(50):  # the paint entry can arrive just after load
        if page.evaluate("performance.getEntriesByName('first-contentful-paint').length"):
            break
        page.wait_for_timeout(50)
    got = page.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " const p = performance.getEntriesByName('first-contentful-paint')[0];"
        " const imgs = Array.from(document.images).filter(i => i.complete && i.currentSrc).map(i "
        "=> i.currentSrc);"
        " const other = Array.from(document.querySelectorAll('script[src], link[rel=stylesheet]'))"
        "   .map(e => e.src || e.href);"
        " return {fcp: p ? p.startTime : null, dcl: n.domContentLoadedEventEnd, load: "
        "n.loadEventEnd,"
        "   images: imgs, other: other, all_images: document.images.length}; })()"
    )

    def size(uri: str) -> int:
        return Path(unquote(urlparse(uri).path)).stat().st_size

    image_bytes = sum(size(u) for u in got["images"])
    other_bytes = size(target.as_uri()) + sum(size(u) for u in got["other"])
    return {
        "requests": 1 + len(got["other"]) + len(got["images"]),
        "bytes": image_bytes + other_bytes,
        "image_bytes": image_bytes,
        "images_loaded": len(got["images"]),
        "images": got["all_images"],
        "fcp": got["fcp"],
        "dcl": got["dcl"],
        "load": got["load"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=1000)
    mirror_option(ap)
    ap.add_argument("--photos", type=Path, default=HERE.parent / "shared/eval/oasis-dev/images")
    ap.add_argument(
        "--cache-dir", type=Path, default=None, help="reuse a cache (default: a fresh one)"
    )
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="bench-1000-"))
    try:
        photos = sorted(
            p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")
        )
        pics = tmp / "pictures"
        for i in range(args.n):
            src = photos[i % len(photos)]
            folder = pics / f"set{i // len(photos)}"
            folder.mkdir(parents=True, exist_ok=True)
            # a hard link (symbolic links out of the input folder are refused by the builder), else
            # a copy
            try:
                os.link(src, folder / src.name)
            except OSError:
                shutil.copyfile(src, folder / src.name)
        out = tmp / "dist"
        settings = Settings(
            input=pics,
            out=out,
            mirror=args.mirror.resolve(),
            cache_dir=args.cache_dir or tmp / "cache",
            offline=True,
        )
        ctx = Context(settings)
        stats = Stats()
        t0 = time.perf_counter()
        gallery = analyse(ctx, stats=stats)
        gallery = write_site(gallery, pics, out, settings.cache_dir, stats.hashes, index=ctx.index)
        print(
            f"built {len(gallery.images)} pictures in {time.perf_counter() - t0:.1f} s "
            f"({stats.cached} cached analyses, {len(gallery.failed)} failed); peak RSS "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )
        shards = sorted((out / "data").glob("*-*.js"))  # not columns.js
        kb = {f: (out / f).stat().st_size / 1024 for f in ("index.html", "catalogue.js")}
        print(
            "on disk: "
            + ", ".join(f"{f} {v:.0f} kB" for f, v in kb.items())
            + f"; {len(list(out.glob('index*.html')))} index pages; {len(shards)} data shards, "
            f"{sum(f.stat().st_size for f in shards) / 1024:.0f} kB in all (loaded on demand)"
        )
        pages = sorted(out.glob("index-[0-9]*.html"), key=lambda f: int(f.stem.split("-")[1]))
        quadrant = next(out.glob("index-q*.html"))
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )
            for label, target in (
                ("index.html", out / "index.html"),
                (
                    pages[-1].name if pages else "(one page)",
                    pages[-1] if pages else out / "index.html",
                ),
                (quadrant.name, quadrant),
                ("slideshow.html", out / "slideshow.html"),
                ("a picture page", out / gallery.images[0].page),
            ):
                page = browser.new_page(
                    viewport={"width": 1280, "height": 800}
                )  # a cold page each time
                m = measure(page, target)
                page.close()
                print(
                    f"{label:<17} {m['requests']:4d} files, {m['bytes'] / 1024:6.0f} kB loaded "
                    f"({m['images_loaded']} of {m['images']} images, {m['image_bytes'] / 1024:.0f} "
                    f"kB); first contentful paint {m['fcp'] or float('nan'):.0f} ms, "
                    f"DOMContentLoaded {m['dcl']:.0f} ms, load {m['load']:.0f} ms"
                )
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto((out / "index.html").as_uri())
            name = gallery.images[-1].file.rsplit("/", 1)[-1]
            t0 = time.perf_counter()
            page.fill("#search", name)
            while page.evaluate(
                "document.getElementById('search-status').textContent.indexOf('named like') < 0"
            ):
                page.wait_for_timeout(
                    50
                )  # polled: the gallery's CSP forbids wait_for_function's eval
            found = page.locator("#search-results li").count()
            print(
                f"search for {name!r}: {found} shown, {page.inner_text('#search-status')!r}, "
                f"{time.perf_counter() - t0:.2f} s (200 ms of it the typing pause)"
            )
            browser.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
