"""A real SMTP server for the notification tests (aiosmtpd), on a free port of its own.

It keeps every message it accepts; told to refuse, it answers DATA with a temporary failure
(451), as a mail server that is overloaded or greylisting does.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Mailbox:
    received: list[EmailMessage] = field(default_factory=list)
    refuse: bool = False
    port: int = 0

    # aiosmtpd calls the hook by this name.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 4.3.0 mailbox busy, try again later"
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.received if m["To"] == address]

    def body(self, message: EmailMessage) -> str:
        part = message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def smtp_settings(port: int) -> dict[str, Any]:
    """Settings that send through the test server (plain SMTP on the loopback)."""
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_tls": "none",
        "smtp_sender": "cityloop <noreply@cityloop.test>",
        "public_base_url": "https://cityloop.test",
    }
