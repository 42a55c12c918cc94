"""Personalised manifests, on the manifests the packager's own writers produce."""

from __future__ import annotations

from urllib.parse import urljoin

import m3u8  # type: ignore[import-untyped]
import pytest
from lxml import etree  # type: ignore[import-untyped]

from cineflux.media.manifests import (
    ManifestError,
    dash_references,
    dash_representations,
    hls_attributes,
)
from cineflux.media.writers import DASH_NS, dash_mpd, hls_multivariant_playlist
from cineflux.playback.manifests import (
    NoPlayableVideo,
    attribute_list,
    parse_mpd,
    personalise_dash,
    personalise_hls,
)
from cineflux.playback.service import Device, VideoLimit
from tests.manifest_helpers import ladder_layout

EDGE = "http://edge-a.example:8080/t/TOKEN/titles/t1/"
SPARE = "http://edge-b.example:8080/t/TOKEN/titles/t1/"
ORIGIN = "https://origin.example/t/TOKEN/titles/t1/"
SERVERS = [EDGE, SPARE, ORIGIN]
EVERY_CODEC = ("avc1", "hvc1", "mp4a")


def limit(
    codecs: tuple[str, ...] = EVERY_CODEC, plan: str = "UHD", screen: int | None = None
) -> VideoLimit:
    return VideoLimit.of(Device(codecs=codecs, max_height=screen), plan_resolution=plan)


def dash(allowed: VideoLimit) -> bytes:
    mpd = parse_mpd(dash_mpd(ladder_layout()).encode())
    return personalise_dash(mpd, allows=allowed.allows, servers=SERVERS)


def hls(allowed: VideoLimit) -> str:
    playlist = hls_multivariant_playlist(ladder_layout())
    return personalise_hls(playlist, allows=allowed.allows, server=EDGE)


def video_rungs(mpd: bytes) -> list[tuple[str, int | None]]:
    return [
        (rep.codecs.split(".")[0], rep.height)
        for rep in dash_representations(mpd.decode())
        if rep.content_type == "video"
    ]


def variants(playlist: str) -> list[tuple[str, int]]:
    parsed = m3u8.loads(playlist)
    return [
        (p.stream_info.codecs.split(".")[0], p.stream_info.resolution[1]) for p in parsed.playlists
    ]


def test_a_plan_capped_at_720p_gets_no_1080p_representation() -> None:
    mpd = dash(limit(screen=720))
    assert video_rungs(mpd) == [("avc1", 360), ("avc1", 720), ("hvc1", 720)]
    assert variants(hls(limit(screen=720))) == [("avc1", 360), ("avc1", 720), ("hvc1", 720)]
    # The AdaptationSets' bounds describe what is left, not the package.
    root = etree.fromstring(mpd)
    sets = root.findall(f"{{{DASH_NS}}}Period/{{{DASH_NS}}}AdaptationSet[@contentType='video']")
    assert [(s.get("maxWidth"), s.get("maxHeight")) for s in sets] == [
        ("1280", "720"),
        ("1280", "720"),
    ]


def test_an_sd_plan_on_a_4k_screen_stops_at_576_lines() -> None:
    assert video_rungs(dash(limit(plan="SD", screen=2160))) == [("avc1", 360)]


def test_a_device_without_hevc_gets_no_hvc1_rungs() -> None:
    mpd = dash(limit(codecs=("avc1.640028", "mp4a.40.2")))
    assert video_rungs(mpd) == [("avc1", 360), ("avc1", 720), ("avc1", 1080)]
    assert b"hvc1" not in mpd
    # The HEVC AdaptationSet, left without Representation, is gone as a whole.
    root = etree.fromstring(mpd)
    assert len(root.findall(f".//{{{DASH_NS}}}AdaptationSet[@contentType='video']")) == 1
    playlist = hls(limit(codecs=("avc1", "mp4a")))
    assert "hvc1" not in playlist
    assert [height for _, height in variants(playlist)] == [360, 720, 1080]


def test_a_device_that_decodes_hevc_only_gets_hevc_up_to_its_screen() -> None:
    assert video_rungs(dash(limit(codecs=("hev1",), screen=2160))) == [
        ("hvc1", 720),
        ("hvc1", 2160),
    ]


