"""Pure writers of HLS playlists (RFC 8216, version 7) and the DASH MPD, over one CMAF set.

Both manifests reference the same init and media segments; nothing here touches a file.
"""

from __future__ import annotations

import base64
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from fractions import Fraction

from cineflux.media.layout import (
    INIT_NAME,
    MEDIA_PLAYLIST,
    SEGMENT_TEMPLATE,
    MediaTrack,
    PackageLayout,
    TextTrack,
)
from cineflux.protection.cenc import (
    CENC_NS,
    CLEAR_KEY_URN,
    MP4_PROTECTION_SCHEME,
    clear_key_pssh,
    kid_uuid,
)

AUDIO_GROUP = "audio"
SUBTITLE_GROUP = "subs"
DASH_NS = "urn:mpeg:dash:schema:mpd:2011"
ROLE_SCHEME = "urn:mpeg:dash:role:2011"
HLS_KEY_DIR = "keys"
ET.register_namespace("cenc", CENC_NS)


def hls_key_lines(key_id: str) -> list[str]:
    """``EXT-X-KEY`` tags of a CENC track (SAMPLE-AES-CTR): the Clear Key system with its
    'pssh', and the "identity" key format, whose URI names the key for the play's key
    route (``keys/<kid>``, relative; the player sends it to the API, never to an edge).
    Shaka's HLS parser knows only the second for Clear Key."""
    pssh = base64.b64encode(clear_key_pssh([key_id])).decode("ascii")
    return [
        "#EXT-X-KEY:METHOD=SAMPLE-AES-CTR,"
        f"URI={_quoted('data:text/plain;base64,' + pssh)},"
        f"KEYID=0x{key_id},"
        f"KEYFORMAT={_quoted(CLEAR_KEY_URN)},"
        'KEYFORMATVERSIONS="1"',
        f"#EXT-X-KEY:METHOD=SAMPLE-AES-CTR,URI={_quoted(f'{HLS_KEY_DIR}/{key_id}')},"
        'KEYFORMAT="identity"',
    ]


def _quoted(value: str) -> str:
    if '"' in value or "\n" in value or "\r" in value:
        raise ValueError(f"cannot quote {value!r} in an HLS attribute")
    return f'"{value}"'


def _yes(flag: bool) -> str:
    return "YES" if flag else "NO"


def _frame_rate(rate: Fraction) -> str:
    return f"{float(rate):.3f}"


def hls_media_playlist(track: MediaTrack) -> str:
    """The media playlist of one track, in the track's directory (URIs relative to it)."""
    seconds = [s.duration / track.timescale for s in track.segments]
    # RFC 8216: every EXTINF, rounded to the nearest integer, is at most the target.
    target = max([1, *(round(d) for d in seconds)])
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    if track.key_id:
        lines += hls_key_lines(track.key_id)
    lines += [
        f"#EXT-X-MAP:URI={_quoted(INIT_NAME)}",
    ]
    for index, duration in enumerate(seconds):
        lines += [f"#EXTINF:{duration:.5f},", track.segment_name(index)]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def hls_subtitle_playlist(track: TextTrack, duration_seconds: float) -> str:
    """A subtitle playlist whose single segment is the whole WebVTT file."""
    return (
        "\n".join(
            [
                "#EXTM3U",
                "#EXT-X-VERSION:7",
                f"#EXT-X-TARGETDURATION:{max(1, math.ceil(duration_seconds))}",
                "#EXT-X-MEDIA-SEQUENCE:0",
                "#EXT-X-PLAYLIST-TYPE:VOD",
                f"#EXTINF:{duration_seconds:.5f},",
                track.file_name,
                "#EXT-X-ENDLIST",
            ]
        )
        + "\n"
    )


def _audio_lines(audio: Iterable[MediaTrack]) -> list[str]:
    lines = []
    for track in audio:
        attributes = [
            "TYPE=AUDIO",
            f"GROUP-ID={_quoted(AUDIO_GROUP)}",
        ]
        if track.language:
            attributes.append(f"LANGUAGE={_quoted(track.language)}")
        attributes += [
            f"NAME={_quoted(track.name or track.language or track.id)}",
            f"DEFAULT={_yes(track.default)}",
            "AUTOSELECT=YES",
        ]
        if track.channels:
            attributes.append(f"CHANNELS={_quoted(str(track.channels))}")
        attributes.append(f"URI={_quoted(f'{track.directory}/{MEDIA_PLAYLIST}')}")
        lines.append("#EXT-X-MEDIA:" + ",".join(attributes))
    return lines


