"""Extra codecs (HEVC, AV1) signalled with their own CODECS strings; HDR sources tone-mapped."""

from __future__ import annotations

import subprocess
from pathlib import Path

import m3u8
from mpegdash.parser import MPEGDASHParser

from cineflux.media import isobmff
from cineflux.media.flows import ingest_into
from cineflux.media.probe import probe
from cineflux.platform import Platform
from tests.service.test_ingest import package_dir, unresolved_references


def test_hevc_and_av1_rungs_join_the_ladder_with_their_codec_strings(
    platform: Platform, small_film: Path
) -> None:
    platform.settings.codecs = "h264,hevc,av1"
    platform.settings.hevc_preset = "ultrafast"
    platform.settings.av1_preset = 12
    result = ingest_into(platform, small_film, name="Trois codecs", year=2024)
    directory = package_dir(platform, result)
    assert unresolved_references(directory) == []
    master = m3u8.load(str(directory / "master.m3u8"))
    families = sorted({p.stream_info.codecs.split(".")[0] for p in master.playlists})
    assert families == ["av01", "avc1", "hvc1"]
    hevc = next(p for p in master.playlists if p.stream_info.codecs.startswith("hvc1"))
    assert hevc.stream_info.codecs.startswith("hvc1.1.6.L")  # Main profile, level follows
    av1 = next(p for p in master.playlists if p.stream_info.codecs.startswith("av01"))
    assert av1.stream_info.codecs.startswith("av01.0.") and av1.stream_info.codecs.endswith(
        ".08,mp4a.40.2"
    )
    mpd = MPEGDASHParser.parse(str(directory / "manifest.mpd"))
    video_sets = [s for s in mpd.periods[0].adaptation_sets if s.content_type == "video"]
    assert len(video_sets) == 3  # one per codec: players switch within a set only
    for folder in (directory / "video").iterdir():
        init = isobmff.parse_init((folder / "init.mp4").read_bytes())
        assert init.codec_string.split(".")[0] in folder.name.replace("h264", "avc1").replace(
            "hevc", "hvc1"
        ).replace("av1", "av01")


def test_hdr_source_is_recognised_and_tone_mapped_to_sdr(
    platform: Platform, ffmpeg: str, tmp_path: Path
) -> None:
    source = tmp_path / "hdr.mp4"
    subprocess.run(
        [ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=4",
         "-vf", "setparams=color_primaries=bt2020:color_trc=smpte2084:colorspace=bt2020nc",
         "-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le",
         "-x265-params", "log-level=error", str(source)],
        check=True,
    )  # fmt: skip
    assert probe(source).hdr == "PQ"
    result = ingest_into(platform, source, name="HDR", year=2024)
    directory = package_dir(platform, result)
    assert unresolved_references(directory) == []
    low = next((directory / "video").iterdir())
    init = isobmff.parse_init((low / "init.mp4").read_bytes())
    assert init.codec_string.startswith("avc1.64")  # 8-bit High profile: SDR for everyone
