"""Pure reading (and one rewrite) of ISO BMFF / CMAF boxes.

The pipeline learns what it encoded from the files themselves, not from ffmpeg's manifests:
codec strings from the sample entries of init segments (RFC 6381), exact segment durations
and keyframe starts from ``moof`` boxes. ``shift_decode_time`` is what makes chunked encoding
lossless: a chunk encoded on its own starts its timeline at zero, and moving its
``baseMediaDecodeTime`` into place joins it to its neighbours without touching a sample.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"moof", b"traf", b"mvex", b"edts"}
SAMPLE_IS_NON_SYNC = 0x00010000


class BoxError(ValueError):
    """Bytes that are not the ISO BMFF structure expected."""


@dataclass(frozen=True)
class Box:
    """One box: its type, where its payload lies, and whether it is a full box."""

    type: bytes
    start: int  # offset of the box header
    payload: int  # offset of the payload
    end: int  # offset just past the box


def iter_boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[Box]:
    """The boxes laid end to end in ``data[start:end]``."""
    end = len(data) if end is None else end
    offset = start
    while offset < end:
        if end - offset < 8:
            raise BoxError(f"truncated box header at offset {offset}")
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            if end - offset < 16:
                raise BoxError(f"truncated large box header at offset {offset}")
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            raise BoxError(f"box {kind!r} at offset {offset} overruns its parent")
        yield Box(kind, offset, offset + header, offset + size)
        offset += size


def find_boxes(data: bytes, path: list[bytes], start: int = 0, end: int | None = None) -> list[Box]:
    """Every box reached by ``path`` (e.g. ``[b"moov", b"trak"]``) from the given range."""
    found: list[Box] = []
    for box in iter_boxes(data, start, end):
        if box.type != path[0]:
            continue
        if len(path) == 1:
            found.append(box)
        else:
            found.extend(find_boxes(data, path[1:], box.payload, box.end))
    return found


def find_box(data: bytes, path: list[bytes], start: int = 0, end: int | None = None) -> Box:
    """The first box reached by ``path``; ``BoxError`` when there is none."""
    boxes = find_boxes(data, path, start, end)
    if not boxes:
        raise BoxError(f"no {'/'.join(p.decode() for p in path)} box")
    return boxes[0]


@dataclass(frozen=True)
class TrackInit:
    """What an init segment says about its single track."""

    handler: str  # "vide", "soun", ...
    timescale: int
    sample_entry: str  # "avc1", "hvc1", "av01", "mp4a", ...
    codec_string: str  # RFC 6381, e.g. "avc1.64001f"
    width: int | None
    height: int | None
    channels: int | None
    sample_rate: int | None
    language: str | None  # ISO 639-2/T from mdhd, None when "und"
    default_sample_flags: int | None  # from trex, used when moofs say nothing
    # CENC: the default key id (32 hex digits) of an encrypted track's 'tenc', else None.
    default_kid: str | None = None


def _mdhd(data: bytes, box: Box) -> tuple[int, str | None]:
    version = data[box.payload]
    if version == 1:
        timescale = struct.unpack_from(">I", data, box.payload + 4 + 16)[0]
        lang_offset = box.payload + 4 + 16 + 4 + 8
    else:
        timescale = struct.unpack_from(">I", data, box.payload + 4 + 8)[0]
        lang_offset = box.payload + 4 + 8 + 4 + 4
    packed = struct.unpack_from(">H", data, lang_offset)[0]
    language = "".join(chr(((packed >> shift) & 0x1F) + 0x60) for shift in (10, 5, 0))
    return timescale, None if language in ("und", "```") else language


def _avc_codec(entry: str, config: bytes) -> str:
    return f"{entry}.{config[1]:02x}{config[2]:02x}{config[3]:02x}"


def _hevc_codec(entry: str, config: bytes) -> str:
    """ISO/IEC 14496-15 Annex E: hvc1.<space><profile>.<compat>.<tier><level>.<constraints>."""
    profile_space = config[1] >> 6
    tier = "H" if config[1] & 0x20 else "L"
    profile_idc = config[1] & 0x1F
    compat = struct.unpack_from(">I", config, 2)[0]
    reversed_compat = int(f"{compat:032b}"[::-1], 2)
    constraints = list(config[6:12])
    while constraints and constraints[-1] == 0:
        constraints.pop()
    level = config[12]
    parts = [
        entry,
        ("" if profile_space == 0 else "ABC"[profile_space - 1]) + str(profile_idc),
        f"{reversed_compat:x}",
        f"{tier}{level}",
    ]
    parts += [f"{byte:x}" for byte in constraints] or []
    return ".".join(parts)


def _av1_codec(config: bytes) -> str:
    """AV1 codec string (AV1 ISOBMFF binding): av01.<profile>.<level><tier>.<bitdepth>."""
    profile = config[1] >> 5
    level = config[1] & 0x1F
    tier = "H" if config[2] & 0x80 else "M"
    high_bitdepth = bool(config[2] & 0x40)
    twelve_bit = bool(config[2] & 0x20)
    depth = (12 if twelve_bit else 10) if high_bitdepth else 8
    return f"av01.{profile}.{level:02d}{tier}.{depth:02d}"


def _descriptor(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, payload offset, payload size) of an MPEG-4 descriptor with a variable length."""
    tag = data[offset]
    offset += 1
    size = 0
    for _ in range(4):
        byte = data[offset]
        offset += 1
        size = (size << 7) | (byte & 0x7F)
        if not byte & 0x80:
            break
    return tag, offset, size


