"""kill -9 of `outbox send` in the middle of a batch: at most the one message in flight is
left in `sending`, `db check` reports it once its lease has run out, `outbox retry`
releases it, and every other message is delivered exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Cli
from tests.helpers.email import free_port as _free_port
from tests.helpers.faults import count, write_population

pytestmark = pytest.mark.slow
N = 60
HOLD_AT = 20  # the server accepts message 21, then stalls before answering: kill then


class StallingRecorder:
    """Accepts every message; before answering message ``HOLD_AT + 1`` it stalls, as a
    slow server does, so the sender is killed with that message accepted but unanswered."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.stalled = threading.Event()
        self.hold = True

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content, policy=default))  # type: ignore[arg-type]
        if self.hold and len(self.messages) == HOLD_AT + 1:
            self.stalled.set()
            await asyncio.sleep(3)
        return "250 OK"


@pytest.fixture
def stalling_smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[StallingRecorder]:
    from aiosmtpd.controller import Controller

    port = _free_port()
    handler = StallingRecorder()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("ARAYIS_SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setenv("ARAYIS_MAIL_FROM", "arayis@azersu.az")
    yield handler
    controller.stop()


def test_kill_9_of_outbox_send_strands_at_most_one(
    cli: Cli, tmp_path: Path, stalling_smtp: StallingRecorder
) -> None:
    abonents, apps = write_population(tmp_path, N)
    cli("abonent", "import", abonents)
    cli("submit", "--from-file", apps)
    proc = subprocess.Popen(
        [sys.executable, "-m", "arayis_cli", "--db", cli.url, "outbox", "send", "--limit", "300"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert stalling_smtp.stalled.wait(60), "the sender never reached the stalled message"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    stalling_smtp.hold = False
    statuses = dict(Counter(m["status"] for m in cli.json("outbox", "list")))
    assert statuses == {"sent": HOLD_AT, "sending": 1, "pending": N - HOLD_AT - 1}
    [stranded] = [m for m in cli.json("outbox", "list") if m["status"] == "sending"]
    # Within its lease the message may still be in a live sender's hands: left alone.
    assert cli.json("db", "check")["ok"]
    assert cli.json("outbox", "send", "--force")["sent"] == N - HOLD_AT - 1
    assert count(cli.url, "SELECT count(*) FROM outbox_message WHERE status = 'sending'") == 1
    cli.now("2026-11-25T10:11:00+04:00")  # the lease (10 minutes) has run out
    report = cli.json("db", "check", code=6)
    assert [p for p in report["problems"] if "stranded in sending" in p] == report["problems"]
    assert f"outbox retry {stranded['id']}" in report["problems"][0]
    assert cli.json("outbox", "send")["sent"] == 0  # never re-sent without a person deciding
    cli("outbox", "retry", stranded["id"], "--reason", "server log: not delivered")
    assert cli.json("outbox", "send")["sent"] == 1
    assert cli.json("db", "check")["ok"]
    ids = Counter(m["Message-ID"] for m in stalling_smtp.messages)
    # Every message delivered; the only one the server saw twice is the stranded one,
    # under the same Message-ID both times, so the receiving side can tell.
    assert len(ids) == N
    assert [mid for mid, n in ids.items() if n > 1] == [stranded["message_id"]]
    assert sum(ids.values()) == N + 1
