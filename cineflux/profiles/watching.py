"""Pure rules of watching: when a title counts as watched, when it is worth resuming, and
when the player offers the next episode. No database, no clock: tested as plain functions.
"""

from __future__ import annotations

# Watched past 95 % of the running time, or once the credits start when the title has them.
WATCHED_FRACTION = 0.95
# A few seconds of a title are a glance, not a start: resuming needs a minute, or 2 % of a
# short title.
STARTED_SECONDS = 60.0
STARTED_FRACTION = 0.02
# Without credits, the next episode is offered over the last 20 seconds.
NEXT_EPISODE_LEAD_SECONDS = 20.0


def is_watched(
    position_seconds: float, duration_seconds: float | None, credits_start_seconds: float | None
) -> bool:
    """Whether a position completes the title: past its credits start, or past 95 %."""
    if credits_start_seconds is not None and position_seconds >= credits_start_seconds:
        return True
    return bool(duration_seconds) and position_seconds >= WATCHED_FRACTION * (
        duration_seconds or 0.0
    )


def is_started(position_seconds: float, duration_seconds: float | None) -> bool:
    """Whether a position is far enough in to offer resuming (a minute, or 2 % if shorter)."""
    threshold = STARTED_SECONDS
    if duration_seconds:
        threshold = min(threshold, STARTED_FRACTION * duration_seconds)
    return position_seconds >= threshold


def next_episode_offer_at(
    duration_seconds: float | None, credits_start_seconds: float | None
) -> float | None:
    """The position from which the player offers the next episode: the credits, else the
    last 20 seconds; None when neither is known."""
    if credits_start_seconds is not None:
        return credits_start_seconds
    if duration_seconds is None:
        return None
    return max(0.0, duration_seconds - NEXT_EPISODE_LEAD_SECONDS)
