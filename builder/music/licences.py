"""Which music may be put to pictures: the licence rules the film applies to every track.

Decided on the licence text the catalogue carries (DEAM: the clip's ID3 copyright tag).
Synchronising music with moving images makes an adaptation under Creative Commons ("Adapted
Material is always produced where the Licensed Material is synced in timed relation with a moving
image", CC 4.0 section 1a), which NoDerivatives forbids. FMA-Limited is the Free Music Archive's
own licence: it lets people stream and download a track from the archive, and grants nothing
beyond that (no adaptation, no redistribution); anything more needs the artist's permission, so it
is left out like ND unless the curator names it (`allow`, the film's --allow-licence).
docs/film.md has the table.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from builder.music.audio import AUDIO_SUFFIXES

_ND = re.compile(r"\bnd\b|no[ -]?deriv|noderiv|by-nc-nd|by-nd", re.I)
_FMA_LIMITED = re.compile(r"fma[ _-]?limited|fma_license", re.I)
_FREE = re.compile(r"\bcc0\b|public ?domain|publicdomain|/zero/", re.I)
_CC = re.compile(
    r"creative ?commons|creativecommons\.org/licenses/by|\bcc[ -]by\b|\battribution\b"
    r"|^\s*by(-nc)?(-sa)?\b",
    re.I,
)
_CC_URL = re.compile(r"creativecommons\.org/licenses/([a-z-]+)/(\d+(?:\.\d+)?)", re.I)


def is_own_music(catalogue: str, track_id: str) -> bool:
    """Tracks scored from the user's --music folder: their ids are file paths in that folder
    (builder.music.listen), and the catalogue is not DEAM. Those are the user's own to use."""
    return (
        not catalogue.startswith("DEAM")
        and PurePosixPath(track_id).suffix.lower() in AUDIO_SUFFIXES
    )


def licence_verdict(
    licence: str | None, own: bool = False, allow: tuple[str, ...] = ()
) -> tuple[bool, str]:
    """(may the track be synchronised with pictures, why). own: the user's own music (is_own_music);
    allow: texts the curator allows, any licence containing one (case-insensitive) is used."""
    text = (licence or "").strip()
    if text and any(a.strip() and a.strip().lower() in text.lower() for a in allow):
        return True, "allowed with --allow-licence"
    if _ND.search(text):
        return False, "NoDerivatives: putting music to pictures is an adaptation, which ND forbids"
    if _FMA_LIMITED.search(text):
        return (
            False,
            "FMA-Limited allows listening on the Free Music Archive only, not use in a film",
        )
    if _FREE.search(text):
        return True, "public domain"
    if _CC.search(text):
        return True, "Creative Commons licence that allows adaptations"
    if own:
        return True, "your own music"
    if not text:
        return False, "no licence is given"
    return False, "its licence is not one known to allow films"


def short_licence(licence: str | None) -> str:
    """The licence's name without its URL ('Creative Commons Attribution: http://...': the
    name)."""
    m = _CC_URL.search(licence or "")
    if m:  # the URL names it exactly and briefly: 'CC BY-NC-SA 3.0'
        return f"CC {m[1].upper()} {m[2]}"
    text = (licence or "").split(": http")[0].split(" http")[0].strip()
    return text or "licence not given"
