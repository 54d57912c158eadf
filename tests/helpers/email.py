"""A real SMTP server for tests (aiosmtpd on 127.0.0.1) and a free port to run it on."""

from __future__ import annotations

import socket
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any


class Recorder:
    """aiosmtpd handler: records messages; ``plan`` holds replies for the next DATA commands."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.plan: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.plan:
            reply = self.plan.pop(0)
            if not reply.startswith("250"):
                return reply
        self.messages.append(message_from_bytes(envelope.original_content, policy=default))  # type: ignore[arg-type]
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, port: int) -> None:
        self.port = port
        self.handler = Recorder()
        self.controller: Any = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages
