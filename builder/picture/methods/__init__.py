"""How each --method reads a picture, and how its reading becomes a feeling and music.

The pipeline (builder.pipeline) runs the same named stages for every picture and asks the method at
each one; the method answers: what its recognisers find (detect, faces, colours, caption, scene),
which impression words a picture gives, how a reading becomes an ImageRecord, and what is done once
over the whole collection. A new method or backbone is a module here and a line in `get`; the
pipeline does not change.
"""

from __future__ import annotations

from functools import cache

from builder.picture.methods.base import Method, object_records

__all__ = ["Method", "get", "object_records"]


@cache  # methods hold no state: one object per name, asked for on every picture's cache path
def get(name: str) -> Method:
    """The method of that name (builder.settings.METHODS, checked when settings are made)."""
    from builder.picture.methods.caption import Caption
    from builder.picture.methods.learned import Learned
    from builder.picture.methods.objects import Objects
    from builder.picture.methods.random_track import RandomTrack

    found = {
        "learned": Learned,
        "objects": Objects,
        "caption": Caption,
        "caption-plain": Caption,
        "random": RandomTrack,
    }.get(name)
    if found is None:
        raise KeyError(name)
    return found(name)
