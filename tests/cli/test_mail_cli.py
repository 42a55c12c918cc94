"""``cineflux mail send``: a real process delivering the outbox to a real SMTP server."""

from __future__ import annotations

import json

from cineflux.accounts import flows
from cineflux.clock import SystemClock
from cineflux.db import make_engine, make_session_factory, transaction
from cineflux.mail.devserver import LocalSmtpServer
from tests.cli.conftest import cineflux
from tests.mail_helpers import token_in


def _sign_up(url: str) -> None:
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:
            flows.sign_up(
                session,
                clock=SystemClock(),
                base_url="https://cineflux.example",
                email="zoe@example.org",
                password="a long test password",
            )
    finally:
        engine.dispose()


def test_mail_send_delivers_the_outbox_once(
    env: dict[str, str], mail_server: LocalSmtpServer
) -> None:
    assert cineflux(env, "db", "upgrade").returncode == 0
    _sign_up(env["CINEFLUX_DATABASE_URL"])
    env.update(
        CINEFLUX_SMTP_HOST=mail_server.host,
        CINEFLUX_SMTP_PORT=str(mail_server.port),
        CINEFLUX_SMTP_STARTTLS="false",
        CINEFLUX_SMTP_FROM="Cineflux <hello@cineflux.example>",
    )
    first = cineflux(env, "mail", "send", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"sent": 1, "failed": 0, "pending": 0}
    [message] = mail_server.messages()
    assert message["From"] == "Cineflux <hello@cineflux.example>"
    assert token_in(message, "/verify-email")
    second = cineflux(env, "mail", "send", "--json")
    assert json.loads(second.stdout)["sent"] == 0
    assert len(mail_server.messages()) == 1


def test_mail_send_without_a_server_says_what_to_set(env: dict[str, str]) -> None:
    result = cineflux(env, "mail", "send")
    assert result.returncode == 1
    assert "CINEFLUX_SMTP_HOST" in result.stderr
