"""The portal's status feed (``arayis changes``): every status change, in commit order.

The portal polls ``changes --after CURSOR`` and must never miss a change. A cursor taken
from an identity column is not enough on PostgreSQL: ids are assigned at INSERT, rows
become visible at COMMIT, so a slow transaction's id 10 can appear after a fast one's
id 11 has been read and the cursor has moved past 10 for ever.

Design: feed positions are assigned in one serialised step at the very end of the
writing transaction. Each status change inserts a ``status_change`` row with
``position`` NULL in the same transaction as the transition (:func:`record`); a
``before_commit`` hook then takes the next positions from the ``feed`` counter with
``UPDATE counter SET value = value + n … RETURNING value`` and stamps the rows
(:func:`place`). The counter row stays locked until COMMIT, so a later transaction gets
higher positions only after the earlier one is committed and visible: positions follow
commit order and a reader that sees position p also sees every position below p. On
SQLite writers are serialised by ``BEGIN IMMEDIATE`` anyway; the same code runs there. A
rolled-back transaction takes its positions back with it, so there are no gaps.

On PostgreSQL the database does all of this itself (migration 0013): a trigger on the
application's status inserts the feed row, and a constraint trigger deferred to COMMIT
places it under the same counter lock, from the higher of the counter and the highest
position placed (a counter wound back by hand cannot make later changes clash). No login
may write the feed or its counter there; :func:`record` and :func:`place` serve SQLite.

The alternative, a transaction-id horizon (store ``pg_current_xact_id()``, return only
rows older than ``pg_snapshot_xmin(pg_current_snapshot())``, ordered by (xid, id)), needs
no lock but returns xid order rather than commit order, holds the whole feed back behind
any long transaction on the server (an import, an idle session), needs a compound cursor,
and has no SQLite counterpart. On PostgreSQL the placing is one statement, so the lock
is held for the tail of that statement and the COMMIT round trip; its measured cost on
parallel ``review --next`` claims is in the README (Performance).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, func, select, text, update
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from arayis_cli.models import Application, Counter, StatusChange

FEED_COUNTER = "feed"
MAX_LIMIT = 10_000
_UNPLACED = "arayis_feed_unplaced"


def record(session: Session, changes: Iterable[tuple[int, str]], *, at: datetime) -> None:
    """Add feed rows for (application id, new status) pairs, in this transaction."""
    rows = [
        {"application_id": app_id, "status": status, "at": at, "position": None}
        for app_id, status in changes
    ]
    if not rows:
        return
    from arayis_cli.services.common import insert_many

    insert_many(session, StatusChange.__table__, rows)
    session.info[_UNPLACED] = True


def place(session: Session) -> int:
    """Give this transaction's unplaced feed rows their positions (the serialised step).

    Returns how many rows were placed. Called by the ``before_commit`` hook; the caller
    must commit right after, since the ``feed`` counter stays locked until then.
    """
    if session.get_bind().dialect.name == "postgresql":
        from arayis_cli.services.chain import SEAL_LOCK

        # The chain's seal lock before the counter, as every commit takes them.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEAL_LOCK})
        # One round trip: on a busy server every statement inside the lock costs others.
        placed = session.execute(_PLACE_PG).rowcount
        if placed:
            return int(placed)
        # Nothing to place, or the counter row is missing: the portable path decides.
    unplaced = StatusChange.position.is_(None)
    n = session.execute(select(func.count()).select_from(StatusChange).where(unplaced)).scalar_one()
    if not n:
        return 0
    bump = (
        update(Counter)
        .where(Counter.name == FEED_COUNTER)
        .values(value=Counter.value + n)
        .returning(Counter.value)
    )
    top = session.execute(bump).scalar_one_or_none()
    if top is None:  # the migration creates the row; recreate it if someone removed it
        from arayis_cli.services.common import insert_ignore

        placed = session.execute(select(func.max(StatusChange.position))).scalar()
        insert_ignore(session, Counter, {"name": FEED_COUNTER, "value": int(placed or 0)})
        top = session.execute(bump).scalar_one()
    ranked = (
        select(StatusChange.id, func.row_number().over(order_by=StatusChange.id).label("rank"))
        .where(unplaced)
        .subquery()
    )
    session.execute(
        update(StatusChange)
        .where(StatusChange.id == ranked.c.id)
        .values(position=top - n + ranked.c.rank)
        .execution_options(synchronize_session=False)
    )
    return int(n)


# The portable steps of :func:`place` in one statement: this transaction's unplaced rows
# ranked by id, the counter moved on by their number, the rows stamped.
_PLACE_PG = text(
    """
    WITH mine AS (
        SELECT id, row_number() OVER (ORDER BY id) AS rank, count(*) OVER () AS n
        FROM status_change WHERE position IS NULL
    ), top AS (
        UPDATE counter SET value = value + (SELECT max(n) FROM mine)
        WHERE name = 'feed' AND EXISTS (SELECT 1 FROM mine)
        RETURNING value
    )
    UPDATE status_change SET position = top.value - mine.n + mine.rank
    FROM mine, top WHERE status_change.id = mine.id
    """
)


@event.listens_for(OrmSession, "before_commit")
def _place_before_commit(session: OrmSession) -> None:
    # Only the outermost commit: a savepoint's release is not the end of the transaction.
    if session.in_nested_transaction() or not session.info.get(_UNPLACED):
        return
    # Pending ORM objects first, so that the counter lock is held only until COMMIT.
    session.flush()
    session.info.pop(_UNPLACED, None)
    place(session)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Change:
    cursor: int
    application_id: int
    external_id: str | None
    status: str
    at: datetime


def feed(session: Session, *, after: int, limit: int) -> tuple[list[Change], int]:
    """Changes with a cursor above ``after``, oldest first; and the cursor to continue from."""
    rows = session.execute(
        select(
            StatusChange.position,
            StatusChange.application_id,
            Application.external_id,
            StatusChange.status,
            StatusChange.at,
        )
        .join(Application, Application.id == StatusChange.application_id)
        .where(StatusChange.position > after)
        .order_by(StatusChange.position)
        .limit(limit)
    ).all()
    changes = [Change(int(p), a, e, s, at) for p, a, e, s, at in rows]
    return changes, changes[-1].cursor if changes else after