def test_audio_and_subtitles_are_all_kept() -> None:
    package = {
        (rep.content_type, rep.id) for rep in dash_representations(dash_mpd(ladder_layout()))
    }
    kept = {(rep.content_type, rep.id) for rep in dash_representations(dash(limit(screen=360)))}
    assert {x for x in package if x[0] != "video"} <= kept
    assert {rep for kind, rep in kept if kind != "video"} == {
        "audio-fr",
        "audio-en",
        "text-fr",
        "text-en",
    }
    media = m3u8.loads(hls(limit(screen=360))).media
    assert [(m.type, m.language) for m in media] == [
        ("AUDIO", "fr"),
        ("AUDIO", "en"),
        ("SUBTITLES", "fr"),
        ("SUBTITLES", "en"),
    ]


def test_dash_segments_come_from_every_ranked_server_in_order_and_are_the_same_objects() -> None:
    mpd = dash(limit())
    root = etree.fromstring(mpd)
    bases = root.findall(f"{{{DASH_NS}}}BaseURL")
    assert [b.text for b in bases] == SERVERS
    assert [b.get("serviceLocation") for b in bases] == [
        "edge-a.example:8080",
        "edge-b.example:8080",
        "origin.example",
    ]
    # BaseURLs come before the Period, as the schema's order has them.
    assert [etree.QName(child).localname for child in root][:4] == ["BaseURL"] * 3 + ["Period"]
    # The references are the package's very objects, resolved on each server.
    package_references = set(dash_references(dash_mpd(ladder_layout())))
    references = dash_references(mpd.decode())
    assert set(references) <= package_references
    assert urljoin(EDGE, references[0]) == EDGE + "video/avc1-360p/init.mp4"


def test_hls_media_playlists_stay_the_packages_on_the_first_server() -> None:
    playlist = hls(limit(screen=1080))
    parsed = m3u8.loads(playlist)
    assert [p.uri for p in parsed.playlists] == [
        EDGE + "video/avc1-360p/index.m3u8",
        EDGE + "video/avc1-720p/index.m3u8",
        EDGE + "video/avc1-1080p/index.m3u8",
        EDGE + "video/hvc1-720p/index.m3u8",
    ]
    assert [m.uri for m in parsed.media] == [
        EDGE + f"{kind}/{language}/index.m3u8"
        for kind in ("audio", "text")
        for language in ("fr", "en")
    ]
    # Everything else of a kept variant is as the packager wrote it.
    package_lines = set(hls_multivariant_playlist(ladder_layout()).splitlines())
    assert {line for line in playlist.splitlines() if line.startswith("#EXT-X-STREAM-INF")} <= (
        package_lines
    )


MPD_WITH_PROTECTION = f"""<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="{DASH_NS}" xmlns:cenc="urn:mpeg:cenc:2013"
     xmlns:mspr="urn:microsoft:playready" type="static" mediaPresentationDuration="PT8S">
  <ProgramInformation><Title>Essai</Title></ProgramInformation>
  <Period id="0">
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" maxHeight="1080">
      <ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cenc"
                         cenc:default_KID="01234567-89ab-cdef-0123-456789abcdef"/>
      <ContentProtection schemeIdUri="urn:uuid:9a04f079-9840-4286-ab92-e65be0885f95">
        <mspr:pro>AAAA</mspr:pro><cenc:pssh>AAAANHBzc2g=</cenc:pssh>
      </ContentProtection>
      <Representation id="sd" codecs="avc1.64001e" bandwidth="500000" height="360">
        <SegmentTemplate initialization="sd/init.mp4" media="sd/$Number$.m4s" duration="4"/>
      </Representation>
      <Representation id="hd" codecs="avc1.640028" bandwidth="4000000" height="1080">
        <ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cenc"
                           cenc:default_KID="fedcba98-7654-3210-fedc-ba9876543210"/>
        <SegmentTemplate initialization="hd/init.mp4" media="hd/$Number$.m4s" duration="4"/>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
"""


def test_content_protection_is_kept_with_its_namespace_prefixes() -> None:
    mpd = personalise_dash(
        parse_mpd(MPD_WITH_PROTECTION.encode()), allows=limit(screen=720).allows, servers=[EDGE]
    )
    text = mpd.decode()
    # Players look for cenc: and mspr: literally: the prefixes are the package's.
    assert 'cenc:default_KID="01234567-89ab-cdef-0123-456789abcdef"' in text
    assert "<mspr:pro>AAAA</mspr:pro><cenc:pssh>AAAANHBzc2g=</cenc:pssh>" in text
    assert "ns0:" not in text and "<MPD " in text
    # The 1080p Representation goes with its own key's signalling.
    assert "fedcba98" not in text and 'id="hd"' not in text
    root = etree.fromstring(mpd)
    assert root.nsmap == {
        None: DASH_NS,
        "cenc": "urn:mpeg:cenc:2013",
        "mspr": "urn:microsoft:playready",
    }
    names = [etree.QName(child).localname for child in root]
    assert names == ["ProgramInformation", "BaseURL", "Period"]
    adaptation = root.find(f".//{{{DASH_NS}}}AdaptationSet")
    assert adaptation.get("maxHeight") == "360"


