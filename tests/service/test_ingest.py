"""Ingest on real ffmpeg and the real database: good files publish, bad ones leave nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import m3u8
import pytest
from mpegdash.parser import MPEGDASHParser

from cineflux.catalog import service as catalog
from cineflux.media import service as media
from cineflux.media.flows import ingest_into
from cineflux.media.probe import UnplayableMedia, probe
from cineflux.platform import Platform
from cineflux.storage import LocalStorage


def _ingest(platform: Platform, path: Path, name: str = "Essai") -> str:
    return ingest_into(platform, path, name=name, year=2024).title_id


def _assert_nothing_published(platform: Platform) -> None:
    with platform.sessions() as session:
        assert catalog.list_titles(session) == []
    storage = platform.storage
    assert isinstance(storage, LocalStorage)
    assert storage.list_prefix("titles") == []
    assert list((storage.root / ".staging").iterdir()) == []


def test_ingest_publishes_two_renditions_with_hls_and_dash(
    platform: Platform, small_film: Path
) -> None:
    progress: list[float] = []
    result = ingest_into(platform, small_film, name="Essai", year=2024, on_progress=progress.append)
    assert progress and max(progress) >= 5.0
    with platform.sessions() as session:
        title = catalog.get_title(session, result.title_id)
        package = media.package_for_title(session, title.id)
        assert package is not None
        video = [r for r in package.renditions if r.kind == "video"]
        audio = [r for r in package.renditions if r.kind == "audio"]
        prefix = package.storage_prefix
    assert sorted((r.width, r.height) for r in video) == [(160, 90), (320, 180)]
    assert all(r.codecs.startswith("avc1.") for r in video)
    assert [r.codecs for r in audio] == ["mp4a.40.2"]

    root = platform.storage.local_path(f"{prefix}/master.m3u8")
    assert root is not None
    directory = root.parent

    master = m3u8.load(str(directory / "master.m3u8"))
    assert master.is_variant
    assert len(master.playlists) == 2
    assert {p.stream_info.resolution for p in master.playlists} == {(160, 90), (320, 180)}
    assert all("mp4a.40.2" in p.stream_info.codecs for p in master.playlists)
    assert [m.type for m in master.media] == ["AUDIO"]
    for playlist in master.playlists:
        variant = m3u8.load(str(directory / playlist.uri))
        assert variant.is_endlist and variant.playlist_type == "vod"
        assert variant.segment_map[0].uri.startswith("init-")
        durations = [s.duration for s in variant.segments]
        assert all(d <= 4.0 + 1e-3 for d in durations)
        assert sum(durations) == pytest.approx(6.0, abs=0.1)
        for segment in variant.segments:
            assert (directory / segment.uri).is_file()

    mpd = MPEGDASHParser.parse(str(directory / "manifest.mpd"))
    assert mpd.type == "static"
    sets = mpd.periods[0].adaptation_sets
    assert sorted(s.content_type for s in sets) == ["audio", "video"]
    video_set = next(s for s in sets if s.content_type == "video")
    assert len(video_set.representations) == 2

    poster = directory / "poster.jpg"
    assert poster.read_bytes()[:3] == b"\xff\xd8\xff"


def test_video_without_audio_is_packaged_video_only(
    platform: Platform, ffmpeg: str, tmp_path: Path
) -> None:
    silent = tmp_path / "silent.mp4"
    subprocess.run(
        [ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=3",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", str(silent)],
        check=True,
    )  # fmt: skip
    title_id = _ingest(platform, silent, "Muet")
    with platform.sessions() as session:
        package = media.package_for_title(session, title_id)
        assert package is not None
        assert {r.kind for r in package.renditions} == {"video"}


# --- Bad input: every case gets a clear one-line reason and leaves nothing behind. ---


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
    audio = root / "audio-only.mp4"
    subprocess.run(
        [ffmpeg, "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=3",
         "-c:a", "aac", str(audio)],
        check=True,
    )  # fmt: skip
    files["audio-only"] = audio
    for variant, flags in (("moov-last", []), ("moov-first", ["-movflags", "+faststart"])):
        whole = root / f"whole-{variant}.mp4"
        subprocess.run(
            [ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=6",
             "-f", "lavfi", "-i", "sine=duration=6", "-c:v", "libx264", "-pix_fmt", "yuv420p",
             "-c:a", "aac", *flags, str(whole)],
            check=True,
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


def test_probe_reports_what_the_source_holds(small_film: Path) -> None:
    info = probe(small_film)
    assert (info.width, info.height) == (320, 180)
    assert info.duration_seconds == pytest.approx(6.0, abs=0.1)
    assert float(info.frame_rate) == pytest.approx(25.0)
    assert info.has_audio and info.audio_channels == 2
    assert info.video_codec == "h264"


def test_failed_registration_removes_the_published_files(
    platform: Platform, small_film: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(media, "register_package", refuse)
    with pytest.raises(RuntimeError, match="database went away"):
        _ingest(platform, small_film)
    _assert_nothing_published(platform)
