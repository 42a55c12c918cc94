"""Two Celery worker processes share one job through Redis, the database and S3 storage."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import m3u8
import pytest
from sqlalchemy import select

from cineflux.config import Settings
from cineflux.media.flows import submit_ingest
from cineflux.media.models import MediaJob, MediaTask
from cineflux.media.queue import CeleryQueue
from cineflux.platform import build_platform
from cineflux.storage.s3 import S3Storage
from tests.conftest import REDIS_URL, fresh_database

pytestmark = pytest.mark.skipif(
    not REDIS_URL, reason="CINEFLUX_TEST_REDIS_URL not set (CI's second pass sets it)"
)


@pytest.fixture
def shared_env(tmp_path: Path, s3_storage: S3Storage, s3_endpoint: str) -> Iterator[dict[str, str]]:
    """What every machine of a deployment shares: database, bucket, broker."""
    assert REDIS_URL
    with fresh_database(tmp_path) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CINEFLUX_")}
        env.update(
            CINEFLUX_DATABASE_URL=url,
            CINEFLUX_DATA_DIR=str(tmp_path / "data"),
            CINEFLUX_STORAGE="s3",
            CINEFLUX_S3_BUCKET=s3_storage.bucket,
            CINEFLUX_S3_PREFIX=s3_storage.prefix,
            CINEFLUX_S3_ENDPOINT_URL=s3_endpoint,
            CINEFLUX_QUEUE="celery",
            CINEFLUX_REDIS_URL=REDIS_URL,
            CINEFLUX_CHUNK_SECONDS="4",
            CINEFLUX_PER_TITLE_LADDER="false",
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
        )
        yield env


def test_two_worker_processes_encode_one_title_in_parallel_chunks(
    shared_env: dict[str, str], small_film: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in shared_env.items():
        if name.startswith(("CINEFLUX_", "AWS_")):
            monkeypatch.setenv(name, value)
    platform = build_platform(Settings())
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "cineflux", "worker", "--celery", "--threads", "1"],
            env=shared_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        submitted = submit_ingest(
            platform, small_film, name="Partagé", year=2024, queue=CeleryQueue(REDIS_URL, 4)
        )
        deadline = time.monotonic() + 120
        state = "queued"
        while time.monotonic() < deadline:
            with platform.sessions() as session:
                state = session.get_one(MediaJob, submitted.job_id).state
            if state in ("succeeded", "failed"):
                break
            time.sleep(0.2)  # polling the job's state, bounded by the deadline
        assert state == "succeeded"
        with platform.sessions() as session:
            tasks = list(session.scalars(select(MediaTask)))
        owners = {t.lease_owner.split("#")[0] for t in tasks if t.lease_owner}
        assert len(owners) == 2, f"both worker processes took tasks: {owners}"
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=20)
        platform.engine.dispose()
    storage = platform.storage
    prefix = f"titles/{submitted.title_id}"
    master = m3u8.loads(storage.read_bytes(f"{prefix}/master.m3u8").decode())
    assert len(master.playlists) == 2
    for variant in master.playlists:
        playlist = m3u8.loads(storage.read_bytes(f"{prefix}/{variant.uri}").decode())
        directory = variant.uri.rsplit("/", 1)[0]
        for segment in playlist.segments:
            assert storage.exists(f"{prefix}/{directory}/{segment.uri}")
