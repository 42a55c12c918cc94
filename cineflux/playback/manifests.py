"""Personalised manifests: a package's DASH MPD and HLS multivariant playlist cut down to the
video rungs one play may receive, and pointed at the servers steering ranked for it.

Pure: manifest text in, manifest text out. What is not a video rung the play may not have
stays as it was, element for element and tag for tag: audio, subtitles, thumbnails, and
content protection (``ContentProtection`` with its ``cenc:`` children, ``EXT-X-KEY`` and
``EXT-X-SESSION-KEY``), with their namespace prefixes, which players match literally.
Segments are not touched: every play fetches the same objects, so edge caches stay shared.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree  # type: ignore[import-untyped]

from cineflux.media.manifests import ManifestError

# Whether a video rung of this codec string (RFC 6381) and height may be played.
RungTest = Callable[[str, int | None], bool]

_MPD = "{urn:mpeg:dash:schema:mpd:2011}"
# MPD children that come before BaseURL in the schema's sequence.
_BEFORE_BASE_URL = {f"{_MPD}ProgramInformation"}
# Codec families that are no picture: an HLS variant's CODECS lists its audio too.
_NOT_VIDEO = frozenset(
    {"mp4a", "ac-3", "ec-3", "ac-4", "opus", "flac", "alac", "mp3", "mha1", "mhm1"}
    | {"dtsc", "dtse", "dtsh", "dtsl", "dtsx", "wvtt", "stpp", "tx3g", "c608"}
)
# AdaptationSet bounds kept true to the Representations that remain.
_BOUNDS: dict[str, Callable[[str], Any]] = {
    "Width": int,
    "Height": int,
    "Bandwidth": int,
    "FrameRate": Fraction,
}


class NoPlayableVideo(ManifestError):
    """Every video rung of the manifest is beyond what the play may receive."""


# --- DASH ----------------------------------------------------------------------------------


def _parser() -> Any:
    # Our own packager's output, but parsed as if it were not: no entities, no DTD, no network.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _height(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _is_video(adaptation: Any, representation: Any) -> bool:
    content = adaptation.get("contentType")
    if content:
        return bool(content == "video")
    mime = representation.get("mimeType") or adaptation.get("mimeType") or ""
    return bool(mime.startswith("video/"))


def _narrow_bounds(adaptation: Any, representations: list[Any]) -> None:
    """``maxHeight`` and the like describe the Representations left, not the package's."""
    for name, number in _BOUNDS.items():
        values = [rep.get(name[0].lower() + name[1:]) for rep in representations]
        if not values or None in values:
            continue
        for bound, pick in (("max", max), ("min", min)):
            if adaptation.get(bound + name) is not None:
                adaptation.set(bound + name, pick(values, key=number))


def _filter_video(root: Any, allows: RungTest) -> tuple[int, int]:
    """Remove the video Representations the play may not have; (kept, removed)."""
    kept = removed = 0
    for period in root.iterfind(f"{_MPD}Period"):
        for adaptation in period.findall(f"{_MPD}AdaptationSet"):
            representations = adaptation.findall(f"{_MPD}Representation")
            left = []
            for rep in representations:
                if not _is_video(adaptation, rep):
                    left.append(rep)
                    continue
                codecs = rep.get("codecs") or adaptation.get("codecs") or ""
                height = _height(rep.get("height") or adaptation.get("height"))
                if allows(codecs, height):
                    kept += 1
                    left.append(rep)
                else:
                    removed += 1
                    adaptation.remove(rep)
            if representations and not left:
                period.remove(adaptation)
            elif len(left) < len(representations):
                _narrow_bounds(adaptation, left)
    return kept, removed


def _set_base_urls(root: Any, servers: Sequence[str]) -> None:
    """One MPD-level BaseURL per server, in rank order (DASH clients fail over along them);
    relative MPD-level BaseURLs the package had are resolved against each server."""
    existing = root.findall(f"{_MPD}BaseURL")
    relative = [(element.text or "").strip() for element in existing] or [""]
    for element in existing:
        root.remove(element)
    urls = list(dict.fromkeys(urljoin(server, path) for server in servers for path in relative))
    position = 0
    while position < len(root) and root[position].tag in _BEFORE_BASE_URL:
        position += 1
    indent = root.text if root.text is not None and not root.text.strip() else None
    for offset, url in enumerate(urls):
        element = etree.Element(f"{_MPD}BaseURL", nsmap=None)
        element.set("serviceLocation", urlsplit(url).netloc or url)
        element.text = url
        element.tail = indent
        root.insert(position + offset, element)


@dataclass(frozen=True)
class PackageMpd:
    """A package's MPD, parsed once for every play (never modified: plays work on a copy)."""

    root: Any


