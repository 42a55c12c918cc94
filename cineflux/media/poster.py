"""The poster: a representative frame of the film, never a black or flat one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image, ImageStat

POSTER_WIDTH = 640
CANDIDATE_SHARES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)


class NoPosterFrame(ValueError):
    """No candidate frame could be decoded at all."""


@dataclass(frozen=True)
class FrameStats:
    """How a candidate frame looks, in luma."""

    time: float
    mean: float  # 0..255
    stddev: float  # contrast: 0 for a flat frame


def is_usable(stats: FrameStats) -> bool:
    """Not black, not blown out, not flat."""
    return 24 <= stats.mean <= 235 and stats.stddev >= 12


def choose_poster(candidates: list[FrameStats]) -> int:
    """Index of the most detailed usable candidate.

    A film that is dark (or bright) all through still needs a poster: then the most detailed
    frame of all wins, flat and black ones last.
    """
    if not candidates:
        raise NoPosterFrame("no frame could be decoded for the poster")
    ranked = [
        (is_usable(stats), stats.stddev, stats.mean, -i, i) for i, stats in enumerate(candidates)
    ]
    return max(ranked)[4]


def _frame_at(container: av.container.InputContainer, seconds: float) -> Image.Image | None:
    stream = container.streams.video[0]
    time_base = stream.time_base
    assert time_base is not None
    container.seek(int(seconds / time_base), stream=stream, backward=True)
    for frame in container.decode(stream):
        if frame.time is not None and frame.time + 1e-3 >= seconds:
            image: Image.Image = frame.to_image()  # type: ignore[no-untyped-call]
            return image
    return None


def grab_poster(source: Path, duration: float, output: Path) -> FrameStats:
    """Write the best candidate frame of ``source`` as a JPEG; return its stats."""
    frames: list[tuple[FrameStats, Image.Image]] = []
    with av.open(str(source)) as container:
        container.streams.video[0].thread_type = "AUTO"
        for share in CANDIDATE_SHARES:
            image = _frame_at(container, duration * share)
            if image is None:
                continue
            stat = ImageStat.Stat(image.convert("L"))
            frames.append((FrameStats(duration * share, stat.mean[0], stat.stddev[0]), image))
    best = frames[choose_poster([stats for stats, _ in frames])]
    stats, image = best
    if image.width > POSTER_WIDTH:
        height = round(image.height * POSTER_WIDTH / image.width)
        image = image.resize((POSTER_WIDTH, height), Image.Resampling.LANCZOS)
    image.convert("RGB").save(output, "JPEG", quality=85, optimize=True)
    return stats