def _mp4a_codec(data: bytes, esds: Box) -> str:
    offset = esds.payload + 4  # full box
    tag, offset, _ = _descriptor(data, offset)
    if tag != 0x03:
        raise BoxError("esds without ES_Descriptor")
    flags = data[offset + 2]
    offset += 3
    if flags & 0x80:
        offset += 2
    if flags & 0x40:
        offset += 1 + data[offset]
    if flags & 0x20:
        offset += 2
    tag, offset, _ = _descriptor(data, offset)
    if tag != 0x04:
        raise BoxError("esds without DecoderConfigDescriptor")
    object_type = data[offset]
    offset += 13
    if object_type != 0x40:
        return f"mp4a.{object_type:02x}"
    tag, offset, _ = _descriptor(data, offset)
    if tag != 0x05:
        return "mp4a.40"
    audio_object_type = data[offset] >> 3
    if audio_object_type == 31:
        audio_object_type = 32 + (((data[offset] & 0x07) << 3) | (data[offset + 1] >> 5))
    return f"mp4a.40.{audio_object_type}"


VISUAL_ENTRY_HEADER = 78  # SampleEntry (8) + VisualSampleEntry fields (70)
AUDIO_ENTRY_HEADER = 28  # SampleEntry (8) + AudioSampleEntry fields (20)


def _children(data: bytes, entry: Box, header: int) -> dict[bytes, Box]:
    return {box.type: box for box in iter_boxes(data, entry.payload + header, entry.end)}


def _protection(data: bytes, entry: Box, header: int, kind: str) -> tuple[str, str | None]:
    """The original format and default key id of a protected sample entry (encv, enca)."""
    if kind not in ("encv", "enca"):
        return kind, None
    sinf = _children(data, entry, header).get(b"sinf")
    if sinf is None:
        raise BoxError(f"{kind} without sinf")
    frma = find_box(data, [b"frma"], sinf.payload, sinf.end)
    tenc = find_box(data, [b"schi", b"tenc"], sinf.payload, sinf.end)
    # tenc: full box header (4), reserved and pattern (2), isProtected (1), IV size (1), KID.
    kid = data[tenc.payload + 8 : tenc.payload + 24]
    return data[frma.payload : frma.payload + 4].decode("latin-1"), kid.hex()


def parse_init(data: bytes) -> TrackInit:
    """Read the single track of a CMAF init segment."""
    trak = find_box(data, [b"moov", b"trak"])
    mdia = find_box(data, [b"mdia"], trak.payload, trak.end)
    timescale, language = _mdhd(data, find_box(data, [b"mdhd"], mdia.payload, mdia.end))
    hdlr = find_box(data, [b"hdlr"], mdia.payload, mdia.end)
    handler = data[hdlr.payload + 8 : hdlr.payload + 12].decode("latin-1")
    stsd = find_box(data, [b"minf", b"stbl", b"stsd"], mdia.payload, mdia.end)
    entries = list(iter_boxes(data, stsd.payload + 8, stsd.end))
    if not entries:
        raise BoxError("stsd has no sample entry")
    entry = entries[0]
    kind = entry.type.decode("latin-1")
    width = height = channels = sample_rate = None
    header = VISUAL_ENTRY_HEADER if handler == "vide" else AUDIO_ENTRY_HEADER
    kind, default_kid = _protection(data, entry, header, kind)
    if handler == "vide":
        width, height = struct.unpack_from(">HH", data, entry.payload + 24)
        children = _children(data, entry, VISUAL_ENTRY_HEADER)
        if kind in ("avc1", "avc3") and b"avcC" in children:
            box = children[b"avcC"]
            codec = _avc_codec(kind, data[box.payload : box.end])
        elif kind in ("hvc1", "hev1") and b"hvcC" in children:
            box = children[b"hvcC"]
            codec = _hevc_codec(kind, data[box.payload : box.end])
        elif kind == "av01" and b"av1C" in children:
            box = children[b"av1C"]
            codec = _av1_codec(data[box.payload : box.end])
        else:
            raise BoxError(f"unsupported video sample entry {kind}")
    elif handler == "soun":
        channels = struct.unpack_from(">H", data, entry.payload + 16)[0]
        sample_rate = struct.unpack_from(">I", data, entry.payload + 24)[0] >> 16
        children = _children(data, entry, AUDIO_ENTRY_HEADER)
        if kind == "mp4a" and b"esds" in children:
            codec = _mp4a_codec(data, children[b"esds"])
        elif kind == "Opus":
            codec = "opus"
        else:
            raise BoxError(f"unsupported audio sample entry {kind}")
    else:
        raise BoxError(f"unsupported handler {handler}")
    trex = find_boxes(data, [b"moov", b"mvex", b"trex"])
    default_flags = struct.unpack_from(">I", data, trex[0].payload + 20)[0] if trex else None
    return TrackInit(
        handler=handler,
        timescale=timescale,
        sample_entry=kind,
        codec_string=codec,
        width=width,
        height=height,
        channels=channels,
        sample_rate=sample_rate,
        language=language,
        default_sample_flags=default_flags,
        default_kid=default_kid,
    )


