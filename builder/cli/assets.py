"""`builder assets list | verify | fetch`: the external files the builder uses (builder.assets)."""

from __future__ import annotations

from typing import Annotated

import typer

from . import output
from .options import CacheDir, Debug, Mirror, store

app = typer.Typer(
    help="List, verify and fetch the external files the builder uses.", no_args_is_help=True
)


@app.command("list")
def assets_list(mirror: Mirror = None, cache_dir: CacheDir = None) -> None:
    """Every registered external file: where it is now, its licence and what it is for."""
    for asset, where, path in store(mirror, cache_dir, True).status():
        output.say(f"{asset.name}\t{where}\t{path or asset.url}")
        output.say(f"    {asset.purpose}; licence: {asset.licence}")
        if asset.unverified:
            output.say(f"    not hash-checked: {asset.unverified}")


@app.command("verify")
def assets_verify(mirror: Mirror = None, cache_dir: CacheDir = None) -> None:
    """Check the sha256 of every asset found in the cache or mirror. Exit 3 if any is corrupt."""
    bad = 0
    for asset, where, path in store(mirror, cache_dir, True).status():
        state = {"missing": "missing", "corrupt": "CORRUPT"}.get(where, "ok")
        bad += where == "corrupt"
        output.say(f"{state}\t{asset.name}\t{path or ''}")
    if bad:
        raise typer.Exit(3)


@app.command("fetch")
def assets_fetch(
    name: Annotated[str, typer.Argument(help="Asset name, as `builder assets list` shows it.")],
    mirror: Mirror = None,
    cache_dir: CacheDir = None,
    force: Annotated[
        bool, typer.Option(help="Download even if the cache or mirror has it.")
    ] = False,
    debug: Debug = False,
) -> None:
    """Download one asset into the cache (with a progress bar and a sha256 check)."""
    assets = store(mirror, cache_dir, False)
    path, where = assets.locate(name)
    if path is not None and not force:
        output.say(f"{name} is already in the {where}: {path}")
        return
    output.say(f"fetched {name} -> {assets.fetch(name)}")
