"""Running counts for ``stats``: O(1) figures on any number of applications.

Every change of status adds its deltas here in its own transaction. Keys are bumped in
sorted order on one randomly chosen shard per transaction, so that two transactions lock
the rows they share in the same order (no deadlock) and rarely share any.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from sqlalchemy import func, select
from sqlmodel import Session

from arayis_cli.models import Tally

SHARDS = 8


def status_key(status: str) -> str:
    return f"status:{status}"


def decided_key(days: int, late: bool) -> str:
    return f"decided:{days}:{int(late)}"


def bump(session: Session, deltas: Mapping[str, int]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    shard = random.randrange(SHARDS)
    for key in sorted(deltas):
        delta = deltas[key]
        if not delta:
            continue
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
