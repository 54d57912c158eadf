"""decision figures stored at the decision: working days taken, and whether it was late

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision_working_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("decided_late", sa.Boolean(), nullable=True))
        batch_op.create_index(
            "ix_application_decision_days", ["decision_working_days", "decided_late"], unique=False
        )
    _backfill()


def _backfill() -> None:
    """Applications decided before this revision get their figures computed now.

    Frozen on purpose: this once called the live ``arayis_cli.calendar`` (the ``holidays``
    package as installed, plus the site's override file) and ``validation.BAKU``, so the
    same upgrade could give different figures with a newer ``holidays`` or other settings.
    A migration must do the same thing in five years, so it carries its own data: the
    Azerbaijani non-working weekdays and working Saturdays/Sundays of 2000–2035 (no
    application predates 2000), copied from ``holidays`` 0.109 (country AZ)
    as the live calendar saw them when this revision was written. A frozen list, not a
    frozen algorithm: the religious holidays follow the lunar calendar and the Cabinet's
    day swaps follow no rule. After 2035 only Saturday and Sunday are rest days. The site
    override file is not read: the figures of decisions made afterwards use it live.
    """
    from datetime import UTC, date, datetime, timedelta
    from zoneinfo import ZoneInfo

    baku = ZoneInfo("Asia/Baku")
    rest = {
        date(year, int(token[:2]), int(token[2:]))
        for year, tokens in _REST_WEEKDAYS.items()
        for token in tokens.split()
    }
    work = {
        date(year, int(token[:2]), int(token[2:]))
        for year, tokens in _WORKING_WEEKENDS.items()
        for token in tokens.split()
    }

    def is_working_day(value: date) -> bool:
        if value in work:
            return True
        return value.weekday() < 5 and value not in rest

    def working_days_between(start: date, end: date) -> int:
        """Working days in (start, end]: 0 when decided the same day."""
        return sum(
            is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1)
        )

    def day(value: object) -> date:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            raise TypeError(f"expected a timestamp, got {value!r}")
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(baku).date()

    conn = op.get_bind()
    app = sa.table(
        "application",
        sa.column("id", sa.Integer),
        sa.column("submitted_at", sa.DateTime(timezone=True)),
        sa.column("decided_at", sa.DateTime(timezone=True)),
        sa.column("due_on", sa.Date),
        sa.column("decision_working_days", sa.Integer),
        sa.column("decided_late", sa.Boolean),
    )
    rows = conn.execute(
        sa.select(app.c.id, app.c.submitted_at, app.c.decided_at, app.c.due_on).where(
            app.c.decided_at.is_not(None)
        )
    ).all()
    for app_id, submitted, decided, due in rows:
        due_day = due if isinstance(due, date) else date.fromisoformat(str(due))
        conn.execute(
            app.update()
            .where(app.c.id == app_id)
            .values(
                decision_working_days=working_days_between(day(submitted), day(decided)),
                decided_late=day(decided) > due_day,
            )
        )


# Month-day (MMDD) of each year's rest days falling Monday–Friday, and of working days
# falling on a weekend (day swaps), from holidays 0.109, country AZ. Frozen: never regenerate.
_REST_WEEKDAYS = {
    2000: "0120 0308 0316 0320 0321 0509 0615 0626 1018 1227",
    2001: "0101 0305 0308 0320 0321 0509 0528 0615 0626 1018 1231",
    2002: "0101 0221 0308 0320 0321 0509 0528 0626 1018 1204 1231",
    2003: "0101 0120 0211 0320 0321 0509 0528 0626 1125 1231",
    2004: "0101 0120 0308 0528 0615 1018 1231",
    2005: "0120 0308 0321 0509 0615 1018 1103",
    2006: "0102 0103 0104 0110 0120 0308 0320 0321 0509 0529 0615 0626 1023 1024",
    2007: (
        "0101 0102 0103 0104 0105 0308 0320 0321 0322 0323 0326 0509 0528 0615 0626 1012 "
        "1015 1220 1221 1231"
    ),
    2008: (
        "0101 0102 0103 0104 0310 0320 0321 0324 0325 0326 0327 0328 0509 0528 0616 0626 "
        "0929 0930 1001 1208 1209 1231"
    ),
    2009: (
        "0101 0102 0120 0309 0320 0323 0324 0325 0326 0327 0511 0528 0615 0626 0921 0922 "
        "1127 1130 1231"
    ),
    2010: (
        "0101 0104 0120 0308 0322 0323 0324 0325 0326 0510 0528 0614 0615 0628 0909 0910 "
        "1109 1115 1116 1117 1231"
    ),
    2011: (
        "0103 0104 0120 0308 0321 0322 0323 0324 0325 0509 0530 0615 0627 0829 0830 0831 "
        "1107 1108 1109"
    ),
    2012: (
        "0102 0103 0104 0120 0308 0320 0321 0322 0323 0326 0509 0528 0615 0626 0820 0821 "
        "1025 1026 1109 1231"
    ),
    2013: (
        "0101 0102 0103 0104 0308 0320 0321 0322 0325 0326 0509 0528 0617 0626 0808 0809 "
        "1015 1016 1111 1231"
    ),
    2014: (
        "0101 0102 0103 0106 0120 0310 0320 0321 0324 0325 0326 0509 0528 0616 0626 0728 "
        "0729 1006 1007 1110 1231"
    ),
    2015: (
        "0101 0102 0120 0309 0320 0323 0324 0325 0326 0327 0511 0528 0615 0626 0717 0720 "
        "0924 0925 1109 1231"
    ),
    2016: (
        "0101 0104 0120 0308 0321 0322 0323 0324 0325 0509 0530 0615 0627 0706 0707 0912 0913 1109"
    ),
    2017: (
        "0102 0103 0104 0120 0308 0320 0321 0322 0323 0324 0509 0529 0615 0626 0627 0628 "
        "0901 0904 1109"
    ),
    2018: (
        "0101 0102 0103 0308 0320 0321 0322 0323 0326 0411 0509 0528 0615 0618 0619 0626 "
        "0822 0823 1109 1231"
    ),
    2019: (
        "0101 0102 0308 0320 0321 0322 0325 0326 0509 0528 0605 0606 0617 0626 0812 0813 "
        "1111 1227 1231"
    ),
    2020: (
        "0101 0102 0103 0106 0120 0309 0320 0323 0324 0325 0326 0327 0511 0525 0526 0527 "
        "0528 0615 0626 0731 0803 1109 1231"
    ),
    2021: (
        "0101 0104 0120 0308 0322 0323 0324 0325 0326 0510 0511 0512 0513 0514 0528 0615 "
        "0628 0719 0720 0721 1108 1109 1231"
    ),
    2022: (
        "0103 0104 0120 0307 0308 0321 0322 0323 0324 0325 0502 0503 0509 0530 0615 0627 "
        "0711 0712 1107 1108 1109"
    ),
    2023: (
        "0102 0103 0104 0120 0308 0320 0321 0322 0323 0324 0421 0424 0509 0529 0615 0626 "
        "0627 0628 0629 0630 1108 1109 1110"
    ),
    2024: (
        "0101 0102 0103 0104 0105 0207 0308 0320 0321 0322 0325 0326 0410 0411 0412 0509 "
        "0528 0617 0618 0619 0626 1108 1111 1112 1113 1230 1231"
    ),
    2025: (
        "0101 0102 0103 0120 0129 0320 0321 0324 0325 0326 0327 0328 0331 0509 0528 0606 "
        "0609 0616 0626 0627 1110 1111 1231"
    ),
    2026: (
        "0101 0102 0120 0309 0320 0323 0324 0325 0326 0327 0330 0511 0527 0528 0529 0615 "
        "0626 1109 1110 1231"
    ),
    2027: (
        "0101 0104 0120 0308 0309 0310 0322 0323 0324 0325 0326 0510 0517 0518 0528 0615 "
        "0628 1108 1109 1231"
    ),
    2028: (
        "0103 0104 0120 0228 0229 0308 0320 0321 0322 0323 0324 0505 0508 0509 0529 0615 "
        "0626 1108 1109"
    ),
    2029: (
        "0101 0102 0103 0214 0215 0308 0320 0321 0322 0323 0326 0424 0425 0509 0528 0615 "
        "0626 1108 1109 1231"
    ),
    2030: (
        "0101 0102 0204 0205 0308 0320 0321 0322 0325 0326 0415 0416 0509 0528 0617 0626 "
        "1108 1111 1231"
    ),
    2031: (
        "0101 0102 0120 0124 0127 0310 0320 0321 0324 0325 0326 0402 0403 0509 0528 0616 "
        "0626 1110 1111 1231"
    ),
    2032: (
        "0101 0102 0114 0115 0120 0308 0322 0323 0324 0325 0326 0329 0330 0510 0528 0615 "
        "0628 1108 1109 1231"
    ),
    2033: (
        "0103 0104 0105 0106 0120 0308 0311 0314 0321 0322 0323 0324 0325 0509 0530 0615 "
        "0627 1108 1109 1223 1226"
    ),
    2034: (
        "0102 0103 0104 0120 0301 0302 0308 0320 0321 0322 0323 0324 0509 0529 0615 0626 "
        "1108 1109 1212 1213"
    ),
    2035: (
        "0101 0102 0103 0219 0220 0308 0320 0321 0322 0323 0326 0509 0528 0615 0626 1108 "
        "1109 1203 1204 1231"
    ),
}
_WORKING_WEEKENDS = {
    2007: "1229 1230",
    2008: "0329 0330 0927",
    2009: "0329",
    2010: "0612 1113",
    2011: "0827",
    2012: "1229 1230",
    2013: "1228 1229",
    2015: "0329",
    2019: "1228 1229",
    2020: "0329 0531",
    2021: "0508 0516 0717",
    2022: "0305 1105",
    2023: "0624 0625 1104 1230",
    2024: "0107 0406 1116 1123 1228 1229",
    2025: "0621",
}


def downgrade() -> None:
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_index("ix_application_decision_days")
        batch_op.drop_column("decided_late")
        batch_op.drop_column("decision_working_days")
