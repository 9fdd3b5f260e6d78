"""The one place errors become a sentence and an exit status, for every command (as beets' `main`
catches `UserError` once): the root group's `invoke` runs each command inside `handled`.

A BuilderError prints "error: " and its message and exits with its exit_code (--debug re-raises it,
with its traceback); a signal or Ctrl-C prints what the stop left behind (builder.signals) and exits
128 + the signal. A command that writes names what it writes (`writes`), so that an OSError there is
a sentence naming the path (exit 5); any other error is caught by builder.cli.main.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from typer.core import TyperGroup

from builder import signals
from builder.errors import BuilderError, os_error
from builder.signals import Interrupted

from . import output

EXIT_SOME_FAILED = 1
DEBUG = (
    "builder.debug"  # the key of ctx.meta (shared by every context of one run) that --debug sets
)
STOPS = (KeyboardInterrupt, Interrupted)  # a signal, or Ctrl-C raised before our handler was in


class NothingBuilt(BuilderError):
    """Nothing could be built: no picture (or track) could be read."""

    exit_code = 4


class Commands(TyperGroup):
    """The `builder` group: every command, its subgroups' too, runs inside `handled`."""

    def invoke(self, ctx: typer.Context) -> Any:
        with handled(ctx):
            return super().invoke(ctx)


def remember_debug(ctx: typer.Context, value: bool) -> bool:
    """The --debug option's callback: the boundary re-raises errors of this run."""
    if value:
        ctx.meta[DEBUG] = True
    return value


@contextmanager
def handled(ctx: typer.Context) -> Iterator[None]:
    try:
        with signals_as_interrupts():
            yield
    except BuilderError as exc:
        if ctx.meta.get(DEBUG):
            raise
        output.say(f"error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except STOPS as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        output.say(signals.message(signum), err=True)
        raise typer.Exit(signals.exit_code(signum)) from None


@contextmanager
def writes(doing: str, keep: str = "the previous gallery was left as it was") -> Iterator[None]:
    """An OSError in the block (disk full, permission denied, ...) is an OutputError naming the
    path: "{doing} failed: {why} ({path}); {keep}" (exit status 5)."""
    try:
        yield
    except OSError as exc:
        raise os_error(exc, doing, keep) from None


@contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise builder.signals.Interrupted in the block also when a command
    runs without main() (in-process: tests, a script calling the Typer app); main() has installed
    them for the whole process already. Signals inherited as ignored stay ignored; the previous
    handlers come back after the block."""
    previous = {sig: signal.getsignal(sig) for sig in signals.HANDLED}
    signals.install()
    signals.start(leaves=None)
    try:
        yield
    finally:
        for sig, old in previous.items():
            try:
                signal.signal(sig, old)
            except (ValueError, OSError, TypeError):  # not the main thread, or set outside Python
                pass
