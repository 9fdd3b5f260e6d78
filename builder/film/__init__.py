"""The exhibition as a film: `builder film GALLERY --out FILM.mp4`.

The built gallery is the one source of truth: its gallery.json (order, captions, tracks, licences,
where each track stops being quiet), read as `builder.records.Gallery`, its display copies of the
pictures and its audio. Nothing is analysed again. The film is part of the roof: it joins the
gallery (what was built) and the music wing (decoding, loudness, licences), as the pipeline joins
pictures and music.

The film: a title card, then each picture of the slideshow's order for --seconds, contained on a
dark background with a caption line, a slow zoom and drift (--motion gentle), crossfades between
chapters, and an end card that credits every track heard with its artist and licence and says
which tracks were left out and why. Its modules, each doing one job:

- `plan`: the chapters, the segments of music, what is heard and what is left out;
- `frames`: the title and end cards, the pictures and their motion, crossfades, fonts, text;
- `sound`: the mixer (each excerpt levelled to TARGET_LUFS, crossfaded, looped if short);
- `encode`: the MP4 (H.264, AAC, chapter markers), the chapters JSON beside it, film.js;
- `make`: `make_film`, what `builder film` calls.
"""

from __future__ import annotations

from builder.film.frames import MOTIONS
from builder.film.make import make_film
from builder.film.plan import FilmFileMissing, Options, Plan, parse_size

__all__ = ["MOTIONS", "FilmFileMissing", "Options", "Plan", "make_film", "parse_size"]
