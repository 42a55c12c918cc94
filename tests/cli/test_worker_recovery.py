"""A worker killed in the middle of a job: another worker finishes it, and the title is whole."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import m3u8
from sqlalchemy import select

from cineflux.db import make_engine, make_session_factory
from cineflux.media.models import MediaJob, MediaTask
from cineflux.media.synthetic import SyntheticFilm, render_film
from tests.cli.conftest import cineflux
from tests.service.test_ingest import unresolved_references

FILM = SyntheticFilm("Coupure", 2024, "testsrc2", 500, "coupure")


def _wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)  # polling the database for a state, bounded by the deadline
    raise TimeoutError(what)


def test_killed_ingest_is_finished_by_a_worker(
    env: dict[str, str], ffmpeg: str, tmp_path: Path
) -> None:
    source = render_film(ffmpeg, FILM, tmp_path / "film.mp4", seconds=12, width=640, height=360)
    # Three chunks a rung, on the fixed ladder (recovery is the same for analysis tasks).
    env = {**env, "CINEFLUX_LEASE_SECONDS": "2", "CINEFLUX_CHUNK_SECONDS": "4",
           "CINEFLUX_WORKERS": "1", "CINEFLUX_PER_TITLE_LADDER": "false"}  # fmt: skip
    assert cineflux(env, "db", "upgrade").returncode == 0
    engine = make_engine(env["CINEFLUX_DATABASE_URL"])
    sessions = make_session_factory(engine)

    def tasks() -> list[MediaTask]:
        with sessions() as session:
            return list(session.scalars(select(MediaTask)))

    ingest = subprocess.Popen(
        [sys.executable, "-m", "cineflux", "ingest", str(source), "--title", "Coupure", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(
            lambda: (
                any(t.state == "done" for t in tasks())
                and any(t.state == "running" for t in tasks())
            ),
            timeout=60,
            what="the ingest to finish a task and start another",
        )
        os.kill(ingest.pid, signal.SIGKILL)
        ingest.wait(timeout=10)
    finally:
        if ingest.poll() is None:
            ingest.kill()
    stranded = [t for t in tasks() if t.state == "running"]
    assert stranded, "a task was in flight when the worker died"
    assert not all(t.state == "done" for t in tasks())
    _wait_for(
        lambda: all(
            t.lease_expires_at is None or t.lease_expires_at < datetime.now(UTC)
            for t in tasks()
            if t.state == "running"
        ),
        timeout=10,
        what="the dead worker's leases to run out",
    )

    worker = cineflux(env, "worker", "--once")
    assert worker.returncode == 0, worker.stderr
    with sessions() as session:
        job = session.scalars(select(MediaJob)).one()
        assert job.state == "succeeded", job.error
        title_id = job.title_id
        retried = session.get_one(MediaTask, stranded[0].id)
        assert retried.state == "done" and retried.attempts == 2
    engine.dispose()

    report = cineflux(env, "media", "report", "Coupure", "--json")
    assert report.returncode == 0, report.stderr
    rungs = json.loads(report.stdout)["rungs"]
    assert sorted((r["width"], r["height"]) for r in rungs) == [(416, 234), (640, 360)]

    package = Path(env["CINEFLUX_DATA_DIR"]) / "media" / "titles" / title_id
    assert unresolved_references(package) == []
    for variant in m3u8.load(str(package / "master.m3u8")).playlists:
        playlist = m3u8.load(str(package / variant.uri))
        assert len(playlist.segments) == 3
        assert sum(s.duration for s in playlist.segments) == 12.0
