"""`builder film GALLERY --out FILM.mp4`: the checks, the plan, and the film and its chapters
written into place, each renamed only when whole and the film only once it has been read back; a
film inside the gallery is linked from its index (film.js).

What may be written, decided before anything is (`check_targets`; paths with their links
resolved): the film and its chapters JSON, never a file of the gallery's build (gallery.json,
film.js aside, which the film points), never a place inside another gallery the builder wrote,
and never over a file the builder did not make (a video or a JSON of the user's: `--force`
replaces them).

The whole film is made under the gallery's lock (`builder.gallery.outdir.locked`, on the gallery's
resolved path, so a gallery reached through a link is the same gallery with the same lock): no
build swaps the gallery while its pictures are read and the film is written into it. A film
inside the gallery is written beside it first (`.GALLERY.film-*` in the gallery's parent folder)
and renamed in when whole, so a film killed mid-way leaves nothing inside the gallery that a later
build would carry over as the user's; the next film of the gallery removes such leftovers.
"""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from builder.errors import OutputError, UsageError
from builder.files import check_output, inside, publish
from builder.film.encode import MADE_BY, chapters_json, film_js, no_progress, render
from builder.film.frames import MOTIONS
from builder.film.plan import Options, Plan, make_plan, read_gallery
from builder.gallery.outdir import built_files, locked


def ours_film(path: Path) -> bool:
    """Whether the file at path is a film this builder made (its MP4 says so)."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as c:
            return c.metadata.get("comment") == MADE_BY
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError):
        return False


def ours_chapters(path: Path) -> bool:
    """Whether the file at path is a film's chapters JSON this builder wrote (`made_by`, or the
    keys of the chapters files written before it)."""
    try:
        if path.stat().st_size > 64 << 20:
            return False
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return False
    if not isinstance(data, dict):
        return False
    return data.get("made_by") == MADE_BY or {"film", "chapters", "target_lufs"} <= set(data)


def check_targets(gallery: Path, film: Path, chapters: Path, force: bool) -> None:
    """Refuse, before anything is written, a film or chapters path the builder may not write (see
    the module's docstring); paths are resolved."""
    if film.suffix.lower() != ".mp4":
        raise UsageError(f"--out leads to {film}, which is not an .mp4; give the film's file name")
    for p in (film, chapters):
        if p.is_dir():
            raise UsageError(f"--out: {p} is a folder; give the film's file name")
    # the rule every path the builder writes is held to (builder.files: never inside another
    # gallery the builder wrote); whether a file there is the builder's own is the film's to say
    # below (with --force)
    check_output(film, kind="film", gallery=gallery, force=True)
    check_output(chapters, kind="chapters", what="the film's chapters", gallery=gallery, force=True)
    if inside(film, gallery):
        theirs = built_files(gallery)
        for p in (film, chapters):
            if os.path.relpath(p, gallery).replace(os.sep, "/") in theirs:
                raise UsageError(
                    f"--out {film.name} would overwrite {p.name}, a file of the gallery; "
                    "choose another name"
                )
    if force:
        return
    if film.exists() and not ours_film(film):
        raise UsageError(
            f"--out {film} exists and is not a film the builder made; choose another name, or "
            "give --force to replace it"
        )
    if chapters.exists() and not ours_chapters(chapters):
        raise UsageError(
            f"the film's chapters would replace {chapters}, which the builder did not write; "
            "choose another name for the film, or give --force to replace it"
        )


@contextmanager
def staged(target: Path, where: Path, prefix: str) -> Iterator[Path]:
    """A temporary file in `where` for target's contents; removed unless published."""
    fd, tmp = tempfile.mkstemp(dir=where, prefix=prefix, suffix=target.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def verify(path: Path, plan: Plan) -> None:
    """The film as written is read back (demuxed, not decoded): an MP4 whose picture and sound
    both run, packet by packet, as long as planned; OutputError otherwise (nothing is published).
    A file cut short keeps its index (written first) but loses the packets at its end."""
    import av

    fps = plan.options.fps
    expected = max(1, round(plan.duration * fps)) / fps
    ends = {"video": 0.0, "audio": 0.0}
    try:
        with av.open(str(path)) as c:
            for packet in c.demux():
                kind = packet.stream.type
                if kind in ends and packet.pts is not None and packet.size:
                    end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                    ends[kind] = max(ends[kind], end)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise OutputError(
            f"the film written to {path} cannot be read back ({exc}); nothing was replaced"
        ) from None
    short = {k: v for k, v in ends.items() if abs(v - expected) > max(2 / fps, 0.25)}
    if short:
        said = ", ".join(f"its {k} {v:.2f} s" for k, v in short.items())
        raise OutputError(
            f"the film written to {path} does not read back as planned ({said}, not "
            f"{expected:.2f} s); nothing was replaced"
        )


def make_film(folder: Path, out: Path, options: Options, progress=no_progress, store=None) -> Plan:
    """Read the gallery at folder and write the film to out (and its chapters to out.json), each
    renamed into place only when whole; when out lies inside the gallery, its film.js is pointed
    at the film. store: the asset store fonts and DEAM's ratings through time are found in."""
    if options.motion not in MOTIONS:
        raise UsageError(f"--motion {options.motion!r}: choose {' or '.join(MOTIONS)}")
    if not (1 <= options.fps <= 120):
        raise UsageError("--fps must be between 1 and 120")
    if not (1.0 <= options.seconds <= 600):
        raise UsageError("--seconds must be between 1 and 600")
    if Path(out).suffix.lower() != ".mp4":
        raise UsageError(f"--out {Path(out).name}: the film is an MP4; give a name ending in .mp4")
    read_gallery(Path(os.path.abspath(folder)))  # refused before a lock is made beside it
    gallery = Path(folder).resolve()
    film = Path(os.path.abspath(out)).resolve()
    chapters_path = film.with_suffix(".json")
    check_targets(gallery, film, chapters_path, options.force)
    into_gallery = inside(film, gallery)
    # a gallery built before film links has no film.js to point
    link = into_gallery and (gallery / "film.js").is_file()

    with locked(gallery):  # no build swaps the gallery while the film reads and joins it
        plan = make_plan(gallery, read_gallery(gallery), options, store)
        if into_gallery and not link:
            plan.warnings.append(
                "the gallery was built before film links: build it again, then make the film, to "
                "link it"
            )
        for old in gallery.parent.glob(glob.escape(f".{gallery.name}.film-") + "*"):  # killed
            old.unlink(missing_ok=True)
        film.parent.mkdir(parents=True, exist_ok=True)
        # a film inside the gallery is made beside it (same file system: one rename moves it in)
        beside = into_gallery and os.stat(gallery.parent).st_dev == os.stat(film.parent).st_dev
        where, prefix = (
            (gallery.parent, f".{gallery.name}.film-")
            if beside
            else (film.parent, f".{film.name}.tmp-")
        )
        with (
            staged(film, where, prefix) as tmp_film,
            staged(chapters_path, where, prefix) as tmp_json,
        ):
            render(plan, tmp_film, progress)
            verify(tmp_film, plan)
            tmp_json.write_bytes(chapters_json(plan, film))
            size = tmp_film.stat().st_size
            publish(tmp_film, film)
            publish(tmp_json, chapters_path)
        if link:
            href = os.path.relpath(film, gallery).replace(os.sep, "/")
            with staged(gallery / "film.js", where, prefix) as tmp:
                tmp.write_text(film_js(href, size, plan.duration), encoding="utf-8")
                publish(tmp, gallery / "film.js")
    return plan
