"""The Celery application of ``cineflux worker --celery``: one task, "work on this job"."""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from celery import Celery

from cineflux.config import Settings


@cache
def _context() -> Any:
    """This worker process's platform, built once from its own ``CINEFLUX_*`` settings."""
    from cineflux.media.flows import worker_context
    from cineflux.platform import build_platform

    return worker_context(build_platform(Settings()))


def make_celery(broker_url: str) -> Celery:
    """The app; messages are acknowledged late, so a killed worker's message comes back."""
    app = Celery("cineflux", broker=broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="cineflux-media",
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )

    @app.task(name="cineflux.media.work")  # type: ignore[untyped-decorator]
    def work(job_id: str) -> None:
        from cineflux.media.queue import work_on_job

        work_on_job(_context().for_thread(), job_id, threading.Event().wait)

    return app
