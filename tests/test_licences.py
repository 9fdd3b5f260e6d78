"""Which music may be put to pictures (builder.music.licences)."""

from __future__ import annotations

import csv

from builder.music.licences import is_own_music, licence_verdict, short_licence

from .conftest import MIRROR, requires_mirror

CLIPS = MIRROR / "deam" / "MEMD_audio" / "clips_index.csv"


@requires_mirror
def test_licences_of_the_deam_clips():
    with open(CLIPS, newline="", encoding="utf-8") as f:
        licences = {r["song_id"]: r["licence_id3_TCOP"] for r in csv.DictReader(f)}
    verdicts = {sid: licence_verdict(text)[0] for sid, text in licences.items()}
    for sid, text in licences.items():
        if "NoDerivatives" in text or "FMA-Limited" in text:
            assert not verdicts[sid], text
        else:  # CC BY and CC BY-NC-SA allow adaptations
            assert verdicts[sid], text
    assert any(verdicts.values()) and not all(verdicts.values())


def test_licence_verdicts():
    assert licence_verdict("CC0 1.0 Universal")[0]
    assert licence_verdict("Attribution-ShareAlike 4.0 International (CC BY-SA 4.0)")[0]
    assert not licence_verdict("CC BY-ND 4.0")[0]
    assert licence_verdict("BY-NC-SA 4.0")[0] and not licence_verdict("BY-NC-ND 4.0")[0]
    assert not licence_verdict(None)[0]  # unknown: left out
    assert not licence_verdict("All rights reserved")[0]
    assert licence_verdict("All rights reserved", allow=("all rights",))[0]  # the curator's word
    assert licence_verdict(None, own=True)[0]  # the user's own --music
    assert not licence_verdict("CC BY-NC-ND", own=True)[0]  # a tag that forbids still forbids


def test_own_music_is_a_file_of_a_catalogue_that_is_not_deam():
    assert is_own_music("holiday", "album/song.mp3")
    assert is_own_music("holiday", "clip.WEBM")  # every suffix the --music folder is read for
    assert not is_own_music("holiday", "12")  # a --catalogue CSV's own ids
    assert not is_own_music("DEAM (playable)", "12")


def test_a_licence_is_named_briefly_without_its_url():
    text = (
        "Attribution-Noncommercial-Share Alike 3.0 United States: "
        "http://creativecommons.org/licenses/by-nc-sa/3.0/us/"
    )
    assert short_licence(text) == "CC BY-NC-SA 3.0"
    assert short_licence("FMA-Limited: http://freemusicarchive.org/FMA_License") == "FMA-Limited"
    assert short_licence(None) == "licence not given"
