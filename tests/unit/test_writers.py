"""HLS and DASH writers on a hand-made layout, read back with the m3u8 and mpegdash parsers."""

from __future__ import annotations

from fractions import Fraction

import m3u8
import pytest
from mpegdash.parser import MPEGDASHParser

from cineflux.media.layout import MediaTrack, PackageLayout, Segment, TextTrack
from cineflux.media.manifests import dash_references, hls_references
from cineflux.media.writers import (
    dash_mpd,
    hls_media_playlist,
    hls_multivariant_playlist,
    hls_subtitle_playlist,
)

TIMESCALE = 12800


def video(height: int, size: int) -> MediaTrack:
    width = height * 16 // 9 // 2 * 2
    return MediaTrack(
        id=f"h264-{height}p",
        kind="video",
        directory=f"video/h264-{height}p",
        codecs="avc1.64001f",
        timescale=TIMESCALE,
        segments=(
            Segment(4 * TIMESCALE, size),
            Segment(4 * TIMESCALE, size * 2),
            Segment(2 * TIMESCALE, size // 2),
        ),
        width=width,
        height=height,
        frame_rate=Fraction(25),
    )


def audio(language: str, name: str, default: bool) -> MediaTrack:
    return MediaTrack(
        id=f"audio-{language}",
        kind="audio",
        directory=f"audio/audio-{language}",
        codecs="mp4a.40.2",
        timescale=48000,
        segments=(Segment(192512, 64000), Segment(191488, 64000), Segment(96000, 32000)),
        language=language,
        name=name,
        channels=2,
        sample_rate=48000,
        default=default,
    )


LAYOUT = PackageLayout(
    video=(video(720, 1_500_000), video(234, 70_000)),
    audio=(audio("fr", "Français", True), audio("en", "English", False)),
    text=(
        TextTrack("text-fr", "text/text-fr", "fr", "Français"),
        TextTrack("text-fr-forced", "text/text-fr-forced", "fr", "Français (forced)", forced=True),
    ),
)


def test_media_playlist_is_vod_with_exact_durations() -> None:
    playlist = m3u8.loads(hls_media_playlist(video(720, 1000)))
    assert playlist.version == 7 and playlist.playlist_type == "vod" and playlist.is_endlist
    assert playlist.target_duration == 4
    assert [s.duration for s in playlist.segments] == [4.0, 4.0, 2.0]
    assert [s.uri for s in playlist.segments] == [
        "seg-00001.m4s",
        "seg-00002.m4s",
        "seg-00003.m4s",
    ]
    assert playlist.segment_map[0].uri == "init.mp4"


def test_multivariant_playlist_declares_everything_players_choose_by() -> None:
    master = m3u8.loads(hls_multivariant_playlist(LAYOUT))
    assert master.version == 7 and master.is_independent_segments
    low, high = master.playlists  # sorted by bandwidth
    assert low.stream_info.resolution == (416, 234)
    assert high.stream_info.codecs == "avc1.64001f,mp4a.40.2"
    assert high.stream_info.frame_rate == 25.0
    assert high.stream_info.audio == "audio" and high.stream_info.subtitles == "subs"
    # Peak: the 8 Mb/s second segment, plus the audio's peak.
    audio_peak = -(-64000 * 8 * 48000 // 191488)
    assert high.stream_info.bandwidth == 1_500_000 * 2 * 8 // 4 + audio_peak
    assert high.stream_info.average_bandwidth < high.stream_info.bandwidth
    audio_media = [m for m in master.media if m.type == "AUDIO"]
    assert [(m.language, m.name, m.default) for m in audio_media] == [
        ("fr", "Français", "YES"),
        ("en", "English", "NO"),
    ]
    subs = [m for m in master.media if m.type == "SUBTITLES"]
    assert [(m.language, m.forced, m.autoselect) for m in subs] == [
        ("fr", None, "YES"),
        ("fr", "YES", "YES"),
    ]
    assert hls_references(hls_multivariant_playlist(LAYOUT))[0] == "audio/audio-fr/index.m3u8"


def test_subtitle_playlist_is_one_whole_file() -> None:
    playlist = m3u8.loads(hls_subtitle_playlist(LAYOUT.text[0], 10.0))
    assert [s.uri for s in playlist.segments] == ["subtitles.vtt"]
    assert playlist.segments[0].duration == 10.0


def test_mpd_has_timelines_roles_and_labels() -> None:
    text = dash_mpd(LAYOUT)
    mpd = MPEGDASHParser.parse(text)
    assert mpd.type == "static" and mpd.media_presentation_duration == "PT10.000S"
    sets = mpd.periods[0].adaptation_sets
    assert [s.content_type for s in sets] == ["video", "audio", "audio", "text", "text"]
    video_set = sets[0]
    assert [r.height for r in video_set.representations] == [234, 720]
    timeline = video_set.representations[0].segment_templates[0].segment_timelines[0]
    assert [(s.t, s.d, s.r) for s in timeline.Ss] == [(0, 51200, 1), (None, 25600, None)]
    assert [s.roles[0].value for s in sets[1:]] == [
        "main",
        "alternate",
        "subtitle",
        "forced-subtitle",
    ]
    refs = dash_references(text)
    assert "video/h264-720p/seg-00003.m4s" in refs
    assert "text/text-fr-forced/subtitles.vtt" in refs
    assert "video/h264-720p/seg-00004.m4s" not in refs


def test_quotes_in_names_are_refused_rather_than_breaking_the_playlist() -> None:
    bad = PackageLayout(video=LAYOUT.video, audio=(audio("fr", 'Fr"ench', True),))
    with pytest.raises(ValueError, match="cannot quote"):
        hls_multivariant_playlist(bad)
