"""The tester's 43 hand edits, and a detach and a relabel made by hand: `db check` reports
each one (exit 6, one line per finding), on SQLite and, where the edit applies, on
PostgreSQL; a recomputed chain is caught against a kept signed head.

The store is built once per backend through the CLI and copied for each edit. On
PostgreSQL the edits run as the superuser with ``session_replication_role = replica``, so
that no trigger (append-only, chain notes, foreign keys) stands in their way: the edit
reaches the rows exactly as it would for someone who bypassed every rule.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.helpers import CODE, CODE_CREDIT, CODE_DEBT, CREDIT_FIN, DEBT_FIN, Cli, app_in, new_app
from tests.helpers.database import edit_behind

# What the store holds: numbers of its certificates and ids of its applications.
_BUILT: dict[str, tuple[str, dict[str, str]]] = {}


def _build(cli: Cli) -> dict[str, str]:
    a = app_in(cli, "completed")
    cert_a = cli.json("print", a)["certificate_number"]
    cli("verify", cert_a, "--abonent", CODE)
    b = app_in(cli, "completed", code=CODE_CREDIT, fin=CREDIT_FIN)
    cert_b = cli.json("print", b)["certificate_number"]
    cli("revoke", cert_b, "--reason", "Səhv")
    c = new_app(cli, code=CODE_DEBT, fin=DEBT_FIN)
    cli("reject", c, "--reason", "Borc var")
    cli("show", a, "--show-pii")
    cli("policy", "set", "four-eyes", "off")
    report = cli.json("db", "check")
    assert report["ok"], report
    return {"a": a, "b": b, "c": c, "cert_a": cert_a, "cert_b": cert_b}


@pytest.fixture
def store(loaded: Cli, tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, dict[str, str]]:
    """``cli`` on a copy of the built store."""
    cli = loaded
    from arayis_cli import db

    backend = "postgres" if cli.url.startswith("postgresql") else "sqlite"
    if backend not in _BUILT:
        built = _build(cli)
        db.dispose_all()
        if backend == "sqlite":
            keep = tmp_path_factory.mktemp("tamper") / "built.db"
            shutil.copy(cli.url.removeprefix("sqlite:///"), keep)
            _BUILT[backend] = (str(keep), built)
        else:
            name = f"arayis_tamper_{uuid.uuid4().hex[:8]}"
            _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{_pg_name(cli.url)}"')
            _BUILT[backend] = (name, built)
        return cli, built
    source, built = _BUILT[backend]
    db.dispose_all()
    if backend == "sqlite":
        shutil.copy(source, cli.url.removeprefix("sqlite:///"))
    else:
        name = _pg_name(cli.url)
        _pg_admin(f'DROP DATABASE "{name}" WITH (FORCE)')
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    return cli, built


def _pg_name(url: str) -> str:
    from sqlalchemy.engine import make_url

    return str(make_url(url).database)


def _pg_admin(sql: str) -> None:
    import psycopg

    from tests.helpers.database import admin_url as _admin_url

    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(sql)


def edit(cli: Cli, *statements: str) -> None:
    """Statements run behind the tool's back, past every trigger and foreign key."""
    edit_behind(cli.url, *statements)


@dataclass(frozen=True)
class Edit:
    name: str
    sql: tuple[str, ...]
    says: tuple[str, ...]  # every word appears in one finding
    sqlite_only: bool = False


def E(name: str, sql: str | tuple[str, ...], *says: str, sqlite_only: bool = False) -> Any:
    statements = (sql,) if isinstance(sql, str) else sql
    return pytest.param(Edit(name, statements, says, sqlite_only), id=name)


A = "(SELECT id FROM certificate WHERE revoked_at IS NULL)"
CERT_A = f"id = {A}"
CERT_B = "revoked_at IS NOT NULL"
HASH = "'" + "ab" * 32 + "'"
WHEN = "'2026-11-20 06:00:00+00:00'"

