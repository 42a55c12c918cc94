"""Bitrate ladders: the default (Apple's HLS authoring specification) capped at the source."""

from __future__ import annotations

from dataclasses import dataclass, replace

CODECS = ("h264", "hevc", "av1")


@dataclass(frozen=True)
class Rung:
    """One video rendition to encode."""

    codec: str  # "h264" | "hevc" | "av1"
    width: int
    height: int
    bitrate: int  # bits per second: the average target, and the base of the peak cap
    vmaf: float | None = None  # measured on the title's samples (per-title ladders)
    crf: float | None = None  # per-title: constant quality, capped at the peak rate
    expected_bitrate: int | None = None  # per-title: the average the trials measured

    @property
    def id(self) -> str:
        """A stable name, also the rung's directory: ``h264-720p-3000k``."""
        return f"{self.codec}-{self.height}p-{round(self.bitrate / 1000)}k"

    @property
    def maxrate(self) -> int:
        """Peak rate allowed by the VBV: 1.5x the average, a common VOD constraint."""
        return self.bitrate * 3 // 2

    @property
    def bufsize(self) -> int:
        """VBV buffer: two seconds at the average rate."""
        return self.bitrate * 2


# Apple HLS authoring specification, H.264 rungs (16:9), lowest first.
APPLE_H264: tuple[tuple[int, int, int], ...] = (
    (416, 234, 145_000),
    (640, 360, 365_000),
    (768, 432, 730_000),
    (768, 432, 1_100_000),
    (960, 540, 2_000_000),
    (1280, 720, 3_000_000),
    (1280, 720, 4_500_000),
    (1920, 1080, 6_000_000),
    (1920, 1080, 7_800_000),
)
# Apple HLS authoring specification, HEVC 8-bit SDR rungs, lowest first.
APPLE_HEVC: tuple[tuple[int, int, int], ...] = (
    (640, 360, 145_000),
    (768, 432, 300_000),
    (960, 540, 600_000),
    (960, 540, 900_000),
    (960, 540, 1_600_000),
    (1280, 720, 2_400_000),
    (1280, 720, 3_400_000),
    (1920, 1080, 4_500_000),
    (1920, 1080, 5_800_000),
    (2560, 1440, 8_100_000),
    (3840, 2160, 11_600_000),
    (3840, 2160, 16_800_000),
)
# AV1 needs roughly 20% fewer bits than HEVC for the same quality (AOM and Netflix reports).
AV1_OF_HEVC = 0.8


def _even(value: float) -> int:
    """Round to the nearest even integer, at least 2: 4:2:0 chroma needs even sizes."""
    return max(2, round(value / 2.0) * 2)


def _table(codec: str) -> list[tuple[int, int, int]]:
    if codec == "h264":
        return list(APPLE_H264)
    if codec == "hevc":
        return list(APPLE_HEVC)
    if codec == "av1":
        return [(w, h, int(b * AV1_OF_HEVC)) for w, h, b in APPLE_HEVC]
    raise ValueError(f"unknown codec {codec!r}; choose from {', '.join(CODECS)}")


def default_ladder(source_width: int, source_height: int, codec: str = "h264") -> list[Rung]:
    """The specification's rungs for ``codec`` that fit the source, lowest first.

    Rungs taller than the source are dropped (never upscale); widths follow the source's
    aspect ratio and bitrates scale with the area. A source smaller than the lowest rung gets
    one rung at its own size.
    """
    if source_width <= 0 or source_height <= 0:
        raise ValueError("source dimensions must be positive")
    aspect = source_width / source_height
    rungs = []
    for width, height, bitrate in _table(codec):
        if height > source_height:
            continue
        fitted_width = min(_even(height * aspect), _even(source_width))
        area_ratio = (fitted_width * height) / (width * height)
        rungs.append(Rung(codec, fitted_width, height, int(bitrate * area_ratio)))
    if not rungs:
        width, height, bitrate = _table(codec)[0]
        area = (_even(source_width) * _even(source_height)) / (width * height)
        rungs.append(
            Rung(
                codec, _even(source_width), _even(source_height), max(100_000, int(bitrate * area))
            )
        )
    return rungs


def ladder_for(source_width: int, source_height: int, codecs: tuple[str, ...]) -> list[Rung]:
    """The default ladder of every codec asked for, H.264 first."""
    ordered = sorted(set(codecs), key=CODECS.index)
    if "h264" not in ordered:
        raise ValueError("the H.264 ladder is always encoded: every device decodes it")
    return [
        rung for codec in ordered for rung in default_ladder(source_width, source_height, codec)
    ]


def with_quality(
    rung: Rung,
    *,
    vmaf: float,
    crf: float | None = None,
    expected_bitrate: int | None = None,
) -> Rung:
    """The rung as a per-title ladder encodes it: same size and peak, chosen quality."""
    return replace(rung, vmaf=vmaf, crf=crf, expected_bitrate=expected_bitrate)
