"""The `builder` command, assembled from one module per command group: build, film, recommend, lab
(evaluate, fit), assets, music (score, fit, evaluate), study (report). Their options are declared
once (options: the settings' own descriptions), their errors become a sentence and an exit status in
one place (boundary), and what they print goes through output.

Exit status: 0 every picture built; 1 the gallery was built but some pictures failed (listed in the
summary and in gallery.json "failed"); 2 bad usage; 3 a needed file or package is missing; 4 nothing
could be built (no readable picture); 5 the output could not be written (disk full, permission
denied, ...; the path is named); 6 another build is writing the same output folder; 70 an internal
error (a bug: run again with --debug for the traceback); 128 + the signal's number when stopped by a
signal: 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP, with a sentence that says what the stop left behind
(builder.signals: before the swap the previous gallery, after it the new one; no temporary file
stays behind).
"""

from __future__ import annotations

import signal
import sys
from typing import Annotated

import typer

from builder import signals
from builder.errors import printable
from builder.signals import Interrupted

from . import assets, build, film, lab, music, output, recommend, study
from .boundary import Commands

app = typer.Typer(
    cls=Commands,
    help="Build a static photo gallery that plays music matching each picture's feeling.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("build")(build.build)
app.command("film")(film.film)
app.command("recommend")(recommend.recommend)
app.command("evaluate")(lab.evaluate)
app.command("fit")(lab.fit)
app.add_typer(assets.app, name="assets")
app.add_typer(music.app, name="music")
app.add_typer(study.app, name="study")


def _version(value: bool) -> None:
    if value:
        from builder import __version__

        typer.echo(f"builder {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Build a static photo gallery that plays music matching each picture's feeling."""


def main() -> None:
    """The console entry point: anything that escapes the commands' own handling
    (builder.cli.boundary) is one sentence, never a traceback (unless --debug). Click itself handles
    usage errors, --help and exit codes."""
    from builder.files import tune_allocator

    # again, for an entry point that came straight here (builder.__main__ does it first)
    signals.install()
    tune_allocator()
    signals.start()
    try:
        app()
    except Interrupted as exc:  # a stop outside a command (signals.leaves says what it left)
        output.say(signals.message(exc.signum), err=True)
        sys.exit(signals.exit_code(exc.signum))
    except (
        KeyboardInterrupt
    ):  # raised by Python's own handler (SIGINT ignored at start, then restored)
        output.say(signals.message(signal.SIGINT), err=True)
        sys.exit(signals.exit_code(signal.SIGINT))
    except OSError as exc:  # an I/O error no command turned into a sentence
        if "--debug" in sys.argv:
            raise
        where = exc.filename2 or exc.filename  # a copy names its source first: name the target
        named = f" ({printable(str(where))})" if where else ""
        output.say(f"error: {printable(exc.strerror or str(exc))}{named}", err=True)
        sys.exit(5)
    except Exception as exc:  # the last line of defence against tracebacks
        if "--debug" in sys.argv:
            raise
        output.say(
            f"internal error: {type(exc).__name__}: {printable(str(exc))} (run again with --debug "
            "for the traceback, and please report it)",
            err=True,
        )
        sys.exit(70)
