"""ISO BMFF reading on boxes built by hand: codec strings, timing, keyframes, shifting."""

from __future__ import annotations

import struct

import pytest

from cineflux.media.isobmff import (
    BoxError,
    iter_boxes,
    parse_init,
    parse_segment,
    shift_decode_time,
)


def box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *payload)


def mdhd(timescale: int, language: str = "fra") -> bytes:
    packed = 0
    for char in language:
        packed = (packed << 5) | (ord(char) - 0x60)
    return full(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, 0, packed, 0))


def hdlr(kind: bytes) -> bytes:
    return full(b"hdlr", 0, 0, struct.pack(">I4s12s", 0, kind, b"\0" * 12), b"x\0")


def visual_entry(kind: bytes, config: bytes, width: int = 640, height: int = 360) -> bytes:
    fields = b"\0" * 6 + struct.pack(">H", 1) + b"\0" * 16
    fields += struct.pack(">HHIIIH", width, height, 0x480000, 0x480000, 0, 1)
    fields += b"\0" * 32 + struct.pack(">Hh", 0x18, -1)
    return box(kind, fields, config)


def audio_entry(channels: int, rate: int, audio_object_type: int) -> bytes:
    fields = b"\0" * 6 + struct.pack(">H", 1) + b"\0" * 8
    fields += struct.pack(">HHHHI", channels, 16, 0, 0, rate << 16)
    asc = bytes([(audio_object_type << 3) | 0x01, 0x90])
    decoder_specific = bytes([0x05, len(asc)]) + asc
    decoder_config = bytes([0x04, 13 + len(decoder_specific), 0x40, 0x15]) + b"\0" * 11
    decoder_config += decoder_specific
    es = bytes([0x03, 3 + len(decoder_config)]) + b"\0\x01\0" + decoder_config
    return box(b"mp4a", fields, full(b"esds", 0, 0, es))


def init_segment(entry: bytes, handler: bytes, timescale: int) -> bytes:
    stsd = full(b"stsd", 0, 0, struct.pack(">I", 1), entry)
    stbl = box(b"stbl", stsd)
    mdia = box(b"mdia", mdhd(timescale), hdlr(handler), box(b"minf", stbl))
    trex = full(b"trex", 0, 0, struct.pack(">IIIII", 1, 1, 0, 0, 0x00010000))
    return box(b"ftyp", b"iso6") + box(b"moov", box(b"trak", mdia), box(b"mvex", trex))


def media_segment(base: int, durations: list[int], first_flags: int | None) -> bytes:
    tfhd = full(b"tfhd", 0, 0x020000, struct.pack(">I", 1))
    tfdt = full(b"tfdt", 1, 0, struct.pack(">Q", base))
    flags = 0x000100 | (0x000004 if first_flags is not None else 0)
    body = struct.pack(">I", len(durations))
    if first_flags is not None:
        body += struct.pack(">I", first_flags)
    body += b"".join(struct.pack(">I", d) for d in durations)
    trun = full(b"trun", 0, flags, body)
    sidx = full(b"sidx", 1, 0, struct.pack(">IIQQ", 1, 1000, base, 0))
    return (
        box(b"styp", b"msdh")
        + sidx
        + box(b"moof", box(b"traf", tfhd, tfdt, trun))
        + box(b"mdat", b"\0" * 10)
    )


def test_avc_init_gives_the_rfc6381_codec_size_timescale_and_language() -> None:
    avcc = box(b"avcC", bytes([1, 0x64, 0x00, 0x1F, 0xFF]))
    init = parse_init(init_segment(visual_entry(b"avc1", avcc), b"vide", 12800))
    assert (init.handler, init.codec_string, init.width, init.height) == (
        "vide",
        "avc1.64001f",
        640,
        360,
    )
    assert (init.timescale, init.language, init.default_sample_flags) == (12800, "fra", 0x10000)


def test_hevc_codec_string_follows_iso_14496_15_annex_e() -> None:
    config = bytes([1, 0x01]) + struct.pack(">I", 0x60000000) + bytes([0x90, 0, 0, 0, 0, 0, 93])
    init = parse_init(init_segment(visual_entry(b"hvc1", box(b"hvcC", config)), b"vide", 90000))
    assert init.codec_string == "hvc1.1.6.L93.90"


def test_av1_codec_string() -> None:
    config = bytes([0x81, 0x08, 0x0C, 0x00])  # profile 0, level 8, main tier, 8-bit
    init = parse_init(init_segment(visual_entry(b"av01", box(b"av1C", config)), b"vide", 90000))
    assert init.codec_string == "av01.0.08M.08"


def test_aac_lc_codec_channels_and_rate() -> None:
    init = parse_init(init_segment(audio_entry(2, 48000, 2), b"soun", 48000))
    assert (init.codec_string, init.channels, init.sample_rate) == ("mp4a.40.2", 2, 48000)


def test_segment_timing_sums_sample_durations_and_sees_the_keyframe() -> None:
    timing = parse_segment(media_segment(51200, [512] * 100, first_flags=0x02000000))
    assert (timing.base_decode_time, timing.duration, timing.sample_count) == (51200, 51200, 100)
    assert timing.starts_with_sync_sample


def test_a_segment_starting_on_a_non_sync_sample_is_detected() -> None:
    timing = parse_segment(media_segment(0, [512] * 10, first_flags=None), 0x00010000)
    assert not timing.starts_with_sync_sample


def test_shifting_moves_tfdt_and_sidx_and_nothing_else() -> None:
    original = media_segment(0, [512] * 10, first_flags=0x02000000)
    shifted = shift_decode_time(original, 51200)
    assert len(shifted) == len(original)
    assert parse_segment(shifted).base_decode_time == 51200
    assert parse_segment(shifted).duration == parse_segment(original).duration
    sidx = next(b for b in iter_boxes(shifted) if b.type == b"sidx")
    assert struct.unpack_from(">Q", shifted, sidx.payload + 12)[0] == 51200
    assert shift_decode_time(original, 0) is original


def test_truncated_and_overrunning_boxes_are_errors() -> None:
    data = media_segment(0, [512], first_flags=0)
    with pytest.raises(BoxError):
        list(iter_boxes(data[:-3]))
    with pytest.raises(BoxError, match="without moof"):
        parse_segment(box(b"mdat", b"x"))
