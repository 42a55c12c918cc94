"""A local SMTP server for development, the demo and tests: received mail becomes .eml files.

It is a real SMTP server (aiosmtpd) on loopback, so the platform's sender talks SMTP to it
exactly as it would to a production relay.
"""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from cineflux.config import Settings


class _WriteToDirectory:
    """aiosmtpd handler: each accepted message is written to ``directory`` as one file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.original_content or envelope.content
        name = f"{len(list(self.directory.glob('*.eml'))):05d}-{uuid.uuid4().hex[:8]}.eml"
        draft = self.directory / f".{name}"
        draft.write_bytes(content)
        draft.rename(self.directory / name)  # readers never see half a message
        return "250 Message accepted for delivery"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class LocalSmtpServer:
    """A running local SMTP server and the directory its mail lands in."""

    host: str
    port: int
    directory: Path
    controller: Controller

    def messages(self) -> list[EmailMessage]:
        """Every message received so far, oldest first."""
        parser = BytesParser(policy=policy.default)
        found = []
        for path in sorted(self.directory.glob("*.eml")):
            with path.open("rb") as handle:
                message = parser.parse(handle)
                assert isinstance(message, EmailMessage)
                found.append(message)
        return found

    def stop(self) -> None:
        """Stop listening."""
        self.controller.stop()


def start_local_smtp(directory: Path, *, host: str = "127.0.0.1", port: int = 0) -> LocalSmtpServer:
    """Start an SMTP server on loopback that writes what it receives into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port(host)
    controller = Controller(_WriteToDirectory(directory), hostname=host, port=port)
    controller.start()
    return LocalSmtpServer(host=host, port=port, directory=directory, controller=controller)


def start_demo_mail(settings: Settings) -> LocalSmtpServer | None:
    """With no SMTP relay configured, receive the platform's mail locally (``DATA_DIR/mail``).

    The settings are pointed at the local server, so the sender delivers there over SMTP.
    """
    if settings.smtp_host:
        return None
    server = start_local_smtp(settings.resolved_data_dir / "mail")
    settings.smtp_host = server.host
    settings.smtp_port = server.port
    settings.smtp_starttls = False
    settings.smtp_user = None
    return server
