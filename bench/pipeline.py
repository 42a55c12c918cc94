"""Media pipeline benchmarks, each against a baseline run in the same invocation.

(a) Wall time of our full default ladder (Apple's H.264 rungs for a 1080p source, AAC,
    CMAF, HLS + DASH, trickplay, poster, checks, publication) against one hand-written
    ffmpeg command producing the same rungs and audio as CMAF HLS. Target: ratio <= 1.10.
(b) Time to playable (lowest rung + audio published) against time to the full ladder.
    Target: <= 0.30.

    python bench/pipeline.py [--seconds 60] [--runs 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cineflux.config import Settings
from cineflux.media.encoder import ffmpeg_executable
from cineflux.media.flows import ingest_into
from cineflux.media.ladder import default_ladder
from cineflux.media.service import JobProgress
from cineflux.media.synthetic import SyntheticFilm, render_film
from cineflux.platform import build_platform

RESULTS = Path(__file__).parent / "results" / "pipeline.json"
FILM = SyntheticFilm("Banc d'essai", 2026, "testsrc2", 440, "bench")


def baseline_command(ffmpeg: str, source: Path, out: Path, segment_seconds: int = 4) -> list[str]:
    """What an engineer would type: one decode, every rung and the audio, CMAF HLS."""
    rungs = default_ladder(1920, 1080)
    splits = "".join(f"[s{i}]" for i in range(len(rungs)))
    graph = [f"[0:v]split={len(rungs)}{splits}"] + [
        f"[s{i}]scale={r.width}:{r.height}[v{i}]" for i, r in enumerate(rungs)
    ]
    command = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-i", str(source),
               "-filter_complex", ";".join(graph)]  # fmt: skip
    for i, rung in enumerate(rungs):
        directory = out / rung.id
        directory.mkdir(parents=True)
        command += [
            "-map", f"[v{i}]", "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high",
            "-pix_fmt", "yuv420p", "-g", "100", "-keyint_min", "100", "-sc_threshold", "0",
            "-b:v", str(rung.bitrate), "-maxrate", str(rung.maxrate),
            "-bufsize", str(rung.bufsize), "-an",
            "-f", "hls", "-hls_time", str(segment_seconds), "-hls_playlist_type", "vod",
            "-hls_segment_type", "fmp4",
            "-hls_segment_filename", str(directory / "seg-%05d.m4s"), str(directory / "index.m3u8"),
        ]  # fmt: skip
    (out / "audio").mkdir()
    command += [
        "-map", "0:a:0", "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000", "-vn",
        "-f", "hls", "-hls_time", str(segment_seconds), "-hls_playlist_type", "vod",
        "-hls_segment_type", "fmp4",
        "-hls_segment_filename", str(out / "audio" / "seg-%05d.m4s"),
        str(out / "audio" / "index.m3u8"),
    ]  # fmt: skip
    return command


def run_ours(source: Path, root: Path, run: int) -> tuple[float, float]:
    """(seconds to playable, seconds to the full ladder), from the call to the end."""
    settings = Settings(data_dir=root / f"data-{run}", per_title_ladder=False)
    platform = build_platform(settings)
    started = time.perf_counter()
    playable: list[float] = []

    def progress(job: JobProgress) -> None:
        if job.playable and not playable:
            playable.append(time.perf_counter() - started)

    ingest_into(platform, source, name=f"Bench {run}", year=2026, on_progress=progress)
    complete = time.perf_counter() - started
    platform.engine.dispose()
    return playable[0] if playable else complete, complete


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    ffmpeg = ffmpeg_executable()
    baseline: list[float] = []
    to_playable: list[float] = []
    to_complete: list[float] = []
    with tempfile.TemporaryDirectory(prefix="cineflux-bench-") as tmp:
        root = Path(tmp)
        source = render_film(
            ffmpeg, FILM, root / "source.mp4", seconds=args.seconds, width=1920, height=1080
        )
        for run in range(args.runs):
            started = time.perf_counter()
            subprocess.run(baseline_command(ffmpeg, source, root / f"baseline-{run}"), check=True)
            baseline.append(time.perf_counter() - started)
            playable, complete = run_ours(source, root, run)
            to_playable.append(playable)
            to_complete.append(complete)

    base, ours = statistics.median(baseline), statistics.median(to_complete)
    ratio = ours / base
    playable_share = statistics.median(p / c for p, c in zip(to_playable, to_complete, strict=True))
    table = Table(title=f"Full ladder of a {args.seconds:g}s 1920x1080 source ({args.runs} run(s))")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_row("baseline: one ffmpeg command (s)", f"{base:.2f}", "")
    table.add_row("cineflux: full ladder (s)", f"{ours:.2f}", "")
    table.add_row("(a) cineflux / baseline", f"{ratio:.3f}", "<= 1.10")
    table.add_row("cineflux: playable after (s)", f"{statistics.median(to_playable):.2f}", "")
    table.add_row("(b) playable / full ladder", f"{playable_share:.3f}", "<= 0.30")
    Console().print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "bench": "pipeline",
                "source": {"seconds": args.seconds, "width": 1920, "height": 1080},
                "runs": args.runs,
                "baseline_seconds": baseline,
                "full_ladder_seconds": to_complete,
                "playable_seconds": to_playable,
                "targets": [
                    {
                        "name": "(a) full default ladder wall time / one ffmpeg command",
                        "value": round(ratio, 4),
                        "op": "<=",
                        "target": 1.10,
                        "unit": "ratio",
                    },
                    {
                        "name": "(b) time to playable / time to full ladder",
                        "value": round(playable_share, 4),
                        "op": "<=",
                        "target": 0.30,
                        "unit": "ratio",
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