EDITS = [
    # The register.
    E(
        "revoked-made-valid",
        f"UPDATE certificate SET revoked_at = NULL, revoked_by = NULL, revoked_reason = NULL "
        f"WHERE {CERT_B}",
        "certificate record",
        "changed",
    ),
    E(
        "silent-revoke",
        f"UPDATE certificate SET revoked_at = {WHEN}, revoked_by = 'x', revoked_reason = 'x' "
        f"WHERE {CERT_A}",
        "certificate record",
        "changed",
    ),
    E(
        "certificate-row-deleted",
        (
            f"DELETE FROM certificate_verification WHERE certificate_id = {A}",
            f"DELETE FROM certificate WHERE {CERT_A}",
        ),
        "certificate record",
        "deleted",
    ),
    E("token-null", f"UPDATE certificate SET token = NULL WHERE {CERT_A}", "token is gone"),
    E("key-null", f"UPDATE certificate SET key_id = NULL WHERE {CERT_A}", "certificate record"),
    E("hash-replaced", f"UPDATE certificate SET pdf_sha256 = {HASH}", "certificate record"),
    E("size-replaced", "UPDATE certificate SET pdf_size = pdf_size + 1", "certificate record"),
    E("hash-not-a-hash", "UPDATE certificate SET pdf_sha256 = 'not-a-hash'", "SHA-256"),
    E("size-zero", "UPDATE certificate SET pdf_size = 0", "impossible"),
    E(
        "counter-wound-back",
        "UPDATE counter SET value = 0 WHERE name LIKE 'certificate-%'",
        "behind",
    ),
    E("with-a-debt", "UPDATE certificate SET balance_qepik = 100", "with a debt"),
    E("valid-until", "UPDATE certificate SET valid_until = '2027-12-31'", "valid_until"),
    E("issued-at", f"UPDATE certificate SET issued_at = {WHEN}", "issued_at"),
    E("key-id-other", "UPDATE certificate SET key_id = '0000000000000000'", "key"),
    E(
        "token-edited",
        "UPDATE certificate SET token = replace(token, '.20261225.', '.20271225.')",
        "signature",
    ),
    E(
        "token-of-another",
        f"UPDATE certificate SET token = (SELECT token FROM certificate WHERE {CERT_B}) "
        f"WHERE {CERT_A}",
        "does not match",
    ),
    E(
        "moved-to-another-application",
        f"UPDATE certificate SET application_id = (SELECT max(id) FROM application) WHERE {CERT_A}",
        "certificate record",
    ),
    E(
        "signing-key-replaced",
        "UPDATE signing_key SET public_key = '-----BEGIN PUBLIC KEY-----\n"
        "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
        "-----END PUBLIC KEY-----\n'",
        "key",
    ),
    E(
        "forged-verification",
        f"INSERT INTO certificate_verification (id, certificate_id, at, verdict, channel, "
        f"evidence) VALUES (99, {A}, {WHEN}, 'valid', 'web', 'number')",
        "verification record 99",
        "added",
    ),
    # Money.
    E(
        "ledger-amount",
        "UPDATE ledger_entry SET amount_qepik = amount_qepik + 500 WHERE id = 1",
        "ledger entry 1",
        "changed",
    ),
    E(
        "charge-deleted",
        "DELETE FROM ledger_entry WHERE id = (SELECT min(id) FROM ledger_entry "
        "WHERE amount_qepik > 0)",
        "ledger entry",
        "deleted",
    ),
    E("tally-drift", "UPDATE tally SET n = n + 1 WHERE key = 'status:completed'", "stats tally"),
    # History, audit, feed.
    E("history-actor", "UPDATE event SET actor = 'someone', operator_name = 'someone'", "history"),
    E("revoke-event-deleted", "DELETE FROM event WHERE action = 'revoke'", "history", "deleted"),
    E(
        "history-forged",
        "INSERT INTO event (id, application_id, at, actor, operator_name, action, from_status,"
        f" to_status, detail) VALUES (9999, 1, {WHEN}, 'x', 'x', 'note', NULL, NULL, NULL)",
        "history entry 9999",
        "added",
    ),
    E(
        "status-out-of-step",
        "UPDATE application SET status = 'in_progress' WHERE id = 1",
        "history ends at completed",
    ),
    E("audit-deleted", "DELETE FROM audit_log", "audit entry", "deleted"),
    E("feed-deleted", "DELETE FROM status_change", "feed entry", "deleted"),
    E("policy-changed", "UPDATE policy SET value = 'on'", "policy setting", "changed"),
    # Applications, documents, emails, abonents.
    E("application-fin", "UPDATE application SET fin = 'AAAAAAA' WHERE id = 1", "application 1"),
    E(
        "application-email",
        "UPDATE application SET email = 'x@evil.example' WHERE id = 1",
        "application 1",
    ),
    E("decision-time", f"UPDATE application SET decided_at = {WHEN} WHERE id = 1", "application 1"),
    E("document-deleted", "DELETE FROM document WHERE id = 1", "document 1", "deleted"),
    E("document-bytes", "UPDATE document_blob SET size = size + 1", "SHA-256"),
    E(
        "silent-detach",
        f"UPDATE document SET detached_at = {WHEN}, detached_by = 'x', detach_reason = 'x' "
        "WHERE id = 1",
        "document 1",
        "changed",
    ),
    E("silent-relabel", "UPDATE document SET kind = 'other' WHERE id = 1", "document 1", "changed"),
    E(
        "email-recipient",
        "UPDATE outbox_message SET to_addr = 'x@evil.example' WHERE id = 1",
        "email 1",
        "changed",
    ),
    E(
        "email-body",
        "UPDATE outbox_message SET body = 'Click here' WHERE id = 1",
        "email 1",
        "changed",
    ),
    E(
        "email-marked-sent",
        f"UPDATE outbox_message SET status = 'sent', sent_at = {WHEN} WHERE id = 1",
        "email 1",
        "changed",
    ),
    E(
        "decision-email-deleted",
        "DELETE FROM outbox_message WHERE kind = 'rejected'",
        "no decision email",
    ),
    E("abonent-group", "UPDATE abonent SET \"group\" = 'II' WHERE code = '0011276516'", "abonent"),
    E(
        "abonent-fin",
        "UPDATE abonent SET owner_fin = 'AAAAAAA' WHERE code = '0011276516'",
        "abonent",
    ),
    # Values of the wrong type (SQLite keeps whatever it is given).
    E(
        "amount-not-a-number",
        "UPDATE ledger_entry SET amount_qepik = 'abc' WHERE id = 1",
        "ledger_entry.amount_qepik",
        "wrong type",
        sqlite_only=True,
    ),
    E(
        "date-not-a-date",
        "UPDATE certificate SET issued_at = 'yesterday', pdf_size = 'big'",
        "wrong type",
        sqlite_only=True,
    ),
    E(
        "decided-at-a-number",
        "UPDATE application SET decided_at = 12345 WHERE id = 1",
        "application.decided_at",
        sqlite_only=True,
    ),
]


