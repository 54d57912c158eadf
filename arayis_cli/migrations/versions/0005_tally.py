"""running counts of decisions for stats (tally), filled from the applications already there

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    tally = op.create_table(
        "tally",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", "shard"),
    )
    conn = op.get_bind()
    app = sa.table(
        "application",
        sa.column("status", sa.String),
        sa.column("decision_working_days", sa.Integer),
        sa.column("decided_late", sa.Boolean),
    )
    rows = [
        {"key": f"status:{status}", "shard": 0, "n": n}
        for status, n in conn.execute(
            sa.select(app.c.status, sa.func.count())
            .where(app.c.status.in_(["completed", "rejected"]))
            .group_by(app.c.status)
        )
    ]
    rows += [
        {"key": f"decided:{days}:{int(bool(late))}", "shard": 0, "n": n}
        for days, late, n in conn.execute(
            sa.select(app.c.decision_working_days, app.c.decided_late, sa.func.count())
            .where(app.c.decision_working_days.is_not(None))
            .group_by(app.c.decision_working_days, app.c.decided_late)
        )
    ]
    if rows:
        op.bulk_insert(tally, rows)


def downgrade() -> None:
    op.drop_table("tally")
