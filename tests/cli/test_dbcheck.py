"""db check: a whole store passes; each kind of damage is found and reported."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.helpers import CODE_CREDIT, CREDIT_FIN, Cli, app_in


def _damage(cli: Cli, sql: str) -> None:
    engine = create_engine(cli.url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
        else:  # a superuser's edit behind the tool's back: the database's triggers stay off
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.execute(text(sql))
    engine.dispose()


def test_whole_store_passes(loaded: Cli) -> None:
    a = app_in(loaded, "completed")
    loaded("print", a)
    report = loaded.json("db", "check")
    assert report["ok"] is True and report["problems"] == []
    assert report["checked"]["applications"] == 1 and report["checked"]["certificates"] == 1
    assert "whole" in loaded("db", "check").stdout


def test_changed_document_bytes(loaded: Cli) -> None:
    app_in(loaded, "new")
    _damage(loaded, "UPDATE document_blob SET size = size + 1")
    report = loaded.json("db", "check", code=6)
    assert any("SHA-256" in p for p in report["problems"])


def test_history_out_of_step(loaded: Cli) -> None:
    a = app_in(loaded, "in_progress")
    _damage(loaded, f"UPDATE application SET status = 'completed' WHERE id = {a}")
    report = loaded.json("db", "check", code=6)
    assert any("history ends at in_progress" in p for p in report["problems"])


def test_missing_and_duplicate_emails(loaded: Cli) -> None:
    a = app_in(loaded, "rejected")
    _damage(loaded, f"DELETE FROM outbox_message WHERE application_id = {a} AND kind = 'rejected'")
    report = loaded.json("db", "check", code=6)
    assert any("no decision email" in p for p in report["problems"])


def test_certificate_with_debt(loaded: Cli) -> None:
    a = app_in(loaded, "completed")
    loaded("print", a)
    _damage(loaded, "UPDATE certificate SET balance_qepik = 100")
    report = loaded.json("db", "check", code=6)
    assert any("with a debt" in p for p in report["problems"])


def test_stats_tally_drift(loaded: Cli) -> None:
    app_in(loaded, "completed")
    _damage(loaded, "UPDATE tally SET n = n + 1 WHERE key = 'status:completed'")
    report = loaded.json("db", "check", code=6)
    assert any("stats tally status:completed" in p for p in report["problems"])


# --- Tampering with the register: the token is checked against its signature and the row.


def _printed(cli: Cli) -> tuple[str, str]:
    a = app_in(cli, "completed")
    number = cli.json("print", a)["certificate_number"]
    assert cli.json("db", "check")["ok"]
    return a, number


def _problems_about(cli: Cli, number: str) -> list[str]:
    report = cli.json("db", "check", code=6)
    assert report["ok"] is False
    mine = [p for p in report["problems"] if number in p]
    assert mine, report["problems"]
    people = cli("db", "check", code=6)
    assert number in people.stdout + people.stderr
    return mine


@pytest.mark.parametrize(
    ("column", "value", "says"),
    [
        ("valid_until", "'2027-12-31'", "valid_until"),
        ("issued_at", "'2026-11-20 06:00:00+00:00'", "issued_at"),
        ("key_id", "'0000000000000000'", "key"),
    ],
)
def test_certificate_row_no_longer_matches_its_token(
    loaded: Cli, column: str, value: str, says: str
) -> None:
    _, number = _printed(loaded)
    _damage(loaded, f"UPDATE certificate SET {column} = {value}")
    assert any(says in p for p in _problems_about(loaded, number))


def test_certificate_token_edited(loaded: Cli) -> None:
    """The token's valid-until date pushed a year on: its signature no longer verifies."""
    _, number = _printed(loaded)
    _damage(loaded, "UPDATE certificate SET token = replace(token, '.20261225.', '.20271225.')")
    assert any("signature" in p for p in _problems_about(loaded, number))


def test_certificate_token_from_another_certificate(loaded: Cli) -> None:
    """A genuine token, but another certificate's: signature fine, fields disagree."""
    _, first = _printed(loaded)
    b = app_in(loaded, "completed", code=CODE_CREDIT, fin=CREDIT_FIN)
    second = loaded.json("print", b)["certificate_number"]
    _damage(
        loaded,
        f"UPDATE certificate SET token = (SELECT token FROM certificate WHERE number = '{first}')"
        f" WHERE number = '{second}'",
    )
    problems = _problems_about(loaded, second)
    assert any("number" in p for p in problems) and any("abonent" in p for p in problems)


def test_certificate_moved_to_another_abonents_application(loaded: Cli) -> None:
    _, number = _printed(loaded)
    other = app_in(loaded, "completed", code=CODE_CREDIT, fin=CREDIT_FIN)
    _damage(loaded, f"UPDATE certificate SET application_id = {other}")
    assert any("abonent" in p for p in _problems_about(loaded, number))


def test_signing_key_replaced(loaded: Cli) -> None:
    """Someone swaps the registered public key for their own: every token fails."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from arayis_cli.certificate.signing import public_pem

    _, number = _printed(loaded)
    pem = public_pem(Ed25519PrivateKey.generate().public_key())
    _damage(loaded, f"UPDATE signing_key SET public_key = '{pem}'")
    assert any("signature" in p or "key" in p for p in _problems_about(loaded, number))


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        ("UPDATE certificate SET pdf_sha256 = 'not-a-hash'", "SHA-256"),
        ("UPDATE certificate SET pdf_size = 0", "size"),
    ],
)
def test_certificate_hash_or_size_defaced(loaded: Cli, sql: str, says: str) -> None:
    _, number = _printed(loaded)
    _damage(loaded, sql)
    assert any(says in p for p in _problems_about(loaded, number))


def test_document_size_disagrees_with_its_bytes(loaded: Cli) -> None:
    a = app_in(loaded, "new")
    doc = loaded.json("show", a)["documents"][0]
    _damage(loaded, f"UPDATE document SET size = size + 1 WHERE sha256 = '{doc['sha256']}'")
    report = loaded.json("db", "check", code=6)
    assert [p for p in report["problems"] if f"application {a}: document" in p and "size" in p]


def test_two_current_certificates_are_reported(loaded: Cli) -> None:
    """An insider who drops the index and issues twice is seen by db check."""
    app_id = app_in(loaded, "completed")
    first = loaded.json("print", app_id)
    loaded.json("print", app_id, "--renew", "--reason", "lost")
    assert loaded.json("db", "check")["ok"] is True
    engine = create_engine(loaded.url)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX uq_certificate_current"))
        conn.execute(
            text(
                "UPDATE certificate SET superseded_at = NULL, superseded_by = NULL "
                "WHERE number = :n"
            ),
            {"n": first["certificate_number"]},
        )
        conn.execute(text("UPDATE certificate_pdf SET content = :c"), {"c": b"%PDF-forged"})
    engine.dispose()
    report = loaded.json("db", "check", code=6)
    assert f"application {app_id} has 2 current certificates (at most one)" in report["problems"]
    assert any("registered copy of its PDF was altered" in p for p in report["problems"])


def test_db_check_names_what_it_counted_in_words(loaded: Cli) -> None:
    """People read what was counted in their language; the JSON keeps the keys."""
    app_in(loaded, "completed")
    assert {"chain", "counters"} <= set(loaded.json("db", "check")["checked"])
    for lang, words in (("az", ("zəncir halqası", "arayış sayğacı")), ("en", ("chain links",))):
        out = " ".join(loaded("--lang", lang, "db", "check").stdout.split())
        assert all(word in out for word in words), out
        assert " chain," not in out and "counters)" not in out.replace("certificate counters", "")
