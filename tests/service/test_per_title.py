"""Per-title ladders on real encodes and real VMAF: fewer bits where the picture allows."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cineflux.media import service as media
from cineflux.media.flows import ingest_into
from cineflux.media.ladder import default_ladder
from cineflux.platform import Platform


def _slides(ffmpeg: str, path: Path) -> Path:
    """Still pictures changing every 3 seconds: the easiest content there is."""
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=640x360:rate=1/3:duration=9",
         "-f", "lavfi", "-i", "sine=duration=9",
         "-vf", "fps=25,format=yuv420p", "-c:v", "libx264", "-crf", "12",
         "-c:a", "aac", "-t", "9", str(path)],
        check=True,
    )  # fmt: skip
    return path


def test_easy_content_gets_fewer_bits_at_the_same_quality(
    platform: Platform, ffmpeg: str, tmp_path: Path
) -> None:
    platform.settings.per_title_ladder = True
    source = _slides(ffmpeg, tmp_path / "slides.mp4")
    result = ingest_into(platform, source, name="Slides", year=2024)
    with platform.sessions() as session:
        package = media.package_for_title(session, result.title_id)
        job = media.jobs_for_title(session, result.title_id)[0]
        assert package is not None
        video = {r.track_id: r for r in package.renditions if r.kind == "video"}
    analysis = job.spec["analysis"]
    # Two rungs: the default encode and five CRFs each, then a verification of each choice.
    assert len(analysis["trials"]) >= 2 * 6 + 2
    defaults = {t["rung_id"]: t for t in analysis["trials"] if t["crf"] is None}
    assert set(defaults) == {r.id for r in default_ladder(640, 360)}
    for rung in job.spec["rungs"]:
        default = defaults[f"h264-{rung['height']}p-{rung['bitrate'] // 1000}k"]
        assert rung["crf"] is not None, "slides are easy: every rung switches to capped CRF"
        assert rung["expected_bitrate"] < 0.8 * default["bitrate"]
        assert rung["vmaf"] >= default["vmaf"] - 1.0
        published = video[f"h264-{rung['height']}p-{rung['bitrate'] // 1000}k"]
        assert published.vmaf == rung["vmaf"]
        # What was really encoded for the whole title is also far below the default.
        assert published.average_bandwidth is not None
        assert published.average_bandwidth < 0.8 * default["bitrate"]
