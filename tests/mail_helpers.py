"""Delivering the outbox to the test SMTP server and reading links out of what arrived."""

from __future__ import annotations

import re
from email.message import EmailMessage

from cineflux.mail.devserver import LocalSmtpServer
from cineflux.mail.sender import DeliveryReport, SmtpTransport, deliver_pending
from cineflux.platform import Platform

SENDER = "Cineflux <no-reply@cineflux.example>"


def transport_to(server: LocalSmtpServer) -> SmtpTransport:
    """Plain SMTP to the local server (no TLS on loopback)."""
    return SmtpTransport(host=server.host, port=server.port, starttls=False, timeout=5)


def deliver(platform: Platform, server: LocalSmtpServer) -> DeliveryReport:
    """Run one pass of the real sender against the local server."""
    return deliver_pending(
        platform.sessions, clock=platform.clock, transport=transport_to(server), sender=SENDER
    )


def text_of(message: EmailMessage) -> str:
    """The plain-text body of a received message."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


def token_in(message: EmailMessage, path: str) -> str:
    """The token of the link to ``path`` in a received message."""
    match = re.search(
        rf"https?://[^\s/]+{re.escape(path)}\?token=([A-Za-z0-9_\-]+)", text_of(message)
    )
    assert match, f"no {path} link in: {text_of(message)!r}"
    return match.group(1)
