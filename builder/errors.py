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


class OutputError(BuilderError):
    """The gallery could not be written (disk full, permission denied, ...); the previous one is
    left as it was."""

    exit_code = 5


NOT_UTF8 = (
    "the file name is not valid UTF-8; rename the file to include it"  # pages and JSON are UTF-8
)


def printable(text: str, keep_newlines: bool = False) -> str:
    """Text safe for a terminal: control characters, bidi overrides and undecodable bytes become
    visible escapes (a file name can hold anything but '/' and NUL). keep_newlines: keep newlines
    and tabs, for the builder's own multi-line and tabular text (names inside it are escaped with
    keep_newlines=False where they are put in)."""
    out = []
    for ch in str(text):
        o = ord(ch)
        if keep_newlines and ch in "\n\t":
            out.append(ch)
        elif 0xDC80 <= o <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{o - 0xDC00:02x}")
        elif (
            o < 0x20
            or 0x7F <= o < 0xA0
            or 0x202A <= o <= 0x202E
            or 0x2066 <= o <= 0x2069
            or 0xD800 <= o <= 0xDFFF
        ):
            out.append(f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}")
        else:
            out.append(ch)
    return "".join(out)


def os_error(
    exc: OSError, doing: str, keep: str = "the previous gallery was left as it was"
) -> OutputError:
    """A disk-full, permission or other I/O error as one sentence that names the path (exit status
    5): the one written to, where the error names two (a copy or a link names its source first,
    the mirror's file, say, which was only read)."""
    where = exc.filename2 or exc.filename or ""
    reason = exc.strerror or str(exc)
    return OutputError(f"{doing} failed: {reason}" + (f" ({where})" if where else "") + f"; {keep}")
