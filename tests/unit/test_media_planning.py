"""Ladders, chunk plans, ffmpeg command lines and job plans, without running anything."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from cineflux.media.commands import (
    Chunk,
    ThumbnailSpec,
    audio_command,
    parse_progress_seconds,
    plan_chunks,
    video_chunk_command,
)
from cineflux.media.ladder import Rung, default_ladder, ladder_for
from cineflux.media.plan import (
    InvalidIngestRequest,
    SubtitleInput,
    audio_tracks,
    parse_subtitle_option,
    plan_job,
    text_tracks,
)
from cineflux.media.probe import AudioStream, SourceInfo


def test_full_hd_source_gets_every_apple_h264_rung() -> None:
    ladder = default_ladder(1920, 1080)
    assert [(r.width, r.height, r.bitrate) for r in ladder] == [
        (416, 234, 145_000), (640, 360, 365_000), (768, 432, 730_000), (768, 432, 1_100_000),
        (960, 540, 2_000_000), (1280, 720, 3_000_000), (1280, 720, 4_500_000),
        (1920, 1080, 6_000_000), (1920, 1080, 7_800_000),
    ]  # fmt: skip


def test_ladder_never_upscales_and_keeps_the_aspect_ratio() -> None:
    ladder = default_ladder(1440, 1080)  # 4:3
    assert max(r.height for r in ladder) == 1080
    assert all(r.width % 2 == 0 and abs(r.width / r.height - 4 / 3) < 0.02 for r in ladder)
    assert ladder[-1].bitrate < 7_800_000  # fewer pixels than 16:9, fewer bits
    assert [r.height for r in default_ladder(1280, 720)][-1] == 720


def test_source_below_the_lowest_rung_gets_one_rung_at_its_size() -> None:
    assert [(r.width, r.height) for r in default_ladder(320, 180)] == [(320, 180)]


def test_extra_codecs_add_their_own_rungs_after_h264() -> None:
    ladder = ladder_for(1280, 720, ("av1", "hevc", "h264"))
    assert ladder[0].codec == "h264"
    assert {r.codec for r in ladder} == {"h264", "hevc", "av1"}
    hevc = [r for r in ladder if r.codec == "hevc"]
    av1 = [r for r in ladder if r.codec == "av1"]
    assert all(a.bitrate < h.bitrate for a, h in zip(av1, hevc, strict=True))
    with pytest.raises(ValueError, match=r"H\.264"):
        ladder_for(1280, 720, ("hevc",))


def test_rung_ids_are_readable_and_unique() -> None:
    ids = [r.id for r in default_ladder(1920, 1080)]
    assert ids[0] == "h264-234p-145k" and len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    ("duration", "chunk_seconds", "expected"),
    [
        (6.0, 4, [(0, 0.0, 4.0, 1), (1, 4.0, None, 2)]),
        (10.0, 60, [(0, 0.0, None, 1)]),
        (130.0, 60, [(0, 0.0, 60.0, 1), (1, 60.0, 60.0, 16), (2, 120.0, None, 31)]),
        (8.0, 4, [(0, 0.0, 4.0, 1), (1, 4.0, None, 2)]),
        (12.0, 6, [(0, 0.0, 4.0, 1), (1, 4.0, 4.0, 2), (2, 8.0, None, 3)]),  # whole segments
        (8.02, 4, [(0, 0.0, 4.0, 1), (1, 4.0, None, 2)]),  # no chunk for 20 ms
    ],
)
def test_chunks_are_whole_segments(
    duration: float, chunk_seconds: int, expected: list[tuple[int, float, float | None, int]]
) -> None:
    chunks = plan_chunks(duration, 4, chunk_seconds)
    assert [(c.index, c.start, c.duration, c.first_segment) for c in chunks] == expected


def _value_after(command: list[str], flag: str, occurrence: int = 0) -> str:
    positions = [i for i, arg in enumerate(command) if arg == flag]
    return command[positions[occurrence] + 1]


RUNGS = [Rung("h264", 640, 360, 365_000), Rung("h264", 1280, 720, 3_000_000)]


def test_chunk_command_seeks_segments_and_aligns_keyframes() -> None:
    chunk = Chunk(index=1, start=60.0, duration=60.0, first_segment=16)
    command = video_chunk_command(
        "ffmpeg", Path("/in.mov"), RUNGS, Path("/out"), chunk,
        frame_rate=Fraction(25), segment_seconds=4,
    )  # fmt: skip
    assert _value_after(command, "-ss") == "60.000000"
    assert _value_after(command, "-t") == "60.000000"
    assert command.index("-ss") < command.index("-i")  # input seeking: fast and exact
    graph = _value_after(command, "-filter_complex")
    assert graph.startswith("[0:v:0]split=2[s0][s1]")
    assert "scale=640:360" in graph and "scale=1280:720" in graph
    for occurrence in (0, 1):
        assert _value_after(command, "-g", occurrence) == "100"
        assert _value_after(command, "-force_key_frames", occurrence) == "expr:gte(t,n_forced*4)"
        assert _value_after(command, "-start_number", occurrence) == "16"
        assert _value_after(command, "-hls_segment_type", occurrence) == "fmp4"
    assert _value_after(command, "-b:v", 1) == "3000000"
    assert _value_after(command, "-hls_segment_filename", 1) == "/out/h264-720p-3000k/seg-%05d.m4s"


def test_first_chunk_and_single_rung_need_no_seek_nor_split() -> None:
    chunk = Chunk(index=0, start=0.0, duration=None, first_segment=1)
    command = video_chunk_command(
        "ffmpeg", Path("/in.mov"), RUNGS[:1], Path("/out"), chunk,
        frame_rate=Fraction(24000, 1001), segment_seconds=4,
    )  # fmt: skip
    assert "-ss" not in command and "-t" not in command
    assert _value_after(command, "-filter_complex").startswith("[0:v:0]scale=640:360")
    assert _value_after(command, "-g") == "96"


def test_thumbnails_and_hdr_tone_mapping_join_the_graph() -> None:
    chunk = Chunk(index=0, start=0.0, duration=None, first_segment=1)
    thumbs = ThumbnailSpec(Path("/t"), 4.0, 240, 136, 5, 5)
    command = video_chunk_command(
        "ffmpeg", Path("/in.mov"), RUNGS[:1], Path("/out"), chunk,
        frame_rate=Fraction(25), segment_seconds=4, hdr=True, thumbnails=thumbs,
    )  # fmt: skip
    graph = _value_after(command, "-filter_complex")
    assert graph.startswith("[0:v:0]zscale=t=linear") and "tonemap=hable" in graph
    assert "tile=5x5" in graph and "scale=240:136" in graph
    assert command[-1] == "/t/sprite-%03d.jpg"


@pytest.mark.parametrize(
    ("codec", "encoder", "marker"),
    [("hevc", "libx265", "hvc1"), ("av1", "libsvtav1", "scd=0:enable-overlays=0")],
)
def test_other_codecs_get_their_encoders(codec: str, encoder: str, marker: str) -> None:
    chunk = Chunk(index=0, start=0.0, duration=None, first_segment=1)
    command = video_chunk_command(
        "ffmpeg", Path("/in"), [Rung(codec, 1280, 720, 2_000_000)], Path("/o"), chunk,
        frame_rate=Fraction(25), segment_seconds=4,
    )  # fmt: skip
    assert _value_after(command, "-c:v") == encoder
    assert marker in command
    # SVT-AV1's VBR takes no max rate; x265's does.
    assert ("-maxrate" in command) == (codec == "hevc")


def test_audio_command_tags_the_language() -> None:
    command = audio_command(
        "ffmpeg", Path("/in.mkv"), 1, Path("/o"), language_iso639_2="eng", segment_seconds=4
    )
    assert _value_after(command, "-map") == "0:a:1"
    assert _value_after(command, "-metadata:s:a:0") == "language=eng"
    assert _value_after(command, "-ac") == "2" and _value_after(command, "-c:a") == "aac"


@pytest.mark.parametrize(
    ("line", "expected"),
    [("out_time_us=2500000", 2.5), ("out_time_ms=1000000\n", 1.0), ("out_time_us=N/A", None),
     ("out_time_us=-5000", 0.0), ("frame=12", None), ("progress=end", None)],
)  # fmt: skip
def test_progress_lines_are_parsed(line: str, expected: float | None) -> None:
    assert parse_progress_seconds(line) == expected


def _source(streams: list[str | None]) -> SourceInfo:
    return SourceInfo(
        path=Path("/in.mkv"),
        container="matroska",
        duration_seconds=130.0,
        width=1920,
        height=1080,
        frame_rate=Fraction(25),
        video_codec="h264",
        pixel_format="yuv420p",
        audio_streams=tuple(AudioStream(i, lang, 2, "aac") for i, lang in enumerate(streams)),
    )


def test_audio_tracks_are_named_by_option_or_by_the_files_tags() -> None:
    tagged = audio_tracks(_source(["fre", "eng"]), None)
    assert [(t["track_id"], t["name"], t["default"]) for t in tagged] == [
        ("audio-fr", "Français", True),
        ("audio-en", "English", False),
    ]
    named = audio_tracks(_source([None, None]), ["eng", "fra"])
    assert [t["iso639_2"] for t in named] == ["eng", "fra"]
    unnamed = audio_tracks(_source([None, None]), None)
    assert [t["track_id"] for t in unnamed] == ["audio-und", "audio-und-1"]
    with pytest.raises(InvalidIngestRequest, match="2 audio stream"):
        audio_tracks(_source([None, None]), ["fra"])


@pytest.mark.parametrize(
    ("option", "parsed"),
    [("fr=a.srt", ("fr", False, "a.srt")), ("fra:forced=/x/b.vtt", ("fr", True, "/x/b.vtt")),
     ("en-gb=c.srt", ("en-GB", False, "c.srt"))],
)  # fmt: skip
def test_subtitle_options(option: str, parsed: tuple[str, bool, str]) -> None:
    assert parse_subtitle_option(option) == parsed


@pytest.mark.parametrize("option", ["fr", "=x.srt", "fr:bold=x.srt", "xx=y.srt"])
def test_bad_subtitle_options_are_refused(option: str) -> None:
    with pytest.raises(InvalidIngestRequest):
        parse_subtitle_option(option)


def test_two_subtitles_of_the_same_kind_and_language_are_refused() -> None:
    with pytest.raises(InvalidIngestRequest, match="two subtitle files"):
        text_tracks([SubtitleInput("fr", "a"), SubtitleInput("fr", "b")])


def test_job_plan_puts_what_makes_the_title_playable_first() -> None:
    source = _source(["fra"])
    plan = plan_job(
        source,
        rungs=default_ladder(1920, 1080),
        audio=audio_tracks(source, None),
        text=[],
        segment_seconds=4,
        chunk_seconds=60,
    )
    by_phase = {p: sorted(t.name for t in plan.tasks if t.phase == p) for p in (1, 2)}
    assert by_phase[1] == ["audio-fr", "low-c000", "low-c001", "low-c002", "poster"]
    assert by_phase[2] == ["h264-c000", "h264-c001", "h264-c002"]
    assert max(t.priority for t in plan.tasks if t.phase == 1) < min(
        t.priority for t in plan.tasks if t.phase == 2
    )
    full = next(t for t in plan.tasks if t.name == "h264-c001")
    assert len(full.params["rungs"]) == 8 and "h264-234p-145k" not in full.params["rungs"]
    assert plan.spec["low_rung"] == "h264-234p-145k"
    assert full.weight > next(t for t in plan.tasks if t.name == "low-c001").weight


# --- Per-title ladders ---

from cineflux.media.pertitle import (  # noqa: E402
    Trial,
    choose_rung,
    choose_samples,
    lowest_on_hull,
    trial_plan,
    upper_hull,
    verify_rung,
)


def test_samples_spread_over_the_title_or_take_it_whole() -> None:
    assert choose_samples(6.0) == [(0.0, 6.0)]
    assert choose_samples(18.0) == [(0.0, 18.0)]
    assert choose_samples(30.0) == [(3.0, 4.0), (13.0, 4.0), (23.0, 4.0)]
    samples = choose_samples(7200.0)
    assert len(samples) == 10 and samples[0] == (358.0, 4.0)


def test_trial_plan_has_the_default_encode_and_every_crf_per_rung() -> None:
    plan = trial_plan(default_ladder(640, 360))
    assert [(t.rung.height, t.crf) for t in plan] == [
        (234, None), (234, 10.0), (234, 14.0), (234, 19.0), (234, 24.0), (234, 30.0),
        (360, None), (360, 10.0), (360, 14.0), (360, 19.0), (360, 24.0), (360, 30.0),
    ]  # fmt: skip


def test_upper_hull_drops_points_below_it_and_costly_points_without_gain() -> None:
    points = [(100, 70.0), (200, 80.0), (300, 82.0), (250, 75.0), (400, 90.0), (500, 89.0)]
    assert upper_hull(points) == [(100, 70.0), (200, 80.0), (400, 90.0)]


def test_lowest_point_of_the_hull_reaching_a_quality() -> None:
    hull = [(100.0, 70.0), (200.0, 80.0), (400.0, 90.0)]
    assert lowest_on_hull(hull, 65.0) == (0, 0.0)
    assert lowest_on_hull(hull, 85.0) == (1, 0.5)
    assert lowest_on_hull(hull, 95.0) is None


RUNG = Rung("h264", 640, 360, 365_000)


def test_easy_rung_moves_to_the_crf_that_keeps_its_quality() -> None:
    trials = [
        Trial(RUNG.id, None, 130_000, 96.9),
        Trial(RUNG.id, 16.0, 90_000, 97.5),
        Trial(RUNG.id, 21.0, 60_000, 96.3),
        Trial(RUNG.id, 26.0, 48_000, 95.2),
    ]
    chosen = choose_rung(RUNG, trials)
    assert chosen.id == RUNG.id and chosen.maxrate == RUNG.maxrate  # same rung, same cap
    assert chosen.crf is not None and 16.0 < chosen.crf < 21.0
    assert chosen.expected_bitrate is not None and 60_000 < chosen.expected_bitrate < 90_000
    assert chosen.vmaf == 96.4


def test_hard_rung_keeps_the_default_encode() -> None:
    trials = [
        Trial(RUNG.id, None, 376_000, 72.0),
        Trial(RUNG.id, 16.0, 578_000, 77.5),
        Trial(RUNG.id, 21.0, 579_000, 77.7),
    ]
    chosen = choose_rung(RUNG, trials)
    assert (chosen.crf, chosen.expected_bitrate, chosen.vmaf) == (None, None, 72.0)


def test_per_title_rung_is_encoded_at_capped_crf() -> None:
    chunk = Chunk(index=0, start=0.0, duration=None, first_segment=1)
    rung = Rung("h264", 640, 360, 365_000, vmaf=96.4, crf=18.5, expected_bitrate=70_000)
    command = video_chunk_command(
        "ffmpeg", Path("/in"), [rung], Path("/o"), chunk, frame_rate=Fraction(25), segment_seconds=4
    )
    assert _value_after(command, "-crf") == "18.5"
    assert _value_after(command, "-maxrate") == str(RUNG.maxrate)
    assert "-b:v" not in command


def _measure_with(results: dict[float, tuple[int, float]]) -> tuple[list[float], object]:
    asked: list[float] = []

    def measure(crf: float) -> Trial:
        asked.append(crf)
        bitrate, vmaf = results[crf]
        return Trial(RUNG.id, crf, bitrate, vmaf)

    return asked, measure


DEFAULT = Trial(RUNG.id, None, 130_000, 96.9)
CANDIDATE = Rung("h264", 640, 360, 365_000, vmaf=96.4, crf=20.0, expected_bitrate=60_000)


def test_verified_crf_is_kept_with_its_measured_figures() -> None:
    asked, measure = _measure_with({20.0: (62_000, 96.5)})
    chosen, checks = verify_rung(RUNG, DEFAULT, CANDIDATE, measure)  # type: ignore[arg-type]
    assert asked == [20.0] and len(checks) == 1
    assert (chosen.crf, chosen.expected_bitrate, chosen.vmaf) == (20.0, 62_000, 96.5)


def test_a_missed_verification_steps_the_crf_back() -> None:
    asked, measure = _measure_with({20.0: (60_000, 95.0), 18.5: (75_000, 96.6)})
    chosen, _ = verify_rung(RUNG, DEFAULT, CANDIDATE, measure)  # type: ignore[arg-type]
    assert asked == [20.0, 18.5]
    assert (chosen.crf, chosen.vmaf) == (18.5, 96.6)


def test_no_saving_or_no_hold_falls_back_to_the_default_encode() -> None:
    asked, measure = _measure_with(
        {20.0: (60_000, 90.0), 18.5: (70_000, 91.0), 17.0: (80_000, 92.0)}
    )
    chosen, _ = verify_rung(RUNG, DEFAULT, CANDIDATE, measure)  # type: ignore[arg-type]
    assert asked == [20.0, 18.5, 17.0] and chosen.crf is None and chosen.vmaf == 96.9
    _, costly = _measure_with({20.0: (140_000, 97.0)})
    chosen, _ = verify_rung(RUNG, DEFAULT, CANDIDATE, costly)  # type: ignore[arg-type]
    assert chosen.crf is None


def test_poor_rungs_keep_the_default_encode() -> None:
    trials = [
        Trial(RUNG.id, None, 140_000, 62.0),
        Trial(RUNG.id, 24.0, 110_000, 63.0),
        Trial(RUNG.id, 30.0, 80_000, 58.0),
    ]
    chosen = choose_rung(RUNG, trials)
    assert (chosen.crf, chosen.vmaf) == (None, 62.0)
