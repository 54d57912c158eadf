"""chain: a hash chain over the kept records, written by the database on PostgreSQL

Revision ID: 0014_chain
Revises: 0013_insider
Create Date: 2026-12-06

Every row of the kept tables gets a link in ``chain_link`` (its table, key and the
SHA-256 of its protected fields, chained by SHA-256 to the link before); rows that exist
already are linked here (the genesis), in table then key order. On PostgreSQL, row
triggers note each written row in ``chain_pending`` and a deferred constraint trigger
seals the noted rows at COMMIT under a transaction advisory lock; the functions are
SECURITY DEFINER with a fixed search_path, so client roles need no grant on either table.
The table list and the digest SQL are copied here on purpose (frozen history).
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_chain"
down_revision: str | None = "0013_insider"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
LOCK = 4242000021
TEXT_KEYS = {"code", "key"}

CHAINED: dict[str, tuple[str, tuple[str, ...]]] = {
    "abonent": ("code", ("code", "group", "owner_name", "owner_fin", "address")),
    "ledger_entry": (
        "id",
        ("id", "abonent_code", "entry_date", "kind", "amount_qepik", "reference"),
    ),
    "application": (
        "id",
        (
            "id",
            "abonent_code",
            "fin",
            "phone",
            "email",
            "channel",
            "external_id",
            "submitted_at",
            "due_on",
            "status",
            "operator",
            "rejection_reason",
            "override_reason",
            "decided_at",
            "decision_working_days",
            "decided_late",
            "created_by",
        ),
    ),
    "document": (
        "id",
        ("id", "application_id", "kind", "filename", "media_type", "size", "sha256"),
    ),
    "event": (
        "id",
        (
            "id",
            "application_id",
            "at",
            "actor",
            "operator_name",
            "action",
            "from_status",
            "to_status",
            "detail",
        ),
    ),
    "outbox_message": (
        "id",
        ("id", "application_id", "kind", "to_addr", "subject", "body", "status", "sent_at"),
    ),
    "certificate": (
        "id",
        (
            "id",
            "number",
            "application_id",
            "issued_at",
            "valid_until",
            "balance_qepik",
            "operator",
            "pdf_sha256",
            "pdf_size",
            "token",
            "key_id",
            "revoked_at",
            "revoked_by",
            "revoked_reason",
        ),
    ),
    "certificate_verification": (
        "id",
        ("id", "certificate_id", "at", "verdict", "channel", "evidence"),
    ),
    "policy": ("key", ("key", "value", "changed_at", "changed_by")),
    "audit_log": (
        "id",
        (
            "id",
            "at",
            "actor",
            "operator_name",
            "kind",
            "command",
            "application_id",
            "abonent_code",
            "detail",
        ),
    ),
    "status_change": ("id", ("id", "position", "application_id", "status", "at")),
}

# Columns PostgreSQL keeps as timestamptz: rendered in UTC so that a session's TimeZone
# setting cannot change a digest.
PG_TIMESTAMPS = {
    "submitted_at",
    "decided_at",
    "at",
    "sent_at",
    "issued_at",
    "revoked_at",
    "changed_at",
    "created_at",
    "attached_at",
}


def _q(column: str) -> str:
    return f'"{column}"'


def canonical_sql(table: str, dialect: str) -> str:
    """SQL for (key as text, digest material) of every row of ``table``.

    SQLite: ``quote()`` of each column (type-exact: ``5`` and ``'5'`` differ, a BLOB is
    hex), hashed by the caller. PostgreSQL: the hex SHA-256 itself, computed by the
    server exactly as the sealing function computes it.
    """
    key, columns = CHAINED[table]
    if dialect == "sqlite":
        body = " || ',' || ".join(f"quote({_q(c)})" for c in columns)
        return f"SELECT CAST({_q(key)} AS TEXT), {body} FROM main.{_q(table)}"
    return f"SELECT {_q(key)}::text, {pg_digest(table)} FROM {_q(table)}"


def pg_digest(table: str) -> str:
    """PostgreSQL: the hex SHA-256 of a row's protected fields, as one SQL expression."""
    parts = ", ".join(
        f"to_char({_q(c)} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
        if c in PG_TIMESTAMPS
        else _q(c)
        for c in CHAINED[table][1]
    )
    return f"encode(sha256(convert_to(json_build_array({parts})::text, 'UTF8')), 'hex')"


def _link_hash(prev: str, table: str, key: str, digest: str) -> str:
    return hashlib.sha256(f"{prev}\n{table}\n{key}\n{digest}".encode()).hexdigest()


def _digest_case() -> str:
    branches = []
    for table in CHAINED:
        key = CHAINED[table][0]
        cast = "$1" if key in TEXT_KEYS else "$1::bigint"
        query = f'SELECT {pg_digest(table)} FROM "{table}" WHERE "{key}" = {cast}'
        branches.append(f"WHEN '{table}' THEN EXECUTE $q${query}$q$ INTO d USING k;")
    return "\n        ".join(branches)


