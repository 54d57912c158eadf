"""demo: the whole story, on the default demo database and on a given one (repeatable)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from arayis_cli.cli.app import app
from tests.conftest import Cli


def test_demo_default_database(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("ARAYIS_DATABASE_URL")
    monkeypatch.delenv("ARAYIS_NOW")
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.stdout + result.stderr
    assert (tmp_path / "home" / "demo.db").is_file()
    pdfs = sorted(p.name for p in tmp_path.glob("AR-*.pdf"))
    assert len(pdfs) == 2
    out = " ".join(result.stdout.split())
    assert "Ləğv olunmuş" in out and "xəbərdarlıq" in out and "23,80 AZN" in out
    # Run again: a fresh demo database each time.
    again = CliRunner().invoke(app, ["demo"])
    assert again.exit_code == 0, again.stdout + again.stderr


def test_demo_on_a_given_database_twice(cli: Cli, tmp_path: Path) -> None:
    first = cli("demo")
    assert "xəbərdarlıq" in first.stdout
    second = cli("demo")
    assert "xəbərdarlıq" in second.stdout  # another abonent who owes is picked
    stats = cli.json("stats")
    assert stats["by_status"]["rejected"] == 2 and stats["by_status"]["completed"] == 4
    assert len(list(tmp_path.glob("AR-*.pdf"))) == 4
