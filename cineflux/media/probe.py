"""Probing a source with PyAV: what it holds, or one clear reason why it cannot be ingested."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

MIN_WIDTH, MIN_HEIGHT = 160, 90
MAX_WIDTH, MAX_HEIGHT = 7680, 4320
MAX_FRAME_RATE = 120


class UnplayableMedia(ValueError):
    """The source cannot become a title; the message is one line meant for the operator."""


HDR_TRANSFERS = {"smpte2084": "PQ", "arib-std-b67": "HLG"}


@dataclass(frozen=True)
class AudioStream:
    """One audio stream of a source."""

    index: int  # among the source's audio streams
    language: str | None  # the file's tag (usually ISO 639-2), None when absent or "und"
    channels: int
    codec: str


@dataclass(frozen=True)
class SourceInfo:
    """What ingest needs to know about a source."""

    path: Path
    container: str
    duration_seconds: float
    width: int
    height: int
    frame_rate: Fraction
    video_codec: str
    pixel_format: str | None
    audio_streams: tuple[AudioStream, ...]
    color_transfer: str | None = None

    @property
    def has_audio(self) -> bool:
        """Whether the source has at least one audio stream."""
        return bool(self.audio_streams)

    @property
    def hdr(self) -> str | None:
        """``PQ`` or ``HLG`` for HDR sources, None for SDR."""
        return HDR_TRANSFERS.get(self.color_transfer or "")


def check_limits(width: int, height: int, frame_rate: Fraction, duration: float) -> None:
    """Refuse sizes, rates and durations the pipeline does not handle."""
    if duration <= 0:
        raise UnplayableMedia("the video has no duration (zero or unknown)")
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise UnplayableMedia(
            f"resolution {width}x{height} is below the minimum {MIN_WIDTH}x{MIN_HEIGHT}"
        )
    if width > MAX_WIDTH or height > MAX_HEIGHT:
        raise UnplayableMedia(
            f"resolution {width}x{height} is above the maximum {MAX_WIDTH}x{MAX_HEIGHT}"
        )
    if frame_rate <= 0:
        raise UnplayableMedia("the video has no usable frame rate")
    if frame_rate > MAX_FRAME_RATE:
        raise UnplayableMedia(
            f"frame rate {float(frame_rate):.3g} fps is above the maximum {MAX_FRAME_RATE}"
        )


def probe(path: Path) -> SourceInfo:
    """Read a source's streams and check every packet is there; raise ``UnplayableMedia``."""
    if not path.is_file():
        raise UnplayableMedia(f"{path.name}: no such file")
    if path.stat().st_size == 0:
        raise UnplayableMedia(f"{path.name}: the file is empty")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError) as error:
        raise UnplayableMedia(
            f"{path.name}: not a readable media file ({_reason(error)})"
        ) from None
    with container:
        if not container.streams.video:
            kinds: list[str] = sorted({s.type for s in container.streams}) or ["no streams"]
            raise UnplayableMedia(f"{path.name}: no video stream (found: {', '.join(kinds)})")
        video = container.streams.video[0]
        duration = _duration_seconds(container, video)
        frame_rate = Fraction(video.average_rate or video.guessed_rate or 0)
        width, height = video.codec_context.width, video.codec_context.height
        try:
            check_limits(width, height, frame_rate, duration)
        except UnplayableMedia as error:
            raise UnplayableMedia(f"{path.name}: {error}") from None
        _check_first_frame_decodes(container, video, path)
        _check_complete(path, video, duration)
        return SourceInfo(
            path=path,
            container=container.format.name,
            duration_seconds=duration,
            width=width,
            height=height,
            frame_rate=frame_rate,
            video_codec=video.codec_context.name,
            pixel_format=video.codec_context.pix_fmt,
            audio_streams=tuple(
                AudioStream(
                    index=i,
                    language=_language(stream.metadata.get("language")),
                    channels=stream.codec_context.channels,
                    codec=stream.codec_context.name,
                )
                for i, stream in enumerate(container.streams.audio)
            ),
            color_transfer=_color_transfer(video),
        )


def _language(tag: str | None) -> str | None:
    return None if not tag or tag.lower() in ("und", "unk", "mis", "zxx") else tag.lower()


def _color_transfer(video: av.VideoStream) -> str | None:
    trc = getattr(video.codec_context, "color_trc", None)
    if trc is None:
        return None
    name = getattr(trc, "name", None)
    if isinstance(name, str):
        return name.lower().replace("_", "-")
    # PyAV gives the ISO/IEC 23091-2 code: 16 is PQ (SMPTE ST 2084), 18 is HLG.
    return {16: "smpte2084", 18: "arib-std-b67"}.get(int(trc))


def _reason(error: Exception) -> str:
    text = getattr(error, "strerror", None) or str(error)
    return text.splitlines()[0] if text else type(error).__name__


def _duration_seconds(container: av.container.InputContainer, video: av.VideoStream) -> float:
    if video.duration is not None and video.time_base is not None:
        return float(video.duration * video.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def _check_first_frame_decodes(
    container: av.container.InputContainer, video: av.VideoStream, path: Path
) -> None:
    try:
        for _frame in container.decode(video):
            return
    except av.FFmpegError as error:
        raise UnplayableMedia(
            f"{path.name}: the video stream cannot be decoded ({_reason(error)})"
        ) from None
    raise UnplayableMedia(f"{path.name}: the video stream holds no decodable frame")


def _check_complete(path: Path, video: av.VideoStream, duration: float) -> None:
    """Demux every video packet (no decoding: fast) and compare with the declared duration.

    A truncated file whose index survived (``moov`` at the front) opens fine and declares its
    full length; only reading to the end shows that the media data stops early.
    """
    reached = 0.0
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream = container.streams.video[0]
            time_base = stream.time_base or Fraction(1, 1)
            for packet in container.demux(stream):
                if packet.size == 0 or packet.pts is None:
                    continue
                end = float((packet.pts + (packet.duration or 0)) * time_base)
                reached = max(reached, end)
    except av.FFmpegError as error:
        raise UnplayableMedia(f"{path.name}: the file is corrupt ({_reason(error)})") from None
    start = float((video.start_time or 0) * (video.time_base or 0))
    tolerance = max(0.5, duration * 0.02)
    if reached - start < duration - tolerance:
        raise UnplayableMedia(
            f"{path.name}: the file is truncated (media data stops at {reached - start:.1f}s "
            f"of {duration:.1f}s)"
        )
