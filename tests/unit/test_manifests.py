"""Manifest rewriting and reference checks, on hand-written manifests."""

from __future__ import annotations

import pytest

from cineflux.media.manifests import (
    ManifestError,
    dash_references,
    dash_representations,
    expand_template,
    hls_attributes,
    hls_references,
    missing_references,
    normalise_master_playlist,
    normalise_media_playlist,
)

FFMPEG_MEDIA = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:1
#EXT-X-MAP:URI="init-0.mp4"
#EXTINF:4.000000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-27T13:00:01.000+0000
seg-0-00001.m4s
#EXTINF:2.000000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-27T13:00:05.000+0000
seg-0-00002.m4s
#EXT-X-ENDLIST
"""

FFMPEG_MASTER = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_A1",NAME="audio_2",DEFAULT=YES,CHANNELS="2",URI="media_2.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=931729,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2",AUDIO="group_A1"
media_0.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=2631729,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",AUDIO="group_A1"
media_1.m3u8
"""

MPD = """<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT10.0S">
  <Period id="0" start="PT0.0S">
    <AdaptationSet id="0" contentType="video">
      <Representation id="0" mimeType="video/mp4" codecs="avc1.64001e" bandwidth="800000"
                      width="640" height="360">
        <SegmentTemplate timescale="1000" initialization="init-$RepresentationID$.mp4"
                         media="seg-$RepresentationID$-$Number%05d$.m4s" startNumber="1">
          <SegmentTimeline><S t="0" d="4000" r="1" /><S d="2000" /></SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
    <AdaptationSet id="1" contentType="audio">
      <Representation id="1" mimeType="audio/mp4" codecs="mp4a.40.2" bandwidth="128000">
        <SegmentTemplate timescale="48000" initialization="init-$RepresentationID$.mp4"
                         media="seg-$RepresentationID$-$Number%05d$.m4s" startNumber="1">
          <SegmentTimeline><S t="0" d="192000" r="1" /><S d="96000" /></SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
"""


def test_media_playlist_becomes_vod_version_7_without_wall_clock() -> None:
    out = normalise_media_playlist(FFMPEG_MEDIA)
    lines = out.splitlines()
    assert lines[:4] == [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    assert "PROGRAM-DATE-TIME" not in out
    assert lines.count("#EXT-X-VERSION:7") == 1
    assert lines[-1] == "#EXT-X-ENDLIST"
    assert hls_references(out) == ["init-0.mp4", "seg-0-00001.m4s", "seg-0-00002.m4s"]


def test_incomplete_media_playlist_is_refused() -> None:
    with pytest.raises(ManifestError, match="ENDLIST"):
        normalise_media_playlist(FFMPEG_MEDIA.replace("#EXT-X-ENDLIST", ""))


def test_non_playlist_is_refused() -> None:
    with pytest.raises(ManifestError, match="EXTM3U"):
        normalise_master_playlist("<html>")


def test_master_playlist_gets_independent_segments_and_a_readable_audio_name() -> None:
    out = normalise_master_playlist(FFMPEG_MASTER)
    assert out.splitlines()[:3] == ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    assert 'NAME="Original"' in out
    assert hls_references(out) == ["media_2.m3u8", "media_0.m3u8", "media_1.m3u8"]


def test_hls_attributes_keep_commas_inside_quotes() -> None:
    line = '#EXT-X-STREAM-INF:BANDWIDTH=5,CODECS="avc1.64001f,mp4a.40.2",AUDIO="a"'
    assert hls_attributes(line) == {
        "BANDWIDTH": "5",
        "CODECS": "avc1.64001f,mp4a.40.2",
        "AUDIO": "a",
    }


def test_dash_representations_count_timeline_segments() -> None:
    video, audio = dash_representations(MPD)
    assert (video.content_type, video.width, video.height, video.segment_count) == (
        "video",
        640,
        360,
        3,
    )
    assert (audio.content_type, audio.codecs, audio.bandwidth) == ("audio", "mp4a.40.2", 128000)


def test_dash_references_list_init_and_every_segment() -> None:
    refs = dash_references(MPD)
    assert refs[:4] == ["init-0.mp4", "seg-0-00001.m4s", "seg-0-00002.m4s", "seg-0-00003.m4s"]
    assert len(refs) == 8


def test_dynamic_mpd_is_refused() -> None:
    with pytest.raises(ManifestError, match="static"):
        dash_representations(MPD.replace('type="static"', 'type="dynamic"'))


def test_malformed_mpd_is_refused() -> None:
    with pytest.raises(ManifestError, match="well-formed"):
        dash_representations("<MPD")


def test_template_expansion_pads_numbers() -> None:
    assert expand_template("s-$RepresentationID$-$Number%05d$.m4s", "3", 42) == "s-3-00042.m4s"
    assert expand_template("s-$Number$.m4s", "1", 7) == "s-7.m4s"
    with pytest.raises(ManifestError):
        expand_template("s-$Number$.m4s", "1")


def test_missing_references_are_reported_once_in_order() -> None:
    assert missing_references(["a", "b", "a", "c"], {"c"}) == ["a", "b"]
