"""detach: a document can be detached (soft: the row and its bytes stay for the record)

Revision ID: 0015_detach
Revises: 0014_chain
Create Date: 2026-12-06

Three columns on ``document`` say who detached it, when and why; a detached document no
longer counts for the checklist or the subscriber's view. The columns are protected by
the hash chain: the document's digest gains them, so the PostgreSQL digest function is
re-created and every existing document gets one new link with its new digest (a change
of the digest's form, linked like any other change). The table list and the digest SQL
are copied here on purpose (frozen history); downgrade restores the form of 0014.
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_detach"
down_revision: str | None = "0014_chain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
TEXT_KEYS = {"code", "key"}
NEW_COLUMNS = ("detached_at", "detached_by", "detach_reason")
OLD_DOCUMENT = ("id", "application_id", "kind", "filename", "media_type", "size", "sha256")
DOCUMENT_COLUMNS = (*OLD_DOCUMENT, *NEW_COLUMNS)

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
    "document": ("id", DOCUMENT_COLUMNS),
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
    "detached_at",
}


def _q(column: str) -> str:
    return f'"{column}"'


def _chained(document: tuple[str, ...]) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {**CHAINED, "document": ("id", document)}


def _sqlite_material(document: tuple[str, ...]) -> str:
    body = " || ',' || ".join(f"quote({_q(c)})" for c in document)
    return f'SELECT CAST("id" AS TEXT), {body} FROM main."document" ORDER BY "id"'


def _pg_digest(columns: tuple[str, ...]) -> str:
    parts = ", ".join(
        f"to_char({_q(c)} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
        if c in PG_TIMESTAMPS
        else _q(c)
        for c in columns
    )
    return f"encode(sha256(convert_to(json_build_array({parts})::text, 'UTF8')), 'hex')"


def _digest_function(document: tuple[str, ...]) -> str:
    branches = []
    for table, (key, columns) in _chained(document).items():
        cast = "$1" if key in TEXT_KEYS else "$1::bigint"
        query = f'SELECT {_pg_digest(columns)} FROM "{table}" WHERE "{key}" = {cast}'
        branches.append(f"WHEN '{table}' THEN EXECUTE $q${query}$q$ INTO d USING k;")
    cases = "\n        ".join(branches)
    return f"""
CREATE OR REPLACE FUNCTION arayis_chain_digest(t text, k text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    d text;
BEGIN
    CASE t
        {cases}
        ELSE RAISE EXCEPTION 'arayis: % is not chained', t;
    END CASE;
    RETURN d;
END
$$;
REVOKE EXECUTE ON FUNCTION arayis_chain_digest(text, text) FROM PUBLIC;
"""


def _relink_documents(document: tuple[str, ...]) -> None:
    """One new link per document, with its digest in the given form."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(_digest_function(document))
        op.execute(
            "INSERT INTO chain_pending (tbl, rid) SELECT 'document', id::text FROM document "
            "ORDER BY id"
        )
        op.execute("SELECT arayis_chain_seal_now()")
        # Fire the deferred sealing trigger's queued events now (they find the notes
        # sealed): a downgrade further down drops chain_pending in this transaction.
        op.execute("SET CONSTRAINTS arayis_chain_seal IMMEDIATE")
        op.execute("SET CONSTRAINTS arayis_chain_seal DEFERRED")
        return
    top = bind.exec_driver_sql(
        "SELECT position, hash FROM chain_link ORDER BY position DESC LIMIT 1"
    ).first()
    position, prev = (int(top[0]), str(top[1])) if top else (0, GENESIS)
    links = []
    for rid, material in bind.exec_driver_sql(_sqlite_material(document)):
        digest = hashlib.sha256(str(material).encode("utf-8", "surrogatepass")).hexdigest()
        position += 1
        prev = hashlib.sha256(f"{prev}\ndocument\n{rid}\n{digest}".encode()).hexdigest()
        links.append(
            {
                "position": position,
                "tbl": "document",
                "rid": str(rid),
                "digest": digest,
                "hash": prev,
            }
        )
    if links:
        op.bulk_insert(sa.table("chain_link", *(sa.column(c) for c in links[0])), links)


def upgrade() -> None:
    op.add_column("document", sa.Column("detached_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("document", sa.Column("detached_by", sa.String(length=100), nullable=True))
    op.add_column("document", sa.Column("detach_reason", sa.String(length=500), nullable=True))
    _relink_documents(DOCUMENT_COLUMNS)


def downgrade() -> None:
    for column in reversed(NEW_COLUMNS):
        # SQLite 3.35+ drops a plain column in place (no copy of the table).
        op.execute(f'ALTER TABLE document DROP COLUMN "{column}"')
    _relink_documents(OLD_DOCUMENT)
