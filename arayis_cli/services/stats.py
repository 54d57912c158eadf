"""Counts by status, overdue, processing time in working days — without a full scan.

Decided applications (the part that grows for ever) are counted by running tallies kept
with every decision (:mod:`arayis_cli.services.tally`), with the histogram of working days
to decision; open applications and overdue are index ranges over the open ones.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from arayis_cli.models import Application
from arayis_cli.services import tally
from arayis_cli.workflow import OPEN_STATUSES, Status


def stats(session: Session, *, today: date) -> dict[str, Any]:
    counts = tally.totals(session)
    by_status = {s.value: counts.get(tally.status_key(s.value), 0) for s in Status}
    # Open applications are the working queue, not the archive: an index range counts them.
    for status, n in session.execute(
        select(Application.status, func.count())
        .where(Application.status.in_([s.value for s in OPEN_STATUSES]))
        .group_by(Application.status)
    ):
        by_status[status] = n
    overdue = session.execute(
        select(func.count()).where(
            Application.status.in_([s.value for s in OPEN_STATUSES]),
            Application.due_on < today,
        )
    ).scalar_one()
    histogram: dict[int, int] = {}
    late = 0
    for key, count in counts.items():
        if key.startswith("decided:") and count:
            _, days, was_late = key.split(":")
            histogram[int(days)] = histogram.get(int(days), 0) + count
            late += count if was_late == "1" else 0
    decided = sum(histogram.values())
    return {
        "by_status": by_status,
        "total": sum(by_status.values()),
        "open": sum(by_status[s.value] for s in OPEN_STATUSES),
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
