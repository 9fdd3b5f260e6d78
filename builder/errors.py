"""Typed errors whose messages are written for the person running the builder.

Only builder.cli turns these into exit codes; everything else raises them.
"""


class BuilderError(Exception):
    """An error the user can act on; the message says what to do."""

    exit_code = 2


class UsageError(BuilderError):
    """Bad command-line input (paths, option values, CSV files given by the user)."""

    exit_code = 2


class AssetMissing(BuilderError):
    """An external file is neither in the cache nor in the mirror, and cannot be downloaded."""

    exit_code = 3


class AssetCorrupt(BuilderError):
    """An external file does not have the sha256 its registry entry expects."""

    exit_code = 3


class MissingDependency(BuilderError):
    """An optional Python package needed by the chosen backend is not installed."""

    exit_code = 3


class ImageError(Exception):
    """One picture cannot be read; the build goes on without it."""
