"""Per-title ladders against the fixed ladder, on varied synthetic content.

For each content (static slides, a talking head, high-motion noise) the same 720p source is
ingested twice in this invocation: with the fixed default ladder (the baseline) and with the
per-title ladder. Every published rung of both is then scored with VMAF against the source
over the whole title, and its real bitrate read from its segments.

Targets (issue: media pipeline, (c)): on average >= 20% fewer bits at equal VMAF (+-1), and
no rung more than 1 VMAF point below the fixed ladder's same rung.

    python bench/pertitle.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cineflux.config import Settings
from cineflux.media import quality
from cineflux.media import service as media
from cineflux.media.encoder import ffmpeg_executable
from cineflux.media.flows import ingest_into
from cineflux.platform import build_platform

RESULTS = Path(__file__).parent / "results" / "pertitle.json"
SIZE = (1280, 720)

# Each content: its lavfi inputs, and a filter graph making [v] from them.
CONTENT: dict[str, tuple[list[str], str]] = {
    "slides": (
        ["testsrc2=size=1280x720:rate=1/4"],
        "[0:v]fps=25,format=yuv420p[v]",
    ),
    "talking-head": (
        ["gradients=size=1280x720:rate=25:speed=0.001", "testsrc2=size=360x360:rate=25"],
        "[1:v]format=yuv420p,hue=s=0[face];"
        "[0:v][face]overlay=x='460+12*sin(2*PI*t/3)':y='180+8*sin(2*PI*t/2)',"
        "format=yuv420p[v]",
    ),
    "noise": (
        ["testsrc2=size=1280x720:rate=25"],
        "[0:v]noise=alls=30:allf=t+u,format=yuv420p[v]",
    ),
}


def make_source(ffmpeg: str, kind: str, seconds: float, path: Path) -> Path:
    """A near-lossless mezzanine of one kind of content, with a tone."""
    inputs, graph = CONTENT[kind]
    command = [ffmpeg, "-v", "error", "-y"]
    for lavfi in inputs:
        command += ["-f", "lavfi", "-i", lavfi]
    command += ["-f", "lavfi", "-i", f"sine=duration={seconds}"]
    command += [
        "-filter_complex", graph, "-map", "[v]", "-map", f"{len(inputs)}:a",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-crf", "8",
        "-c:a", "aac", str(path),
    ]  # fmt: skip
    subprocess.run(command, check=True)
    return path


def rung_scores(
    root: Path, ffmpeg: str, source: Path, per_title: bool, seconds: float
) -> dict[str, tuple[int, float]]:
    """Ingest ``source`` and return {rung height and rank: (bits per second, VMAF)}."""
    settings = Settings(data_dir=root, per_title_ladder=per_title)
    platform = build_platform(settings)
    result = ingest_into(platform, source, name=source.stem, year=2026)
    reference = root / "reference.mkv"
    subprocess.run(
        quality.reference_command(ffmpeg, source, [(0.0, seconds)], reference, SIZE), check=True
    )
    with platform.sessions() as session:
        package = media.package_for_title(session, result.title_id)
        assert package is not None
        rungs = sorted(
            (r for r in package.renditions if r.kind == "video"), key=lambda r: r.bandwidth
        )
        tracks = [(r.track_id, r.height, r.average_bandwidth) for r in rungs]
    scores: dict[str, tuple[int, float]] = {}
    per_height: dict[int, int] = {}
    for track_id, height, bits in tracks:
        assert track_id and height and bits
        directory = platform.settings.media_dir / result.storage_prefix / "video" / track_id
        joined = root / f"{track_id}.mp4"
        with open(joined, "wb") as out:
            out.write((directory / "init.mp4").read_bytes())
            for segment in sorted(directory.glob("seg-*.m4s")):
                out.write(segment.read_bytes())
        log = root / f"{track_id}.json"
        subprocess.run(quality.vmaf_command(ffmpeg, joined, reference, SIZE, log), check=True)
        rank = per_height.get(height, 0)
        per_height[height] = rank + 1
        scores[f"{height}p#{rank}"] = (bits, quality.parse_vmaf_log(log.read_text()))
    platform.engine.dispose()
    return scores


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    ffmpeg = ffmpeg_executable()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="cineflux-pertitle-") as tmp:
        root = Path(tmp)
        for kind in CONTENT:
            source = make_source(ffmpeg, kind, args.seconds, root / f"{kind}.mp4")
            fixed = rung_scores(root / f"{kind}-fixed", ffmpeg, source, False, args.seconds)
            chosen = rung_scores(root / f"{kind}-pertitle", ffmpeg, source, True, args.seconds)
            for rung, (fixed_bits, fixed_vmaf) in fixed.items():
                bits, vmaf = chosen[rung]
                rows.append(
                    {
                        "content": kind,
                        "rung": rung,
                        "fixed_bitrate": fixed_bits,
                        "fixed_vmaf": round(fixed_vmaf, 2),
                        "per_title_bitrate": bits,
                        "per_title_vmaf": round(vmaf, 2),
                        "saving": round(1 - bits / fixed_bits, 4),
                        "vmaf_delta": round(vmaf - fixed_vmaf, 2),
                    }
                )
    table = Table(title=f"Per-title vs fixed ladder, {args.seconds:g}s 1280x720 sources")
    for column in ("content", "rung", "fixed kb/s", "fixed VMAF", "per-title kb/s",
                   "per-title VMAF", "saving", "ΔVMAF"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("content", "rung") else "right")
    for row in rows:
        table.add_row(
            str(row["content"]),
            str(row["rung"]),
            f"{int(row['fixed_bitrate']) / 1000:.0f}",  # type: ignore[call-overload]
            f"{row['fixed_vmaf']:.2f}",
            f"{int(row['per_title_bitrate']) / 1000:.0f}",  # type: ignore[call-overload]
            f"{row['per_title_vmaf']:.2f}",
            f"{100 * float(row['saving']):.1f}%",  # type: ignore[arg-type]
            f"{float(row['vmaf_delta']):+.2f}",  # type: ignore[arg-type]
        )
    mean_saving = statistics.mean(float(r["saving"]) for r in rows)  # type: ignore[arg-type]
    mean_delta = statistics.mean(float(r["vmaf_delta"]) for r in rows)  # type: ignore[arg-type]
    worst_delta = min(float(r["vmaf_delta"]) for r in rows)  # type: ignore[arg-type]
    console = Console()
    console.print(table)
    console.print(
        f"mean saving {100 * mean_saving:.1f}% (target >= 20%), mean ΔVMAF {mean_delta:+.2f} "
        f"(target within ±1), worst ΔVMAF {worst_delta:+.2f} (target >= -1)"
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "bench": "pertitle",
                "seconds": args.seconds,
                "rows": rows,
                "targets": [
                    {
                        "name": "(c) mean bit saving of per-title over fixed ladder",
                        "value": round(mean_saving, 4),
                        "op": ">=",
                        "target": 0.20,
                        "unit": "fraction",
                    },
                    {
                        "name": "(c) mean VMAF difference, per-title minus fixed (lower bound)",
                        "value": round(mean_delta, 3),
                        "op": ">=",
                        "target": -1.0,
                        "unit": "VMAF",
                    },
                    {
                        "name": "(c) mean VMAF difference, per-title minus fixed (upper bound)",
                        "value": round(mean_delta, 3),
                        "op": "<=",
                        "target": 1.0,
                        "unit": "VMAF",
                    },
                    {
                        "name": "(c) worst rung VMAF difference, per-title minus fixed",
                        "value": round(worst_delta, 3),
                        "op": ">=",
                        "target": -1.0,
                        "unit": "VMAF",
                    },
                ],
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
