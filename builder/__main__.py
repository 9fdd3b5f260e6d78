"""`python -m builder` is the `builder` command."""

from builder.cli import main

main()