def test_hls_keys_and_other_tags_are_kept_verbatim() -> None:
    session_key = (
        '#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES-CTR,URI="data:text/plain;base64,AAAANHBzc2g=",'
        'KEYFORMAT="urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e",KEYFORMATVERSIONS="1"'
    )
    playlist = hls_multivariant_playlist(ladder_layout()).replace(
        "#EXT-X-INDEPENDENT-SEGMENTS\n",
        f'#EXT-X-INDEPENDENT-SEGMENTS\n{session_key}\n#EXT-X-SESSION-DATA:DATA-ID="x",URI="d.json"\n',
    )
    personal = personalise_hls(playlist, allows=limit().allows, server=EDGE)
    assert session_key in personal.splitlines()
    assert f'#EXT-X-SESSION-DATA:DATA-ID="x",URI="{EDGE}d.json"' in personal.splitlines()


def test_i_frame_variants_follow_the_same_limit() -> None:
    playlist = hls_multivariant_playlist(ladder_layout()) + "\n".join(
        [
            '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,CODECS="avc1.64001e",'
            'RESOLUTION=640x360,URI="video/avc1-360p/iframes.m3u8"',
            '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=400000,CODECS="avc1.640028",'
            'RESOLUTION=1920x1080,URI="video/avc1-1080p/iframes.m3u8"',
        ]
    )
    personal = personalise_hls(playlist, allows=limit(screen=720).allows, server=EDGE)
    frames = [line for line in personal.splitlines() if line.startswith("#EXT-X-I-FRAME")]
    assert [hls_attributes(line)["URI"] for line in frames] == [
        EDGE + "video/avc1-360p/iframes.m3u8"
    ]


def test_an_audio_only_variant_is_no_video_and_is_kept() -> None:
    playlist = (
        '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=128000,CODECS="mp4a.40.2"\naudio/fr/index.m3u8\n'
        '#EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360\n'
        "video/360/index.m3u8\n"
    )
    personal = personalise_hls(playlist, allows=limit(plan="SD").allows, server=EDGE)
    assert [p.uri for p in m3u8.loads(personal).playlists] == [
        EDGE + "audio/fr/index.m3u8",
        EDGE + "video/360/index.m3u8",
    ]


def test_a_filter_that_leaves_no_video_is_a_refusal() -> None:
    nothing = limit(codecs=("av01", "mp4a"))
    with pytest.raises(NoPlayableVideo):
        dash(nothing)
    with pytest.raises(NoPlayableVideo):
        hls(nothing)
    # A variant that names no codec may be anything: it is not let through.
    unnamed = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=640x360\nv/index.m3u8\n"
    with pytest.raises(NoPlayableVideo):
        personalise_hls(unnamed, allows=limit().allows, server=EDGE)


def test_unknown_heights_are_refused_and_codec_aliases_accepted() -> None:
    allowed = limit(codecs=("avc3", "hev1"), plan="HD")
    assert allowed.allows("avc1.64001f", 720)
    assert allowed.allows("hvc1.1.6.L120.90", 1080)
    assert not allowed.allows("hvc1.1.6.L150.90", 2160)
    assert not allowed.allows("avc1.64001f", None)


@pytest.mark.parametrize(
    "text",
    [
        "not a playlist\n",
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\nseg-00001.m4s\n",  # a media playlist
        "#EXTM3U\nvideo/index.m3u8\n",  # a URI with no variant
        '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc1"\n',  # a variant with no URI
        '#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,URI="unterminated\n',
    ],
)
def test_malformed_playlists_are_refused(text: str) -> None:
    with pytest.raises(ManifestError):
        personalise_hls(text, allows=limit().allows, server=EDGE)


@pytest.mark.parametrize("data", [b"<MPD", b"<html/>", b'<!DOCTYPE x [<!ENTITY a "b">]><MPD/>'])
def test_malformed_mpds_are_refused(data: bytes) -> None:
    with pytest.raises(ManifestError):
        parse_mpd(data)


def test_attribute_lists_keep_commas_inside_quotes() -> None:
    line = '#EXT-X-STREAM-INF:BANDWIDTH=5,CODECS="avc1.64001f,mp4a.40.2",AUDIO="a"'
    assert attribute_list(line) == [
        ("BANDWIDTH", "5"),
        ("CODECS", '"avc1.64001f,mp4a.40.2"'),
        ("AUDIO", '"a"'),
    ]
