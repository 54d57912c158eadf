"""The hash chain (zəncir): every write to a kept record leaves a link, so that a change
made behind the tool's back leaves the record disagreeing with the chain.

Each link names a row (table and key) and holds the SHA-256 of the row's protected
fields as they were when the transaction that wrote the row committed ("-" once the
tool deleted it). ``hash = SHA-256(previous hash, table, key, digest)``, so a link
cannot be changed, removed or inserted without recomputing every link after it; the
head (last position and hash) is signed with the signing key by ``arayis register
head`` for the office to keep elsewhere, the way certificate-transparency logs publish
signed tree heads, and ``db check --head FILE`` proves the chain still holds that head.

Append-only records (history, ledger, PII audit, verification log, feed) get one link
per row; mutable records (applications, certificates and their revocation, documents,
emails, abonents, policy) get a link at every change, and ``db check`` compares each
row with its last link.

Who writes the links:

* PostgreSQL: the database. Row triggers note each changed row in ``chain_pending``,
  and a deferred constraint trigger seals them at COMMIT (a SECURITY DEFINER function
  with a fixed search_path computes the digests server-side, under a transaction
  advisory lock held only until the commit). A client role needs no grant on
  ``chain_link`` or ``chain_pending`` at all.
* SQLite: the application, in the same transaction. Each connection of the tool
  installs TEMP triggers (only its own writes are noted: an edit made with the
  ``sqlite3`` shell leaves no note and so no link), and the engine's ``commit`` event
  seals the noted rows just before COMMIT. Writers are serialised by ``BEGIN
  IMMEDIATE``, so the chain cannot fork.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from typing import Any

GENESIS = "0" * 64
GONE = "-"
#: PostgreSQL: the transaction advisory lock the chain is sealed under at COMMIT (migration
#: 0014 holds the same number). Whoever also takes the feed counter at commit takes this
#: lock first, so that no two transactions take the two in opposite orders (a deadlock).
SEAL_LOCK = 4242000021

# table → (key column, protected columns). Copied (frozen) by migration 0014: a change
# here needs a migration that re-creates the database functions and re-chains.
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


def digest_of(material: Any) -> str:
    """SQLite's digest material → hex SHA-256 (a NULL material: the row is gone)."""
    if material is None:
        return GONE
    if isinstance(material, bytes):
        return hashlib.sha256(material).hexdigest()
    return hashlib.sha256(str(material).encode("utf-8", "surrogatepass")).hexdigest()


def link_hash(prev: str, table: str, key: str, digest: str) -> str:
    return hashlib.sha256(f"{prev}\n{table}\n{key}\n{digest}".encode()).hexdigest()


# --- SQLite: the application writes the chain -------------------------------------------

_PENDING = "arayis_chain_pending"
_INSTALLED = "arayis_chain_triggers"


def install_sqlite_triggers(dbapi_conn: Any, info: dict[str, Any]) -> None:
    """TEMP triggers on this connection only, once (outside any transaction, so that a
    rollback cannot take them away). Nothing before the chain's migration has run."""
    if info.get(_INSTALLED):
        return
    cur = dbapi_conn.cursor()
    try:
        found = cur.execute(
            "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = 'chain_link'"
        ).fetchone()
        if not found:
            return
        script = [
            f"CREATE TEMP TABLE IF NOT EXISTS {_PENDING} "
            "(seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, rid TEXT NOT NULL)"
        ]
        for table, (key, _cols) in CHAINED.items():
            for op, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
                script.append(
                    f"CREATE TEMP TRIGGER IF NOT EXISTS arayis_chain_{table}_{op.lower()} "
                    f"AFTER {op} ON main.{_q(table)} BEGIN "
                    f"INSERT INTO {_PENDING} (tbl, rid) "
                    f"VALUES ('{table}', CAST({row}.{_q(key)} AS TEXT)); END"
                )
        for statement in script:
            cur.execute(statement)
        info[_INSTALLED] = True
    finally:
        cur.close()


