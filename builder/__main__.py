"""`python -m builder` and the `builder` command. Signal handlers go in before anything heavy is
imported, so a Ctrl-C in the first instant ends with a sentence too (see builder.signals)."""

from __future__ import annotations


def main() -> None:
    from builder import signals

    signals.install()
    from builder.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
