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
    """Applications decided before this revision get their figures computed now."""
    from datetime import UTC, date, datetime

    from arayis_cli.calendar import calendar
    from arayis_cli.validation import BAKU

    def day(value: object) -> date:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(BAKU).date()

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
    cal = calendar()
    for app_id, submitted, decided, due in rows:
        due_day = due if isinstance(due, date) else date.fromisoformat(str(due))
        conn.execute(
            app.update()
            .where(app.c.id == app_id)
            .values(
                decision_working_days=cal.working_days_between(day(submitted), day(decided)),
                decided_late=day(decided) > due_day,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_index("ix_application_decision_days")
        batch_op.drop_column("decided_late")
        batch_op.drop_column("decision_working_days")
