"""Synthetic films made with ffmpeg's generators: for the demo, the tests and the benches."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from cineflux.media.encoder import run_ffmpeg


@dataclass(frozen=True)
class SyntheticFilm:
    """A recipe: an ffmpeg video source, a tone, and a title burned into the picture."""

    title: str
    year: int
    video_source: str  # lavfi source without size/rate, e.g. "testsrc2"
    tone_hz: int
    slug: str


DEMO_FILMS: tuple[SyntheticFilm, ...] = (
    SyntheticFilm("Le Signal", 2024, "testsrc2", 440, "le-signal"),
    SyntheticFilm("Fractale", 2023, "mandelbrot", 330, "fractale"),
    SyntheticFilm(
        "La Vie en cellules",
        2025,
        "life=mold=10:ratio=0.1:death_color=#1a0030:life_color=#ffcc00",
        550,
        "la-vie-en-cellules",
    ),
    SyntheticFilm("Aurore", 2022, "gradients=speed=0.02", 262, "aurore"),
)


def title_card(text: str, width: int, height: int, output: Path) -> Path:
    """A transparent PNG with ``text`` in a dark band at the bottom, to overlay on video."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    size = max(12, height // 12)
    font = ImageFont.load_default(size=size)
    band_top = height - int(size * 2.2)
    draw.rectangle([(0, band_top), (width, height)], fill=(0, 0, 0, 170))
    box = draw.textbbox((0, 0), text, font=font)
    x = (width - (box[2] - box[0])) // 2
    y = band_top + (height - band_top - (box[3] - box[1])) // 2 - box[1]
    draw.text((x, y), text, font=font, fill=(255, 255, 255, 255))
    image.save(output)
    return output


def _with_size(source: str, width: int, height: int, rate: int) -> str:
    name, _, options = source.partition("=")
    extra = f"size={width}x{height}:rate={rate}"
    return f"{name}={extra}:{options}" if options else f"{name}={extra}"


def build_film_command(
    ffmpeg: str,
    film: SyntheticFilm,
    card: Path,
    output: Path,
    *,
    seconds: float,
    width: int,
    height: int,
    rate: int = 25,
    audio: bool = True,
) -> list[str]:
    """The ffmpeg command that renders ``film`` to an H.264/AAC MP4 mezzanine."""
    command = [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats",
        "-progress", "pipe:1", "-y",
        "-f", "lavfi", "-i", _with_size(film.video_source, width, height, rate),
        "-i", str(card),
    ]  # fmt: skip
    if audio:
        command += ["-f", "lavfi", "-i", f"sine=frequency={film.tone_hz}:sample_rate=48000"]
    command += [
        "-filter_complex", "[0:v][1:v]overlay=0:0,format=yuv420p[v]",
        "-map", "[v]",
    ]  # fmt: skip
    if audio:
        command += ["-map", "2:a", "-c:a", "aac", "-b:a", "192k", "-ac", "2"]
        command += ["-metadata:s:a:0", "language=fra"]  # the demo's films are French
    command += [
        "-t", f"{seconds:g}",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
        "-movflags", "+faststart",
        str(output),
    ]  # fmt: skip
    return command


def render_film(
    ffmpeg: str,
    film: SyntheticFilm,
    output: Path,
    *,
    seconds: float = 20,
    width: int = 1280,
    height: int = 720,
    audio: bool = True,
) -> Path:
    """Render ``film`` into ``output`` (written aside and renamed, so never half there)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    card = output.with_suffix(".card.png")
    draft = output.with_name(f".{output.name}.part.mp4")
    try:
        title_card(film.title, width, height, card)
        run_ffmpeg(
            build_film_command(
                ffmpeg, film, card, draft, seconds=seconds, width=width, height=height, audio=audio
            )
        )
        draft.rename(output)
    finally:
        card.unlink(missing_ok=True)
        draft.unlink(missing_ok=True)
    return output
