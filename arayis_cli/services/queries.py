"""Reading applications: the list (streamed, filtered) and one application in full."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from arayis_cli.models import (
    Abonent,
    Application,
    Certificate,
    CertificateVerification,
    Document,
    Event,
    OutboxMessage,
)
from arayis_cli.services.common import get_application
from arayis_cli.validation import BAKU
from arayis_cli.workflow import OPEN_STATUSES, Status


@dataclass(frozen=True)
class ListFilter:
    statuses: tuple[Status, ...] = ()
    abonent_code: str | None = None
    overdue: bool = False
    since: date | None = None
    until: date | None = None
    limit: int | None = None
    offset: int = 0


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=BAKU)


def list_query(flt: ListFilter, *, today: date) -> Any:
    stmt = select(Application)
    if flt.overdue:
        # Overdue: still open after its due day has ended.
        wanted = [s for s in OPEN_STATUSES if not flt.statuses or s in flt.statuses]
        stmt = stmt.where(
            Application.status.in_([s.value for s in wanted]), Application.due_on < today
        )
    elif flt.statuses:
        stmt = stmt.where(Application.status.in_([s.value for s in flt.statuses]))
    if flt.abonent_code:
        stmt = stmt.where(Application.abonent_code == flt.abonent_code)
    if flt.since:
        stmt = stmt.where(Application.submitted_at >= _start_of(flt.since))
    if flt.until:
        stmt = stmt.where(Application.submitted_at < _start_of(flt.until + timedelta(days=1)))
    stmt = stmt.order_by(Application.submitted_at, Application.id)
    if flt.offset:
        stmt = stmt.offset(flt.offset)
    if flt.limit is not None:
        stmt = stmt.limit(flt.limit)
    return stmt


def iter_applications(
    session: Session, flt: ListFilter, *, today: date, batch: int = 500
) -> Iterator[tuple[Application, list[Document]]]:
    """Applications in order with their documents, streamed a batch at a time."""
    result = session.execute(list_query(flt, today=today).execution_options(yield_per=batch))
    for part in result.scalars().partitions(batch):
        docs = documents_of(session, [a.id for a in part if a.id is not None])
        for app in part:
            yield app, docs.get(app.id or 0, [])


def documents_of(session: Session, app_ids: list[int]) -> dict[int, list[Document]]:
    out: dict[int, list[Document]] = {}
    if not app_ids:
        return out
    for doc in session.execute(
        select(Document).where(Document.application_id.in_(app_ids)).order_by(Document.id)
    ).scalars():
        out.setdefault(doc.application_id, []).append(doc)
    return out


@dataclass
class ApplicationDetail:
    app: Application
    abonent: Abonent | None
    documents: list[Document]
    events: list[Event]
    emails: list[OutboxMessage]
    certificates: list[Certificate]
    # (certificate number, verification) pairs, oldest first.
    verifications: list[tuple[str, CertificateVerification]] = field(default_factory=list)


def _rows_of(session: Session, model: Any, app_id: int) -> list[Any]:
    """An application's rows of one table (history, emails, certificates), oldest first."""
    return list(
        session.execute(
            select(model).where(model.application_id == app_id).order_by(model.id)
        ).scalars()
    )


def detail(session: Session, app_id: int) -> ApplicationDetail:
    app = get_application(session, app_id)
    return ApplicationDetail(
        app=app,
        abonent=session.get(Abonent, app.abonent_code),
        documents=documents_of(session, [app_id]).get(app_id, []),
        events=_rows_of(session, Event, app_id),
        emails=_rows_of(session, OutboxMessage, app_id),
        certificates=_rows_of(session, Certificate, app_id),
        verifications=[
            (number, check)
            for number, check in session.execute(
                select(Certificate.number, CertificateVerification)
                .join(Certificate, Certificate.id == CertificateVerification.certificate_id)
                .where(Certificate.application_id == app_id)
                .order_by(CertificateVerification.id)
            ).all()
        ],
    )
