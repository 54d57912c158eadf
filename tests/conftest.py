"""Test isolation: every test gets its own database (SQLite, and PostgreSQL when
``ARAYIS_TEST_POSTGRES_URL`` names a server), a frozen clock, and its own data dir.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from arayis_cli.cli.app import app

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data"
DOCS = SAMPLE / "documents"
PG_URL = os.environ.get("ARAYIS_TEST_POSTGRES_URL")

# A Wednesday in November 2026, Baku time.
DEFAULT_NOW = "2026-11-25T10:00:00+04:00"

# Sample abonents used throughout (see sample_data/abonents.csv).
OWNER_FIN = "6HV4DVC"
CODE = "0011276516"  # group I, nothing owed
CODE_DEBT = "0003383936"  # group I, owes 23.80 AZN
DEBT_FIN = "WRZZTWB"
CODE_CREDIT = "0043569264"  # group I, 5.00 AZN overpaid
CREDIT_FIN = "4N4DNV7"
CODE_GROUP_II = "0070606831"


def _backends() -> list[Any]:
    return ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    """A migrated template database; each test clones it (fast CREATE DATABASE … TEMPLATE)."""
    if not PG_URL:
        yield None
        return
    import psycopg

    from arayis_cli import db

    name = f"arayis_tpl_{uuid.uuid4().hex[:8]}"
    admin = _admin_url()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    db.upgrade(_db_url(name))
    db.dispose_all()
    yield name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin_url() -> str:
    from sqlalchemy.engine import make_url

    assert PG_URL
    return make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)


def _db_url(name: str) -> str:
    from sqlalchemy.engine import make_url

    assert PG_URL
    url = make_url(PG_URL).set(database=name, drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_office_key(pg_template: str | None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The office signing key of the template database (``keys init`` done once): on
    PostgreSQL no command creates a key, so every cloned database starts with one."""
    from datetime import UTC, datetime

    from sqlmodel import Session

    from arayis_cli import db
    from arayis_cli.certificate.signing import new_key, write_key_file
    from arayis_cli.services.keys import register

    path = tmp_path_factory.mktemp("office") / "signing-key.pem"
    signer = new_key()
    write_key_file(path, signer).rename(path)
    assert pg_template is not None
    with Session(db.get_engine(_db_url(pg_template))) as session:
        register(session, signer, now=datetime(2026, 1, 1, tzinfo=UTC), current=True)
        session.commit()
    db.dispose_all()
    return path


@pytest.fixture(params=_backends())
def db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    pg_template: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    from arayis_cli import db

    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        db.dispose_all()
        return
    if not PG_URL or pg_template is None:
        pytest.skip("ARAYIS_TEST_POSTGRES_URL not set")
    import psycopg

    # This test's own copy of the office key: a test may rotate it.
    key = tmp_path / "office-signing-key.pem"
    shutil.copy2(request.getfixturevalue("pg_office_key"), key)
    monkeypatch.setenv("ARAYIS_SIGNING_KEY", str(key))
    name = f"arayis_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    yield _db_url(name)
    db.dispose_all()
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No test can touch a real user database or the real clock."""
    home = tmp_path / "home"
    monkeypatch.setenv("ARAYIS_HOME", str(home))
    monkeypatch.setenv("ARAYIS_DATABASE_URL", f"sqlite:///{tmp_path / 'default.db'}")
    monkeypatch.setenv("ARAYIS_OPERATOR", "leyla")
    monkeypatch.setenv("ARAYIS_NOW", DEFAULT_NOW)
    # The suite asserts the English wording of messages (the msgids, which read the same
    # in every checkout); tests/test_i18n.py runs the CLI in Azerbaijani, the default.
    monkeypatch.setenv("ARAYIS_LANG", "en")
    for var in ("ARAYIS_CALENDAR_OVERRIDE", "ARAYIS_DEBUG", "ARAYIS_SMTP_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


class Cli:
    """Runs arayis in-process against one database and checks exit codes."""

    def __init__(self, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.url = url
        self.monkeypatch = monkeypatch
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0, env: dict[str, str] | None = None) -> Any:
        result = self.runner.invoke(app, ["--db", self.url, *map(str, args)], env=env)
        assert result.exit_code == code, (
            f"arayis {' '.join(map(str, args))} exited {result.exit_code}, expected {code}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}\n{result.exception!r}"
        )
        return result

    def json(self, *args: str, code: int = 0, env: dict[str, str] | None = None) -> Any:
        """stdout's JSON document; for a refusal (no stdout), the one-line JSON error."""
        result = self(*args, "--json", code=code, env=env)
        if code == 0 or result.stdout.strip():
            return json.loads(result.stdout)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        return json.loads(lines[0])

    def now(self, when: str) -> None:
        self.monkeypatch.setenv("ARAYIS_NOW", when)


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(db_url, monkeypatch)


@pytest.fixture
def loaded(cli: Cli) -> Cli:
    """The sample abonents and ledger loaded."""
    cli("abonent", "import", SAMPLE / "abonents.csv")
    cli("ledger", "import", SAMPLE / "ledger.csv")
    return cli


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: a refused command must leave this unchanged."""
    from sqlalchemy import MetaData, create_engine, select

    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return {
                name: sorted(
                    (tuple(map(repr, row)) for row in conn.execute(select(table))), key=str
                )
                for name, table in sorted(meta.tables.items())
            }
    finally:
        engine.dispose()


@pytest.fixture
def unchanged(cli: Cli) -> Any:
    """Use as ``with unchanged(): …`` around a command that must change nothing."""
    from contextlib import contextmanager

    from arayis_cli.db import ensure_schema

    ensure_schema(cli.url)

    @contextmanager
    def check() -> Iterator[None]:
        before = snapshot(cli.url)
        yield
        assert snapshot(cli.url) == before

    return check


def submit_args(code: str = CODE, fin: str = OWNER_FIN, **extra: str) -> list[str]:
    args = ["submit", "--abonent", code, "--fin", fin, "--phone", "050 123 45 67"]
    args += ["--email", "leyla.aliyeva@example.az"]
    for key, value in extra.items():
        args += [f"--{key.replace('_', '-')}", value]
    return args


def new_app(cli: Cli, code: str = CODE, fin: str | None = None, docs: bool = True) -> str:
    """A new application (Yeni) for ``code``, with both required documents unless ``docs``
    is false; its number."""
    args = submit_args(code=code, fin=fin) if fin else submit_args(code=code)
    app_id = str(cli.json(*args)["id"])
    if docs:
        cli("attach", app_id, DOCS / "sexsiyyet_vesiqesi.jpg", "--kind", "id-card")
        cli("attach", app_id, DOCS / "mulkiyyet_cixarisi.pdf", "--kind", "ownership")
    return app_id


def app_in(cli: Cli, status: str, **kw: str) -> str:
    """A new application moved through the CLI to ``status``; its number."""
    app_id = new_app(cli, **kw)
    if status in ("in_progress", "completed"):
        cli("review", app_id)
    if status == "completed":
        cli("approve", app_id)
    if status == "rejected":
        cli("reject", app_id, "--reason", "Uyğunsuzluq")
    return app_id


def copy_doc(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copy(DOCS / name, target)
    return target