# Beyond the tester's list: rows added or removed wholesale.
EXTRA = [
    E(
        "payment-forged",
        "INSERT INTO ledger_entry (id, abonent_code, entry_date, kind, amount_qepik, "
        "reference, created_at) VALUES (9999, '0003383936', '2026-11-01', 'payment', -2380, "
        f"'FORGED-1', {WHEN})",
        "ledger entry 9999",
        "added",
    ),
    E(
        "verification-deleted",
        "DELETE FROM certificate_verification",
        "verification record",
        "deleted",
    ),
    E(
        "audit-forged",
        "INSERT INTO audit_log (id, at, actor, kind, command) "
        f"VALUES (9999, {WHEN}, 'x', 'pii_read', 'show')",
        "audit entry 9999",
        "added",
    ),
]


@pytest.mark.parametrize("damage", EDITS + EXTRA)
def test_db_check_reports_every_hand_edit(store: tuple[Cli, dict[str, str]], damage: Edit) -> None:
    cli, _built = store
    if damage.sqlite_only and not cli.url.startswith("sqlite"):
        pytest.skip("PostgreSQL refuses a value of the wrong type itself")
    edit(cli, *damage.sql)
    report = cli.json("db", "check", code=6)
    problems = report["problems"]
    assert report["ok"] is False
    assert all("\n" not in line for line in problems)
    assert any(all(word in line for word in damage.says) for line in problems), problems
    people = cli("db", "check", code=6)  # never a traceback, never exit 1
    assert "problem(s)" in people.stdout


def test_there_are_45_edits() -> None:
    assert len(EDITS) == 45 == len({p.id for p in EDITS})


def test_verify_no_longer_says_valid_after_a_revocation_is_undone(
    store: tuple[Cli, dict[str, str]],
) -> None:
    cli, built = store
    assert (
        cli.json("verify", built["cert_b"], "--abonent", CODE_CREDIT, code=6)["reason"] == "revoked"
    )
    edit(
        cli,
        "UPDATE certificate SET revoked_at = NULL, revoked_by = NULL, revoked_reason = NULL",
    )
    verdict = cli.json("verify", built["cert_b"], "--abonent", CODE_CREDIT, code=6)
    assert verdict["valid"] is False and verdict["reason"] == "register altered"
    assert (
        cli.json("verify", built["cert_a"], "--abonent", CODE)["valid"] is True
    )  # untouched: still valid


def test_a_silent_revoke_leaves_verify_refusing(store: tuple[Cli, dict[str, str]]) -> None:
    cli, built = store
    assert cli.json("verify", built["cert_a"], "--abonent", CODE)["valid"] is True
    edit(cli, f"UPDATE certificate SET revoked_at = {WHEN} WHERE {CERT_A}")
    assert (
        cli.json("verify", built["cert_a"], "--abonent", CODE, code=6)["reason"]
        == "register altered"
    )


