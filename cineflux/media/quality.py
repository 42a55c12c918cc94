"""Quality measurement commands: a reference clip of samples, trial encodes, VMAF. Pure."""

from __future__ import annotations

import json
from pathlib import Path

from cineflux.media.ladder import Rung

REFERENCE_MAX_HEIGHT = 1080


def reference_size(width: int, height: int) -> tuple[int, int]:
    """Where VMAF is measured: the source's size, at most 1080 lines (the model's)."""
    if height <= REFERENCE_MAX_HEIGHT:
        return width - width % 2, height - height % 2
    scaled = round(width * REFERENCE_MAX_HEIGHT / height / 2) * 2
    return scaled, REFERENCE_MAX_HEIGHT


def reference_command(
    ffmpeg: str,
    source: Path,
    samples: list[tuple[float, float]],
    output: Path,
    size: tuple[int, int],
    hdr_filter: str | None = None,
) -> list[str]:
    """Cut the samples from the source and join them, lossless, at the reference size."""
    command = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    for start, length in samples:
        command += ["-ss", f"{start:.3f}", "-t", f"{length:.3f}", "-i", str(source)]
    prefix = f"{hdr_filter}," if hdr_filter else ""
    inputs = "".join(f"[{i}:v:0]" for i in range(len(samples)))
    graph = (
        f"{inputs}concat=n={len(samples)}:v=1:a=0,{prefix}"
        f"scale={size[0]}:{size[1]}:flags=bicubic,setsar=1,format=yuv420p[ref]"
    )
    command += [
        "-filter_complex", graph, "-map", "[ref]",
        "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-an",
        str(output),
    ]  # fmt: skip
    return command


def trial_command(
    ffmpeg: str,
    reference: Path,
    rung: Rung,
    output: Path,
    *,
    gop: int,
    preset: str,
    crf: float | None = None,
) -> list[str]:
    """Encode the reference clip as the ladder would encode this rung (or at a CRF)."""
    rate = ["-b:v", str(rung.bitrate)] if crf is None else ["-crf", f"{crf:g}"]
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-i", str(reference),
        "-vf", f"scale={rung.width}:{rung.height}:flags=bicubic,setsar=1",
        "-c:v", "libx264", "-preset", preset, "-profile:v", "high", "-pix_fmt", "yuv420p",
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
        *rate, "-maxrate", str(rung.maxrate), "-bufsize", str(rung.bufsize),
        "-an", str(output),
    ]  # fmt: skip


def vmaf_command(
    ffmpeg: str, distorted: Path, reference: Path, size: tuple[int, int], log: Path
) -> list[str]:
    """Score ``distorted`` against ``reference`` with VMAF, upscaled to the reference size."""
    graph = (
        f"[0:v]scale={size[0]}:{size[1]}:flags=bicubic,setpts=PTS-STARTPTS[d];"
        "[1:v]setpts=PTS-STARTPTS[r];"
        f"[d][r]libvmaf=log_fmt=json:log_path={log}:n_threads=2:n_subsample=2"
    )
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
        "-i", str(distorted), "-i", str(reference),
        "-lavfi", graph, "-f", "null", "-",
    ]  # fmt: skip


def parse_vmaf_log(text: str) -> float:
    """The pooled mean VMAF of a libvmaf JSON log."""
    data = json.loads(text)
    return float(data["pooled_metrics"]["vmaf"]["mean"])
