"""The ``JobQueue`` port: who runs the encoding tasks of a submitted job."""

from __future__ import annotations

import threading
from typing import Protocol

from cineflux.media.tasks import WorkerContext, finalize_pending, work_until_idle


class JobQueue(Protocol):
    """Makes sure a submitted job's tasks get run by some worker."""

    def submit(self, job_id: str) -> None:
        """Hand the job's tasks to workers."""
        ...


class InProcessQueue:
    """Worker threads in this process (the default: one machine, nothing to run beside)."""

    def __init__(self, ctx: WorkerContext, workers: int) -> None:
        self.ctx = ctx
        self.workers = workers
        self._threads: list[threading.Thread] = []

    def submit(self, job_id: str) -> None:
        """Start worker threads that run tasks until none is left to claim."""
        for _ in range(self.workers):
            thread = threading.Thread(
                target=self._work, args=(job_id,), name="cineflux-worker", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _work(self, job_id: str) -> None:
        ctx = self.ctx.for_thread()
        work_until_idle(ctx, job_id)
        finalize_pending(ctx)

    @property
    def busy(self) -> bool:
        """Whether a worker thread is still running."""
        return any(t.is_alive() for t in self._threads)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the worker threads to finish."""
        for thread in self._threads:
            thread.join(timeout)
        self._threads = [t for t in self._threads if t.is_alive()]
