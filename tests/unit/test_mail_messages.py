"""Pure parts of mail: message building, retry backoff, which SMTP errors are final."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime, timedelta

import pytest

from cineflux.mail.models import OutboxMessage
from cineflux.mail.sender import is_permanent
from cineflux.mail.service import build_message, retry_delay

SENDER = "Cineflux <no-reply@cineflux.example>"


def _row(html: str | None = None) -> OutboxMessage:
    return OutboxMessage(
        id="5f0c",
        to_address="ana@example.org",
        subject="Bonjour Ana",
        text_body="Un lien : https://x/y\n",
        html_body=html,
        created_at=datetime(2026, 1, 15, 12, 0, tzinfo=UTC),
    )


def test_message_has_headers_and_a_stable_message_id() -> None:
    message = build_message(_row(), sender=SENDER)
    assert message["From"] == SENDER
    assert message["To"] == "ana@example.org"
    assert message["Subject"] == "Bonjour Ana"
    assert message["Message-ID"] == "<5f0c@cineflux.example>"
    assert build_message(_row(), sender=SENDER)["Message-ID"] == message["Message-ID"]
    assert message.get_content_type() == "text/plain"
    assert "Un lien" in message.get_content()


def test_html_body_makes_a_multipart_alternative() -> None:
    message = build_message(_row(html="<p>Un lien</p>"), sender=SENDER)
    assert message.get_content_type() == "multipart/alternative"
    html = message.get_body(preferencelist=("html",))
    assert html is not None and "<p>Un lien</p>" in html.get_content()


def test_retries_back_off_from_30_seconds_to_an_hour() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(8) == timedelta(hours=1)
    assert retry_delay(1000) == timedelta(hours=1)


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (smtplib.SMTPRecipientsRefused({"a@b.org": (550, b"no such user")}), True),
        (smtplib.SMTPRecipientsRefused({"a@b.org": (451, b"try later")}), False),
        (smtplib.SMTPDataError(554, b"rejected"), True),
        (smtplib.SMTPDataError(421, b"busy"), False),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), False),
        (smtplib.SMTPServerDisconnected("gone"), False),
        (ConnectionRefusedError(), False),
    ],
)
def test_only_5xx_refusals_are_final(error: Exception, permanent: bool) -> None:
    assert is_permanent(error) is permanent
