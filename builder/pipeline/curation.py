"""The curator's say: the exhibition's title and introduction, and the sheet (--curation CSV) that
titles, captions, orders, hides, places (quadrant) and pins music to pictures.

Everything the curator gives is read and checked here before any picture is analysed: a malformed
sheet stops the build with the row and column named (nothing half-applied); a row about a picture or
a track that does not exist is a warning naming the row, and the rest of the sheet still applies.
The pipeline hands the pins to the method before it chooses music for the whole collection
(Context.pins, read from the sheet and the catalogue: the learned method counts them as uses of
their tracks), and applies the sheet to the records after it (`apply`).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from builder.errors import UsageError
from builder.records import ImageRecord, Track

COLUMNS = ("image", "title", "caption", "order", "quadrant", "track", "hide")
SEPARATORS = (",", ";", "\t")
TRUE = {"1", "yes", "y", "true", "x", "hide", "hidden"}
FALSE = {"", "0", "no", "n", "false"}
TITLE_CAP, DESCRIPTION_CAP = 200, 2000  # characters; longer text is cut with an ellipsis
# bytes: an introduction, not a catalogue essay (and a guard against a wrong file)
INTRO_CAP = 64 * 1024
# characters of one line of the introduction (a paragraph written as one line is far shorter); a
# longer line is cut, with a warning
INTRO_LINE_CAP = 4000
SHEET_CAP = 32 << 20  # bytes: a sheet for a million pictures is far below this
SHOWN = 60  # characters of a value quoted in a message; the rest is "…"


@dataclass(frozen=True)
class Entry:
    """One picture's row of the sheet; None (or empty) where the sheet is silent."""

    row: int  # as a spreadsheet numbers it: the header is row 1
    image: str
    title: str = ""
    caption: str = ""
    order: float | None = None
    quadrant: int | None = None
    track: str = ""
    hide: bool = False


@dataclass
class Sheet:
    """The curator's sheet as read: its rows by picture, and the warnings found in reading it
    (unknown columns, a picture listed twice); what it says about the pictures and the catalogue is
    checked against them (check_pictures, pins), which return their own warnings."""

    path: Path | None = None
    entries: dict[str, Entry] = field(
        default_factory=dict
    )  # picture (relative POSIX path) -> its row
    warnings: list[str] = field(default_factory=list)

    @property
    def hidden(self) -> set[str]:
        return {f for f, e in self.entries.items() if e.hide}

    @property
    def quadrants(self) -> dict[str, int]:
        """What --narrow user --quadrants gave the methods: picture -> quadrant (1-4)."""
        return {f: e.quadrant for f, e in self.entries.items() if e.quadrant is not None}

    def check_pictures(self, files: list[str]) -> list[str]:
        """A warning for each row whose picture is not in INPUT (a typo, or a picture since
        removed)."""
        known = set(files)
        folded = {f.casefold(): f for f in files}
        warnings = []
        for name, e in self.entries.items():
            if name not in known:
                hint = (
                    f" (did you mean '{folded[name.casefold()]}'?)"
                    if name.casefold() in folded
                    else ""
                )
                warnings.append(
                    f"{self._where(e)}: no picture '{shown(name)}' in the input folder{hint}; row "
                    "ignored"
                )
        return warnings

    def pins(
        self, tracks: Sequence[Track], catalogue_name: str
    ) -> tuple[dict[str, Track], list[str]]:
        """Picture -> the track its row pins, found among the catalogue's tracks by id or audio file
        name, and the warnings: a track that is not there, or has no audio to play, is one, and the
        picture keeps the method's music."""
        by_id = {t.id: t for t in tracks}
        by_name: dict[str, list[Track]] = {}
        for t in tracks:
            if t.audio:
                by_name.setdefault(
                    PurePosixPath(Path(t.audio).as_posix()).name.casefold(), []
                ).append(t)
        out, warnings = {}, []
        for name, e in self.entries.items():
            if not e.track or e.hide:
                continue
            found = by_id.get(e.track)
            if found is None:
                same = by_name.get(PurePosixPath(e.track.replace("\\", "/")).name.casefold(), [])
                if len(same) > 1:
                    warnings.append(
                        f"{self._where(e)}: several audio files are called '{shown(e.track)}'; "
                        f"give the track's id (e.g. '{same[0].id}'); '{name}' keeps the music "
                        "chosen for it"
                    )
                    continue
                found = same[0] if same else None
            if found is None:
                warnings.append(
                    f"{self._where(e)}: no track '{shown(e.track)}' (id or audio file name) in "
                    f"the catalogue {catalogue_name}; '{name}' keeps the music chosen for it"
                )
            elif not found.audio:
                warnings.append(
                    f"{self._where(e)}: track '{shown(e.track)}' has no audio file, so it cannot "
                    f"play; '{name}' keeps the music chosen for it"
                )
            else:
                out[name] = found
        return out, warnings

    def _where(self, e: Entry) -> str:
        return f"{self.path.name if self.path else 'sheet'} row {e.row}"


