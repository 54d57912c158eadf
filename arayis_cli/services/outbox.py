"""Delivering the outbox: claim, send over SMTP, record — each message at most once.

A message is claimed (``pending`` → ``sending``) in its own committed transaction before
any byte goes to the SMTP server, so two senders never take the same message. The result
is recorded right after the server answers: ``sent``; ``pending`` again with a backoff
after a temporary failure; ``failed`` after a permanent one. A message left in
``sending`` (the sender died mid-way) is not sent again automatically: whether the server
accepted it is unknown, and a duplicate is worse than a question. ``outbox send
--force`` re-sends such messages on purpose, with the same Message-ID.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlmodel import Session

from arayis_cli.models import OutboxMessage

MAX_ATTEMPTS = 12
STALE_SENDING = timedelta(minutes=15)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each temporary failure, at most six hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def due_query(*, now: datetime, force: bool) -> Any:
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if force:
        return stmt.where(
            or_(
                OutboxMessage.status == "pending",
                (OutboxMessage.status == "sending")
                & (OutboxMessage.claimed_at < now - STALE_SENDING),
            )
        )
    return stmt.where(
        OutboxMessage.status == "pending",
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
    )


def claim(
    session: Session,
    *,
    now: datetime,
    worker: str,
    limit: int,
    force: bool,
    message_id: Callable[[], str],
) -> list[OutboxMessage]:
    """Claim up to ``limit`` due messages for this worker (the caller commits)."""
    stmt = due_query(now=now, force=force).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    claimed = []
    for msg in session.execute(stmt).scalars():
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == msg.id, OutboxMessage.status == msg.status)
            .values(
                status="sending",
                claimed_at=now,
                claimed_by=worker,
                message_id=msg.message_id or message_id(),
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            session.refresh(msg)
            claimed.append(msg)
    return claimed


def record(
    session: Session,
    msg_id: int,
    *,
    worker: str,
    now: datetime,
    outcome: str,
    error: str | None = None,
    count_attempt: bool = True,
) -> str:
    """Record what the server said about one claimed message; returns its new status."""
    msg = session.get(OutboxMessage, msg_id)
    assert msg is not None and msg.status == "sending" and msg.claimed_by == worker
    attempts = msg.attempts + (1 if count_attempt else 0)
    values: dict[str, Any] = {"attempts": attempts, "claimed_at": None, "claimed_by": None}
    if outcome == "sent":
        values.update(status="sent", sent_at=now, last_error=None, next_attempt_at=None)
    elif outcome == "permanent" or attempts >= MAX_ATTEMPTS:
        values.update(status="failed", last_error=error, next_attempt_at=None)
    else:
        values.update(
            status="pending",
            last_error=error,
            next_attempt_at=now + backoff(attempts) if count_attempt else msg.next_attempt_at,
        )
    for key, value in values.items():
        setattr(msg, key, value)
    session.flush()
    return msg.status


@dataclass
class SendReport:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)

    def add(self, msg: OutboxMessage, status: str, error: str | None) -> None:
        if status == "sent":
            self.sent += 1
        elif status == "failed":
            self.failed += 1
        else:
            self.retry += 1
        self.messages.append(
            {
                "id": msg.id,
                "application_id": msg.application_id,
                "kind": msg.kind,
                "status": status,
                "error": error,
            }
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "retry": self.retry,
            "failed": self.failed,
            "messages": self.messages,
        }


def deliver(
    open_session: Callable[[], Any],
    *,
    clock: Callable[[], datetime],
    worker: str,
    limit: int,
    force: bool = False,
) -> SendReport:
    """Claim due messages and send them over SMTP, recording each result as it comes."""
    from arayis_cli.services.mailer import (
        ConnectionFailure,
        PermanentFailure,
        SmtpSender,
        SmtpSettings,
        TemporaryFailure,
        build_message,
        new_message_id,
    )

    settings = SmtpSettings.from_env()
    report = SendReport()
    with open_session() as session:
        claimed = claim(
            session,
            now=clock(),
            worker=worker,
            limit=limit,
            force=force,
            message_id=lambda: new_message_id(settings.sender),
        )
    if not claimed:
        return report

    def finish(msg: OutboxMessage, outcome: str, error: str | None, counted: bool = True) -> None:
        with open_session() as session:
            status = record(
                session,
                msg.id or 0,
                worker=worker,
                now=clock(),
                outcome=outcome,
                error=error,
                count_attempt=counted,
            )
        report.add(msg, status, error)

    pending = list(claimed)
    try:
        with SmtpSender(settings) as smtp:
            while pending:
                msg = pending.pop(0)
                email = build_message(
                    sender=settings.sender,
                    to=msg.to_addr,
                    subject=msg.subject,
                    body=msg.body,
                    message_id=msg.message_id or new_message_id(settings.sender),
                    date=clock(),
                )
                try:
                    smtp.send(email)
                except PermanentFailure as exc:
                    finish(msg, "permanent", str(exc))
                except ConnectionFailure:
                    pending.insert(0, msg)
                    raise
                except TemporaryFailure as exc:
                    finish(msg, "temporary", str(exc))
                else:
                    finish(msg, "sent", None)
    except ConnectionFailure as exc:
        # The server cannot be reached: every message still in hand waits for a retry.
        for msg in pending:
            finish(msg, "temporary", str(exc))
    return report


def preview(session: Session, *, now: datetime, limit: int, force: bool) -> list[OutboxMessage]:
    """What ``outbox send`` would take now (nothing is claimed)."""
    return list(session.execute(due_query(now=now, force=force).limit(limit)).scalars())
