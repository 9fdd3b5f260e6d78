"""The film's words: fonts that cover what is drawn, Markdown as plain text, lines wrapped at word
boundaries and sizes found by measure-and-bisect.

Fonts: DejaVu Sans (matplotlib's data, else Debian's fonts-dejavu-core) for Latin, Greek and
Cyrillic; Noto Sans JP, SC, TC and KR (assets: the PyPI package justmytype-intl-cjk, else the cache
or the mirror) for what DejaVu lacks. Each line is drawn in the first font whose
character map holds every one of its characters; what no font holds is reported, never drawn as
empty boxes without a word.

Every measure here is linear in the text: a line is wrapped word by word (each word measured once),
a word longer than a line is split by bisection, and the size of a block is found by bisecting the
font size, each try wrapping the block once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ELLIPSIS = "…"
# Noto Sans CJK fonts are variable fonts whose default instance is Thin: drawn at this weight
CJK_WEIGHT = 450
CJK_FONTS = ("noto-sans-jp", "noto-sans-sc", "noto-sans-tc", "noto-sans-kr")  # asset names


@lru_cache(maxsize=1)
def latin_font() -> str | None:
    """DejaVu Sans: matplotlib's copy (a dependency, found without importing it), else Debian's."""
    import importlib.util

    spec = importlib.util.find_spec("matplotlib")
    roots = [
        Path(r) / "mpl-data" / "fonts" / "ttf"
        for r in (spec and spec.submodule_search_locations or [])
    ]
    for root in [*roots, Path("/usr/share/fonts/truetype/dejavu")]:
        path = root / "DejaVuSans.ttf"
        if path.is_file():
            return str(path)
    return None


def cjk_fonts(store) -> tuple[str, ...]:
    """The CJK fonts the asset store finds (never downloading: `builder assets fetch noto-sans-jp`
    fetches one), in the order tried."""
    from builder.errors import BuilderError

    found = []
    for name in CJK_FONTS:
        try:
            path = store.optional(name)
        except BuilderError:  # a damaged copy: as if absent (the summary names what is missing)
            path = None
        if path is not None:
            found.append(str(path))
    return tuple(found)


@lru_cache(maxsize=8)
def covered(path: str) -> frozenset[int]:
    """The code points a font file has glyphs for (its character map, read with fontTools)."""
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True, fontNumber=0) as f:
        return frozenset(f.getBestCmap() or {})


def _drawn(ch: str) -> bool:
    """Whether a character needs a glyph (spaces, joiners and marks of format need none)."""
    return not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc", "Zs")


def font_files(lang: str, cjk: tuple[str, ...]) -> tuple[str, ...]:
    """The fonts tried, in order: for a gallery in Japanese (Chinese, Korean) the CJK fonts
    first, so a card is drawn in one face rather than switching between lines."""
    latin = (latin_font(),) if latin_font() else ()
    return tuple(cjk) + latin if lang in ("ja", "zh", "ko") and cjk else latin + tuple(cjk)


def file_for(text: str, fonts: tuple[str, ...]) -> str | None:
    """The first of fonts that holds every character of text; else the one that holds most; None
    when there is no font file at all (Pillow's own font is used)."""
    need = {ord(c) for c in text if _drawn(c)}
    best, most = None, -1
    for f in fonts:
        have = len(need & covered(f))
        if have == len(need):
            return f
        if have > most:
            best, most = f, have
    return best


def missing(text: str, fonts: tuple[str, ...]) -> str:
    """The characters of text that none of fonts holds (at most 20 of them), or ''."""
    if not fonts:
        return ""
    held = frozenset().union(*(covered(f) for f in fonts))
    gone = dict.fromkeys(c for c in text if _drawn(c) and ord(c) not in held)
    return "".join(list(gone)[:20])


@lru_cache(maxsize=64)
def font(px: int, path: str | None):
    from PIL import ImageFont

    px = max(8, int(px))
    if path is None:
        return ImageFont.load_default(size=px)  # Pillow's own scalable font (it lacks a few signs)
    f = ImageFont.truetype(path, px)
    try:
        axes = f.get_variation_axes()
    except OSError:  # not a variable font
        return f
    f.set_variation_by_axes(
        [CJK_WEIGHT if a.get("name") in (b"Weight", "Weight") else a["default"] for a in axes]
    )
    return f


def font_for(text: str, px: int, fonts: tuple[str, ...]):
    return font(px, file_for(text, fonts))


# ---- Markdown as plain text ---------------------------------------------------------------------


def first_paragraph(markdown: str, limit: int) -> str:
    """The first paragraph of a Markdown text as plain text (emphasis, links and code as their
    words; headings, lists' markers and raw HTML left out), cut at a word boundary to at most
    `limit` characters with an ellipsis."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False})
    tokens = md.parse(markdown[: 64 * 1024])
    for k, tok in enumerate(tokens):
        if tok.type != "paragraph_open" or k + 1 >= len(tokens):
            continue
        words = []
        for child in tokens[k + 1].children or []:
            if child.type in ("text", "code_inline"):
                words.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                words.append(" ")
            elif child.type == "image":
                words.append(child.content)
        text = " ".join("".join(words).split())
        if text:
            return shorten(text, limit)
    return ""


def shorten(text: str, limit: int) -> str:
    """text cut to at most limit characters, at a word boundary where there is one in its last
    fifth, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-—") + ELLIPSIS


# ---- wrapping and fitting -----------------------------------------------------------------------

# a CJK character is a place a line may break, as a space is elsewhere
_CJK = re.compile(
    r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\u3000-\u303f\U00020000-\U0003ffff]"
)
_TOKEN = re.compile(r"\S+\s*|\s+")