def _pg_functions() -> str:
    return f"""

CREATE OR REPLACE FUNCTION arayis_chain_note() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    old_key text;
    new_key text;
BEGIN
    IF TG_OP <> 'INSERT' THEN old_key := to_jsonb(OLD) ->> TG_ARGV[0]; END IF;
    IF TG_OP <> 'DELETE' THEN new_key := to_jsonb(NEW) ->> TG_ARGV[0]; END IF;
    IF old_key IS NOT NULL AND old_key IS DISTINCT FROM new_key THEN
        INSERT INTO public.chain_pending (tbl, rid) VALUES (TG_TABLE_NAME, old_key);
    END IF;
    IF new_key IS NOT NULL THEN
        INSERT INTO public.chain_pending (tbl, rid) VALUES (TG_TABLE_NAME, new_key);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION arayis_chain_digest(t text, k text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    d text;
BEGIN
    CASE t
        {_digest_case()}
        ELSE RAISE EXCEPTION 'arayis: % is not chained', t;
    END CASE;
    RETURN d;
END
$$;

CREATE OR REPLACE FUNCTION arayis_chain_seal_now() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    upto bigint;
    pos bigint;
    prev text;
    d text;
    n bigint := 0;
    r record;
BEGIN
    SELECT max(seq) INTO upto FROM public.chain_pending;
    IF upto IS NULL THEN
        RETURN 0;
    END IF;
    -- Held until COMMIT: the next writer reads this transaction's head once it is visible.
    PERFORM pg_advisory_xact_lock({LOCK});
    SELECT position, hash INTO pos, prev FROM public.chain_link ORDER BY position DESC LIMIT 1;
    IF pos IS NULL THEN
        pos := 0;
        prev := repeat('0', 64);
    END IF;
    FOR r IN
        SELECT tbl, rid FROM public.chain_pending WHERE seq <= upto
        GROUP BY tbl, rid ORDER BY min(seq)
    LOOP
        d := COALESCE(public.arayis_chain_digest(r.tbl, r.rid), '-');
        pos := pos + 1;
        prev := encode(sha256(convert_to(
            prev || E'\\n' || r.tbl || E'\\n' || r.rid || E'\\n' || d, 'UTF8')), 'hex');
        INSERT INTO public.chain_link (position, tbl, rid, digest, hash)
        VALUES (pos, r.tbl, r.rid, d, prev);
        n := n + 1;
    END LOOP;
    DELETE FROM public.chain_pending WHERE seq <= upto;
    PERFORM set_config('arayis.chain_sealed', upto::text, true);
    RETURN n;
END
$$;

CREATE OR REPLACE FUNCTION arayis_chain_seal() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    IF NEW.seq <= COALESCE(NULLIF(current_setting('arayis.chain_sealed', true), '')::bigint, 0)
    THEN
        RETURN NULL;
    END IF;
    PERFORM public.arayis_chain_seal_now();
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER arayis_chain_seal AFTER INSERT ON chain_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION arayis_chain_seal();

REVOKE ALL ON chain_pending FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION arayis_chain_digest(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION arayis_chain_seal_now() FROM PUBLIC;
"""


def upgrade() -> None:
    op.create_table(
        "chain_link",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tbl", sa.String(length=40), nullable=False),
        sa.Column("rid", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("position"),
    )
    op.create_index("ix_chain_link_subject", "chain_link", ["tbl", "rid", "position"], unique=False)
    # PostgreSQL's notes of the rows written in a transaction, sealed at its commit (empty
    # outside a transaction; SQLite uses a TEMP table of the tool's connection instead).
    op.create_table(
        "chain_pending",
        sa.Column("seq", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("tbl", sa.String(length=40), nullable=False),
        sa.Column("rid", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(_pg_functions())
        for table, (key, _columns) in CHAINED.items():
            op.execute(
                f"CREATE TRIGGER arayis_chain_note AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table} FOR EACH ROW EXECUTE FUNCTION arayis_chain_note('{key}')"
            )
            op.execute(
                f"INSERT INTO chain_pending (tbl, rid) "
                f'SELECT \'{table}\', "{key}"::text FROM {table} ORDER BY "{key}"'
            )
        op.execute("SELECT arayis_chain_seal_now()")
        return
    # SQLite: the genesis links, computed here as the tool computes them.
    position, prev, links = 0, GENESIS, []
    for table, (key, _columns) in CHAINED.items():
        rows = bind.exec_driver_sql(canonical_sql(table, "sqlite") + f' ORDER BY "{key}"')
        for rid, material in rows:
            digest = hashlib.sha256(str(material).encode("utf-8", "surrogatepass")).hexdigest()
            position += 1
            prev = _link_hash(prev, table, str(rid), digest)
            links.append(
                {
                    "position": position,
                    "tbl": table,
                    "rid": str(rid),
                    "digest": digest,
                    "hash": prev,
                }
            )
    if links:
        op.bulk_insert(sa.table("chain_link", *(sa.column(c) for c in links[0])), links)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        for table in CHAINED:
            op.execute(f"DROP TRIGGER IF EXISTS arayis_chain_note ON {table}")
    op.drop_table("chain_pending")  # with its sealing trigger
    if postgresql:
        for fn in (
            "arayis_chain_seal()",
            "arayis_chain_seal_now()",
            "arayis_chain_digest(text, text)",
            "arayis_chain_note()",
        ):
            op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    op.drop_index("ix_chain_link_subject", table_name="chain_link")
    op.drop_table("chain_link")
