"""portal api: API clients (hashed keys), every call recorded, idempotent uploads

Revision ID: 0011_portal_api
Revises: 0010_register
Create Date: 2026-12-06

The portal (e-gov.az) and azersu.az call ``/api/v1`` with a key; only the key's SHA-256
is kept. Calls are append-only on PostgreSQL, like the history (the trigger function of
revision 0009).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_portal_api"
down_revision: str | None = "0010_register"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_client",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("name"),
        sa.UniqueConstraint("key_sha256"),
    )
    op.create_table(
        "api_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client", sa.String(length=40), nullable=True),
        sa.Column("method", sa.String(length=7), nullable=False),
        sa.Column("route", sa.String(length=80), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_api_call_application_id", "api_call", ["application_id"], unique=False)
    op.create_table(
        "api_idempotency",
        sa.Column("client", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client", "key"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER arayis_api_call_append_only BEFORE UPDATE OR DELETE ON api_call "
            "FOR EACH ROW EXECUTE FUNCTION arayis_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS arayis_api_call_append_only ON api_call")
    op.drop_table("api_idempotency")
    op.drop_index("ix_api_call_application_id", table_name="api_call")
    op.drop_table("api_call")
    op.drop_table("api_client")