def shown(value: str, n: int = SHOWN) -> str:
    """A value as a message quotes it: at most n characters (a 200,000-character cell is not said
    whole)."""
    return value if len(value) <= n else value[: n - 1] + "…"


def _decode(path: Path, what: str, cap: int) -> str:
    """A text file's content, or a UsageError in one sentence (missing, unreadable, not a regular
    file, too big, not UTF-8). Opened without blocking and checked as opened: a named pipe or a
    device is refused, never read (it would hang the build or never end)."""
    import stat

    from builder.files import file_kind, open_input

    def check(st: os.stat_result) -> None:
        if stat.S_ISDIR(st.st_mode):
            raise UsageError(f"{what} {path} is a folder; give a file")
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(
                f"{what} {path} is not a regular file ({file_kind(st.st_mode)}); give a file"
            )

    try:
        check(os.stat(path))  # a socket cannot even be opened
        fh, st = open_input(path)
        with fh:
            check(st)  # what was opened, if the name changed meanwhile
            data = fh.read(cap + 1)
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except PermissionError:
        raise UsageError(f"{what} {path} cannot be read (permission denied)") from None
    except OSError as exc:
        raise UsageError(f"{what} {path} cannot be read ({exc.strerror or exc})") from None
    if len(data) > cap:
        raise UsageError(f"{what} {path} is larger than {cap // 1024} KiB; is it the right file?")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{what} {path} is not UTF-8 text (byte {exc.start} cannot be read); save it as UTF-8"
        ) from None
    if "\x00" in text:
        raise UsageError(
            f"{what} {path} holds NUL bytes, so it is not a text file; is it the right file?"
        )
    return text


# NUL and the other control characters (escapes can recolour a terminal, and no caption needs them),
# lone surrogates, and bidi overrides (text that reads differently from what it says); newlines are
# handled apart
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def clean(text: str, cap: int, one_line: bool = False) -> str:
    """Text fit for a page: no control characters (newlines kept unless one_line; a tab is a space),
    spaces collapsed, at most one blank line in a row, trimmed, at most cap characters (cut with an
    ellipsis)."""
    text = (
        unicodedata.normalize("NFC", text)
        .replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace("\t", " ")
    )
    text = CONTROL.sub("", text)
    if one_line:
        text = text.replace("\n", " ")
    text = "\n".join(" ".join(line.split()) for line in text.split("\n")).strip()
    text = re.sub("\n{3,}", "\n\n", text)
    return text if len(text) <= cap else text[: cap - 1].rstrip() + "…"


def _separator(header: str) -> str:
    """The separator that splits the header into the most known columns (',' ';' or tab, as
    spreadsheets save CSV in different locales); ',' when none does."""
    best, score = ",", -1
    for sep in SEPARATORS:
        names = [c.strip().lower() for c in next(csv.reader([header], delimiter=sep), [])]
        n = sum(c in COLUMNS for c in names)
        if n > score:
            best, score = sep, n
    return best


def _picture(name: str) -> str:
    """A sheet's picture path as the builder lists pictures: relative, forward slashes, no './'."""
    parts = [p for p in name.strip().replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts)


@contextmanager
def _cells_up_to(limit: int) -> Iterator[None]:
    """csv's field limit (131,072 characters, one for the whole process) raised for the block: a
    longer cell of the sheet is read, then cut with a warning, not an error of the csv module."""
    before = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(before)


def read_sheet(path: Path, what: str = "curation sheet") -> Sheet:
    """Parse and check the whole sheet. Malformed values raise UsageError naming the row and column;
    a title or caption over its limit (TITLE_CAP, DESCRIPTION_CAP) is cut, with a warning."""
    text = _decode(path, what, SHEET_CAP)
    with _cells_up_to(SHEET_CAP):
        try:
            return _parse_sheet(path, what, text)
        except csv.Error as exc:
            raise UsageError(
                f"{what} {path} cannot be read as CSV ({exc}); nothing was built"
            ) from None


def _cut(text: str, cap: int, where: str, sheet: Sheet) -> str:
    """A title or caption cell made fit for a page (clean), with a warning on the sheet when it was
    cut to cap."""
    one_line = cap == TITLE_CAP
    whole = clean(text, len(text) + 1, one_line=one_line)
    if len(whole) > cap:
        sheet.warnings.append(
            f"{where}: {len(whole):,} characters, cut to {cap:,} (the most a "
            f"{'title' if one_line else 'caption'} holds)"
        )
    return clean(text, cap, one_line=one_line)


