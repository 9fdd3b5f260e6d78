"""The exhibition as a film: `builder film GALLERY --out FILM.mp4`.

The built gallery is the one source of truth: its gallery.json (order, captions, tracks, licences,
where each track stops being quiet), read as `builder.records.Gallery`, its display copies of the
pictures and its audio. Nothing is analysed again. The film is part of the roof: it joins the
gallery (what was built) and the music wing (decoding, loudness, licences), as the pipeline joins
pictures and music.

The film: a title card (the exhibition's title and the intro's first paragraph as plain text),
then each picture of the slideshow's order for --seconds (or the order of one song's feeling, with
--one-song), never enlarged past 1.5x its pixels over a blurred fill of itself, with its title,
the curator's caption and the track in a band below it, a slow zoom and drift (--motion gentle),
crossfades between chapters (the words fade out before a cut and in after it), and end cards that
credit every track heard, the model that read the pictures and the data it learned from, in the
gallery's language. Its modules, each doing one job:

- `plan`: the chapters, the segments of music, what is heard and what is left out;
- `cards`: the words of the title and end cards;
- `order`: --one-song's order, from DEAM's ratings of the song through time;
- `text`: fonts that cover the text, Markdown as plain text, wrapping and fitting;
- `layout`: where the picture, its band of words and the cards' words go in a frame;
- `frames`: the cards, the pictures and their motion, crossfades, the words' layer;
- `sound`: the mixer (each excerpt levelled to TARGET_LUFS, crossfaded, looped if short);
- `encode`: the MP4 (H.264, AAC, chapter markers), the chapters JSON beside it, film.js;
- `make`: `make_film`, what `builder film` calls: what may be written, the lock, the film
  written beside the gallery, read back, then renamed into place.
"""

from __future__ import annotations

from builder.film.frames import MOTIONS
from builder.film.make import make_film
from builder.film.plan import FilmFileMissing, Options, Plan, parse_size

__all__ = ["MOTIONS", "FilmFileMissing", "Options", "Plan", "make_film", "parse_size"]
