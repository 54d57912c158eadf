"""Delivering the outbox: claim, send over SMTP, record — each message at most once.

Messages are claimed one at a time (``pending`` → ``sending``), each in its own committed
transaction right before its bytes go to the SMTP server, so two senders never take the
same message and a sender that dies leaves at most the one message it was sending in
``sending``. The result is recorded right after the server answers: ``sent``; ``pending``
again with a backoff after a temporary failure; ``failed`` after a permanent one.

A claim is a lease of :data:`LEASE`: far longer than a live sender holds a message (SMTP
timeouts are 30 s per step). A message still in ``sending`` after its lease was stranded
by a sender that died: whether the server accepted it is unknown, and a duplicate is
worse than a question, so it is never sent again automatically. ``outbox send --force``
re-sends stranded messages on purpose, ``outbox retry MSG_ID`` releases one; both keep
its Message-ID, so a receiving system can recognise a duplicate. ``db check`` reports them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlmodel import Session

from arayis_cli.i18n import _, gettext
from arayis_cli.models import OutboxMessage

MAX_ATTEMPTS = 12
#: How long a claim holds a message; after that a message in ``sending`` is stranded.
LEASE = timedelta(minutes=10)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each temporary failure, at most six hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def due_query(*, now: datetime, force: bool) -> Any:
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if force:
        return stmt.where(
            or_(
                OutboxMessage.status == "pending",
                (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < now - LEASE),
            )
        )
    return stmt.where(
        OutboxMessage.status == "pending",
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
    )


def claim_one(
    session: Session,
    *,
    now: datetime,
    worker: str,
    force: bool,
    message_id: Callable[[], str],
    exclude: Collection[int] = (),
) -> OutboxMessage | None:
    """Claim the oldest due message for this worker, or None (the caller commits at once).

    The conditional update (status and claimant unchanged) makes the claim safe on
    SQLite too, where there is no ``SKIP LOCKED``; a lost race just tries the next one.
    ``exclude``: messages this run already tried (``--force`` would take them again).
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    skip: list[int] = list(exclude)
    while True:
        stmt = due_query(now=now, force=force).limit(1)
        if skip:
            stmt = stmt.where(OutboxMessage.id.not_in(skip))
        if postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        msg = session.execute(stmt).scalars().first()
        if msg is None:
            return None
        cond = [OutboxMessage.id == msg.id, OutboxMessage.status == msg.status]
        if msg.status == "sending":  # taking over a stranded claim: only one sender may
            cond.append(OutboxMessage.claimed_by == msg.claimed_by)
        result = session.execute(
            update(OutboxMessage)
            .where(*cond)
            .values(
                status="sending",
                claimed_at=now,
                claimed_by=worker,
                # Kept when re-sent: the receiving side can tell a duplicate by it.
                message_id=msg.message_id or message_id(),
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            session.refresh(msg)
            return msg
        skip.append(msg.id or 0)


def stranded(session: Session, *, now: datetime) -> list[OutboxMessage]:
    """Messages in ``sending`` whose lease has run out: their sender died mid-way."""
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - LEASE)
        .order_by(OutboxMessage.id)
    )
    return list(session.execute(stmt).scalars())


