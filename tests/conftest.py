"""Shared fixtures: a real database (SQLite, or PostgreSQL when asked), platform, media."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from cineflux.app import create_app
from cineflux.clock import FrozenClock
from cineflux.config import Settings
from cineflux.db import make_engine, make_session_factory, upgrade_schema
from cineflux.mail.devserver import LocalSmtpServer, start_local_smtp
from cineflux.media.encoder import ffmpeg_executable
from cineflux.media.synthetic import SyntheticFilm, render_film
from cineflux.models import Base
from cineflux.platform import Platform
from cineflux.storage import LocalStorage
from cineflux.storage.s3 import S3Storage

POSTGRES_URL = os.environ.get("CINEFLUX_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("CINEFLUX_TEST_REDIS_URL")
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@contextmanager
def fresh_database(tmp_dir: Path) -> Iterator[str]:
    """A new, empty database for this run: a SQLite file, or a PostgreSQL database."""
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_dir / f'test-{uuid.uuid4().hex[:8]}.db'}"
        return
    base = make_url(POSTGRES_URL)
    name = f"cineflux_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One migrated database for the whole run; each test rolls its changes back."""
    with fresh_database(tmp_path_factory.mktemp("db")) as url:
        upgrade_schema(url)
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The engine of the test database."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        outer = connection.begin()
        yield connection
        outer.rollback()


@pytest.fixture
def sessions(connection: Connection) -> sessionmaker[Session]:
    """Sessions whose commits become savepoints of the test's transaction."""
    return sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
def db(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session for service tests."""
    with sessions() as session:
        yield session


@pytest.fixture
def clock() -> FrozenClock:
    """Time that moves only when a test says so."""
    return FrozenClock(T0)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings pointing at a private data directory."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-" + "k" * 40,
        chunk_seconds=4,  # a 6-second film in two chunks: joining is always exercised
        workers=2,
        per_title_ladder=False,  # the analysis has its own tests; the others stay quick
    )


# Seeded by migrations; tests that add to them do so inside a rolled-back transaction.
REFERENCE_TABLES = {"chronology_rule_sets", "genres", "billing_plans"}


def clean_database(engine: Engine) -> None:
    """Delete every row, children first, keeping the reference data migrations seed."""
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in REFERENCE_TABLES:
                connection.execute(table.delete())


@pytest.fixture
def platform(settings: Settings, engine: Engine, clock: FrozenClock) -> Iterator[Platform]:
    """The platform on the test database, with local storage in a temporary directory.

    Its sessions commit for real, so that worker threads and the HTTP client see each
    other's work; the tables are emptied afterwards.
    """
    settings.ensure_data_dir()
    try:
        yield Platform(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            storage=LocalStorage(settings.media_dir),
            signing_key=settings.signing_key(),
            clock=clock,
        )
    finally:
        clean_database(engine)


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    """An HTTP client of the app (no redirects followed, to check them)."""
    with TestClient(create_app(platform), follow_redirects=False) as client:
        yield client


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    """The ffmpeg binary from imageio-ffmpeg."""
    return ffmpeg_executable()


TEST_FILM = SyntheticFilm("Essai", 2024, "testsrc2", 440, "essai")


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where generated test media lives for the run."""
    return tmp_path_factory.mktemp("media-sources")


@pytest.fixture(scope="session")
def small_film(ffmpeg: str, media_dir: Path) -> Path:
    """A 6-second 640x360 H.264/AAC film with a burned-in title, made once per run.

    640x360 is the smallest size that gets two rungs of the default ladder (234p, 360p).
    """
    return render_film(ffmpeg, TEST_FILM, media_dir / "small.mp4", seconds=6, width=640, height=360)


@pytest.fixture
def mail_server(tmp_path: Path) -> Iterator[LocalSmtpServer]:
    """A real SMTP server (aiosmtpd) on a free loopback port; what it receives can be read."""
    server = start_local_smtp(tmp_path / "received-mail")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 API on loopback: moto's server mode, in a thread of this process."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_storage(s3_endpoint: str) -> S3Storage:
    """S3 storage in a fresh bucket, under a key prefix."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    bucket = f"cineflux-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3Storage(client, bucket, prefix="media")