def parse_mpd(data: bytes) -> PackageMpd:
    """The parsed MPD; ``ManifestError`` when it is not one."""
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as error:
        raise ManifestError(f"MPD is not well-formed XML: {error}") from None
    if root.tag != f"{_MPD}MPD":
        raise ManifestError("not a DASH MPD")
    return PackageMpd(root)


def personalise_dash(mpd: PackageMpd, *, allows: RungTest, servers: Sequence[str]) -> bytes:
    """The MPD without the video Representations ``allows`` refuses (an AdaptationSet left
    empty goes too), its segments fetched from ``servers`` (absolute URLs of the package's
    directory, best first). ``NoPlayableVideo`` when it had video and none is left."""
    if not servers:
        raise ValueError("a personalised manifest needs at least one server")
    root = copy.deepcopy(mpd.root)
    kept, removed = _filter_video(root, allows)
    if removed and not kept:
        raise NoPlayableVideo("no video rung of the MPD may be played")
    _set_base_urls(root, servers)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8")) + b"\n"


# --- HLS -----------------------------------------------------------------------------------


def attribute_list(line: str) -> list[tuple[str, str]]:
    """The attributes of a tag line in order, values as written (quotes kept)."""
    _, _, body = line.partition(":")
    pairs: list[tuple[str, str]] = []
    position = 0
    while position < len(body):
        equals = body.find("=", position)
        name = body[position:equals]
        if equals < 0 or not name or not all(c.isupper() or c.isdigit() or c == "-" for c in name):
            raise ManifestError(f"malformed attribute list: {line!r}")
        if body.startswith('"', equals + 1):
            end = body.find('"', equals + 2) + 1
            if end == 0:
                raise ManifestError(f"unterminated quoted string: {line!r}")
        else:
            end = body.find(",", equals + 1)
            end = len(body) if end < 0 else end
        pairs.append((name, body[equals + 1 : end]))
        position = end + 1
    return pairs


def _with_absolute_uri(line: str, base: str) -> str:
    """The tag line with its URI attribute resolved against ``base`` (data: URIs, skd:
    and other absolute ones are left as they are); other tags verbatim."""
    if "URI=" not in line:
        return line
    pairs = attribute_list(line)
    if not any(name == "URI" for name, _ in pairs):
        return line
    written = []
    for name, value in pairs:
        if name == "URI":
            value = '"' + urljoin(base, value.strip('"')) + '"'
        written.append(f"{name}={value}")
    return line.partition(":")[0] + ":" + ",".join(written)


def _variant_allowed(line: str, allows: RungTest) -> bool | None:
    """Whether a (possibly I-frame) variant may be played; None for one without video."""
    attributes = {name: value.strip('"') for name, value in attribute_list(line)}
    codecs = [c.strip() for c in attributes.get("CODECS", "").split(",") if c.strip()]
    video = [c for c in codecs if c.split(".")[0].lower() not in _NOT_VIDEO]
    if codecs and not video:
        return None
    _, _, height = attributes.get("RESOLUTION", "").partition("x")
    # A variant that names no codec may be anything: only a known codec is let through.
    return all(allows(codec, _height(height)) for codec in video or [""])


def personalise_hls(playlist: str, *, allows: RungTest, server: str) -> str:
    """The multivariant playlist without the variants ``allows`` refuses (I-frame ones
    too), every URI absolute on ``server`` (the package's directory there): the media
    playlists stay the package's own, shared by every play. ``NoPlayableVideo`` when it
    had video variants and none is left."""
    lines = playlist.splitlines()
    if not lines or lines[0].strip() != "#EXTM3U":
        raise ManifestError("not an HLS playlist")
    if any(line.startswith("#EXTINF") for line in lines):
        raise ManifestError("a media playlist, not a multivariant playlist")
    out: list[str] = []
    variant: list[str] | None = None  # an EXT-X-STREAM-INF tag waiting for its URI
    keep = True
    kept = removed = 0
    for raw in lines:
        line = raw.strip()
        if variant is not None:
            if line and not line.startswith("#"):
                if keep:
                    out += [*variant, urljoin(server, line)]
                variant = None
            else:
                variant.append(raw)
            continue
        if line.startswith("#EXT-X-STREAM-INF:"):
            allowed = _variant_allowed(line, allows)
            keep = allowed is not False
            kept += allowed is True
            removed += allowed is False
            variant = [raw]
        elif line.startswith("#EXT-X-I-FRAME-STREAM-INF:"):
            if _variant_allowed(line, allows) is not False:
                out.append(_with_absolute_uri(line, server))
        elif line.startswith("#"):
            out.append(_with_absolute_uri(line, server))
        elif line:
            raise ManifestError(f"a URI without EXT-X-STREAM-INF: {line!r}")
        else:
            out.append(raw)
    if variant is not None:
        raise ManifestError("EXT-X-STREAM-INF without its URI")
    if removed and not kept:
        raise NoPlayableVideo("no video variant of the playlist may be played")
    return "\n".join(out) + "\n"
