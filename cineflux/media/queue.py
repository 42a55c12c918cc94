"""The ``JobQueue`` port: who runs the encoding tasks of a submitted job.

The queue only wakes workers up; which task each takes, leases, retries and publication all
go through the database (``tasks``). A worker woken for a job works until the job ends,
taking over tasks whose workers died, so losing a worker or a message loses no work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import select

from cineflux.media.models import MediaJob
from cineflux.media.tasks import WorkerContext, finalize_job, work_until_idle

TERMINAL = ("succeeded", "failed")


class JobQueue(Protocol):
    """Makes sure a submitted job's tasks get run by some worker."""

    def submit(self, job_id: str) -> None:
        """Hand the job's tasks to workers."""
        ...


def work_on_job(
    ctx: WorkerContext, job_id: str, wait: Callable[[float], bool], poll_seconds: float = 0.25
) -> None:
    """Run the job's tasks until the job has ended.

    When nothing is claimable the job may still be going: other workers hold tasks (and may
    die), or the analysis is about to plan the encodes. So poll, until the job ends or
    ``wait`` says to stop.
    """
    while True:
        work_until_idle(ctx, job_id)
        finalize_job(ctx, job_id)
        with ctx.sessions() as session:
            state = session.scalar(select(MediaJob.state).where(MediaJob.id == job_id))
        if state is None or state in TERMINAL:
            return
        if wait(poll_seconds):
            return


class InProcessQueue:
    """Worker threads in this process (the default: one machine, nothing to run beside)."""

    def __init__(self, ctx: WorkerContext, workers: int) -> None:
        self.ctx = ctx
        self.workers = workers
        self._threads: list[threading.Thread] = []

    def submit(self, job_id: str) -> None:
        """Start worker threads that work on the job until it ends."""
        for _ in range(self.workers):
            thread = threading.Thread(
                target=work_on_job,
                args=(self.ctx.for_thread(), job_id, threading.Event().wait),
                name="cineflux-worker",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    @property
    def busy(self) -> bool:
        """Whether a worker thread is still running."""
        return any(t.is_alive() for t in self._threads)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the worker threads to finish."""
        for thread in self._threads:
            thread.join(timeout)
        self._threads = [t for t in self._threads if t.is_alive()]


class CeleryQueue:
    """Workers on any number of machines, woken through a Celery broker (Redis)."""

    def __init__(self, broker_url: str, messages: int) -> None:
        from cineflux.media.celery_app import make_celery

        self.app = make_celery(broker_url)
        self.messages = messages

    def submit(self, job_id: str) -> None:
        """Send one wake-up per worker that should join the job."""
        for _ in range(self.messages):
            self.app.send_task("cineflux.media.work", args=[job_id])