def seal_sqlite(dbapi_conn: Any, info: dict[str, Any]) -> int:
    """Link this transaction's noted rows onto the chain; called just before COMMIT.

    Once per transaction, however many rows it wrote (a bulk import seals a chunk of
    thousands at once): one read of the notes, one read of the rows' material per table
    (the ``IN`` list of noted keys, in bounded pieces), one multi-row insert of links.
    """
    if not info.get(_INSTALLED):
        return 0
    cur = dbapi_conn.cursor()
    try:
        # In the order first noted; a row written twice gets one link (its final state).
        noted = list(
            dict.fromkeys(cur.execute(f"SELECT tbl, rid FROM temp.{_PENDING} ORDER BY seq"))
        )
        if not noted:
            return 0
        keys_by_table: dict[str, list[str]] = {}
        for table, rid in noted:
            keys_by_table.setdefault(table, []).append(rid)
        digests: dict[tuple[str, str], str] = {}
        sha256 = hashlib.sha256
        for table, rids in keys_by_table.items():
            key = CHAINED[table][0]
            sql = canonical_sql(table, "sqlite")
            for chunk in _chunks(rids, _IN_LIST):
                marks = ",".join("?" * len(chunk))
                for rid, material in cur.execute(f"{sql} WHERE {_q(key)} IN ({marks})", chunk):
                    digests[(table, rid)] = (
                        sha256(material.encode("utf-8", "surrogatepass")).hexdigest()
                        if type(material) is str
                        else digest_of(material)
                    )
        try:
            top = cur.execute(
                "SELECT position, hash FROM main.chain_link ORDER BY position DESC LIMIT 1"
            ).fetchone()
        except sqlite3.OperationalError:  # the schema was taken below the chain's revision
            _uninstall(cur, info)
            return 0
        position, prev = (int(top[0]), str(top[1])) if top else (0, GENESIS)
        links = []
        for table, rid in noted:
            digest = digests.get((table, rid), GONE)
            position += 1
            # link_hash, inlined: this loop runs once per row written
            prev = sha256(f"{prev}\n{table}\n{rid}\n{digest}".encode()).hexdigest()
            links.append((position, table, rid, digest, prev))
        # Multi-row VALUES pages: executemany would run one statement per link.
        for page in _chunks(links, _LINKS_PER_INSERT):
            cur.execute(
                "INSERT INTO main.chain_link (position, tbl, rid, digest, hash) VALUES "
                + ",".join(["(?,?,?,?,?)"] * len(page)),
                [value for link in page for value in link],
            )
        cur.execute(f"DELETE FROM temp.{_PENDING}")
        return len(links)
    finally:
        cur.close()


#: Keys per ``IN (…)`` list, and links per INSERT, when sealing (SQLite allows 32,766
#: parameters per statement since 3.32, 999 before).
_IN_LIST = 900
_LINKS_PER_INSERT = 180


def _uninstall(cur: Any, info: dict[str, Any]) -> None:
    for table in CHAINED:
        for op in ("insert", "update", "delete"):
            cur.execute(f"DROP TRIGGER IF EXISTS temp.arayis_chain_{table}_{op}")
    cur.execute(f"DROP TABLE IF EXISTS temp.{_PENDING}")
    info.pop(_INSTALLED, None)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rows_with_digests(
    conn: Any, table: str, dialect: str, *, order_by: str | None = None
) -> Iterator[tuple[str, str]]:
    """(key, digest) of every row of ``table`` as it is now."""
    from sqlalchemy import text

    sql = canonical_sql(table, dialect) + (f" ORDER BY {order_by}" if order_by else "")
    for rid, material in conn.execute(text(sql)):
        yield str(rid), (material if dialect != "sqlite" else digest_of(material))


def row_agrees(session: Any, table: str, key: str) -> bool:
    """Whether one row is as its last chain link says (``verify`` asks it of the
    certificate it is about to call valid; one indexed look-up and one digest)."""
    from sqlalchemy import text

    conn = session.connection()
    dialect = conn.dialect.name
    column = _q(CHAINED[table][0])
    sql = canonical_sql(table, dialect)
    found = conn.execute(text(f"{sql} WHERE {column} = :key"), {"key": _typed(table, key)}).first()
    last = conn.execute(
        text(
            "SELECT digest FROM chain_link WHERE tbl = :tbl AND rid = :rid "
            "ORDER BY position DESC LIMIT 1"
        ),
        {"tbl": table, "rid": key},
    ).scalar()
    if found is None or last is None:
        return False
    digest = found[1] if dialect != "sqlite" else digest_of(found[1])
    return bool(digest == last)


def _typed(table: str, key: str) -> Any:
    return key if CHAINED[table][0] in {"code", "key"} else int(key)
