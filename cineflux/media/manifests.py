"""Pure readers of HLS playlists and DASH MPDs: what files a manifest references.

Used to check the invariant of publication: no manifest references a file not stored.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

DASH_NS = {"mpd": "urn:mpeg:dash:schema:mpd:2011"}
_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


class ManifestError(ValueError):
    """A manifest that is malformed or references something missing."""


def hls_attributes(line: str) -> dict[str, str]:
    """The attribute list of an HLS tag line, quotes removed."""
    _, _, body = line.partition(":")
    return {key: value.strip('"') for key, value in _ATTRIBUTE.findall(body)}


def hls_references(text: str) -> list[str]:
    """Every URI a playlist references: variant and rendition playlists, maps, segments."""
    uris: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith(("#EXT-X-MEDIA:", "#EXT-X-MAP:", "#EXT-X-I-FRAME-STREAM-INF:")):
                uri = hls_attributes(line).get("URI")
                if uri:
                    uris.append(uri)
            continue
        uris.append(line)
    return uris


@dataclass(frozen=True)
class DashRepresentation:
    """What the MPD says about one representation."""

    id: str
    content_type: str
    codecs: str
    bandwidth: int
    width: int | None
    height: int | None
    segment_count: int
    initialization: str
    media: str
    start_number: int
    base_url: str | None = None  # a whole-file representation (WebVTT)


def _optional_int(value: str | None) -> int | None:
    return int(value) if value else None


def _segment_count(template: ET.Element) -> int:
    timeline = template.find("mpd:SegmentTimeline", DASH_NS)
    if timeline is None:
        raise ManifestError("SegmentTemplate without SegmentTimeline: segment count unknown")
    count = 0
    for entry in timeline.findall("mpd:S", DASH_NS):
        count += 1 + int(entry.get("r", "0"))
    return count


def dash_representations(mpd_text: str) -> list[DashRepresentation]:
    """The representations of a static MPD: segment templates with timelines, or BaseURLs."""
    try:
        root = ET.fromstring(mpd_text)  # noqa: S314 -- our own output, not user input
    except ET.ParseError as error:
        raise ManifestError(f"MPD is not well-formed XML: {error}") from None
    if root.get("type") != "static":
        raise ManifestError("MPD is not static (VOD)")
    found: list[DashRepresentation] = []
    for adaptation in root.iterfind("mpd:Period/mpd:AdaptationSet", DASH_NS):
        content_type = adaptation.get("contentType", "")
        for rep in adaptation.findall("mpd:Representation", DASH_NS):
            template = rep.find("mpd:SegmentTemplate", DASH_NS)
            if template is None:
                template = adaptation.find("mpd:SegmentTemplate", DASH_NS)
            base_url = rep.find("mpd:BaseURL", DASH_NS)
            if template is None and base_url is None:
                raise ManifestError(f"representation {rep.get('id')} has no SegmentTemplate")
            if template is None:
                template = ET.Element("SegmentTemplate")
            found.append(
                DashRepresentation(
                    id=rep.get("id", ""),
                    content_type=content_type or rep.get("mimeType", "").split("/")[0],
                    codecs=rep.get("codecs", adaptation.get("codecs", "")),
                    bandwidth=int(rep.get("bandwidth", "0")),
                    width=_optional_int(rep.get("width")),
                    height=_optional_int(rep.get("height")),
                    segment_count=_segment_count(template) if base_url is None else 0,
                    base_url=(base_url.text or "").strip() if base_url is not None else None,
                    initialization=template.get("initialization", ""),
                    media=template.get("media", ""),
                    start_number=int(template.get("startNumber", "1")),
                )
            )
    if not found:
        raise ManifestError("MPD has no representation")
    return found


def expand_template(template: str, representation_id: str, number: int | None = None) -> str:
    """Expand ``$RepresentationID$`` and ``$Number%0Nd$`` as a DASH client would."""
    uri = template.replace("$RepresentationID$", representation_id)

    def number_field(match: re.Match[str]) -> str:
        if number is None:
            raise ManifestError("template needs a segment number")
        width = match.group(1)
        return f"{number:0{int(width[2:-1])}d}" if width else str(number)

    return re.sub(r"\$Number(%0\d+d)?\$", number_field, uri)


def dash_references(mpd_text: str) -> list[str]:
    """Every file the MPD references: init and media segments, and whole-file BaseURLs."""
    uris: list[str] = []
    for rep in dash_representations(mpd_text):
        if rep.base_url:
            uris.append(rep.base_url)
            continue
        if not rep.initialization or not rep.media:
            raise ManifestError(f"representation {rep.id} lacks segment templates")
        uris.append(expand_template(rep.initialization, rep.id))
        first = rep.start_number
        uris.extend(
            expand_template(rep.media, rep.id, n) for n in range(first, first + rep.segment_count)
        )
    return uris


def missing_references(references: list[str], available: set[str]) -> list[str]:
    """References not among the files available, in order, without repeats."""
    seen: set[str] = set()
    missing = []
    for uri in references:
        if uri not in available and uri not in seen:
            missing.append(uri)
            seen.add(uri)
    return missing
