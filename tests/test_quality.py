"""Lint, format, migrations in step with the models, and a lean start-up."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.helpers import REPO


def _ruff() -> list[str]:
    return [sys.executable, "-m", "ruff"]  # the test extra installs ruff beside pytest


def test_ruff_check_and_format() -> None:
    check = subprocess.run([*_ruff(), "check", "."], cwd=REPO, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run(
        [*_ruff(), "format", "--check", "."], cwd=REPO, capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_migrations_match_models(db_url: str) -> None:
    """Autogenerate against a migrated database finds nothing: no schema change without a
    migration, and HEAD names the newest revision."""
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlmodel import SQLModel

    import arayis_cli.models  # noqa: F401
    from arayis_cli import db
    from arayis_cli.migrations import HEAD

    cfg = Config()
    cfg.set_main_option("script_location", str(REPO / "arayis_cli" / "migrations"))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD
    db.ensure_schema(db_url)
    with db.get_engine(db_url).connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata
        )
    assert diff == []


HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "fpdf",
    "holidays",
    "phonenumbers",
    "psycopg",
    "alembic",
    "email_validator",
    "rich",
    "segno",
)


@pytest.mark.parametrize("args", [["--help"], ["submit", "--help"], ["--version"]])
def test_help_imports_nothing_heavy(args: list[str]) -> None:
    code = (
        "import sys\n"
        "from arayis_cli.cli.app import app\n"
        f"try:\n    app({args!r})\nexcept SystemExit:\n    pass\n"
        f"print(__import__('json').dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_upgrade_backfills_decision_figures(db_url: str) -> None:
    """A database decided under revision 0003 gets its stats figures from 0004."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from arayis_cli import db

    db.upgrade(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(REPO / "arayis_cli" / "migrations"))
    with db.get_engine(db_url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    with db.get_engine(db_url).begin() as conn:
        conn.execute(
            text(
                'INSERT INTO abonent (code, "group", owner_name, owner_fin, address, created_at)'
                " VALUES ('0000000001', 'I', 'X', 'AAAAAAA', 'Y', :t)"
            ),
            {"t": "2026-11-01 00:00:00"},
        )
        conn.execute(
            text(
                "INSERT INTO application (abonent_code, fin, phone, email, channel, submitted_at,"
                " due_on, status, decided_at, created_by, version) VALUES ('0000000001',"
                " 'AAAAAAA', '+994501234567', 'a@b.az', 'egov', :s, '2026-11-23', 'completed',"
                " :d, 'x', 2)"
            ),
            {"s": "2026-11-18 05:00:00", "d": "2026-11-25 06:00:00"},
        )
    db.upgrade(db_url)
    with db.get_engine(db_url).connect() as conn:
        days, late = conn.execute(
            text("SELECT decision_working_days, decided_late FROM application")
        ).one()
    assert (days, bool(late)) == (5, True)
    from arayis_cli.services.dbcheck import check

    with db.session_scope(db_url, write=False) as session:  # 0005 filled the stats tally
        problems = check(session).problems
    assert not [p for p in problems if "tally" in p], problems


def test_median_from_histogram() -> None:
    from arayis_cli.services.stats import _median

    assert _median({}) is None
    assert _median({3: 1}) == 3
    assert _median({1: 2, 5: 2}) == 3
    assert _median({0: 5, 2: 1, 9: 1}) == 0


def test_list_json_imports_only_what_it_uses(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'x.db'}"
    code = (
        "import sys\n"
        "from arayis_cli.cli.app import app\n"
        f"try:\n    app(['--db', {url!r}, 'db', 'upgrade'])\nexcept SystemExit:\n    pass\n"
        "for m in [m for m in sys.modules if m.startswith(('alembic', 'rich'))]:\n"
        "    del sys.modules[m]\n"
        f"try:\n    app(['--db', {url!r}, 'list', '--limit', '1', '--json'])\n"
        "except SystemExit:\n    pass\n"
        "heavy = ('rich', 'fpdf', 'holidays', 'phonenumbers', 'email_validator', 'alembic',"
        " 'segno', 'cryptography')\n"
        "print(__import__('json').dumps([m for m in heavy if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
