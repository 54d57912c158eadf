"""Counts by status, overdue, processing time in working days — from indexes, no full scan.

The working days each decision took are stored with the decision, so the median comes
from a small histogram rather than from every application.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from arayis_cli.models import Application
from arayis_cli.workflow import OPEN_STATUSES, Status


def stats(session: Session, *, today: date) -> dict[str, Any]:
    by_status = {s.value: 0 for s in Status}
    for status, count in session.execute(
        select(Application.status, func.count()).group_by(Application.status)
    ):
        by_status[status] = count
    overdue = session.execute(
        select(func.count()).where(
            Application.status.in_([s.value for s in OPEN_STATUSES]),
            Application.due_on < today,
        )
    ).scalar_one()
    histogram: dict[int, int] = {}
    late = 0
    for days, was_late, count in session.execute(
        select(Application.decision_working_days, Application.decided_late, func.count())
        .where(Application.decision_working_days.is_not(None))
        .group_by(Application.decision_working_days, Application.decided_late)
    ):
        histogram[days] = histogram.get(days, 0) + count
        late += count if was_late else 0
    decided = sum(histogram.values())
    return {
        "by_status": by_status,
        "total": sum(by_status.values()),
        "open": by_status["new"] + by_status["in_progress"],
        "overdue": overdue,
        "decided": decided,
        "decided_late": late,
        "median_working_days_to_decision": _median(histogram),
        "max_working_days_to_decision": max(histogram) if histogram else None,
    }


def _median(histogram: dict[int, int]) -> float | None:
    total = sum(histogram.values())
    if not total:
        return None
    ordered = sorted(histogram.items())

    def nth(n: int) -> int:
        seen = 0
        for value, count in ordered:
            seen += count
            if seen > n:
                return value
        return ordered[-1][0]

    if total % 2:
        return nth(total // 2)
    return (nth(total // 2 - 1) + nth(total // 2)) / 2
