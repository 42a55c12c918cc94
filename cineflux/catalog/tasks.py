"""Background work of the catalogue: the daily Top 10 ranking."""

from __future__ import annotations

import logging
import threading
from datetime import date

from sqlalchemy import select

from cineflux.catalog import service as catalog
from cineflux.catalog.models import TopTitle
from cineflux.db import transaction
from cineflux.platform import Platform
from cineflux.rights.chronology import paris_date

log = logging.getLogger(__name__)


def rank_if_due(platform: Platform) -> date | None:
    """Rank today's Top 10 (Paris day) unless already done; the day ranked, or None."""
    today = paris_date(platform.clock.now())
    with transaction(platform.sessions) as session:
        done = session.scalar(select(TopTitle.day).where(TopTitle.day == today).limit(1))
        if done is not None:
            return None
        written = catalog.rank_top_titles(session, day=today)
    log.info("ranked top titles", extra={"day": today.isoformat(), "rows": written})
    return today


def start_ranking_thread(
    platform: Platform, *, every_seconds: float = 3600
) -> tuple[threading.Thread, threading.Event]:
    """Keep the daily ranking fresh from inside ``cineflux serve`` (cron can run it instead)."""
    stop = threading.Event()

    def loop() -> None:
        while True:
            try:
                rank_if_due(platform)
            except Exception:  # a bad hour must not end the loop; the next one retries
                log.exception("ranking top titles failed")
            if stop.wait(every_seconds):
                return

    thread = threading.Thread(target=loop, name="top-titles", daemon=True)
    thread.start()
    return thread, stop
