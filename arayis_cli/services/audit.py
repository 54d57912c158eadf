"""The append-only audit log: who saw unmasked personal data, and policy changes.

Personal data leaves the program in one place, :mod:`arayis_cli.present`; each time it is
shown unmasked it calls :func:`note_pii` with the application or abonent concerned. The
command guard (:mod:`arayis_cli.cli.access`) opens a :func:`collecting` scope around every
command; the reads noted are written as ``pii_read`` rows

- on PostgreSQL, in the same transaction that read the data (just before it commits), so
  data read in a transaction whose audit row cannot be written is never shown;
- otherwise (and for anything not yet written) when the command ends, in a transaction
  of their own — on SQLite so that a read transaction never turns into a writer.

This module stays light at import: :mod:`arayis_cli.present` imports it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

Subject = tuple[int | None, str | None]  # (application id, abonent code)


@dataclass
class Reads:
    """Unmasked reads of one command, not yet written."""

    command: str
    operator: Callable[[], str]  # asked only when a row is written
    clock: Callable[[], datetime]
    pending: dict[Subject, None] = field(default_factory=dict)
    written: set[Subject] = field(default_factory=set)


_reads: ContextVar[Reads | None] = ContextVar("arayis_pii_reads", default=None)
_listening = False


def note_pii(*, application_id: int | None = None, abonent_code: str | None = None) -> None:
    """Personal data of this application or abonent is being shown unmasked."""
    reads = _reads.get()
    if reads is None:
        return
    key = (application_id, abonent_code)
    if key not in reads.written:
        reads.pending[key] = None


@contextmanager
def collecting(
    command: str,
    *,
    operator: Callable[[], str],
    clock: Callable[[], datetime],
    sessions: Callable[[], AbstractContextManager[Any]],
    postgres: bool,
) -> Iterator[Reads]:
    """Audit every unmasked read made while the block runs (one command). On PostgreSQL
    the reads are written in the reading transaction; elsewhere in one more transaction
    from ``sessions`` (the run's session factory) at the end."""
    if postgres:
        _listen()  # SQLite writes at the end only: no SQLAlchemy import for plain commands
    reads = Reads(command=command, operator=operator, clock=clock)
    token = _reads.set(reads)
    try:
        yield reads
    finally:
        _reads.reset(token)
        if reads.pending:
            with sessions() as session:
                _write(session, reads)


def _listen() -> None:
    """Write pending reads inside the reading transaction on PostgreSQL (once per process)."""
    global _listening
    if _listening:
        return
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    event.listen(Session, "before_commit", _before_commit)
    _listening = True


def _before_commit(session: Any) -> None:
    reads = _reads.get()
    if reads is None or not reads.pending:
        return
    if session.get_bind().dialect.name != "postgresql":
        return
    _write(session, reads)


def _write(session: Any, reads: Reads) -> None:
    from sqlalchemy import column, insert, table

    from arayis_cli.models import AuditEntry

    now, who = reads.clock(), reads.operator()
    rows = [
        audit_row(
            kind="pii_read",
            command=reads.command,
            at=now,
            operator=who,
            application_id=app_id,
            abonent_code=code,
        )
        for app_id, code in reads.pending
    ]
    # A bare table clause (no primary key known) so that no RETURNING is asked for: a login
    # that may only INSERT into the audit log (billing) can still write it.
    target = table(
        "audit_log",
        *(column(c.name, c.type) for c in AuditEntry.__table__.columns if c.name != "id"),
    )
    session.connection().execute(insert(target), rows)
    reads.written.update(reads.pending)
    reads.pending.clear()


def audit_row(
    *,
    kind: str,
    command: str,
    at: datetime,
    operator: str,
    application_id: int | None = None,
    abonent_code: str | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One audit row's values: for :func:`record` and the batched PII-read rows alike."""
    return {
        "at": at,
        "actor": operator,  # PostgreSQL writes the login here (migration 0009)
        "operator_name": operator,
        "kind": kind,
        "command": command,
        "application_id": application_id,
        "abonent_code": abonent_code,
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None,
    }


def record(session: Any, **values: Any) -> None:
    """One audit row in the caller's transaction (policy changes); ``values`` are
    :func:`audit_row`'s."""
    from arayis_cli.models import AuditEntry

    session.add(AuditEntry(**audit_row(**values)))


def current_actor(session: Any, operator: str) -> str:
    """Who is accountable: the login on PostgreSQL (read from the server), else the operator."""
    if session.get_bind().dialect.name != "postgresql":
        return operator
    from sqlalchemy import text

    return str(session.execute(text("SELECT session_user")).scalar_one())


def entries(
    session: Any,
    *,
    actor: str | None = None,
    application_id: int | None = None,
    since: date | None = None,
    limit: int | None = None,
) -> list[Any]:
    """Audit rows, oldest first, filtered."""
    from datetime import time

    from sqlalchemy import BigInteger, bindparam, select

    from arayis_cli.models import AuditEntry
    from arayis_cli.validation import BAKU

    stmt = select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)
    if actor is not None:
        stmt = stmt.where(AuditEntry.actor == actor)
    if application_id is not None:  # bound as BIGINT: any valid id compares, none overflows
        stmt = stmt.where(
            AuditEntry.application_id == bindparam("app_id", application_id, type_=BigInteger)
        )
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= datetime.combine(since, time(0), tzinfo=BAKU))
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.execute(stmt).scalars())
