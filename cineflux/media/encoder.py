"""Running ffmpeg: a thin wrapper around the pure command builders."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from functools import cache

import imageio_ffmpeg

from cineflux.media.commands import parse_progress_seconds


class EncodeFailed(RuntimeError):
    """ffmpeg exited with an error; the message carries its last words."""


@cache
def ffmpeg_executable() -> str:
    """The ffmpeg binary shipped in the ``imageio-ffmpeg`` wheel."""
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def run_ffmpeg(command: list[str], on_progress: Callable[[float], None] | None = None) -> None:
    """Run an ffmpeg command, reporting media seconds done; raise ``EncodeFailed`` on error."""
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as errors:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=errors, text=True, encoding="utf-8"
        )
        assert process.stdout is not None
        try:
            for line in process.stdout:
                seconds = parse_progress_seconds(line)
                if seconds is not None and on_progress is not None:
                    on_progress(seconds)
            code = process.wait()
        except BaseException:
            process.kill()
            process.wait()
            raise
        if code != 0:
            errors.seek(0)
            lines = [line.strip() for line in errors.read().splitlines() if line.strip()]
            last = lines[-1] if lines else f"exit status {code}"
            raise EncodeFailed(f"ffmpeg failed: {last}")
