"""``cineflux mail send``: a real process delivering the outbox to a real SMTP server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

from cineflux.accounts import flows
from cineflux.clock import SystemClock
from cineflux.db import make_engine, make_session_factory, transaction
from cineflux.mail.devserver import LocalSmtpServer, free_port
from tests.cli.conftest import cineflux
from tests.e2e.conftest import wait_until_healthy
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


def test_serve_mails_the_verification_link_of_a_sign_up(
    env: dict[str, str], mail_server: LocalSmtpServer
) -> None:
    port = free_port()
    env.update(
        CINEFLUX_SMTP_HOST=mail_server.host,
        CINEFLUX_SMTP_PORT=str(mail_server.port),
        CINEFLUX_SMTP_STARTTLS="false",
        CINEFLUX_PORT=str(port),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "cineflux", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process, timeout=60)
        body = json.dumps({"email": "zoe@example.org", "password": "a long test password"})
        request = urllib.request.Request(  # noqa: S310 (our own http:// URL)
            f"{base}/api/signup",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 201
        # The sender thread passes every 5 seconds: wait for one pass, bounded.
        deadline = time.monotonic() + 30
        while not mail_server.messages() and time.monotonic() < deadline:
            time.sleep(0.2)
        [message] = mail_server.messages()
        assert message["To"] == "zoe@example.org"
        assert token_in(message, "/verify-email")
    finally:
        process.terminate()
        process.wait(timeout=30)
