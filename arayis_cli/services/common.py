"""Helpers shared by the services: loading rows, history events, balances."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import Session

from arayis_cli.errors import NotFound
from arayis_cli.i18n import _
from arayis_cli.models import Abonent, Application, Event, LedgerEntry
from arayis_cli.money import from_qepik
from arayis_cli.validation import BAKU
from arayis_cli.workflow import ACTION_VERBS as ACTION_VERBS
from arayis_cli.workflow import action_verb as action_verb  # kept here for older callers

#: Ids are 32-bit INTEGER columns (migration 0001): an id above this is valid input
#: (ids are 1 … 2⁶³−1, docs/input.md) that names nothing, and PostgreSQL would refuse to compare it.
STORED_ID_MAX = 2**31 - 1


def get_application(session: Session, app_id: int, *, for_update: bool = False) -> Application:
    if not 1 <= app_id <= STORED_ID_MAX:
        raise NotFound(_("application {app_id} not found").format(app_id=app_id))
    stmt = select(Application).where(Application.id == app_id)
    if for_update:
        stmt = stmt.with_for_update()
    app = session.execute(stmt).scalar_one_or_none()
    if app is None:
        raise NotFound(_("application {app_id} not found").format(app_id=app_id))
    return app


def get_abonent(session: Session, code: str) -> Abonent:
    abonent = session.get(Abonent, code)
    if abonent is None:
        raise NotFound(_("abonent {code} not found").format(code=code))
    return abonent


def lock_abonent(session: Session, code: str, *, shared: bool = False) -> Abonent:
    """The abonent, its row locked to the end of the transaction (PostgreSQL; SQLite's
    ``BEGIN IMMEDIATE`` already serialises every writer).

    A ledger is serialised per abonent with it: print takes it exclusively (``FOR UPDATE``)
    before its debt check; ledger writes take it ``shared`` (``FOR SHARE``), so they wait
    for a print in progress, a print waits for them, and they do not wait for each other.
    """
    stmt = (
        select(Abonent)
        .where(Abonent.code == code)
        .with_for_update(read=shared)
        .execution_options(populate_existing=True)
    )
    abonent = session.execute(stmt).scalar_one_or_none()
    if abonent is None:
        raise NotFound(_("abonent {code} not found").format(code=code))
    return abonent


def event_row(
    *,
    application_id: int,
    at: datetime,
    actor: str,
    action: str,
    from_status: str | None = None,
    to_status: str | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One history row's values: for :func:`record_event` and for bulk inserts alike."""
    return {
        "application_id": application_id,
        "at": at,
        "actor": actor,  # on PostgreSQL the server writes the login here (migration 0009)
        "operator_name": actor,
        "action": action,
        "from_status": from_status,
        "to_status": to_status,
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None,
    }


def database_writes_history(session: Session) -> bool:
    """On PostgreSQL the database writes a status change's history, feed and tally rows.

    A trigger on the application's status does it (actor = the authenticated login), so a
    login cannot skip or invent them from ``psql``; the client only passes the time, the
    display name and the detail with :func:`status_context`. SQLite: the tool writes them.
    """
    return session.get_bind().dialect.name == "postgresql"


def status_context(
    session: Session, *, at: datetime, actor: str, detail: dict[str, Any] | None = None
) -> None:
    """Tell the database's status trigger the time, the display name and the detail of the
    status change(s) this transaction is about to make (transaction-local settings)."""
    from sqlalchemy import text

    session.execute(
        text(
            "SELECT set_config('arayis.at', :at, true), set_config('arayis.operator', :op, true),"
            " set_config('arayis.detail', :detail, true)"
        ),
        {
            "at": at.isoformat(),
            "op": actor,
            "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else "",
        },
    )


def insert_event(session: Session, **values: Any) -> None:
    """Write one history row now, as a statement (no ORM object: a press writes one at
    each hand-out); ``values`` are :func:`event_row`'s. Pending ORM changes go first, so
    the rows keep the order they were made in."""
    autoflush(session)
    session.connection().execute(_INSERT_EVENT, event_row(**values))


_INSERT_EVENT = Event.__table__.insert()  # type: ignore[attr-defined]


def record_event(session: Session, **values: Any) -> Event:
    """Add one history row to this transaction; ``values`` are :func:`event_row`'s."""
    event = Event(**event_row(**values))
    session.add(event)
    return event


def balance_signed_qepik() -> Any:
    """SQL expression: an entry's effect on the balance (payments reduce it)."""
    return case(
        (LedgerEntry.kind == "payment", -LedgerEntry.amount_qepik),
        else_=LedgerEntry.amount_qepik,
    )


def balance(session: Session, code: str, *, as_of: datetime) -> Decimal:
    """Balance = charges − payments + adjustments, counting entries dated up to ``as_of``."""
    day = as_of.astimezone(BAKU).date()
    autoflush(session)
    total = session.connection().execute(_BALANCE, {"code": code, "day": day}).scalar_one()
    return from_qepik(int(total))


def autoflush(session: Session) -> None:
    """What ``session.execute`` does first, for a Core statement run on the session's
    connection: this transaction's pending ORM changes are written before it reads."""
    if session.new or session.dirty or session.deleted:
        session.flush()


def _balance_statement() -> Any:
    """Built once: a print checks a balance at every press (statement building and its
    cache key were most of the cost of reading an empty ledger)."""
    from sqlalchemy import bindparam

    return select(func.coalesce(func.sum(balance_signed_qepik()), 0)).where(
        LedgerEntry.abonent_code == bindparam("code"), LedgerEntry.entry_date <= bindparam("day")
    )


_BALANCE = _balance_statement()


def debt_of(balance_amount: Decimal) -> Decimal:
    """Borc: any positive balance is a debt; a negative one is a credit, not a debt."""
    return max(Decimal("0.00"), balance_amount)


def baku_date(value: datetime) -> date:
    return value.astimezone(BAKU).date()


def insert_ignore(session: Session, model: Any, values: dict[str, Any]) -> None:
    """INSERT … ON CONFLICT DO NOTHING, for content-addressed rows two writers may add at once."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(model).values(**values).on_conflict_do_nothing())


def insert_many(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts of column values) into ``table`` in this transaction.

    On SQLite the rows go as multi-row ``INSERT … VALUES (…), (…) RETURNING id`` pages
    (SQLAlchemy's "insertmanyvalues", which it uses when the new ids are asked for):
    the driver's ``executemany`` runs one statement per row, about three times the cost
    for a bulk import's thousand-row chunk (each row also fires the hash chain's note).
    """
    from sqlalchemy import insert

    if not rows:
        return
    if session.get_bind().dialect.name == "sqlite":
        session.execute(insert(table).returning(table.c.id), rows).all()
    else:
        session.execute(insert(table), rows)
