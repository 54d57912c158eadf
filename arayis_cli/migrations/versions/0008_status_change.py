"""the portal's status feed (status_change), filled with every application's current status

Revision ID: 0008_status_change
Revises: 0007_verification_log
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_status_change"
down_revision: str | None = "0007_verification_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FEED_COUNTER = "feed"


def upgrade() -> None:
    op.create_table(
        "status_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("status_change", schema=None) as batch_op:
        batch_op.create_index("ix_status_change_application_id", ["application_id"], unique=False)
        batch_op.create_index(
            "ix_status_change_unplaced",
            ["id"],
            unique=False,
            sqlite_where=sa.text("position IS NULL"),
            postgresql_where=sa.text("position IS NULL"),
        )
        batch_op.create_index("uq_status_change_position", ["position"], unique=True)

    # Backfill: one entry per existing application, its current status, at the time it
    # reached it (the latest history row into that status; else the submission time).
    # Frozen copies of the tables: this migration must do the same thing in five years.
    app = sa.table(
        "application",
        sa.column("id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("submitted_at", sa.DateTime(timezone=True)),
    )
    event = sa.table(
        "event",
        sa.column("application_id", sa.Integer),
        sa.column("to_status", sa.String),
        sa.column("at", sa.DateTime(timezone=True)),
    )
    change = sa.table(
        "status_change",
        sa.column("position", sa.BigInteger),
        sa.column("application_id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("at", sa.DateTime(timezone=True)),
    )
    reached = (
        sa.select(sa.func.max(event.c.at))
        .where(event.c.application_id == app.c.id, event.c.to_status == app.c.status)
        .scalar_subquery()
    )
    at = sa.func.coalesce(reached, app.c.submitted_at)
    source = sa.select(
        sa.func.row_number().over(order_by=(at, app.c.id)),
        app.c.id,
        app.c.status,
        at,
    )
    conn = op.get_bind()
    conn.execute(
        change.insert().from_select(["position", "application_id", "status", "at"], source)
    )
    placed = conn.execute(sa.select(sa.func.count()).select_from(change)).scalar_one()
    counter = sa.table("counter", sa.column("name", sa.String), sa.column("value", sa.Integer))
    conn.execute(counter.insert().values(name=FEED_COUNTER, value=int(placed)))


def downgrade() -> None:
    counter = sa.table("counter", sa.column("name", sa.String))
    op.get_bind().execute(counter.delete().where(counter.c.name == FEED_COUNTER))
    with op.batch_alter_table("status_change", schema=None) as batch_op:
        batch_op.drop_index("uq_status_change_position")
        batch_op.drop_index("ix_status_change_unplaced")
        batch_op.drop_index("ix_status_change_application_id")
    op.drop_table("status_change")
