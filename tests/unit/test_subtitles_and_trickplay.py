"""Subtitle conversion, the trickplay index, the poster choice and language names."""

from __future__ import annotations

import pytest

from cineflux.media.languages import UnknownLanguage, native_name, to_bcp47, to_iso639_2
from cineflux.media.poster import FrameStats, NoPosterFrame, choose_poster
from cineflux.media.subtitles import (
    InvalidSubtitles,
    parse_srt,
    parse_webvtt,
    read_subtitles,
    to_webvtt,
)
from cineflux.media.trickplay import SpriteSheet, sprites_for_chunk, thumbnails_vtt

SRT = (
    b"1\r\n00:00:01,500 --> 00:00:03,000\r\nBonjour\r\n\xe0 tous\r\n\r\n"
    b"2\r\n00:01:00,000 --> 00:01:02,250\r\nAu revoir\r\n"
)


def test_srt_in_windows_1252_becomes_webvtt() -> None:
    cues = parse_srt(SRT, "film.srt")
    assert [(c.start, c.end, c.text) for c in cues] == [
        (1.5, 3.0, "Bonjour\nà tous"),
        (60.0, 62.25, "Au revoir"),
    ]
    vtt = to_webvtt(cues)
    assert vtt.startswith("WEBVTT\n\n00:00:01.500 --> 00:00:03.000\nBonjour\nà tous\n")
    assert parse_webvtt(vtt.encode(), "x.vtt") == cues


def test_webvtt_with_notes_identifiers_and_settings_is_read() -> None:
    data = (
        b"WEBVTT - French\n\nNOTE made by hand\nover two lines\n\n"
        b"intro\n00:00.500 --> 00:02.000 line:90%\n<i>Salut</i>\n"
    )
    cues = read_subtitles(data, "a.vtt")
    assert [(c.start, c.end, c.text) for c in cues] == [(0.5, 2.0, "<i>Salut</i>")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no subtitle cue"),
        (b"1\n00:00:01 --> 00:00:02\nx\n", "line 2: expected"),
        (b"1\n00:00:03,000 --> 00:00:02,000\nx\n", "line 2: cue ends before it starts"),
        (b"WEBVTX\n\n00:00.000 --> 00:01.000\nx\n", "line 1: expected"),
        (b"\x89PNG\r\n\x1a\n\xff\xfe\x00", "line 1"),
    ],
)
def test_broken_subtitles_name_their_line(data: bytes, message: str) -> None:
    with pytest.raises(InvalidSubtitles, match=message):
        read_subtitles(data, "bad.srt")


def test_webvtt_needs_its_signature() -> None:
    with pytest.raises(InvalidSubtitles, match="a WebVTT file starts with"):
        parse_webvtt(b"WEBVTX\n\n00:00.000 --> 00:01.000\nx\n", "bad.vtt")


def test_sprites_of_a_chunk_hold_one_tile_per_interval() -> None:
    assert sprites_for_chunk(0.0, 60.0, 4.0, 5, 5) == [(1, 0.0, 15)]
    assert sprites_for_chunk(100.0, 120.0, 4.0, 5, 5) == [(1, 100.0, 25), (2, 200.0, 5)]
    assert sprites_for_chunk(8.0, 1.0, 4.0, 5, 5) == [(1, 8.0, 1)]


def test_thumbnails_index_maps_time_to_tiles() -> None:
    vtt = thumbnails_vtt(
        [SpriteSheet("sprite-c000-001.jpg", 0.0, 7)],
        interval=4.0,
        columns=5,
        tile_width=240,
        tile_height=136,
        duration=26.0,
    )
    cues = vtt.split("\n\n")[1:]
    assert cues[0] == "00:00:00.000 --> 00:00:04.000\nsprite-c000-001.jpg#xywh=0,0,240,136"
    assert cues[5] == "00:00:20.000 --> 00:00:24.000\nsprite-c000-001.jpg#xywh=0,136,240,136"
    assert cues[6].startswith("00:00:24.000 --> 00:00:26.000")


def test_poster_is_the_most_detailed_frame_that_is_not_black() -> None:
    frames = [
        FrameStats(2.0, 3.0, 1.0),  # black
        FrameStats(4.0, 120.0, 30.0),
        FrameStats(6.0, 128.0, 55.0),
        FrameStats(8.0, 250.0, 80.0),  # white flash
    ]
    assert choose_poster(frames) == 2
    # A dark film still gets its most detailed frame, never a flat black one.
    dark = [FrameStats(1.0, 0.0, 0.0), FrameStats(2.0, 18.0, 9.0), FrameStats(3.0, 20.0, 4.0)]
    assert choose_poster(dark) == 1
    with pytest.raises(NoPosterFrame):
        choose_poster([])


@pytest.mark.parametrize(
    ("tag", "bcp47", "name", "iso"),
    [("fra", "fr", "Français", "fra"), ("fre", "fr", "Français", "fra"),
     ("en", "en", "English", "eng"), ("pt-br", "pt-BR", "Português", "por"),
     ("ger", "de", "Deutsch", "deu")],
)  # fmt: skip
def test_language_tags(tag: str, bcp47: str, name: str, iso: str) -> None:
    assert (to_bcp47(tag), native_name(tag), to_iso639_2(tag)) == (bcp47, name, iso)


@pytest.mark.parametrize("tag", ["xx", "french", "", "f r"])
def test_unknown_languages_are_refused(tag: str) -> None:
    with pytest.raises(UnknownLanguage):
        to_bcp47(tag)