# --- The signed head ------------------------------------------------------------------


def _recompute_chain(cli: Cli) -> None:
    """What a careful forger does after editing rows: every link recomputed in place (same
    positions, same rows), each row's last link given the row's digest as it is now, so
    that the chain agrees with itself and with the rows."""
    from arayis_cli.services.chain import CHAINED, GENESIS, GONE, link_hash, rows_with_digests

    engine = create_engine(cli.url)
    try:
        with engine.begin() as conn:
            dialect = engine.dialect.name
            if dialect == "postgresql":
                conn.exec_driver_sql("SET session_replication_role = replica")
            now = {
                (table, rid): digest
                for table in CHAINED
                for rid, digest in rows_with_digests(conn, table, dialect)
            }
            links = conn.execute(
                text("SELECT position, tbl, rid, digest FROM chain_link ORDER BY position")
            ).all()
            last = {(t, r): p for p, t, r, _d in links}
            prev = GENESIS
            for position, table, rid, digest in links:
                if last[(table, rid)] == position:
                    digest = now.get((table, rid), GONE)
                prev = link_hash(prev, table, rid, digest)
                conn.execute(
                    text("UPDATE chain_link SET digest = :d, hash = :h WHERE position = :p"),
                    {"p": position, "d": digest, "h": prev},
                )
    finally:
        engine.dispose()


def test_register_head_is_signed_and_kept(
    store: tuple[Cli, dict[str, str]], tmp_path: Path
) -> None:
    cli, _built = store
    head = cli.json("register", "head")
    assert set(head) == {"position", "hash", "at", "key_id", "signature"}
    assert head["position"] > 0 and len(head["hash"]) == 64
    assert "Chain head: position" in cli("register", "head").stdout
    kept = tmp_path / "head.json"
    kept.write_text(json.dumps(head), encoding="utf-8")
    assert cli.json("db", "check", "--head", kept)["ok"] is True
    # The tool goes on writing: the kept head is still a prefix of the chain.
    cli("policy", "set", "four-eyes", "on")
    assert cli.json("db", "check", "--head", kept)["ok"] is True


def test_recomputed_chain_is_caught_against_a_kept_head(
    store: tuple[Cli, dict[str, str]], tmp_path: Path
) -> None:
    cli, _built = store
    kept = tmp_path / "head.json"
    kept.write_text(json.dumps(cli.json("register", "head")), encoding="utf-8")
    edit(cli, "UPDATE ledger_entry SET amount_qepik = 0 WHERE id = 1")
    _recompute_chain(cli)
    # Without the kept head the forgery passes: the chain agrees with itself and the rows.
    assert cli.json("db", "check")["ok"] is True
    problems = cli.json("db", "check", "--head", kept, code=6)["problems"]
    assert any("rewritten" in line for line in problems), problems


def test_forged_or_foreign_heads(store: tuple[Cli, dict[str, str]], tmp_path: Path) -> None:
    cli, _built = store
    head = cli.json("register", "head")
    forged = dict(head, hash="0" * 64)
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(forged), encoding="utf-8")
    problems = cli.json("db", "check", "--head", path, code=6)["problems"]
    assert any("not signed" in line for line in problems), problems
    ahead = tmp_path / "ahead.json"
    ahead.write_text(json.dumps(dict(head, position=head["position"] + 5)), encoding="utf-8")
    problems = cli.json("db", "check", "--head", ahead, code=6)["problems"]
    assert any("removed" in line for line in problems), problems


@pytest.mark.parametrize("content", ["", "{}", "[1]", '{"position": "x"}', "not json"])
def test_a_bad_head_file_is_one_line_exit_2(cli: Cli, tmp_path: Path, content: str) -> None:
    path = tmp_path / "head.json"
    path.write_text(content, encoding="utf-8")
    result = cli("db", "check", "--head", path, code=2)
    assert len(result.stderr.strip().splitlines()) == 1
    cli("db", "check", "--head", tmp_path / "missing.json", code=2)


def test_a_rolled_back_write_leaves_no_link(loaded: Cli) -> None:
    """A refused command writes no row and no link: the chain stays in step."""
    before = loaded.json("register", "head")["position"]
    loaded("review", "999", code=4)
    assert loaded.json("register", "head")["position"] == before
    assert loaded.json("db", "check")["ok"] is True


def test_a_head_kept_before_the_first_link(cli: Cli, tmp_path: Path) -> None:
    head = cli.json("register", "head")
    assert head["position"] == 0
    kept = tmp_path / "head.json"
    kept.write_text(json.dumps(head), encoding="utf-8")
    assert cli.json("db", "check", "--head", kept)["ok"] is True
