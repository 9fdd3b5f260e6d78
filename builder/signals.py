"""Ctrl-C, SIGTERM and SIGHUP from the command's first instruction to its last, with an honest
sentence.

- install() runs first thing in the `builder` command, before any heavy import. Until the command's
  own handling starts (start()), a signal ends the process at once with "interrupted: nothing was
  changed" (nothing has been), never a traceback or silence.
- A signal whose disposition the process inherited as ignored (`nohup`, a background job started by
  a shell without job control) stays ignored: the user asked for that.
- Python runs signal handlers in the main thread only, whichever thread the kernel delivered the
  signal to, so held() is a section that a signal cannot split, in every thread's sight: the handler
  notes the signal and the section raises it when it ends (the gallery's swap and the removal of the
  old gallery are one such section).
- What a stop leaves behind is said by the code that knows: leaves("...") updates the sentence
  printed after "interrupted: " (the build says the previous gallery was kept until the swap, and
  that the new one is in place after it).

Only the standard library is imported here: this module runs before anything else is loaded.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

HANDLED = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
WORDS = {"SIGINT": "interrupted", "SIGTERM": "terminated", "SIGHUP": "hung up"}


class Interrupted(BaseException):
    """A signal stopped the command. Not a KeyboardInterrupt: Click turns those into a silent exit
    130, and every command must say what the stop left behind (builder.cli catches this one)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


_state = {"started": False, "held": 0, "pending": None, "leaves": "nothing was changed"}


def word(signum: int) -> str:
    try:
        return WORDS.get(signal.Signals(signum).name, "stopped")
    except ValueError:
        return "stopped"


def _handler(signum, frame) -> None:
    if not _state["started"]:  # nothing is open and nothing written yet: leave now, in a sentence
        os.write(2, f"{word(signum)}: nothing was changed\n".encode())
        os._exit(128 + signum)
    if _state["held"]:
        if _state["pending"] is None:
            _state["pending"] = signum
        return
    raise Interrupted(signum)


def install() -> list[int]:
    """Handle HANDLED (except those inherited as ignored). Returns the signals now handled."""
    handled = []
    for sig in HANDLED:
        try:
            if signal.getsignal(sig) == signal.SIG_IGN:
                continue
            signal.signal(sig, _handler)
            handled.append(sig)
        except (ValueError, OSError):  # not the main thread (a command run in a test's thread)
            pass
    return handled


def start(leaves: str | None = "nothing was changed") -> None:
    """The command's own handling has begun: from now on a signal raises Interrupted where the
    program is. leaves: what a stop leaves behind from now on (None: as said before)."""
    _state.update(started=True, pending=None)
    if leaves is not None:
        _state["leaves"] = leaves


def leaves(text: str) -> None:
    """What a stop from now on leaves behind, as the end of the sentence "interrupted: ..."."""
    _state["leaves"] = text


def message(signum: int) -> str:
    return f"{word(signum)}: {_state['leaves']}"


@contextmanager
def held() -> Iterator[None]:
    """A section that no signal splits: one arriving inside it is raised (as Interrupted) when it
    ends."""
    _state["held"] += 1
    try:
        yield
    except BaseException:
        _state["held"] -= 1
        if not _state[
            "held"
        ]:  # the section failed, and that failure ends the command: no signal left pending
            _state["pending"] = None
        raise
    _state["held"] -= 1
    if not _state["held"] and _state["pending"] is not None:
        signum, _state["pending"] = _state["pending"], None
        raise Interrupted(signum)


def in_child_default() -> None:
    """For subprocesses started by tests (preexec_fn): default dispositions whatever the parent
    inherited."""
    for sig in HANDLED:
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())


def exit_code(signum: int) -> int:
    return 128 + int(signum)
