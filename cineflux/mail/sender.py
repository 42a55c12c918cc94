"""Delivering the outbox over SMTP: ``cineflux mail send`` and the thread of ``serve``.

Delivery is at least once: a row is claimed under a lease, sent, then marked sent in its own
transaction. A crash between the SMTP server's acceptance and the mark re-sends the message
with the same Message-ID; a row already marked sent is never sent again.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from cineflux.clock import Clock
from cineflux.config import Settings
from cineflux.db import transaction
from cineflux.mail import service as mail
from cineflux.platform import Platform

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)


class Connection(Protocol):
    """An open connection to a mail server."""

    def send(self, message: EmailMessage) -> None: ...


class Transport(Protocol):
    """Opens connections to a mail server."""

    def connect(self) -> AbstractContextManager[Connection]: ...


@dataclass(frozen=True)
class SmtpTransport:
    """A real SMTP server, reached with ``smtplib`` (STARTTLS and login when configured)."""

    host: str
    port: int
    user: str | None = None
    password: str | None = None
    starttls: bool = True
    timeout: float = 30.0

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """One SMTP session for a batch of messages."""
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as client:
            if self.starttls:
                client.starttls(context=ssl.create_default_context())
            if self.user:
                client.login(self.user, self.password or "")
            yield _SmtpConnection(client)


@dataclass(frozen=True)
class _SmtpConnection:
    client: smtplib.SMTP

    def send(self, message: EmailMessage) -> None:
        self.client.send_message(message)


def transport_from(settings: Settings) -> SmtpTransport | None:
    """The SMTP transport the settings describe; None when no server is configured."""
    if not settings.smtp_host:
        return None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpTransport(
        host=settings.smtp_host,
        port=settings.smtp_port,
        user=settings.smtp_user,
        password=password,
        starttls=settings.smtp_starttls,
    )


def is_permanent(error: Exception) -> bool:
    """Whether retrying cannot help: the server refused the message or its recipient (5xx)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500 and not isinstance(error, smtplib.SMTPAuthenticationError)
    return False


def describe(error: Exception) -> str:
    """A one-line account of a failure, for the outbox row (never credentials)."""
    if isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        return f"{type(error).__name__} {error.smtp_code}: {text}"
    return f"{type(error).__name__}: {error}"


@dataclass(frozen=True)
class DeliveryReport:
    """What one pass over the outbox did."""

    sent: int
    failed: int


def deliver_pending(
    sessions: sessionmaker[Session],
    *,
    clock: Clock,
    transport: Transport,
    sender: str,
    batch: int = 50,
) -> DeliveryReport:
    """Send the messages due now over one connection; failures are retried later."""
    with transaction(sessions) as session:
        claimed = [
            (row.id, mail.build_message(row, sender=sender))
            for row in mail.claim_due(session, clock=clock, limit=batch, lease=LEASE)
        ]
    if not claimed:
        return DeliveryReport(sent=0, failed=0)
    sent = failed = 0
    outcomes: list[tuple[str, Exception | None]] = []
    try:
        with transport.connect() as connection:
            for message_id, message in claimed:
                try:
                    connection.send(message)
                    outcomes.append((message_id, None))
                except (smtplib.SMTPException, OSError) as error:
                    outcomes.append((message_id, error))
    except (smtplib.SMTPException, OSError) as error:
        # The server could not be reached (or dropped us): what was not sent is retried.
        done = {message_id for message_id, _ in outcomes}
        outcomes += [(message_id, error) for message_id, _ in claimed if message_id not in done]
    with transaction(sessions) as session:
        for message_id, outcome in outcomes:
            if outcome is None:
                mail.mark_sent(session, message_id=message_id, clock=clock)
                sent += 1
            else:
                mail.mark_failed(
                    session,
                    message_id=message_id,
                    clock=clock,
                    error=describe(outcome),
                    permanent=is_permanent(outcome),
                )
                failed += 1
    if failed:
        log.warning("mail delivery failed", extra={"failed": failed, "sent": sent})
    return DeliveryReport(sent=sent, failed=failed)


def start_sender_thread(
    sessions: sessionmaker[Session],
    *,
    clock: Clock,
    transport: Transport,
    sender: str,
    every_seconds: float = 5,
) -> tuple[threading.Thread, threading.Event]:
    """Deliver the outbox from inside ``cineflux serve`` until the event is set."""
    stop = threading.Event()

    def loop() -> None:
        while True:
            try:
                deliver_pending(sessions, clock=clock, transport=transport, sender=sender)
            except Exception:  # a bad pass must not end the loop; the next one retries
                log.exception("mail delivery pass failed")
            if stop.wait(every_seconds):
                return

    thread = threading.Thread(target=loop, name="mail-sender", daemon=True)
    thread.start()
    return thread, stop


def start_platform_sender(
    platform: Platform,
) -> tuple[threading.Thread, threading.Event] | None:
    """The sender thread of ``cineflux serve``; None (mail stays queued) without SMTP settings."""
    transport = transport_from(platform.settings)
    if transport is None:
        log.warning("CINEFLUX_SMTP_HOST is unset: mail stays in the outbox")
        return None
    return start_sender_thread(
        platform.sessions,
        clock=platform.clock,
        transport=transport,
        sender=platform.settings.smtp_from,
    )