# closing signs that never begin a line (they stay with the character before them)
_CLOSING = set(
    "、。，．・：；？！ー）」』】〕〉》”’ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮ,.;:!?)]}"
)


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for tok in _TOKEN.findall(text):
        if _CJK.search(tok):
            # each CJK character stands alone; runs of other letters (a Latin name) stay whole
            for p in re.split(f"({_CJK.pattern})", tok):
                if p and out and p[0] in _CLOSING and not out[-1].endswith(" "):
                    out[-1] += p
                elif p:
                    out.append(p)
        else:
            out.append(tok)
    return out


def _split_long(word: str, measure, width: float, cap: int) -> tuple[str, str]:
    """The longest head of word that fits width, and the rest. The head is at most cap characters
    (more never fit a line), so each of the log2(cap) measures of the bisection is short."""
    if len(word) <= cap and measure(word) <= width:
        return word, ""
    lo, hi = 1, min(len(word), cap)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure(word[:mid]) <= width:
            lo = mid
        else:
            hi = mid - 1
    return word[:lo], word[lo:]


def wrap(text: str, measure, width: float) -> tuple[list[str], bool]:
    """text in lines no wider than width, broken between words (and between CJK characters);
    (lines, whether a word had to be split because it is wider than a line by itself). Each token
    is measured with the line it joins, which is at most a line long, so the work is linear."""
    cap = int(width / max(0.5, measure(".") * 0.5)) + 2  # more characters than a line can hold
    lines: list[str] = []
    line, split = "", False
    for tok in _tokens(text):
        trial = line + tok
        if not line.strip() or measure(trial.rstrip()) <= width:
            line = trial.lstrip()
        else:
            lines.append(line.rstrip())
            line = tok.lstrip()
        # a word wider than a line by itself: split it (the head fills a line)
        if len(line.rstrip()) > 1 and (len(line) > cap or measure(line.rstrip()) > width):
            while True:
                head, rest = _split_long(line.rstrip(), measure, width, cap)
                if not rest:
                    line = head + " " * (line != line.rstrip())
                    break
                lines.append(head)
                line, split = rest, True
    if line.strip():
        lines.append(line.rstrip())
    return lines, split


@dataclass(frozen=True)
class Item:
    """One entry of a card: its text, its size relative to the card's base size, its colour, and
    at most how many lines it may take (its last line then ends with an ellipsis)."""

    text: str
    scale: float = 1.0
    colour: tuple[int, int, int] = (235, 235, 235)
    max_lines: int = 0  # 0: as many as it needs
    gap: float = 0.0  # space above it, in lines of its size


@dataclass(frozen=True)
class Line:
    text: str
    px: int
    colour: tuple[int, int, int]
    height: int  # the line's advance


LEADING = 1.3


def lay_out(
    items: list[Item], px: int, width: float, fonts: tuple[str, ...]
) -> tuple[list[Line], bool]:
    """The items wrapped at base size px: (lines, whether any word had to be split)."""
    out: list[Line] = []
    any_split = False
    for it in items:
        size = max(8, round(px * it.scale))
        f = font_for(it.text, size, fonts)
        lines, split = wrap(it.text, lambda s, f=f: f.getlength(s), width)
        any_split |= split
        if it.max_lines and len(lines) > it.max_lines:
            lines = lines[: it.max_lines]
            last = lines[-1]
            while last and f.getlength(last.rstrip(" ,;:") + ELLIPSIS) > width:
                # whole words off the end where the line has several
                last = last[: last.rfind(" ")] if " " in last.strip() else last[:-1]
            lines[-1] = last.rstrip(" ,;:") + ELLIPSIS
        if it.gap and out:
            out.append(Line("", size, it.colour, round(size * LEADING * it.gap)))
        out += [Line(s, size, it.colour, round(size * LEADING)) for s in lines]
    return out, any_split


def fit(
    items: list[Item],
    width: float,
    height: float,
    largest: int,
    smallest: int,
    fonts: tuple[str, ...],
) -> tuple[list[Line], int]:
    """The items at the largest base size in [smallest, largest] at which they fit width x height
    with no word split, found by bisection (each try lays the items out once); at `smallest` if
    none does. (lines, base size)."""

    def ok(px: int) -> tuple[bool, list[Line]]:
        lines, split = lay_out(items, px, width, fonts)
        return (not split and sum(ln.height for ln in lines) <= height), lines

    good, lines = ok(largest)
    if good:
        return lines, largest
    lo, hi = smallest, largest - 1  # lo: the best known to fit (or the floor)
    best = None
    while lo <= hi:
        mid = (lo + hi) // 2
        fits, mid_lines = ok(mid)
        if fits:
            best, lo = (mid, mid_lines), mid + 1
        else:
            hi = mid - 1
    if best is None:
        return lay_out(items, smallest, width, fonts)[0], smallest
    return best[1], best[0]
