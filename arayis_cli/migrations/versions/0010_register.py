"""register: one current certificate per application, registered PDF bytes, staff names

Revision ID: 0010_register
Revises: 0009_accountability
Create Date: 2026-12-06

- ``certificate.superseded_at`` / ``superseded_by``: a renewed certificate names the newer
  one. Certificates issued twice for one application before this revision (the bug this
  revision ends) are superseded by the newest, so that the index below can be built.
- ``uq_certificate_current``: at most one current certificate (not revoked, not superseded)
  per application, a partial unique index two transactions cannot both pass.
- ``certificate_pdf``: the bytes of each certificate as issued (``print --copy``).
- ``staff``: the display names printed on certificates, by login.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_register"
down_revision: str | None = "0009_accountability"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_SQL = "revoked_at IS NULL AND superseded_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("superseded_by", sa.String(length=30), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, number, application_id, issued_at FROM certificate "
            f"WHERE {CURRENT_SQL} ORDER BY application_id, issued_at, id"
        )
    ).all()
    newest: dict[int, tuple[int, str, object]] = {}
    for row in rows:
        newest[row.application_id] = (row.id, row.number, row.issued_at)
    for row in rows:
        keep_id, keep_number, keep_at = newest[row.application_id]
        if row.id != keep_id:
            bind.execute(
                sa.text(
                    "UPDATE certificate SET superseded_at = :at, superseded_by = :by WHERE id = :id"
                ),
                {"at": keep_at, "by": keep_number, "id": row.id},
            )
    op.create_index(
        "uq_certificate_current",
        "certificate",
        ["application_id"],
        unique=True,
        sqlite_where=sa.text(CURRENT_SQL),
        postgresql_where=sa.text(CURRENT_SQL),
    )
    op.create_table(
        "certificate_pdf",
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificate.id"]),
        sa.PrimaryKeyConstraint("certificate_id"),
    )
    op.create_table(
        "staff",
        sa.Column("login", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("login"),
    )


def downgrade() -> None:
    op.drop_table("staff")
    op.drop_table("certificate_pdf")
    op.drop_index("uq_certificate_current", table_name="certificate")
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.drop_column("superseded_by")
        batch_op.drop_column("superseded_at")