@dataclass(frozen=True)
class SegmentTiming:
    """What the ``moof`` boxes of one media segment say."""

    base_decode_time: int  # in the track's timescale
    duration: int  # sum of sample durations, same unit
    sample_count: int
    starts_with_sync_sample: bool


def parse_segment(data: bytes, default_sample_flags: int | None = None) -> SegmentTiming:
    """Timing of a media segment made of one or more ``moof``+``mdat`` pairs."""
    moofs = [box for box in iter_boxes(data) if box.type == b"moof"]
    if not moofs:
        raise BoxError("media segment without moof")
    base: int | None = None
    duration = 0
    count = 0
    first_sync: bool | None = None
    for moof in moofs:
        traf = find_box(data, [b"traf"], moof.payload, moof.end)
        tfhd = find_box(data, [b"tfhd"], traf.payload, traf.end)
        tf_flags = struct.unpack_from(">I", data, tfhd.payload)[0] & 0xFFFFFF
        cursor = tfhd.payload + 8
        if tf_flags & 0x01:
            cursor += 8
        if tf_flags & 0x02:
            cursor += 4
        default_duration = None
        if tf_flags & 0x08:
            default_duration = struct.unpack_from(">I", data, cursor)[0]
            cursor += 4
        if tf_flags & 0x10:
            cursor += 4
        traf_default_flags = default_sample_flags
        if tf_flags & 0x20:
            traf_default_flags = struct.unpack_from(">I", data, cursor)[0]
        tfdt = find_box(data, [b"tfdt"], traf.payload, traf.end)
        if data[tfdt.payload] == 1:
            decode_time = struct.unpack_from(">Q", data, tfdt.payload + 4)[0]
        else:
            decode_time = struct.unpack_from(">I", data, tfdt.payload + 4)[0]
        if base is None:
            base = decode_time
        for trun in find_boxes(data, [b"trun"], traf.payload, traf.end):
            header = struct.unpack_from(">I", data, trun.payload)[0]
            flags = header & 0xFFFFFF
            samples = struct.unpack_from(">I", data, trun.payload + 4)[0]
            cursor = trun.payload + 8
            if flags & 0x01:
                cursor += 4
            first_flags = None
            if flags & 0x04:
                first_flags = struct.unpack_from(">I", data, cursor)[0]
                cursor += 4
            for index in range(samples):
                sample_duration = default_duration
                sample_flags = None
                if flags & 0x100:
                    sample_duration = struct.unpack_from(">I", data, cursor)[0]
                    cursor += 4
                if flags & 0x200:
                    cursor += 4
                if flags & 0x400:
                    sample_flags = struct.unpack_from(">I", data, cursor)[0]
                    cursor += 4
                if flags & 0x800:
                    cursor += 4
                if sample_duration is None:
                    raise BoxError("sample without a duration")
                duration += sample_duration
                if first_sync is None and index == 0:
                    effective = (
                        first_flags
                        if first_flags is not None
                        else sample_flags
                        if sample_flags is not None
                        else traf_default_flags
                    )
                    first_sync = effective is None or not effective & SAMPLE_IS_NON_SYNC
            count += samples
    assert base is not None
    return SegmentTiming(
        base_decode_time=base,
        duration=duration,
        sample_count=count,
        starts_with_sync_sample=bool(first_sync),
    )


def shift_decode_time(data: bytes, delta: int) -> bytes:
    """The same segment with every ``tfdt`` (and ``sidx`` start) moved by ``delta`` ticks."""
    if delta == 0:
        return data
    out = bytearray(data)
    for box in iter_boxes(data):
        if box.type == b"sidx":
            version = data[box.payload]
            offset = box.payload + 4 + 4 + 4  # full box, reference_ID, timescale
            _patch_time(out, offset, version, delta, "sidx")
        if box.type != b"moof":
            continue
        for tfdt in find_boxes(data, [b"traf", b"tfdt"], box.payload, box.end):
            _patch_time(out, tfdt.payload + 4, data[tfdt.payload], delta, "tfdt")
    return bytes(out)


def _patch_time(out: bytearray, offset: int, version: int, delta: int, name: str) -> None:
    if version == 1:
        value = struct.unpack_from(">Q", out, offset)[0] + delta
        if not 0 <= value < 2**64:
            raise BoxError(f"{name} time out of range after shift")
        struct.pack_into(">Q", out, offset, value)
    else:
        value = struct.unpack_from(">I", out, offset)[0] + delta
        if not 0 <= value < 2**32:
            raise BoxError(f"{name} time does not fit 32 bits after shift; encode with v1 boxes")
        struct.pack_into(">I", out, offset, value)
