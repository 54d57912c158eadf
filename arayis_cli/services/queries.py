"""Reading applications: the list (streamed, filtered) and one application in full."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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
    fin: str | None = None
    owner: str | None = None
    external_id: str | None = None
    search: str | None = None


def _owner_codes(term: str) -> Any:
    """Abonent codes whose owner's name contains ``term`` (case-insensitively where the
    database can fold the letters; the exact spelling always)."""
    from sqlalchemy import func, or_

    return select(Abonent.code).where(
        or_(
            Abonent.owner_name.contains(term, autoescape=True),
            func.lower(Abonent.owner_name).contains(term.lower(), autoescape=True),
        )
    )


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
    if flt.fin:
        stmt = stmt.where(Application.fin == flt.fin)
    if flt.external_id:
        stmt = stmt.where(Application.external_id == flt.external_id)
    if flt.owner:
        stmt = stmt.where(Application.abonent_code.in_(_owner_codes(flt.owner)))
    if flt.search:
        from sqlalchemy import or_

        term = flt.search.strip()
        stmt = stmt.where(
            or_(
                Application.abonent_code == term,
                Application.fin == term.upper(),
                Application.external_id == term,
                Application.abonent_code.in_(_owner_codes(term)),
            )
        )
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


def all_certificates(session: Session) -> list[Certificate]:
    """Every certificate in the register, in the order issued (the demo's summary)."""
    return list(session.execute(select(Certificate).order_by(Certificate.id)).scalars())


def count_applications(session: Session, flt: ListFilter, *, today: date) -> int:
    """How many applications the filter matches, without its limit and offset."""
    from dataclasses import replace

    from sqlalchemy import func

    inner = list_query(replace(flt, limit=None, offset=0), today=today).subquery()
    return int(session.execute(select(func.count()).select_from(inner)).scalar_one())


def iter_application_rows(
    session: Session,
    flt: ListFilter,
    *,
    columns: Sequence[str],
    today: date,
    batch: int = 2000,
) -> Iterator[tuple[Sequence[Any], list[list[Any]]]]:
    """The listed applications in order, a batch of plain rows (these ``columns``, in
    order; ``id`` among them) at a time, with each row's documents (rows with
    ``Document``'s attribute names), in the same order.

    No ORM objects, and dates come as the driver returns them (SQLite's stored UTC text,
    PostgreSQL's datetime/date; ``formats.iso_baku``/``iso_day`` take either): parsing each
    into a datetime and converting it back cost more than the rest of a row. Streamed
    (``yield_per``: a server-side cursor on PostgreSQL), so memory stays flat.
    """
    from sqlalchemy import Date, String, type_coerce

    from arayis_cli.models import AwareDateTime

    table = Application.__table__.c  # type: ignore[attr-defined]
    selected = [
        type_coerce(table[name], String).label(name)
        if isinstance(table[name].type, Date | AwareDateTime)
        else table[name]
        for name in columns
    ]
    id_at = list(columns).index("id")
    stmt = list_query(flt, today=today).with_only_columns(*selected, maintain_column_froms=True)
    # Core execution on the session's connection: the ORM's result wrapping would cost
    # as much again per row, for rows that are not entities anyway.
    conn = session.connection()
    for part in conn.execute(stmt.execution_options(yield_per=batch)).partitions(batch):
        ids = [row[id_at] for row in part]
        docs = document_rows(session, ids)
        yield part, [docs.get(app_id, []) for app_id in ids]


def document_rows(session: Session, app_ids: list[int]) -> dict[int, list[Any]]:
    """The documents' metadata (no bytes) of these applications, oldest first (those
    attached now: a detached one is only in the history)."""
    out: dict[int, list[Any]] = {}
    if app_ids:
        for row in session.connection().execute(_DOCUMENT_ROWS, {"ids": app_ids}):
            out.setdefault(row.application_id, []).append(row)
    return out


def _document_rows_query() -> Any:
    from sqlalchemy import bindparam

    doc = Document.__table__.c  # type: ignore[attr-defined]
    return (
        select(
            doc.application_id, doc.id, doc.kind, doc.filename, doc.media_type, doc.size, doc.sha256
        )
        .where(doc.application_id.in_(bindparam("ids", expanding=True)), doc.detached_at.is_(None))
        .order_by(doc.id)
    )


#: One statement, compiled once (the ids are one expanding parameter).
_DOCUMENT_ROWS = _document_rows_query()


def documents_of(session: Session, app_ids: list[int]) -> dict[int, list[Document]]:
    out: dict[int, list[Document]] = {}
    if not app_ids:
        return out
    for doc in session.execute(
        select(Document)
        .where(Document.application_id.in_(app_ids), Document.detached_at.is_(None))  # type: ignore[union-attr]
        .order_by(Document.id)
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
