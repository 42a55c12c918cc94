"""Turning a probed source into a complete, checked CMAF package in a local directory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cineflux.media import ffmpeg as cmd
from cineflux.media.encoder import run_ffmpeg
from cineflux.media.manifests import (
    ManifestError,
    dash_references,
    dash_representations,
    hls_references,
    missing_references,
    normalise_master_playlist,
    normalise_media_playlist,
)
from cineflux.media.probe import SourceInfo, UnplayableMedia


@dataclass(frozen=True)
class PackagedRendition:
    """One representation as published."""

    kind: str
    codecs: str
    bandwidth: int
    width: int | None
    height: int | None


@dataclass(frozen=True)
class Package:
    """A finished package, ready to publish."""

    directory: Path
    duration_seconds: float
    renditions: list[PackagedRendition]
    dash_manifest: str = cmd.DASH_MANIFEST
    hls_manifest: str = cmd.HLS_MASTER
    poster: str = cmd.POSTER


def _hls_duration(playlist: str) -> float:
    return sum(
        float(line.split(":", 1)[1].split(",", 1)[0])
        for line in playlist.splitlines()
        if line.startswith("#EXTINF:")
    )


def check_package(directory: Path, expected_duration: float) -> None:
    """Raise ``ManifestError`` unless every manifest reference resolves and nothing is short."""
    available = {p.name for p in directory.iterdir() if p.is_file()}
    mpd = (directory / cmd.DASH_MANIFEST).read_text()
    missing = missing_references(dash_references(mpd), available)
    master = (directory / cmd.HLS_MASTER).read_text()
    variants = hls_references(master)
    missing += missing_references(variants, available)
    tolerance = max(1.0, expected_duration * 0.02)
    for variant in variants:
        if variant not in available:
            continue
        playlist = (directory / variant).read_text()
        missing += missing_references(hls_references(playlist), available)
        packaged = _hls_duration(playlist)
        if packaged < expected_duration - tolerance:
            raise ManifestError(
                f"{variant} covers {packaged:.1f}s of {expected_duration:.1f}s: "
                "the source ends early (truncated or undecodable data)"
            )
    if missing:
        raise ManifestError(f"manifests reference missing files: {', '.join(missing[:5])}")


def package_source(
    source: SourceInfo,
    output_dir: Path,
    *,
    ffmpeg: str,
    segment_seconds: int,
    on_progress: Callable[[float], None] | None = None,
) -> Package:
    """Encode ``source`` into ``output_dir``: two H.264 rungs, AAC, CMAF, HLS + DASH, poster."""
    job = cmd.PackageJob(
        source=source.path,
        output_dir=output_dir,
        rungs=cmd.choose_two_rungs(source.width, source.height),
        has_audio=source.has_audio,
        frame_rate=source.frame_rate,
        segment_seconds=segment_seconds,
    )
    run_ffmpeg(cmd.build_package_command(ffmpeg, job), on_progress)
    run_ffmpeg(
        cmd.build_poster_command(
            ffmpeg,
            source.path,
            output_dir / cmd.POSTER,
            cmd.poster_time(source.duration_seconds),
        )
    )
    if not (output_dir / cmd.POSTER).is_file():
        raise UnplayableMedia(f"{source.path.name}: no frame could be grabbed for the poster")
    for playlist in output_dir.glob("*.m3u8"):
        text = playlist.read_text()
        if playlist.name == cmd.HLS_MASTER:
            playlist.write_text(normalise_master_playlist(text))
        else:
            playlist.write_text(normalise_media_playlist(text))
    try:
        check_package(output_dir, source.duration_seconds)
    except ManifestError as error:
        raise UnplayableMedia(f"{source.path.name}: {error}") from None
    representations = dash_representations((output_dir / cmd.DASH_MANIFEST).read_text())
    return Package(
        directory=output_dir,
        duration_seconds=source.duration_seconds,
        renditions=[
            PackagedRendition(
                kind=rep.content_type,
                codecs=rep.codecs,
                bandwidth=rep.bandwidth,
                width=rep.width,
                height=rep.height,
            )
            for rep in representations
        ],
    )
