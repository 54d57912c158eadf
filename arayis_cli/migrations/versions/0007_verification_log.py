"""verification log: every check of a certificate (web or command line), append-only

Revision ID: 0007_verification_log
Revises: 0005
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_verification_log"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "certificate_verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("evidence", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificate.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_certificate_verification_certificate_id",
        "certificate_verification",
        ["certificate_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_certificate_verification_certificate_id", "certificate_verification")
    op.drop_table("certificate_verification")
