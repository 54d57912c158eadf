"""Counts by status, overdue, processing time in working days."""

from __future__ import annotations

import statistics
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from arayis_cli.calendar import calendar
from arayis_cli.models import Application
from arayis_cli.services.common import baku_date
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
    cal = calendar()
    durations: list[int] = []
    late = 0
    for submitted_at, decided_at, due in session.execute(
        select(Application.submitted_at, Application.decided_at, Application.due_on).where(
            Application.decided_at.is_not(None)
        )
    ):
        decided_day = baku_date(decided_at)
        durations.append(cal.working_days_between(baku_date(submitted_at), decided_day))
        late += decided_day > due
    decided = len(durations)
    return {
        "by_status": by_status,
        "total": sum(by_status.values()),
        "open": by_status["new"] + by_status["in_progress"],
        "overdue": overdue,
        "decided": decided,
        "decided_late": late,
        "median_working_days_to_decision": statistics.median(durations) if durations else None,
        "max_working_days_to_decision": max(durations) if durations else None,
    }
