"""The options the commands share, each declared once: by its Settings field (builder.settings),
which says its type, default, help, flags, panel and checks; here that description becomes a Typer
option.

`builder build` takes every setting (`settings_options` makes its parameters from the fields); the
other commands take the few they use as the aliases below (Mirror, CacheDir, Offline, Debug, ...),
as datasette's commands share their option decorators.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Iterable
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from builder.files import Input
from builder.settings import OptionSpec, Settings

from . import output
from .boundary import remember_debug

_HINTS = typing.get_type_hints(Settings)
_FIELDS = {f.name: f for f in fields(Settings)}
_CALLBACKS = {"debug": remember_debug}


def _typer_type(hint: Any, optional: bool) -> Any:
    """The field's type as Typer reads it: a list for a tuple, Optional where None is the
    default."""
    if typing.get_origin(hint) is tuple:
        return list[typing.get_args(hint)[0]]
    if isinstance(hint, types.UnionType):  # X | None
        (hint,) = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = True
    return Optional[hint] if optional else hint


def _flags(name: str, spec: OptionSpec, default: Any) -> list[str]:
    """--name; a switch on by default has its --no- form too; and the short flag."""
    flag = "--" + name.replace("_", "-")
    if default is True:
        flag += "/--no-" + name.replace("_", "-")
    return [flag] + ([spec.short] if spec.short else [])


def _default(name: str) -> Any:
    """The Typer default: the field's own, or None where the settings compute it (the cache's
    folder)."""
    f = _FIELDS[name]
    if f.default is MISSING:
        return ... if f.default_factory is MISSING else None
    return list(f.default) if isinstance(f.default, tuple) else f.default


def setting(name: str, panels: bool = False) -> Any:
    """The Typer parameter type (Annotated) of the setting `name`; panels: with its help panel."""
    spec: OptionSpec = _FIELDS[name].metadata["option"]
    default = _default(name)
    hint = _typer_type(_HINTS[name], optional=default is None)
    checks: dict[str, Any] = {"exists": spec.exists} if spec.exists else {}
    if spec.kind is not None:
        checks.update(file_okay=spec.kind == "file", dir_okay=spec.kind == "folder")
    if spec.minimum is not None:
        checks["min"] = spec.minimum
    if spec.argument:
        return Annotated[hint, typer.Argument(help=spec.help, **checks)]
    extra = dict(envvar=spec.envvar, callback=_CALLBACKS.get(name))
    if panels and spec.panel is not None:
        extra["rich_help_panel"] = spec.panel
    flags = _flags(name, spec, default)
    return Annotated[hint, typer.Option(*flags, help=spec.help, **checks, **extra)]


Mirror = setting("mirror")
CacheDir = setting("cache_dir")
Offline = setting("offline")
Debug = setting("debug")
Catalogue = setting("catalogue")
Swap = setting("deam_2013_swap")
AllowSilent = setting("allow_silent")
Model = setting("model")

# an exhibition's study (builder.lab.study): the answers exported from its page, and its gallery
GALLERY_HELP = (
    "The gallery `builder build --study` wrote (its --out folder): its gallery.json holds the "
    "study the answers belong to, and its copies of the pictures."
)
Gallery = Annotated[
    Path, typer.Option("--gallery", exists=True, file_okay=False, help=GALLERY_HELP)
]
StudyGallery = Annotated[
    Optional[Path],
    typer.Option("--gallery", exists=True, file_okay=False, help=GALLERY_HELP + " With --study."),
]
StudyAnswers = Annotated[
    Optional[list[Path]],
    typer.Option(
        "--study",
        exists=True,
        dir_okay=False,
        metavar="ANSWERS",
        help="Answers exported from the study page of the --gallery (JSON Lines, docs/study.md): "
        "each picture's mean point placed by its visitors is a rated photo. Repeatable; lines "
        "repeated by repeated exports count once.",
    ),
]
# --playable-only was the opt-in to what is now the default; it stays as an accepted, hidden alias
PlayableOnly = Annotated[
    bool,
    typer.Option(
        "--playable-only",
        hidden=True,
        help="Accepted for compatibility: recommending only tracks with audio is now the default "
        "(see --allow-silent).",
    ),
]


def settings_options(command):
    """Give `command` a parameter for every setting, in the order of the fields and grouped in the
    panels of --help, and the hidden --playable-only; it receives them as keywords (`settings_from`
    makes the Settings of them)."""
    parameters = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=setting(name, panels=True),
            **({} if _default(name) is ... else {"default": _default(name)}),
        )
        for name in _FIELDS
    ]
    parameters.append(
        inspect.Parameter(
            "playable_only", inspect.Parameter.KEYWORD_ONLY, annotation=PlayableOnly, default=False
        )
    )
    command.__signature__ = inspect.Signature(parameters, return_annotation=None)
    return command


def settings_from(given: dict[str, Any], cache_dir: Path) -> Settings:
    """The Settings of the options `settings_options` gave a command; cache_dir: the one the store
    uses."""
    values = {name: given[name] for name in _FIELDS}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    values.update(
        cache_dir=cache_dir, allow_silent=given["allow_silent"] and not given["playable_only"]
    )
    return Settings(**values)


def store(
    mirror: Path | None,
    cache_dir: Path | None,
    offline: bool,
    writable: bool = False,
    reads: Iterable[Input] = (),
):
    """The asset store of --mirror, --cache-dir and --offline. The cache folder is checked first as
    every path the builder writes is (builder.files.check_output: not a gallery, nor inside one or
    the mirror, nor one of `reads`, what the command reads). writable: the command writes to the
    cache, so check that it can, and if not, warn and use a temporary one (removed at exit) rather
    than fail."""
    from builder.assets import AssetStore, default_cache_dir
    from builder.files import check_output, usable_cache

    cache = cache_dir or default_cache_dir()
    check_output(
        cache, kind="cache", inputs=[Input(mirror, "the mirror"), *reads], what="--cache-dir"
    )
    if writable:
        cache, warning = usable_cache(cache)
        if warning:
            output.say(f"warning: {warning}", err=True)
    return AssetStore(
        cache, mirror.resolve() if mirror else None, offline=offline, progress=output.DownloadBar
    )


def mine(cache_dir: Path | None, mirror: Path | None) -> list[Input]:
    """What a command's own outputs may never be or lie in, besides its inputs: the cache folder
    and the mirror."""
    from builder.assets import default_cache_dir

    cache = cache_dir or default_cache_dir()
    return [
        Input(cache, "the cache folder", role="which holds the builder's own files"),
        Input(mirror, "the mirror"),
    ]
