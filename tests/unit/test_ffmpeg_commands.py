"""ffmpeg command building and progress parsing, without running ffmpeg."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from cineflux.media.ffmpeg import (
    PackageJob,
    Rung,
    build_package_command,
    build_poster_command,
    choose_two_rungs,
    parse_progress_seconds,
    poster_time,
)


def test_full_hd_source_gets_1080p_and_540p() -> None:
    low, top = choose_two_rungs(1920, 1080)
    assert (top.width, top.height) == (1920, 1080)
    assert (low.width, low.height) == (960, 540)
    assert low.bitrate < top.bitrate


def test_rungs_never_upscale_a_720p_source() -> None:
    rungs = choose_two_rungs(1280, 720)
    assert max(r.height for r in rungs) == 720
    assert [r.height for r in rungs] == [360, 720]


def test_rungs_keep_the_source_aspect_ratio_and_even_sizes() -> None:
    low, top = choose_two_rungs(1440, 1080)  # 4:3
    assert (top.width, top.height) == (1440, 1080)
    assert low.width % 2 == 0 and low.height % 2 == 0
    assert abs(low.width / low.height - 4 / 3) < 0.02
    # Fewer pixels than the 16:9 rung, so fewer bits.
    assert top.bitrate < 7_800_000


def test_tiny_source_is_encoded_at_its_own_size_and_half() -> None:
    low, top = choose_two_rungs(320, 180)
    assert (top.width, top.height) == (320, 180)
    assert (low.width, low.height) == (160, 90)


def test_odd_source_sizes_become_even() -> None:
    _low, top = choose_two_rungs(321, 181)
    assert top.width % 2 == 0 and top.height % 2 == 0
    assert top.width <= 322 and top.height <= 182


@pytest.mark.parametrize("size", [(0, 720), (1280, -1)])
def test_rungs_refuse_nonsense_sizes(size: tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        choose_two_rungs(*size)


def _job(has_audio: bool = True) -> PackageJob:
    return PackageJob(
        source=Path("/in/film.mov"),
        output_dir=Path("/out"),
        rungs=[Rung(640, 360, 365_000), Rung(1280, 720, 3_000_000)],
        has_audio=has_audio,
        frame_rate=Fraction(25, 1),
        segment_seconds=4,
    )


def _value_after(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_package_command_aligns_keyframes_on_segment_boundaries() -> None:
    command = build_package_command("ffmpeg", _job())
    assert _value_after(command, "-g") == "100"  # 25 fps x 4 s
    assert _value_after(command, "-keyint_min") == "100"
    assert _value_after(command, "-sc_threshold") == "0"
    assert _value_after(command, "-force_key_frames") == "expr:gte(t,n_forced*4)"
    assert _value_after(command, "-seg_duration") == "4"
    assert "open-gop=0" in _value_after(command, "-x264-params")


def test_package_command_scales_each_rung_and_sets_its_rate() -> None:
    command = build_package_command("ffmpeg", _job())
    graph = _value_after(command, "-filter_complex")
    assert "split=2" in graph
    assert "scale=640:360" in graph and "scale=1280:720" in graph
    assert _value_after(command, "-b:v:0") == "365000"
    assert _value_after(command, "-b:v:1") == "3000000"
    assert _value_after(command, "-maxrate:v:1") == "4500000"
    maps = [command[i + 1] for i, arg in enumerate(command) if arg == "-map"]
    assert maps == ["[v0]", "[v1]", "0:a:0"]


def test_package_command_writes_dash_and_hls_over_the_same_segments() -> None:
    command = build_package_command("ffmpeg", _job())
    assert _value_after(command, "-f") == "dash"
    assert _value_after(command, "-hls_playlist") == "1"
    assert _value_after(command, "-adaptation_sets") == "id=0,streams=v id=1,streams=a"
    assert command[-1] == "/out/manifest.mpd"


def test_package_command_without_audio_maps_no_audio() -> None:
    command = build_package_command("ffmpeg", _job(has_audio=False))
    assert "0:a:0" not in command
    assert "-c:a" not in command
    assert _value_after(command, "-adaptation_sets") == "id=0,streams=v"


def test_package_command_needs_a_rung() -> None:
    job = _job()
    with pytest.raises(ValueError):
        build_package_command("ffmpeg", PackageJob(**{**job.__dict__, "rungs": []}))


def test_poster_command_seeks_and_grabs_one_frame() -> None:
    command = build_poster_command("ffmpeg", Path("/in.mp4"), Path("/p.jpg"), 12.5)
    assert _value_after(command, "-ss") == "12.500"
    assert _value_after(command, "-frames:v") == "1"
    assert command[-1] == "/p.jpg"


def test_poster_time_is_a_fifth_in_but_within_the_first_minute() -> None:
    assert poster_time(20) == pytest.approx(4)
    assert poster_time(7200) == 60


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("out_time_us=2500000", 2.5),
        ("out_time_ms=1000000\n", 1.0),
        ("out_time_us=N/A", None),
        ("out_time_us=-5000", 0.0),
        ("frame=12", None),
        ("progress=end", None),
        ("garbage", None),
    ],
)
def test_progress_lines_are_parsed(line: str, expected: float | None) -> None:
    assert parse_progress_seconds(line) == expected
