"""What the commands print: every line goes through `say` (nothing from a file reaches the terminal
raw), progress bars on stderr (hidden when it is not a terminal), and the summary lines that end a
command."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import typer

from builder.errors import printable

T = TypeVar("T")


def say(message: str, err: bool = False) -> None:
    """Print a line (to stderr with err), its control characters made visible."""
    typer.echo(printable(message, keep_newlines=True), err=err)


def warn(message: str) -> None:
    say(f"warning: {printable(message)}", err=True)


def progress(items: Iterable[T], label: str, total: int) -> Iterator[T]:
    """A bar on stderr that is hidden when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield from items
        return
    with typer.progressbar(items, length=total, label=label, file=sys.stderr) as bar:
        yield from bar


class DownloadBar:
    """The asset store's progress of one download (builder.assets.AssetStore(progress=))."""

    def __init__(self, total: int | None, label: str):
        self.bar = typer.progressbar(
            length=total or 0, label=f"downloading {label}", file=sys.stderr, show_pos=True
        )
        self.bar.__enter__()

    def update(self, n: int) -> None:
        self.bar.update(n)

    def close(self) -> None:
        self.bar.__exit__(None, None, None)


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def failures(failed: Iterable) -> None:
    """One line per picture or track that failed, with its reason."""
    for f in failed:
        say(f"  failed: {printable(f.file)}: {printable(f.reason)}", err=True)


def why_nothing(failed, none: str) -> str:
    """The first reasons nothing could be made, for the error that says so."""
    return "; ".join(f"{printable(f.file)}: {printable(f.reason)}" for f in failed[:5]) or none


def built(built, out: Path, started: float) -> None:
    """The lines that end `builder build`: what was built, how the music was chosen, the files of
    the user's that the new gallery kept, and each picture that failed."""
    gallery = built.gallery
    n, failed = len(gallery.images), len(gallery.failed)
    say(
        f"built {plural(n, 'picture')} ({built.cached} cached, {failed} failed) in "
        f"{time.perf_counter() - started:.1f} s -> {out / 'index.html'}",
        err=True,
    )
    say(music_summary(gallery), err=True)
    for note in built.notes:
        say(note, err=True)
    kept = built.kept
    if kept:
        more = " ..." if len(kept) > 10 else ""
        say(
            f"kept {plural(len(kept), 'file')} in {out} that the builder did not write: "
            f"{', '.join(printable(k) for k in kept[:10])}{more}",
            err=True,
        )
    failures(gallery.failed)


def music_summary(gallery) -> str:
    """One line on the music: where it came from, whether it plays, and how varied the first tracks
    are."""
    cat = gallery.catalogue
    if gallery.silent:
        return f"music: {gallery.silent}"
    line = f"music: {plural(cat.size, 'track')} of {cat.name}"
    m = gallery.matching
    if m is None or not m.pictures:
        return line
    return f"{line}; first tracks assigned across the collection: {_assignment(m)}"


def _assignment(m) -> str:
    """How the learned method's collection-wide assignment went (records.Matching), in one
    clause."""
    extra = (m.total / m.nearest_total - 1) * 100 if m.nearest_total > 0 else 0.0
    repeated = m.pictures - m.distinct_first
    solved = m.in_quadrant + m.off_quadrant  # the others' first tracks were pinned by the sheet
    pinned = m.pictures - solved
    capped = f", capped at {m.repeats} by --repeats" if m.repeats else ""
    pins = f", {pinned} pinned by the curation sheet" if pinned else ""
    elsewhere = (
        f" ({m.off_quadrant} whose quadrant has no track in the catalogue got the nearest track "
        "elsewhere)"
        if m.off_quadrant
        else ""
    )
    unpinned = "unpinned " if pinned else ""
    return (
        f"{m.distinct_first} different for {m.pictures} pictures ({plural(repeated, 'repeat')}, "
        f"a track at most {plural(m.capacity, 'time')}{capped}{pins}), {m.in_quadrant} of "
        f"{solved} in their picture's quadrant{elsewhere}, total distance to the targets "
        f"{m.total:.3f} against {m.nearest_total:.3f} for each {unpinned}picture's nearest track "
        f"in its quadrant ({extra:+.0f} %)"
    )


def film_made(plan, out: Path, started: float) -> None:
    """The lines that end `builder film`: the film, its notes and warnings, the music credited and
    why each may be put to pictures, and the tracks left out (with why)."""
    pictures = sum(c.kind == "picture" for c in plan.chapters)
    minutes, secs = divmod(round(plan.duration), 60)
    say(
        f"made a film of {plural(pictures, 'picture')} ({minutes}:{secs:02d}) in "
        f"{time.perf_counter() - started:.1f} s -> {out} (chapters: {out.with_suffix('.json')})",
        err=True,
    )
    if plan.song is not None:
        order = "following its feeling through time" if plan.order == "song" else "slideshow order"
        say(
            f"one song: {printable(plan.song.title or plan.song.id)}, "
            f"{plan.options.seconds:.1f} s a picture, {order}",
            err=True,
        )
    for note in plan.notes:
        say(note + (f" ({plan.silent})" if plan.silent else ""), err=True)
    for warning in plan.warnings:
        say(f"warning: {printable(warning)}", err=True)
    if plan.credited:
        say(f"music: {plural(len(plan.credited), 'track')} credited on the end card", err=True)
    for m in plan.credited:
        say(f"  used: {printable(m.title or m.id)}: {plan.why.get(m.id, '')}", err=True)
    for m, why in plan.left_out:
        say(f"  left out: {printable(m.title or m.id)} — {printable(m.artist)}: {why}", err=True)
    if plan.left_out:
        say("  (--allow-licence TEXT uses tracks whose licence you know allows it)", err=True)


def scored(n: int, cached: int, failed: list, out: Path, started: float) -> None:
    """The lines that end `builder music score`."""
    say(
        f"scored {plural(n, 'track')} ({cached} cached, {len(failed)} failed) in "
        f"{time.perf_counter() - started:.1f} s -> {out}",
        err=True,
    )
    failures(failed)