def _parse_sheet(path: Path, what: str, text: str) -> Sheet:
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise UsageError(
            f"{what} {path} is empty; its first row names the columns (image, and any of "
            f"{', '.join(COLUMNS[1:])})"
        )
    sep = _separator(lines[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header = [c.strip().lower() for c in next(reader)]
    if "image" not in header:
        first = ", ".join(repr(shown(h)) for h in header[:10]) + (
            " ..." if len(header) > 10 else ""
        )
        raise UsageError(
            f"{what} {path} has no 'image' column (its first row is {first}); "
            "name the columns image and any of " + ", ".join(COLUMNS[1:])
        )
    sheet = Sheet(path)
    unknown = [shown(h) for h in header if h and h not in COLUMNS]
    if unknown:
        sheet.warnings.append(
            f"{path.name}: column{'s' * (len(unknown) > 1)} {', '.join(repr(u) for u in unknown)} "
            f"{'are' if len(unknown) > 1 else 'is'} not one the builder reads "
            f"({', '.join(COLUMNS)}); ignored"
        )
    col = {name: header.index(name) for name in COLUMNS if name in header}
    for row, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue  # blank lines, as spreadsheets leave at the end

        def cell(name: str) -> str:
            i = col.get(name)
            return cells[i].strip() if i is not None and i < len(cells) else ""

        def bad(name: str, why: str) -> UsageError:
            return UsageError(f"{what} {path} row {row}, column {name}: {why}; nothing was built")

        image = _picture(cell("image"))
        if not image:
            raise bad("image", "no picture named (give its path relative to the input folder)")
        order = None
        if cell("order"):
            try:
                order = float(cell("order").replace(",", ".") if sep != "," else cell("order"))
            except ValueError:
                raise bad("order", f"'{shown(cell('order'))}' is not a number") from None
            if not math.isfinite(order):
                raise bad("order", f"'{shown(cell('order'))}' is not a number")
        quadrant = None
        if cell("quadrant"):
            if cell("quadrant") not in ("1", "2", "3", "4"):
                raise bad("quadrant", f"'{shown(cell('quadrant'))}' is not a quadrant 1-4")
            quadrant = int(cell("quadrant"))
        hide = cell("hide").lower()
        if hide not in TRUE | FALSE:
            raise bad(
                "hide",
                f"'{shown(cell('hide'))}' is neither yes nor no (use yes, 1, x or true to hide)",
            )
        where = f"{path.name} row {row}"
        entry = Entry(
            row=row,
            image=image,
            title=_cut(cell("title"), TITLE_CAP, f"{where}, column title", sheet),
            caption=_cut(
                cell("caption").replace("\\n", "\n"),
                DESCRIPTION_CAP,
                f"{where}, column caption",
                sheet,
            ),
            order=order,
            quadrant=quadrant,
            track=cell("track"),
            hide=hide in TRUE,
        )
        if image in sheet.entries:
            sheet.warnings.append(
                f"{where}: '{shown(image)}' was listed already in row {sheet.entries[image].row}; "
                "the later row is used"
            )
        sheet.entries[image] = entry
    return sheet


def read_intro(path: Path, what: str = "introduction file") -> tuple[str, str, list[str]]:
    """The --intro file's text (as written, each line at most INTRO_LINE_CAP characters), its HTML,
    made safe (intro_html), and a warning for each line that was cut; what: how a sentence names
    the file (the study's --study-text is read the same way)."""
    text = _decode(path, what, INTRO_CAP)
    warnings, lines = [], text.split("\n")
    for i, line in enumerate(lines):
        if len(line) > INTRO_LINE_CAP:
            warnings.append(
                f"{what} {path.name} line {i + 1}: {len(line):,} characters, cut to "
                f"{INTRO_LINE_CAP:,} (the most one line of the introduction holds)"
            )
            lines[i] = line[: INTRO_LINE_CAP - 1] + "…"
    text = "\n".join(lines)
    return text, intro_html(text), warnings


WEB = ("http", "https", "mailto")


def _scheme(url: str) -> str | None:
    """The URL's scheme, lower-cased, or None for a relative one."""
    head = url.strip().split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return head.split(":", 1)[0].lower() if ":" in head else None


def _in_gallery(url: str) -> bool:
    """A relative URL that stays inside the gallery, from its index at the gallery's top: not from
    the root (/x), not to another host (//host/x), and no '..' that climbs out, counted as a browser
    counts it (percent-escapes decoded, a backslash read as a slash)."""
    from urllib.parse import unquote

    path = unquote(url.split("#", 1)[0].split("?", 1)[0]).replace("\\", "/")
    if _scheme(url) is not None or path.startswith("/"):
        return False
    depth = 0
    for part in path.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return False
        elif part not in ("", "."):
            depth += 1
    return True


def _safe_link(url: str) -> bool:
    """Links the introduction may hold: web and mail addresses (http:, https:, mailto:) and paths
    inside the gallery; never javascript:, data:, file: or any other scheme, a path from the root,
    another host without a scheme (//host) or a path that climbs out of the gallery (../..)."""
    return _scheme(url) in WEB or _in_gallery(url)


def _image(self, tokens, idx, options, env) -> str:
    """An image of the introduction: shown only from inside the gallery (the pages' policy blocks
    others, with an error on every load); one from the web becomes a link to it, with its alt
    text."""
    from markdown_it.common.utils import escapeHtml

    token = tokens[idx]
    src = token.attrGet("src") or ""
    if _in_gallery(src):
        return self.image(tokens, idx, options, env)
    alt = escapeHtml(self.renderInlineAsText(token.children or [], options, env))
    inside_link = sum((t.type == "link_open") - (t.type == "link_close") for t in tokens[:idx]) > 0
    if _scheme(src) in ("http", "https") and not inside_link:
        return f'<a href="{escapeHtml(src)}">{alt or escapeHtml(src)}</a>'
    return alt


def intro_html(text: str) -> str:
    """Markdown (CommonMark) to HTML with raw HTML off, so tags in the text are shown as text and
    nothing of it runs; links only to web and mail addresses and inside the gallery, images only
    from inside it; headings one level down (the page's own <h1> is the title)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.validateLink = _safe_link
    md.add_render_rule("image", _image)
    # control characters go, but not indentation or line ends: Markdown's lists and code blocks are
    # made of them
    text = CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    "))
    tokens = md.parse(text)
    for t in tokens:
        if t.type in ("heading_open", "heading_close"):
            t.tag = f"h{min(6, int(t.tag[1]) + 1)}"
    return md.renderer.render(tokens, md.options, {})


def title_warnings(title: str | None) -> list[str]:
    """A warning when --title is longer than a title holds (it is cut: exhibition_title)."""
    if title is None:
        return []
    n = len(clean(title, len(title) + 1, one_line=True))
    if n <= TITLE_CAP:
        return []
    return [f"--title: {n:,} characters, cut to {TITLE_CAP:,} (the most a title holds)"]


def exhibition_title(title: str | None, input_dir: Path) -> str:
    """--title, else the input folder's name (of its absolute path, so `builder build .` has
    one)."""
    if title is not None and clean(title, TITLE_CAP, one_line=True):
        return clean(title, TITLE_CAP, one_line=True)
    return clean(Path(input_dir).resolve().name, TITLE_CAP, one_line=True)


def apply(
    records: list[ImageRecord],
    sheet: Sheet | None,
    metadata: dict[str, tuple[str, str]],
    pins: dict[str, Track],
) -> list[ImageRecord]:
    """Each record with its title, description, alt text and pinned first track, in the curator's
    order.

    metadata: picture -> (title, description) read from the picture's own file
    (builder.images.read_metadata), used where the sheet is silent. pins: picture -> the track its
    row pins (Sheet.pins): it becomes the first track and the method's tracks follow (without it),
    as many tracks as the method gave. Pictures with an order come first, by it (equal orders by
    file name); the others follow in the order they came."""
    entries = sheet.entries if sheet else {}
    out = []
    for im in records:
        e = entries.get(im.file)
        own_title, own_description = metadata.get(im.file, ("", ""))
        title = (e.title if e else "") or own_title
        description = (e.caption if e else "") or own_description
        # the caption methods' own sentence says more than a file name to someone who cannot see the
        # picture
        said = im.caption.text if im.caption and im.caption.text else ""
        changes: dict = dict(
            title=title,
            description=description,
            # the file name only as a last resort, without its extension
            alt=description or title or said or PurePosixPath(im.file).stem or im.file,
        )
        pin = pins.get(im.file)
        if pin is not None:
            rest = tuple(t for t in im.tracks if t.id != pin.id)
            # the curator's choice: no note that the music left the picture's quadrant
            changes.update(
                tracks=(pin, *rest)[: max(1, len(im.tracks))],
                pinned=True,
                off_quadrant=False,
                reason="pinned",
            )
        out.append(replace(im, **changes))
    ordered = sorted(
        (im for im in out if im.file in entries and entries[im.file].order is not None),
        key=lambda im: (entries[im.file].order, im.file),
    )
    placed = {im.file for im in ordered}
    return ordered + [im for im in out if im.file not in placed]


def has_order(sheet: Sheet | None) -> bool:
    return sheet is not None and any(e.order is not None for e in sheet.entries.values())