def record(
    session: Session,
    msg_id: int,
    *,
    worker: str,
    now: datetime,
    outcome: str,
    error: str | None = None,
) -> str:
    """Record what the server said about one claimed message; returns its new status."""
    msg = session.get(OutboxMessage, msg_id)
    if msg is None or msg.status != "sending" or msg.claimed_by != worker:
        # Our lease was taken over (``--force`` / ``outbox retry`` after it ran out):
        # whoever holds the message now records its fate.
        return msg.status if msg is not None else "unknown"
    attempts = msg.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "claimed_at": None, "claimed_by": None}
    if outcome == "sent":
        values.update(status="sent", sent_at=now, last_error=None, next_attempt_at=None)
    elif outcome == "permanent" or attempts >= MAX_ATTEMPTS:
        values.update(status="failed", last_error=error, next_attempt_at=None)
    else:
        values.update(
            status="pending",
            last_error=error,
            next_attempt_at=now + backoff(attempts),
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
    #: The SMTP server could not be reached: "host:port" and why (operator's language).
    unreachable: tuple[str, str] | None = None

    def add(
        self,
        msg: OutboxMessage,
        status: str,
        detail: str | None,
        *,
        code: str | None = None,
        why: str = "",
    ) -> None:
        """One message's outcome: ``code`` is the stable word of its error (None when
        sent), ``detail`` the server's reply as it came (for support staff)."""
        from arayis_cli.services.mailer import SEND_ERRORS, reply_code

        if status == "sent":
            self.sent += 1
        elif status == "failed":
            self.failed += 1
        else:
            self.retry += 1
        message = None
        if code is not None:
            message = gettext(SEND_ERRORS[code]).format(
                reply=reply_code(detail or ""), why=why, id=msg.id
            )
        self.messages.append(
            {
                "id": msg.id,
                "application_id": msg.application_id,
                "kind": msg.kind,
                "status": status,
                "error": code,
                "message": message,
                "detail": detail,
            }
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "retry": self.retry,
            "failed": self.failed,
            "messages": self.messages,
            "smtp_unreachable": self.unreachable is not None,
        }


def deliver(
    open_session: Callable[[], Any],
    *,
    clock: Callable[[], datetime],
    worker: str,
    limit: int,
    smtp_url: str | None,
    mail_from: str | None,
    force: bool = False,
) -> SendReport:
    """Claim due messages and send them over SMTP (``smtp_url``, ``mail_from``: the
    settings' values), recording each result as it comes."""
    from arayis_cli.services.mailer import (
        ConnectionFailure,
        PermanentFailure,
        SmtpSender,
        SmtpSettings,
        TemporaryFailure,
        build_message,
        new_message_id,
    )

    settings = SmtpSettings.parse(smtp_url, mail_from)
    report = SendReport()

    def finish(msg: OutboxMessage, outcome: str, failure: Exception | None = None) -> None:
        error = str(failure) if failure is not None else None
        with open_session() as session:
            status = record(
                session, msg.id or 0, worker=worker, now=clock(), outcome=outcome, error=error
            )
        report.add(
            msg,
            status,
            error,
            code=getattr(failure, "code", None) if failure is not None else None,
            why=getattr(failure, "why", ""),
        )

    retried: list[int] = []  # back to pending in this run: not again in this run
    smtp: SmtpSender | None = None
    with ExitStack() as stack:
        for _sent in range(limit):
            # One message per claim: a sender killed now strands at most this one.
            with open_session() as session:
                msg = claim_one(
                    session,
                    now=clock(),
                    worker=worker,
                    force=force,
                    message_id=lambda: new_message_id(settings.sender),
                    exclude=retried,
                )
            if msg is None:
                break
            email = build_message(
                sender=settings.sender,
                to=msg.to_addr,
                subject=msg.subject,
                body=msg.body,
                message_id=msg.message_id or new_message_id(settings.sender),
                date=clock(),
            )
            try:
                if smtp is None:
                    smtp = stack.enter_context(SmtpSender(settings))
                smtp.send(email)
            except PermanentFailure as exc:
                finish(msg, "permanent", exc)
            except ConnectionFailure as exc:
                # The server cannot be reached: this message waits for a retry, and the
                # rest of the batch is left untouched (still pending, not attempted).
                finish(msg, "temporary", exc)
                report.unreachable = (f"{settings.host}:{settings.port}", exc.why)
                break
            except TemporaryFailure as exc:
                finish(msg, "temporary", exc)
                retried.append(msg.id or 0)
            else:
                finish(msg, "sent")
    return report


def retry(
    session: Session,
    msg_id: int,
    *,
    to: str | None,
    reason: str | None,
    now: datetime,
    actor: str,
) -> OutboxMessage:
    """Put a ``failed`` or stranded ``sending`` email back to ``pending`` (outbox retry).

    ``to`` (already validated) corrects the address: the message, the application's
    contact email and its other undelivered messages to the old address all take it.
    Recorded in the application's history with who and why; the Message-ID is kept, so
    a stranded message that the server did accept can be recognised as a duplicate.
    """
    from arayis_cli.errors import Conflict, NotFound
    from arayis_cli.formats import iso_baku
    from arayis_cli.services.common import get_application, record_event

    msg = session.execute(
        select(OutboxMessage).where(OutboxMessage.id == msg_id).with_for_update()
    ).scalar_one_or_none()
    if msg is None:
        raise NotFound(_("email {msg_id} not found").format(msg_id=msg_id))
    if msg.status == "sending":
        claimed_at = msg.claimed_at
        if claimed_at is not None and claimed_at > now - LEASE:
            raise Conflict(
                _(
                    "email {msg_id} is being sent right now (claimed at {iso_baku}); if its "
                    "sender died, retry after {iso_baku2}"
                ).format(
                    msg_id=msg_id,
                    iso_baku=iso_baku(claimed_at),
                    iso_baku2=iso_baku(claimed_at + LEASE),
                )
            )
    elif msg.status != "failed":
        raise Conflict(
            _(
                "email {msg_id} is {msg_status}: only a failed email or one stranded in sending "
                "can be retried"
            ).format(msg_id=msg_id, msg_status=msg.status)
        )
    before = msg.status
    changed = to is not None and to != msg.to_addr
    if changed and to is not None:
        app = get_application(session, msg.application_id, for_update=True)
        old = msg.to_addr
        app.email = to
        for other in session.execute(
            select(OutboxMessage).where(
                OutboxMessage.application_id == msg.application_id,
                OutboxMessage.id != msg.id,
                OutboxMessage.status.in_(["pending", "failed"]),
                OutboxMessage.to_addr == old,
            )
        ).scalars():
            other.to_addr = to
        msg.to_addr = to
    msg.status = "pending"
    msg.next_attempt_at = None
    msg.claimed_at = None
    msg.claimed_by = None
    detail: dict[str, Any] = {"email": msg.id, "kind": msg.kind, "from": before}
    if changed:
        detail["address_changed"] = True  # the addresses themselves are personal data
    if reason:
        detail["reason"] = reason
    record_event(
        session,
        application_id=msg.application_id,
        at=now,
        actor=actor,
        action="email_retry",
        detail=detail,
    )
    session.flush()
    return msg


def preview(session: Session, *, now: datetime, limit: int, force: bool) -> list[OutboxMessage]:
    """What ``outbox send`` would take now (nothing is claimed)."""
    return list(session.execute(due_query(now=now, force=force).limit(limit)).scalars())


def messages(
    session: Session,
    *,
    pending: bool = False,
    failed: bool = False,
    application_id: int | None = None,
    limit: int | None = None,
) -> list[OutboxMessage]:
    """outbox list: the queue oldest first; ``pending`` includes messages being sent."""
    from sqlalchemy import false

    from arayis_cli.services.common import STORED_ID_MAX

    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    wanted = [s for s, on in (("pending", pending), ("sending", pending), ("failed", failed)) if on]
    if wanted:
        stmt = stmt.where(OutboxMessage.status.in_(wanted))
    if application_id is not None:
        # A larger id is valid input that names nothing (PostgreSQL cannot compare it).
        stmt = stmt.where(
            OutboxMessage.application_id == application_id
            if application_id <= STORED_ID_MAX
            else false()
        )
    if limit is not None:
        stmt = stmt.limit(max(0, limit))
    return list(session.execute(stmt).scalars())


def counts_by_kind(session: Session) -> dict[str, int]:
    """How many emails of each kind the outbox holds."""
    from sqlalchemy import func

    return dict(
        session.execute(select(OutboxMessage.kind, func.count()).group_by(OutboxMessage.kind)).all()
    )
