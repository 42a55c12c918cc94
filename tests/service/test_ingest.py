"""Ingest on real ffmpeg and the real database: good files publish, bad ones leave nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import m3u8
import pytest
from mpegdash.parser import MPEGDASHParser
from PIL import Image, ImageStat

from cineflux.catalog import service as catalog
from cineflux.media import isobmff
from cineflux.media import service as media
from cineflux.media.flows import IngestResult, ingest_into
from cineflux.media.manifests import dash_references, hls_references, missing_references
from cineflux.media.plan import InvalidIngestRequest
from cineflux.media.probe import UnplayableMedia, probe
from cineflux.media.subtitles import InvalidSubtitles
from cineflux.platform import Platform
from cineflux.storage import LocalStorage


def _ingest(platform: Platform, path: Path, name: str = "Essai", **options: object) -> IngestResult:
    return ingest_into(platform, path, name=name, year=2024, **options)  # type: ignore[arg-type]


def package_dir(platform: Platform, result: IngestResult) -> Path:
    """The directory of a published package (local storage)."""
    master = platform.storage.local_path(f"{result.storage_prefix}/master.m3u8")
    assert master is not None
    return master.parent


def unresolved_references(directory: Path) -> list[str]:
    """Every file a manifest or playlist of the package references but storage lacks."""
    available = {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()}
    missing = missing_references(
        dash_references((directory / "manifest.mpd").read_text()), available
    )
    master = (directory / "master.m3u8").read_text()
    for playlist in hls_references(master):
        missing += missing_references([playlist], available)
        base = Path(playlist).parent
        if (directory / playlist).is_file():
            media_refs = hls_references((directory / playlist).read_text())
            missing += missing_references([str(base / r) for r in media_refs], available)
    return missing


def _assert_nothing_published(platform: Platform) -> None:
    with platform.sessions() as session:
        assert catalog.list_titles(session, published_only=False) == []
    storage = platform.storage
    assert isinstance(storage, LocalStorage)
    assert storage.list_prefix("titles") == []
    assert storage.list_prefix("sources") == []
    assert list((storage.root / ".staging").iterdir()) == []


def test_ingest_publishes_the_default_ladder_in_cmaf_with_hls_and_dash(
    platform: Platform, small_film: Path
) -> None:
    seen: list[float] = []
    result = ingest_into(
        platform, small_film, name="Essai", year=2024, on_progress=lambda p: seen.append(p.progress)
    )
    assert seen[-1] == 1.0 and seen == sorted(seen)
    assert result.seconds_to_playable <= result.seconds_to_complete
    with platform.sessions() as session:
        package = media.package_for_title(session, result.title_id)
        assert package is not None and package.status == "complete"
        video = [r for r in package.renditions if r.kind == "video"]
        audio = [r for r in package.renditions if r.kind == "audio"]
        title = catalog.get_title(session, result.title_id)
        assert title.published_at is not None
    assert sorted((r.width, r.height) for r in video) == [(416, 234), (640, 360)]
    assert all(r.codecs.startswith("avc1.64") for r in video)
    assert [r.codecs for r in audio] == ["mp4a.40.2"]

    directory = package_dir(platform, result)
    assert unresolved_references(directory) == []

    master = m3u8.load(str(directory / "master.m3u8"))
    assert master.is_variant and master.version == 7
    assert master.is_independent_segments
    assert len(master.playlists) == 2
    for variant in master.playlists:
        info = variant.stream_info
        assert info.codecs.endswith(",mp4a.40.2")
        assert info.frame_rate == pytest.approx(25.0)
        assert 0 < info.average_bandwidth <= info.bandwidth
        assert info.resolution in {(416, 234), (640, 360)}
        playlist = m3u8.load(str(directory / variant.uri))
        assert playlist.is_endlist and playlist.playlist_type == "vod"
        durations = [s.duration for s in playlist.segments]
        assert all(d <= 4.0 + 1e-3 for d in durations)
        assert sum(durations) == pytest.approx(6.0, abs=0.05)

    mpd = MPEGDASHParser.parse(str(directory / "manifest.mpd"))
    assert mpd.type == "static"
    sets = mpd.periods[0].adaptation_sets
    assert sorted(s.content_type for s in sets) == ["audio", "video"]

    stats = ImageStat.Stat(Image.open(directory / "poster.jpg").convert("L"))
    assert stats.mean[0] > 24 and stats.stddev[0] > 12  # not black, not flat
    thumbnails = (directory / "trickplay" / "thumbnails.vtt").read_text()
    assert thumbnails.startswith("WEBVTT")
    for sprite in {line.split("#")[0] for line in thumbnails.splitlines() if "#xywh=" in line}:
        assert (directory / "trickplay" / sprite).is_file()


def test_chunks_join_into_one_timeline_with_keyframes_aligned_across_rungs(
    platform: Platform, small_film: Path
) -> None:
    result = _ingest(platform, small_film)
    directory = package_dir(platform, result)
    starts: dict[str, list[float]] = {}
    for rung in sorted((directory / "video").iterdir()):
        init = isobmff.parse_init((rung / "init.mp4").read_bytes())
        for segment in sorted(rung.glob("seg-*.m4s")):
            timing = isobmff.parse_segment(segment.read_bytes(), init.default_sample_flags)
            assert timing.starts_with_sync_sample, f"{segment} does not start on a keyframe"
            starts.setdefault(rung.name, []).append(timing.base_decode_time / init.timescale)
    # Two chunks (4 s each): segment 2 was encoded alone and moved to 4 s on the timeline.
    assert list(starts.values()) == [[0.0, 4.0], [0.0, 4.0]]


def test_several_audio_languages_and_subtitles_become_renditions(
    platform: Platform, ffmpeg: str, tmp_path: Path
) -> None:
    source = tmp_path / "bilingual.mkv"
    subprocess.run(
        [ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=5",
         "-f", "lavfi", "-i", "sine=frequency=300:duration=5",
         "-f", "lavfi", "-i", "sine=frequency=600:duration=5",
         "-map", "0:v", "-map", "1:a", "-map", "2:a", "-c:v", "libx264", "-pix_fmt", "yuv420p",
         "-c:a", "aac", str(source)],
        check=True,
    )  # fmt: skip
    french = tmp_path / "film.fr.srt"
    french.write_text("1\n00:00:00,500 --> 00:00:03,000\nBonjour à tous\n", encoding="cp1252")
    english = tmp_path / "film.en.vtt"
    english.write_text("WEBVTT\n\n00:00:00.500 --> 00:00:03.000\nHello everyone\n")
    signs = tmp_path / "signs.srt"
    signs.write_text("1\n00:00:01,000 --> 00:00:02,000\nPARIS\n")
    result = _ingest(
        platform,
        source,
        audio_languages=["fra", "eng"],
        subtitles=[f"fr={french}", f"en={english}", f"fr:forced={signs}"],
    )
    directory = package_dir(platform, result)
    assert unresolved_references(directory) == []
    master = m3u8.load(str(directory / "master.m3u8"))
    audio = [m for m in master.media if m.type == "AUDIO"]
    assert [(m.language, m.name, m.default) for m in audio] == [
        ("fr", "Français", "YES"),
        ("en", "English", "NO"),
    ]
    subtitles = [m for m in master.media if m.type == "SUBTITLES"]
    assert {(m.language, m.forced) for m in subtitles} == {
        ("fr", None),
        ("en", None),
        ("fr", "YES"),
    }
    assert all(p.stream_info.subtitles == "subs" for p in master.playlists)
    assert (directory / "text/text-fr/subtitles.vtt").read_text().startswith("WEBVTT")
    assert "Bonjour à tous" in (directory / "text/text-fr/subtitles.vtt").read_text()

    mpd = MPEGDASHParser.parse(str(directory / "manifest.mpd"))
    sets = mpd.periods[0].adaptation_sets
    assert sorted(s.lang for s in sets if s.content_type == "audio") == ["en", "fr"]
    text_roles = {(s.lang, s.roles[0].value) for s in sets if s.content_type == "text"}
    assert text_roles == {("fr", "subtitle"), ("en", "subtitle"), ("fr", "forced-subtitle")}
    for track in ("audio-fr", "audio-en"):
        init = isobmff.parse_init((directory / "audio" / track / "init.mp4").read_bytes())
        assert init.language == {"audio-fr": "fra", "audio-en": "eng"}[track]


def test_video_without_audio_is_packaged_video_only(
    platform: Platform, ffmpeg: str, tmp_path: Path
) -> None:
    silent = tmp_path / "silent.mp4"
    subprocess.run(
        [ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=3",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", str(silent)],
        check=True,
    )  # fmt: skip
    result = _ingest(platform, silent, "Muet")
    with platform.sessions() as session:
        package = media.package_for_title(session, result.title_id)
        assert package is not None
        assert {r.kind for r in package.renditions} == {"video"}
    assert unresolved_references(package_dir(platform, result)) == []


# --- Bad input: every case gets a clear one-line reason and leaves nothing behind. ---


def _make(ffmpeg: str, output: Path, *args: str) -> Path:
    subprocess.run([ffmpeg, "-v", "error", "-y", *args, str(output)], check=True)
    return output


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory: pytest.TempPathFactory, ffmpeg: str) -> dict[str, Path]:
    """A corpus of files that must be refused, generated with ffmpeg."""
    root = tmp_path_factory.mktemp("bad")
    files: dict[str, Path] = {}
    empty = root / "empty.mp4"
    empty.write_bytes(b"")
    files["empty"] = empty
    text = root / "notes.mp4"
    text.write_text("These are meeting notes, not a film.\n" * 50)
    files["text"] = text
    files["audio-only"] = _make(
        ffmpeg, root / "audio-only.mp4", "-f", "lavfi", "-i", "sine=duration=3", "-c:a", "aac"
    )
    video = ["-c:v", "libx264", "-pix_fmt", "yuv420p"]
    files["no-duration"] = _make(
        ffmpeg, root / "raw.h264", "-f", "lavfi", "-i", "testsrc2=size=320x180:duration=2",
        *video, "-f", "h264",
    )  # fmt: skip
    files["too-small"] = _make(
        ffmpeg, root / "tiny.mp4", "-f", "lavfi", "-i", "testsrc2=size=128x72:duration=1", *video
    )
    files["too-fast"] = _make(
        ffmpeg, root / "fast.mp4", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=240:duration=1",
        *video,
    )  # fmt: skip
    files["too-large"] = _make(
        ffmpeg, root / "huge.mkv", "-f", "lavfi", "-i", "color=size=7728x4352:rate=1:duration=1",
        "-c:v", "png",
    )  # fmt: skip
    for variant, flags in (("moov-last", []), ("moov-first", ["-movflags", "+faststart"])):
        whole = _make(
            ffmpeg, root / f"whole-{variant}.mp4",
            "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=6",
            "-f", "lavfi", "-i", "sine=duration=6", *video, "-c:a", "aac", *flags,
        )  # fmt: skip
        data = whole.read_bytes()
        truncated = root / f"truncated-{variant}.mp4"
        truncated.write_bytes(data[: len(data) * 6 // 10])
        files[f"truncated-{variant}"] = truncated
    return files


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("empty", "empty.mp4: the file is empty"),
        ("text", "notes.mp4: not a readable media file"),
        ("audio-only", "audio-only.mp4: no video stream (found: audio)"),
        ("no-duration", "raw.h264: the video has no duration (zero or unknown)"),
        ("too-small", "tiny.mp4: resolution 128x72 is below the minimum 160x90"),
        ("too-fast", "fast.mp4: frame rate 240 fps is above the maximum 120"),
        ("too-large", "huge.mkv: resolution 7728x4352 is above the maximum 7680x4320"),
        ("truncated-moov-last", "truncated-moov-last.mp4: not a readable media file"),
        ("truncated-moov-first", "truncated-moov-first.mp4: the file is truncated"),
    ],
)
def test_bad_input_is_refused_with_a_clear_reason_and_nothing_published(
    platform: Platform, bad_inputs: dict[str, Path], case: str, message: str
) -> None:
    with pytest.raises(UnplayableMedia) as refused:
        _ingest(platform, bad_inputs[case])
    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value)
    _assert_nothing_published(platform)


def test_missing_file_is_refused(platform: Platform, tmp_path: Path) -> None:
    with pytest.raises(UnplayableMedia, match="no such file"):
        _ingest(platform, tmp_path / "absent.mp4")
    _assert_nothing_published(platform)


def test_broken_subtitles_are_refused_with_their_line(
    platform: Platform, small_film: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.srt"
    broken.write_text("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:03 -> 00:00:04\nbad\n")
    with pytest.raises(InvalidSubtitles, match=r"broken.srt: line 6: expected"):
        _ingest(platform, small_film, subtitles=[f"fr={broken}"])
    _assert_nothing_published(platform)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"audio_languages": ["fra", "eng"]}, "1 audio stream(s) but 2 language(s)"),
        ({"audio_languages": ["klingon"]}, "not a language tag"),
        ({"subtitles": ["fr"]}, "--subtitles takes LANG=FILE"),
        ({"subtitles": ["fr=/nonexistent.srt"]}, "no such file"),
    ],
)
def test_options_that_do_not_fit_the_source_are_refused(
    platform: Platform, small_film: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidIngestRequest) as refused:
        _ingest(platform, small_film, **options)
    assert message in str(refused.value)
    _assert_nothing_published(platform)


def test_probe_reports_what_the_source_holds(small_film: Path) -> None:
    info = probe(small_film)
    assert (info.width, info.height) == (640, 360)
    assert info.duration_seconds == pytest.approx(6.0, abs=0.1)
    assert float(info.frame_rate) == pytest.approx(25.0)
    assert info.has_audio and info.audio_streams[0].channels == 2
    assert info.video_codec == "h264"
    assert info.hdr is None
