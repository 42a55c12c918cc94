"""Ingest wall time against one hand-written ffmpeg command producing the same rungs.

Both run in this invocation on the same generated 720p source. The baseline is the bare
encode; ours adds probing, the completeness check, the poster, manifest rewriting and
reference checks, and the atomic publication. Target: ours / baseline <= 1.10.

    python bench/pipeline.py [--seconds 60] [--runs 3]
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

from cineflux.clock import SystemClock
from cineflux.db import make_engine, make_session_factory, upgrade_schema
from cineflux.media.encoder import ffmpeg_executable
from cineflux.media.flows import ingest_file
from cineflux.media.synthetic import SyntheticFilm, render_film
from cineflux.storage import LocalStorage

RESULTS = Path(__file__).parent / "results" / "pipeline.json"
FILM = SyntheticFilm("Bench", 2026, "testsrc2", 440, "bench")
TARGET_RATIO = 1.10


def baseline_command(ffmpeg: str, source: Path, out: Path) -> list[str]:
    """What an engineer would type: the same two rungs, AAC, CMAF via the DASH muxer."""
    return [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-i", str(source),
        "-filter_complex",
        "[0:v]split=2[a][b];[a]scale=640:360[v0];[b]scale=1280:720[v1]",
        "-map", "[v0]", "-map", "[v1]", "-map", "0:a:0",
        "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-pix_fmt", "yuv420p",
        "-g", "100", "-keyint_min", "100", "-sc_threshold", "0",
        "-b:v:0", "365000", "-maxrate:v:0", "547500", "-bufsize:v:0", "730000",
        "-b:v:1", "4500000", "-maxrate:v:1", "6750000", "-bufsize:v:1", "9000000",
        "-c:a", "aac", "-b:a", "128000", "-ac", "2", "-ar", "48000",
        "-f", "dash", "-seg_duration", "4", "-hls_playlist", "1",
        "-adaptation_sets", "id=0,streams=v id=1,streams=a",
        str(out / "manifest.mpd"),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ffmpeg = ffmpeg_executable()
    with tempfile.TemporaryDirectory(prefix="cineflux-bench-") as tmp:
        root = Path(tmp)
        source = render_film(ffmpeg, FILM, root / "source.mp4", seconds=args.seconds)
        url = f"sqlite:///{root / 'bench.db'}"
        upgrade_schema(url)
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        storage = LocalStorage(root / "media")
        ours: list[float] = []
        baseline: list[float] = []
        for run in range(args.runs):
            out = root / f"baseline-{run}"
            out.mkdir()
            started = time.perf_counter()
            subprocess.run(baseline_command(ffmpeg, source, out), check=True)
            baseline.append(time.perf_counter() - started)

            started = time.perf_counter()
            ingest_file(
                source,
                name=f"Bench {run}",
                year=2026,
                sessions=sessions,
                storage=storage,
                clock=SystemClock(),
                ffmpeg=ffmpeg,
                segment_seconds=4,
            )
            ours.append(time.perf_counter() - started)
        engine.dispose()

    ours_median, baseline_median = statistics.median(ours), statistics.median(baseline)
    ratio = ours_median / baseline_median
    table = Table(title=f"Ingest of a {args.seconds:g}s 1280x720 source, median of {args.runs}")
    table.add_column("what")
    table.add_column("median s", justify="right")
    table.add_column("runs s", justify="right")
    table.add_row("baseline: one ffmpeg command", f"{baseline_median:.2f}",
                  " ".join(f"{v:.2f}" for v in baseline))  # fmt: skip
    table.add_row("cineflux ingest", f"{ours_median:.2f}", " ".join(f"{v:.2f}" for v in ours))
    table.add_row("ratio (target <= 1.10)", f"{ratio:.3f}", "")
    Console().print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "bench": "pipeline",
                "source_seconds": args.seconds,
                "runs": args.runs,
                "baseline_seconds": baseline,
                "ours_seconds": ours,
                "targets": [
                    {
                        "name": "ingest wall time / hand-written ffmpeg",
                        "value": round(ratio, 4),
                        "op": "<=",
                        "target": TARGET_RATIO,
                        "unit": "ratio",
                    }
                ],
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
