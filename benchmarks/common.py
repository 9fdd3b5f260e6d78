"""What the benchmark scripts share: the --mirror and --cache-dir options, found as the builder
finds them (BUILDER_MIRROR, else ../shared/mirror beside the checkout; BUILDER_CACHE, else the
builder's own default cache folder, builder.assets.default_cache_dir)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from builder.assets import default_cache_dir

ROOT = Path(__file__).resolve().parent.parent  # the checkout


def mirror_option(ap: argparse.ArgumentParser) -> None:
    default = os.environ.get("BUILDER_MIRROR") or ROOT.parent / "shared" / "mirror"
    ap.add_argument("--mirror", type=Path, default=Path(default))


def cache_option(ap: argparse.ArgumentParser) -> None:
    default = os.environ.get("BUILDER_CACHE") or default_cache_dir()
    ap.add_argument("--cache-dir", type=Path, default=Path(default))
