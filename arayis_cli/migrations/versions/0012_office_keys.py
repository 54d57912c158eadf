"""the office signing key: which registered key signs now, retirement and compromise

Revision ID: 0012_office_keys
Revises: 0011_portal_api
Create Date: 2026-12-06

``signing_key.current`` marks the one key that signs new certificates for every login
(at most one: a partial unique index); ``retired_at`` stops a key from signing;
``compromised_since`` makes verification refuse what that key signed after that time.
Keys registered before this revision are neither current nor retired: they keep
verifying, and on PostgreSQL an administrator makes the office key with ``keys init``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_office_keys"
down_revision: str | None = "0011_portal_api"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = "current"


def upgrade() -> None:
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("current", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("retired_by", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("compromised_since", sa.DateTime(timezone=True), nullable=True)
        )
    op.create_index(
        "uq_signing_key_current",
        "signing_key",
        ["current"],
        unique=True,
        sqlite_where=sa.text(CURRENT),
        postgresql_where=sa.text(CURRENT),
    )


def downgrade() -> None:
    op.drop_index("uq_signing_key_current", table_name="signing_key")
    with op.batch_alter_table("signing_key", schema=None) as batch_op:
        batch_op.drop_column("compromised_since")
        batch_op.drop_column("retired_by")
        batch_op.drop_column("retired_at")
        batch_op.drop_column("current")
