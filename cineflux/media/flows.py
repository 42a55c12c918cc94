"""Ingest: the use case that spans media, storage and the catalogue."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from cineflux.catalog import service as catalog
from cineflux.clock import Clock
from cineflux.db import new_id, transaction
from cineflux.media import service as media
from cineflux.media.packaging import package_source
from cineflux.media.probe import SourceInfo, probe
from cineflux.platform import Platform
from cineflux.storage import Storage


@dataclass(frozen=True)
class IngestResult:
    """What ingest produced."""

    title_id: str
    name: str
    storage_prefix: str
    source: SourceInfo
    renditions: int


def ingest_file(
    path: Path,
    *,
    name: str,
    year: int | None,
    sessions: sessionmaker[Session],
    storage: Storage,
    clock: Clock,
    ffmpeg: str,
    segment_seconds: int,
    on_probe: Callable[[SourceInfo], None] | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> IngestResult:
    """Probe, encode, publish and register one file, all or nothing.

    The package is built in a private staging directory, published by one rename, and only
    then registered in the catalogue; if registration fails the published files are removed.
    Any failure before that leaves no file and no title behind.
    """
    catalog.validate_title(name, year)
    source = probe(path)
    if on_probe is not None:
        on_probe(source)
    staging = storage.staging_dir()
    title_id = new_id()
    prefix = f"titles/{title_id}"
    try:
        package = package_source(
            source,
            staging,
            ffmpeg=ffmpeg,
            segment_seconds=segment_seconds,
            on_progress=on_progress,
        )
        storage.publish_directory(staging, prefix)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    try:
        with transaction(sessions) as session:
            title = catalog.create_title(
                session, clock=clock, name=name, year=year, title_id=title_id
            )
            media.register_package(
                session,
                clock=clock,
                title_id=title.id,
                storage_prefix=prefix,
                package=package,
                source_width=source.width,
                source_height=source.height,
            )
    except BaseException:
        storage.remove_prefix(prefix)
        raise
    return IngestResult(
        title_id=title_id,
        name=title.name,
        storage_prefix=prefix,
        source=source,
        renditions=len(package.renditions),
    )


def ingest_into(
    platform: Platform,
    path: Path,
    *,
    name: str,
    year: int | None,
    on_probe: Callable[[SourceInfo], None] | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> IngestResult:
    """``ingest_file`` with the platform's database, storage, clock, ffmpeg and settings."""
    return ingest_file(
        path,
        name=name,
        year=year,
        sessions=platform.sessions,
        storage=platform.storage,
        clock=platform.clock,
        ffmpeg=platform.ffmpeg,
        segment_seconds=platform.settings.segment_seconds,
        on_probe=on_probe,
        on_progress=on_progress,
    )
