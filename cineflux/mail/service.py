"""Mail: queueing messages in the outbox, and the bookkeeping of their delivery.

Other domains call ``queue`` inside their own transaction: the message exists if and only if
the event that caused it was committed. The sender (``mail.sender``) delivers it later.
Services flush and never commit.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from cineflux.clock import Clock
from cineflux.mail.models import OutboxMessage

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


class MailError(Exception):
    """Base of the mail domain's errors."""


class InvalidMail(MailError):
    """A message that cannot be queued (bad address, header injection, empty body)."""


def queue(
    session: Session, *, to: str, subject: str, text: str, html: str | None = None, clock: Clock
) -> str:
    """Queue one email to ``to`` in the caller's transaction; returns its outbox id.

    The stable entry point for every domain: the text body is required (plain-text readers,
    spam filters), the HTML body optional. Raises ``InvalidMail``.
    """
    to = to.strip()
    if not _ADDRESS.match(to):
        raise InvalidMail(f"not a single email address: {to!r}")
    if any(ch in subject for ch in "\r\n") or not subject.strip():
        raise InvalidMail("the subject must be one non-empty line")
    if not text.strip():
        raise InvalidMail("the text body is empty")
    now = clock.now()
    message = OutboxMessage(
        to_address=to,
        subject=subject.strip()[:300],
        text_body=text,
        html_body=html,
        created_at=now,
        attempts=0,
        next_attempt_at=now,
    )
    session.add(message)
    session.flush()
    return message.id


_ERASED = {"text_body": "", "html_body": None}


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed try: doubling from 30 s, at most 1 h."""
    doublings = min(max(attempts - 1, 0), 16)
    return min(FIRST_RETRY * (1 << doublings), LONGEST_RETRY)


def build_message(row: OutboxMessage, *, sender: str) -> EmailMessage:
    """The RFC 5322 message of an outbox row, sent from ``sender``."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at)
    # The same Message-ID on every try: a receiver can drop the copy a crashed sender re-sends.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "cineflux.invalid"
    message["Message-ID"] = f"<{row.id}@{domain}>"
    message.set_content(row.text_body)
    if row.html_body:
        message.add_alternative(row.html_body, subtype="html")
    return message


def claim_due(
    session: Session, *, clock: Clock, limit: int, lease: timedelta
) -> list[OutboxMessage]:
    """Take up to ``limit`` messages due now for ``lease``; others' claims are respected."""
    now = clock.now()
    due = session.scalars(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.failed_at.is_(None),
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.created_at)
        .limit(limit)
    ).all()
    claimed: list[OutboxMessage] = []
    for message_id in due:
        # Conditional: another sender may have claimed the row since the SELECT.
        result = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.sent_at.is_(None),
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now),
            )
            .values(claimed_until=now + lease)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) == 1:
            row = session.get(OutboxMessage, message_id, populate_existing=True)
            if row is not None:
                claimed.append(row)
    session.flush()
    return claimed


def mark_sent(session: Session, *, message_id: str, clock: Clock) -> bool:
    """Record a delivery; False when the row was already marked sent (it stays as it was).

    The bodies are erased: mailed links carry single-use tokens, which the database keeps
    only hashed once the mail is gone.
    """
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.sent_at.is_(None))
        .values(sent_at=clock.now(), claimed_until=None, last_error=None, **_ERASED)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def mark_failed(
    session: Session, *, message_id: str, clock: Clock, error: str, permanent: bool
) -> None:
    """Record a failed try: retried later with backoff, or given up after too many tries."""
    row = session.get(OutboxMessage, message_id, populate_existing=True)
    if row is None or row.sent_at is not None:
        return
    now = clock.now()
    row.attempts += 1
    row.claimed_until = None
    row.last_error = error[:500]
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.failed_at = now
        row.text_body, row.html_body = "", None  # as after a delivery
    else:
        row.next_attempt_at = now + retry_delay(row.attempts)
    session.flush()


def pending_count(session: Session) -> int:
    """Messages neither sent nor given up."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))
        )
        or 0
    )