def _subtitle_lines(text: Iterable[TextTrack]) -> list[str]:
    lines = []
    for track in text:
        attributes = [
            "TYPE=SUBTITLES",
            f"GROUP-ID={_quoted(SUBTITLE_GROUP)}",
            f"LANGUAGE={_quoted(track.language)}",
            f"NAME={_quoted(track.name)}",
            f"DEFAULT={_yes(track.default)}",
            "AUTOSELECT=YES",
        ]
        if track.forced:
            attributes.append("FORCED=YES")
        attributes.append(f"URI={_quoted(f'{track.directory}/{MEDIA_PLAYLIST}')}")
        lines.append("#EXT-X-MEDIA:" + ",".join(attributes))
    return lines


def hls_multivariant_playlist(layout: PackageLayout) -> str:
    """The multivariant playlist: audio and subtitle renditions, one variant per video rung."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    lines += _audio_lines(layout.audio)
    lines += _subtitle_lines(layout.text)
    audio_peak = max((t.peak_bandwidth for t in layout.audio), default=0)
    audio_average = max((t.average_bandwidth for t in layout.audio), default=0)
    audio_codecs = sorted({t.codecs for t in layout.audio})
    for track in sorted(layout.video, key=lambda t: (t.codec_family, t.peak_bandwidth)):
        attributes = [
            f"BANDWIDTH={track.peak_bandwidth + audio_peak}",
            f"AVERAGE-BANDWIDTH={track.average_bandwidth + audio_average}",
            f"CODECS={_quoted(','.join([track.codecs, *audio_codecs]))}",
            f"RESOLUTION={track.width}x{track.height}",
        ]
        if track.frame_rate:
            attributes.append(f"FRAME-RATE={_frame_rate(track.frame_rate)}")
        if layout.audio:
            attributes.append(f"AUDIO={_quoted(AUDIO_GROUP)}")
        if layout.text:
            attributes.append(f"SUBTITLES={_quoted(SUBTITLE_GROUP)}")
        attributes.append("CLOSED-CAPTIONS=NONE")
        lines += [
            "#EXT-X-STREAM-INF:" + ",".join(attributes),
            f"{track.directory}/{MEDIA_PLAYLIST}",
        ]
    return "\n".join(lines) + "\n"


def _iso_duration(seconds: float) -> str:
    return f"PT{seconds:.3f}S"


def _content_protection(adaptation: ET.Element, key_id: str | None) -> None:
    """DASH-IF IOP signalling of a CENC track: the scheme with its default key id, then
    the Clear Key system (with a 'pssh' for players that want one). The licence URL is
    per playback session, so it comes with the play, not in the shared manifest."""
    if not key_id:
        return
    ET.SubElement(
        adaptation,
        "ContentProtection",
        {
            "schemeIdUri": MP4_PROTECTION_SCHEME,
            "value": "cenc",
            f"{{{CENC_NS}}}default_KID": kid_uuid(key_id),
        },
    )
    clear_key = ET.SubElement(
        adaptation, "ContentProtection", schemeIdUri=CLEAR_KEY_URN, value="ClearKey1.0"
    )
    pssh = ET.SubElement(clear_key, f"{{{CENC_NS}}}pssh")
    pssh.text = base64.b64encode(clear_key_pssh([key_id])).decode("ascii")


def _segment_template(parent: ET.Element, track: MediaTrack) -> None:
    template = ET.SubElement(
        parent,
        "SegmentTemplate",
        timescale=str(track.timescale),
        initialization=f"{track.directory}/{INIT_NAME}",
        media=f"{track.directory}/{SEGMENT_TEMPLATE}",
        startNumber=str(track.start_number),
    )
    timeline = ET.SubElement(template, "SegmentTimeline")
    start = 0
    runs: list[list[int]] = []  # [t, d, r]
    for segment in track.segments:
        if runs and runs[-1][1] == segment.duration:
            runs[-1][2] += 1
        else:
            runs.append([start, segment.duration, 0])
        start += segment.duration
    for index, (t, d, r) in enumerate(runs):
        attributes = {"d": str(d)}
        if index == 0:
            attributes["t"] = str(t)
        if r:
            attributes["r"] = str(r)
        ET.SubElement(timeline, "S", attributes)


def dash_mpd(layout: PackageLayout) -> str:
    """A static MPD (DASH-IF IOP, CMAF): one AdaptationSet per video codec and per language."""
    duration = layout.duration_seconds
    mpd = ET.Element(
        "MPD",
        xmlns=DASH_NS,
        profiles="urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019",
        type="static",
        mediaPresentationDuration=_iso_duration(duration),
        minBufferTime="PT2S",
    )
    period = ET.SubElement(mpd, "Period", id="0", start="PT0S")
    next_id = 0

    families: dict[str, list[MediaTrack]] = {}
    for track in layout.video:
        families.setdefault(track.codec_family, []).append(track)
    for tracks in families.values():
        tracks.sort(key=lambda t: t.peak_bandwidth)
        rates = [t.frame_rate for t in tracks if t.frame_rate]
        attributes = {
            "id": str(next_id),
            "contentType": "video",
            "mimeType": "video/mp4",
            "segmentAlignment": "true",
            "startWithSAP": "1",
            "maxWidth": str(max(t.width or 0 for t in tracks)),
            "maxHeight": str(max(t.height or 0 for t in tracks)),
        }
        if rates:
            top = max(rates)
            attributes["maxFrameRate"] = f"{top.numerator}/{top.denominator}"
        adaptation = ET.SubElement(period, "AdaptationSet", attributes)
        next_id += 1
        _content_protection(adaptation, tracks[0].key_id)
        for track in tracks:
            representation = {
                "id": track.id,
                "codecs": track.codecs,
                "bandwidth": str(track.peak_bandwidth),
                "width": str(track.width),
                "height": str(track.height),
                "sar": "1:1",
            }
            if track.frame_rate:
                rate = track.frame_rate
                representation["frameRate"] = f"{rate.numerator}/{rate.denominator}"
            _segment_template(ET.SubElement(adaptation, "Representation", representation), track)

    for track in layout.audio:
        attributes = {
            "id": str(next_id),
            "contentType": "audio",
            "mimeType": "audio/mp4",
            "segmentAlignment": "true",
            "startWithSAP": "1",
        }
        if track.language:
            attributes["lang"] = track.language
        adaptation = ET.SubElement(period, "AdaptationSet", attributes)
        next_id += 1
        _content_protection(adaptation, track.key_id)
        ET.SubElement(
            adaptation,
            "Role",
            schemeIdUri=ROLE_SCHEME,
            value="main" if track.default else "alternate",
        )
        if track.name:
            ET.SubElement(adaptation, "Label").text = track.name
        rep = ET.SubElement(
            adaptation,
            "Representation",
            id=track.id,
            codecs=track.codecs,
            bandwidth=str(track.peak_bandwidth),
            audioSamplingRate=str(track.sample_rate or 48000),
        )
        ET.SubElement(
            rep,
            "AudioChannelConfiguration",
            schemeIdUri="urn:mpeg:mpegB:cicp:ChannelConfiguration",
            value=str(track.channels or 2),
        )
        _segment_template(rep, track)

    for text in layout.text:
        adaptation = ET.SubElement(
            period,
            "AdaptationSet",
            id=str(next_id),
            contentType="text",
            mimeType="text/vtt",
            lang=text.language,
        )
        next_id += 1
        ET.SubElement(
            adaptation,
            "Role",
            schemeIdUri=ROLE_SCHEME,
            value="forced-subtitle" if text.forced else "subtitle",
        )
        ET.SubElement(adaptation, "Label").text = text.name
        rep = ET.SubElement(adaptation, "Representation", id=text.id, bandwidth="256")
        ET.SubElement(rep, "BaseURL").text = f"{text.directory}/{text.file_name}"

    ET.indent(mpd)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(mpd, encoding="unicode") + "\n"
