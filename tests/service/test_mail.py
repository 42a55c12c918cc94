"""The outbox delivered over real SMTP: sent once, retried with backoff, never when rolled back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session

from cineflux.clock import FrozenClock
from cineflux.config import Settings
from cineflux.db import transaction
from cineflux.mail import service as mail
from cineflux.mail.devserver import LocalSmtpServer, free_port, start_demo_mail, start_local_smtp
from cineflux.mail.models import OutboxMessage
from cineflux.mail.sender import (
    SmtpTransport,
    deliver_pending,
    start_sender_thread,
    transport_from,
)
from cineflux.platform import Platform
from tests.mail_helpers import SENDER, deliver, text_of, transport_to


def _queue(platform: Platform, to: str = "ana@example.org", subject: str = "Bonjour") -> str:
    with transaction(platform.sessions) as session:
        return mail.queue(
            session, to=to, subject=subject, text="Le corps.\n", html="<p>Le corps.</p>",
            clock=platform.clock,
        )  # fmt: skip


def _row(platform: Platform, message_id: str) -> OutboxMessage:
    with platform.sessions() as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        return row


def test_queued_mail_is_received_by_the_smtp_server_and_marked_sent_once(
    platform: Platform, mail_server: LocalSmtpServer
) -> None:
    message_id = _queue(platform)
    assert deliver(platform, mail_server).sent == 1
    received = mail_server.messages()
    assert len(received) == 1
    assert received[0]["To"] == "ana@example.org"
    assert received[0]["Subject"] == "Bonjour"
    assert received[0]["Message-ID"] == f"<{message_id}@cineflux.example>"
    assert text_of(received[0]) == "Le corps.\n"
    row = _row(platform, message_id)
    assert row.sent_at == platform.clock.now()
    assert (row.text_body, row.html_body) == ("", None)  # links with tokens do not linger
    assert deliver(platform, mail_server).sent == 0
    assert len(mail_server.messages()) == 1


def test_mail_of_a_rolled_back_transaction_is_never_sent(
    platform: Platform, mail_server: LocalSmtpServer
) -> None:
    with pytest.raises(RuntimeError), transaction(platform.sessions) as session:
        mail.queue(session, to="ana@example.org", subject="Jamais", text="x", clock=platform.clock)
        raise RuntimeError("the event failed")
    assert deliver(platform, mail_server).sent == 0
    assert mail_server.messages() == []


def test_unreachable_server_means_retries_with_backoff_then_delivery(
    platform: Platform, clock: FrozenClock, tmp_path: Any
) -> None:
    port = free_port()
    down = SmtpTransport(host="127.0.0.1", port=port, starttls=False, timeout=5)
    message_id = _queue(platform)
    report = deliver_pending(platform.sessions, clock=clock, transport=down, sender=SENDER)
    assert (report.sent, report.failed) == (0, 1)
    row = _row(platform, message_id)
    assert row.attempts == 1 and row.sent_at is None and row.failed_at is None
    assert row.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert row.last_error is not None and "Connection" in row.last_error

    server = start_local_smtp(tmp_path / "late", port=port)
    try:
        clock.advance(timedelta(seconds=29))
        assert deliver(platform, server).sent == 0  # not due yet
        clock.advance(timedelta(seconds=1))
        assert deliver(platform, server).sent == 1
        assert len(server.messages()) == 1
    finally:
        server.stop()
    assert _row(platform, message_id).sent_at == clock.now()


class _RefuseRecipients:
    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return "550 5.1.1 no such mailbox"


def test_a_refused_recipient_is_given_up_at_once(platform: Platform) -> None:
    port = free_port()
    controller = Controller(_RefuseRecipients(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        message_id = _queue(platform, to="nobody@example.org")
        transport = SmtpTransport(host="127.0.0.1", port=port, starttls=False, timeout=5)
        report = deliver_pending(
            platform.sessions, clock=platform.clock, transport=transport, sender=SENDER
        )
    finally:
        controller.stop()
    assert report.failed == 1
    row = _row(platform, message_id)
    assert row.failed_at == platform.clock.now()
    assert row.last_error is not None and "550" in row.last_error
    assert row.text_body == ""
    with platform.sessions() as session:
        assert mail.pending_count(session) == 0


def test_a_claimed_message_is_not_taken_by_a_second_sender(db: Session, clock: FrozenClock) -> None:
    mail.queue(db, to="ana@example.org", subject="Une fois", text="x", clock=clock)
    lease = timedelta(minutes=5)
    assert len(mail.claim_due(db, clock=clock, limit=10, lease=lease)) == 1
    assert mail.claim_due(db, clock=clock, limit=10, lease=lease) == []
    clock.advance(lease)  # the first sender died: its lease runs out
    assert len(mail.claim_due(db, clock=clock, limit=10, lease=lease)) == 1


def test_a_message_is_marked_sent_only_once(db: Session, clock: FrozenClock) -> None:
    message_id = mail.queue(db, to="ana@example.org", subject="Une fois", text="x", clock=clock)
    assert mail.mark_sent(db, message_id=message_id, clock=clock) is True
    clock.advance(timedelta(minutes=1))
    assert mail.mark_sent(db, message_id=message_id, clock=clock) is False
    sent_at = db.scalar(select(OutboxMessage.sent_at).where(OutboxMessage.id == message_id))
    assert sent_at == clock.now() - timedelta(minutes=1)


def test_gives_up_after_the_last_attempt(db: Session, clock: FrozenClock) -> None:
    message_id = mail.queue(db, to="ana@example.org", subject="Essais", text="x", clock=clock)
    for _ in range(mail.MAX_ATTEMPTS - 1):
        mail.mark_failed(db, message_id=message_id, clock=clock, error="421", permanent=False)
    row = db.get(OutboxMessage, message_id)
    assert row is not None and row.failed_at is None
    mail.mark_failed(db, message_id=message_id, clock=clock, error="421", permanent=False)
    assert row.failed_at == clock.now() and row.attempts == mail.MAX_ATTEMPTS


@pytest.mark.parametrize(
    ("to", "subject", "text", "message"),
    [
        ("ana@example.org, eve@example.org", "Hi", "x", "single email address"),
        ("ana@example.org\r\nBcc: eve@example.org", "Hi", "x", "single email address"),
        ("ana@example.org", "Hi\r\nBcc: eve@example.org", "x", "one non-empty line"),
        ("ana@example.org", "Hi", "  ", "text body is empty"),
    ],
)
def test_mail_that_could_inject_headers_is_refused(
    db: Session, clock: FrozenClock, to: str, subject: str, text: str, message: str
) -> None:
    with pytest.raises(mail.InvalidMail, match=message):
        mail.queue(db, to=to, subject=subject, text=text, clock=clock)


def test_the_serve_thread_delivers_what_is_due(
    platform: Platform, mail_server: LocalSmtpServer
) -> None:
    _queue(platform)
    thread, stop = start_sender_thread(
        platform.sessions,
        clock=platform.clock,
        transport=transport_to(mail_server),
        sender=SENDER,
        every_seconds=3600,
    )
    stop.set()  # the pass under way finishes, then the loop ends
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert len(mail_server.messages()) == 1


def test_demo_receives_mail_in_the_data_directory_without_a_relay(
    platform: Platform, settings: Settings
) -> None:
    server = start_demo_mail(settings)
    assert server is not None
    try:
        assert (settings.smtp_host, settings.smtp_port) == (server.host, server.port)
        _queue(platform)
        transport = transport_from(settings)
        assert transport is not None and transport.starttls is False
        deliver_pending(platform.sessions, clock=platform.clock, transport=transport, sender=SENDER)
        [received] = (settings.resolved_data_dir / "mail").glob("*.eml")
        assert b"Subject: Bonjour" in received.read_bytes()
    finally:
        server.stop()


def test_demo_leaves_a_configured_relay_alone(settings: Settings) -> None:
    settings.smtp_host = "smtp.example.org"
    assert start_demo_mail(settings) is None
    assert settings.smtp_host == "smtp.example.org"
