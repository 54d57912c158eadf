"""accountability: who acted (the login on PostgreSQL), policy, the append-only audit log

Revision ID: 0009_accountability
Revises: 0008_status_change
Create Date: 2026-11-25

On PostgreSQL the server stamps every history and audit row with ``session_user`` (the
authenticated login), keeping the name the operator typed as ``operator_name``, and refuses
UPDATE, DELETE and TRUNCATE of those rows to everyone but the table owner and superusers.
The SQL is copied here on purpose: a migration does the same thing in five years.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_accountability"
down_revision: str | None = "0008_status_change"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("event", "audit_log")

PG_FUNCTIONS = """
CREATE OR REPLACE FUNCTION arayis_stamp_login() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- The name typed with --operator stays beside the login the server authenticated.
    NEW.operator_name := COALESCE(NEW.operator_name, NEW.actor);
    NEW.actor := session_user;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION arayis_owner_or_superuser(rel oid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT COALESCE((SELECT rolsuper FROM pg_roles WHERE rolname = session_user), false)
        OR pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = rel), 'MEMBER')
$$;

CREATE OR REPLACE FUNCTION arayis_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF arayis_owner_or_superuser(TG_RELID) THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'arayis: % rows are append-only; % refused for %',
        TG_TABLE_NAME, TG_OP, session_user
        USING ERRCODE = '42501';
END
$$;
"""


def upgrade() -> None:
    op.create_table(
        "policy",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("operator_name", sa.String(length=100), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("command", sa.String(length=60), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("abonent_code", sa.String(length=20), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False)
    op.create_index("ix_audit_log_application_id", "audit_log", ["application_id"], unique=False)
    op.create_index("ix_audit_log_abonent_code", "audit_log", ["abonent_code"], unique=False)
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("operator_name", sa.String(length=100), nullable=True))
    # History written before this revision named the operator only.
    op.execute("UPDATE event SET operator_name = actor WHERE operator_name IS NULL")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(PG_FUNCTIONS)
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER arayis_{table}_login BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION arayis_stamp_login()"
        )
        op.execute(
            f"CREATE TRIGGER arayis_{table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION arayis_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER arayis_{table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION arayis_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            for suffix in ("login", "append_only", "no_truncate"):
                op.execute(f"DROP TRIGGER IF EXISTS arayis_{table}_{suffix} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS arayis_append_only()")
        op.execute("DROP FUNCTION IF EXISTS arayis_owner_or_superuser(oid)")
        op.execute("DROP FUNCTION IF EXISTS arayis_stamp_login()")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("operator_name")
    op.drop_index("ix_audit_log_abonent_code", table_name="audit_log")
    op.drop_index("ix_audit_log_application_id", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("policy")
