"""The platform's parts, built once from settings and handed to the web app and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cineflux.clock import Clock, SystemClock
from cineflux.config import Settings
from cineflux.db import make_engine, make_session_factory, upgrade_schema
from cineflux.media.encoder import ffmpeg_executable
from cineflux.rights.territory import GeoResolver, MaxMindGeoResolver
from cineflux.storage import LocalStorage, Storage


@dataclass
class Platform:
    """Explicit dependencies: settings, clock, database, storage, tools."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    storage: Storage
    signing_key: bytes
    clock: Clock = field(default_factory=SystemClock)
    geo: GeoResolver | None = None

    @property
    def ffmpeg(self) -> str:
        """Path of the ffmpeg binary."""
        return ffmpeg_executable()


def make_storage(settings: Settings) -> Storage:
    """The storage adapter the settings choose."""
    if settings.storage == "s3":
        from cineflux.storage.s3 import S3Storage, make_s3_client

        if not settings.s3_bucket:
            raise ValueError("CINEFLUX_STORAGE=s3 needs CINEFLUX_S3_BUCKET")
        client = make_s3_client(settings.s3_endpoint_url, settings.s3_region)
        return S3Storage(client, settings.s3_bucket, settings.s3_prefix)
    return LocalStorage(settings.media_dir)


def build_platform(
    settings: Settings,
    *,
    clock: Clock | None = None,
    migrate: bool = True,
    sessions: sessionmaker[Session] | None = None,
) -> Platform:
    """Create the data directory, upgrade the schema (unless told not to) and wire the parts."""
    settings.ensure_data_dir()
    if migrate:
        upgrade_schema(settings.sqlalchemy_url)
    engine = make_engine(settings.sqlalchemy_url)
    return Platform(
        settings=settings,
        engine=engine,
        sessions=sessions or make_session_factory(engine),
        storage=make_storage(settings),
        signing_key=settings.signing_key(),
        clock=clock or SystemClock(),
        geo=MaxMindGeoResolver(settings.geoip_database) if settings.geoip_database else None,
    )
