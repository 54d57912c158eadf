"""db check: a whole store passes; each kind of damage is found and reported."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tests.cli.test_workflow import _to
from tests.conftest import Cli


def _damage(cli: Cli, sql: str) -> None:
    engine = create_engine(cli.url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
        conn.execute(text(sql))
    engine.dispose()


def test_whole_store_passes(loaded: Cli) -> None:
    a = _to(loaded, "completed")
    loaded("print", a)
    report = loaded.json("db", "check")
    assert report["ok"] is True and report["problems"] == []
    assert report["checked"]["applications"] == 1 and report["checked"]["certificates"] == 1
    assert "whole" in loaded("db", "check").stdout


def test_changed_document_bytes(loaded: Cli) -> None:
    _to(loaded, "new")
    _damage(loaded, "UPDATE document_blob SET size = size + 1")
    report = loaded.json("db", "check", code=6)
    assert any("SHA-256" in p for p in report["problems"])


def test_history_out_of_step(loaded: Cli) -> None:
    a = _to(loaded, "in_progress")
    _damage(loaded, f"UPDATE application SET status = 'completed' WHERE id = {a}")
    report = loaded.json("db", "check", code=6)
    assert any("history ends at in_progress" in p for p in report["problems"])


def test_missing_and_duplicate_emails(loaded: Cli) -> None:
    a = _to(loaded, "rejected")
    _damage(loaded, f"DELETE FROM outbox_message WHERE application_id = {a} AND kind = 'rejected'")
    report = loaded.json("db", "check", code=6)
    assert any("no decision email" in p for p in report["problems"])


def test_certificate_with_debt(loaded: Cli) -> None:
    a = _to(loaded, "completed")
    loaded("print", a)
    _damage(loaded, "UPDATE certificate SET balance_qepik = 100")
    report = loaded.json("db", "check", code=6)
    assert any("with a debt" in p for p in report["problems"])


def test_stats_tally_drift(loaded: Cli) -> None:
    _to(loaded, "completed")
    _damage(loaded, "UPDATE tally SET n = n + 1 WHERE key = 'status:completed'")
    report = loaded.json("db", "check", code=6)
    assert any("stats tally status:completed" in p for p in report["problems"])
