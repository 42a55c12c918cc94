"""A player's QoE report: for a playback session of the caller's own account only."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cineflux.clock import Clock
from cineflux.playback import service as playback
from cineflux.telemetry import service as telemetry
from cineflux.telemetry.models import QoeEvent
from cineflux.telemetry.service import BatchIn, InvalidQoeBatch, QoePolicy


def report_events(
    session: Session,
    *,
    clock: Clock,
    policy: QoePolicy,
    user_id: str,
    user_agent: str | None,
    batch: BatchIn,
) -> list[QoeEvent]:
    """Store a batch of the account's own play, within its rate limit; flushes only.

    Another account's session is as unknown as none (``PlaybackSessionNotFound``), so
    nobody can write into (or learn of) someone else's plays; the title must be the play's.
    A stopped session still reports: players send their last batch as the page goes.
    """
    play = playback.get_session(session, user_id=user_id, session_id=batch.session_id)
    if play.title_id != batch.title_id:
        raise InvalidQoeBatch("this playback session plays another title")
    telemetry.check_rate(
        session, user_id=user_id, events=len(batch.events), now=clock.now(), policy=policy
    )
    return telemetry.record_batch(
        session, clock=clock, user_id=user_id, user_agent=user_agent, batch=batch
    )
