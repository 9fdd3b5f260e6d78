"""`builder film GALLERY --out FILM.mp4`: the checks, the plan, and the film and its chapters
written into place, each renamed only when whole; a film inside the gallery is linked from its
index (film.js)."""

from __future__ import annotations

import os
from pathlib import Path

from builder.errors import UsageError
from builder.files import atomic_path, inside
from builder.film.encode import chapters_json, film_js, no_progress, render
from builder.film.frames import MOTIONS
from builder.film.plan import Options, Plan, make_plan, read_gallery
from builder.gallery.outdir import built_files, locked


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_film(folder: Path, out: Path, options: Options, progress=no_progress) -> Plan:
    """Read the gallery at folder and write the film to out (and its chapters to out.json), each
    renamed into place only when whole; when out lies inside the gallery, its film.js is pointed
    at the film."""
    folder = Path(os.path.abspath(folder))
    out = Path(os.path.abspath(out))
    gallery = read_gallery(folder)
    if options.motion not in MOTIONS:
        raise UsageError(f"--motion {options.motion!r}: choose {' or '.join(MOTIONS)}")
    if not (1 <= options.fps <= 120):
        raise UsageError("--fps must be between 1 and 120")
    if not (1.0 <= options.seconds <= 600):
        raise UsageError("--seconds must be between 1 and 600")
    if out.suffix.lower() != ".mp4":
        raise UsageError(f"--out {out.name}: the film is an MP4; give a name ending in .mp4")
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; give the film's file name")
    into_gallery = inside(out, folder)
    plan = make_plan(folder, gallery, options)
    chapters_path = out.with_suffix(".json")
    if into_gallery:
        theirs = built_files(folder)
        for p in (out, chapters_path):
            if Path(os.path.relpath(p.resolve(), folder.resolve())).as_posix() in theirs:
                raise UsageError(
                    f"--out {out.name} would overwrite {p.name}, a file of the gallery; "
                    "choose another name"
                )

    # a gallery built before film links has no film.js to point
    link = into_gallery and (folder / "film.js").is_file()

    def write() -> None:
        with atomic_path(out) as tmp_film, atomic_path(chapters_path) as tmp_json:
            render(plan, tmp_film, progress)
            tmp_json.write_bytes(chapters_json(plan, out))
            for tmp in (tmp_film, tmp_json):  # mkstemp makes 0600: a film is for sharing
                os.chmod(tmp, 0o666 & ~_umask())
            size = tmp_film.stat().st_size
        if link:
            js = film_js(
                Path(os.path.relpath(out.resolve(), folder.resolve())).as_posix(),
                size,
                plan.duration,
            )
            with atomic_path(folder / "film.js") as tmp:
                tmp.write_text(js, encoding="utf-8")

    if into_gallery and not link:
        plan.warnings.append(
            "the gallery was built before film links: build it again, then make the film, "
            "to link it"
        )
    if into_gallery:
        with locked(folder):  # no build swaps the gallery while the film is written into it
            write()
    else:
        write()
    return plan
