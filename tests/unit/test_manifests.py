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
)

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


def test_hls_references_list_renditions_maps_and_segments() -> None:
    playlist = (
        "#EXTM3U\n#EXT-X-VERSION:7\n"
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="x",URI="audio/fr/index.m3u8"\n'
        '#EXT-X-MAP:URI="init.mp4"\n#EXTINF:4.0,\nseg-00001.m4s\n#EXT-X-ENDLIST\n'
    )
    assert hls_references(playlist) == ["audio/fr/index.m3u8", "init.mp4", "seg-00001.m4s"]


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


def test_whole_file_representations_are_referenced_by_base_url() -> None:
    text_set = (
        '<AdaptationSet contentType="text" mimeType="text/vtt" lang="fr">'
        '<Representation id="t" bandwidth="256"><BaseURL>text/fr/subtitles.vtt</BaseURL>'
        "</Representation></AdaptationSet></Period>"
    )
    refs = dash_references(MPD.replace("</Period>", text_set))
    assert refs[-1] == "text/fr/subtitles.vtt"


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
