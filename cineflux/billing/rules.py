"""Pure billing rules: anchored periods, proration, VAT, invoice numbers, dunning, states.

Nothing here touches a database, a clock or a socket: the service passes instants in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from cineflux.rights.chronology import PARIS, add_months

State = Literal["incomplete", "trialing", "active", "past_due", "canceled", "expired"]
Event = Literal[
    "payment_succeeded",
    "payment_pending",
    "payment_failed",
    "period_ended",
    "dunning_exhausted",
    "resiliated",
    "abandoned",
]

LIVE_STATES: tuple[State, ...] = ("incomplete", "trialing", "active", "past_due")
ENDED_STATES: tuple[State, ...] = ("canceled", "expired")

# The whole state machine. A pair missing from the table is a transition that cannot happen.
# "resiliated" on trialing/active keeps the state: the subscriber keeps what was paid for,
# and "period_ended" ends it then.
TRANSITIONS: dict[tuple[State, Event], State] = {
    ("incomplete", "payment_succeeded"): "active",
    ("incomplete", "payment_pending"): "incomplete",
    ("incomplete", "payment_failed"): "expired",
    ("incomplete", "resiliated"): "expired",
    ("incomplete", "abandoned"): "expired",
    ("trialing", "payment_succeeded"): "active",
    ("trialing", "payment_pending"): "active",
    ("trialing", "payment_failed"): "past_due",
    ("trialing", "resiliated"): "trialing",
    ("trialing", "period_ended"): "expired",
    ("active", "payment_succeeded"): "active",
    ("active", "payment_pending"): "active",
    ("active", "payment_failed"): "past_due",
    ("active", "resiliated"): "active",
    ("active", "period_ended"): "expired",
    ("past_due", "payment_succeeded"): "active",
    ("past_due", "payment_pending"): "past_due",
    ("past_due", "payment_failed"): "past_due",
    ("past_due", "dunning_exhausted"): "canceled",
    ("past_due", "resiliated"): "canceled",
}

VAT_RATE_BASIS_POINTS = 2000  # French standard rate, 20 %, included in every price
RESOLUTIONS = ("SD", "HD", "UHD")


class InvalidTransition(Exception):
    """An event that the subscription's state does not allow."""


def next_state(state: State, event: Event) -> State:
    """The state after ``event``; raise ``InvalidTransition`` when the table has no such move."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise InvalidTransition(f"a {state} subscription cannot take {event}") from None


def anchored_instant(anchor: datetime, months: int) -> datetime:
    """``months`` monthly anniversaries after ``anchor``, on the anchor's day and time in Paris.

    Always counted from the anchor itself, never from the previous anniversary: an anchor on
    31 January gives 28 (or 29) February, then 31 March again. A day the month lacks becomes
    the month's last day.
    """
    local = anchor.astimezone(PARIS)
    day = add_months(local.date(), months)
    return datetime.combine(day, local.time(), tzinfo=PARIS).astimezone(UTC)


def period_bounds(anchor: datetime, number: int) -> tuple[datetime, datetime]:
    """Start and end of paid period ``number`` (0 is the first) anchored on ``anchor``."""
    return anchored_instant(anchor, number), anchored_instant(anchor, number + 1)


def prorate(amount_cents: int, *, remaining: timedelta, length: timedelta) -> int:
    """The share of ``amount_cents`` for ``remaining`` of a ``length`` period, rounded half up."""
    if length <= timedelta(0):
        raise ValueError("a period has a positive length")
    left = max(timedelta(0), min(remaining, length))
    numerator = amount_cents * (left // timedelta(microseconds=1))
    denominator = length // timedelta(microseconds=1)
    return (2 * numerator + denominator) // (2 * denominator)


def upgrade_amount(
    *, old_price: int, new_price: int, now: datetime, period_start: datetime, period_end: datetime
) -> int:
    """What an upgrade costs now: the price difference for the rest of the current period."""
    return prorate(
        max(0, new_price - old_price), remaining=period_end - now, length=period_end - period_start
    )


def split_vat(gross_cents: int, rate_basis_points: int = VAT_RATE_BASIS_POINTS) -> tuple[int, int]:
    """Net and VAT of a price that includes VAT: net = round(gross / 1.2) half up, VAT the rest."""
    denominator = 10_000 + rate_basis_points
    net = (2 * gross_cents * 10_000 + denominator) // (2 * denominator)
    return net, gross_cents - net


def invoice_number(year: int, sequence: int) -> str:
    """The number printed on an invoice: ``CFX-2026-000001``, a counter per calendar year."""
    return f"CFX-{year}-{sequence:06d}"


def format_euros(cents: int) -> str:
    """An amount as read in France: ``13,99 €``."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    thousands = f"{whole:,}".replace(",", "\u202f")
    return f"{sign}{thousands},{rest:02d}\u00a0€"


def parse_retry_days(text: str) -> tuple[int, ...]:
    """A retry schedule such as ``"1,3,7"``: days after the first failure, increasing."""
    days = tuple(int(part) for part in text.split(",") if part.strip())
    if any(day <= 0 for day in days) or list(days) != sorted(set(days)):
        raise ValueError(f"retry days must be positive and increasing: {text!r}")
    return days


def next_retry(
    past_due_since: datetime, *, retries_done: int, retry_days: Sequence[int], dunning_days: int
) -> datetime | None:
    """When to try the card again after ``retries_done`` retries; None once the schedule is over.

    Retries planned at or after the end of dunning are dropped: by then it is cancelled.
    """
    planned = [day for day in retry_days if day < dunning_days]
    if retries_done >= len(planned):
        return None
    return past_due_since + timedelta(days=planned[retries_done])


def dunning_deadline(past_due_since: datetime, dunning_days: int) -> datetime:
    """When a subscription still unpaid since ``past_due_since`` is cancelled."""
    return past_due_since + timedelta(days=dunning_days)
