"""Running counts of decisions for ``stats``: O(1) figures on any number of applications.

Every decision (approve, reject: final statuses) adds to the count of its status and to
the histogram of working days it took, in its own transaction; open applications are few
and counted from the index instead, so claims and imports never touch these rows.

On PostgreSQL a key is spread over shard rows and a transaction takes a shard row that
nobody else holds (``FOR UPDATE SKIP LOCKED``) or starts a new one: concurrent deciders
never wait for each other here. On SQLite writers are serialised anyway: one row per key.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from sqlalchemy import func, select, update
from sqlmodel import Session

from arayis_cli.models import Tally

NEW_SHARD_SPACE = 1 << 20


def status_key(status: str) -> str:
    return f"status:{status}"


def decided_key(days: int, late: bool) -> str:
    return f"decided:{days}:{int(late)}"


def bump(session: Session, deltas: Mapping[str, int]) -> None:
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    for key in sorted(deltas):
        delta = deltas[key]
        if not delta:
            continue
        shard = 0
        if postgres:
            free = session.execute(
                select(Tally.shard)
                .where(Tally.key == key)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).scalar_one_or_none()
            if free is not None:
                session.execute(
                    update(Tally)
                    .where(Tally.key == key, Tally.shard == free)
                    .values(n=Tally.n + delta)
                )
                continue
            shard = random.randrange(NEW_SHARD_SPACE)  # every shard row is busy: a new one
        stmt = insert(Tally).values(key=key, shard=shard, n=delta)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["key", "shard"], set_={"n": Tally.n + stmt.excluded.n}
            )
        )


def totals(session: Session) -> dict[str, int]:
    return {
        key: int(n)
        for key, n in session.execute(select(Tally.key, func.sum(Tally.n)).group_by(Tally.key))
    }
