"""Test isolation: every test gets its own database (SQLite, and PostgreSQL when
``ARAYIS_TEST_POSTGRES_URL`` names a server), a frozen clock, and its own data dir.

Fixtures only: constants and helpers live in tests/helpers/. Databases are cloned from
templates built once per session (per xdist worker): a migrated one on PostgreSQL, and for
``loaded`` one with the sample abonents and ledger imported through the CLI on each backend.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

# Helpers' asserts explain themselves as a test's do (registered before they are imported).
pytest.register_assert_rewrite("tests.helpers")

from tests.helpers import DEFAULT_NOW, PG_URL, SAMPLE, Cli  # noqa: E402
from tests.helpers.database import Digest, admin_url, database_url  # noqa: E402

# Databases whose sample data a template already holds (``loaded`` has nothing to do).
_PRELOADED: set[str] = set()


def _backends() -> list[Any]:
    return ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _worker() -> str:
    """This xdist worker's id (``gw0`` …), or ``main``: template names never collide."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _pg_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(sql)


def _clone(template: str) -> str:
    name = f"arayis_t_{uuid.uuid4().hex[:10]}"
    _pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    """A migrated template database; each test clones it (fast CREATE DATABASE … TEMPLATE)."""
    if not PG_URL:
        yield None
        return
    from arayis_cli.db import Engines

    name = f"arayis_tpl_{_worker()}_{uuid.uuid4().hex[:8]}"
    _pg_execute(f'CREATE DATABASE "{name}"')
    engines = Engines()
    engines.upgrade(database_url(name))
    engines.dispose()  # a template takes no connections
    yield name
    _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _isolated_env(folder: Path) -> Iterator[None]:
    """What ``isolated`` sets for a test, for work done once per session."""
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, folder)
        yield


def _load_sample(url: str, folder: Path) -> None:
    """The sample abonents and ledger, imported through the CLI as a test would."""
    from arayis_cli import db

    with _isolated_env(folder), pytest.MonkeyPatch.context() as mp:
        cli = Cli(url, mp)
        cli("abonent", "import", SAMPLE / "abonents.csv")
        cli("ledger", "import", SAMPLE / "ledger.csv")
    db.outside.forget(url)  # a template takes no connections


class _LoadedTemplates:
    """The loaded databases, built on first use (a run of unit tests builds none)."""

    def __init__(self, folder: Path, pg_template: str | None) -> None:
        self.folder = folder
        self.pg_template = pg_template
        self.sqlite: Path | None = None
        self.pg: str | None = None

    def sqlite_file(self) -> Path:
        if self.sqlite is None:
            import sqlite3

            path = self.folder / "loaded.db"
            _load_sample(f"sqlite:///{path}", self.folder / "sqlite")
            conn = sqlite3.connect(path)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the copy is the whole database
            conn.close()
            self.sqlite = path
        return self.sqlite

    def pg_database(self) -> str:
        if self.pg is None:
            assert self.pg_template is not None
            name = f"arayis_tpl_loaded_{_worker()}_{uuid.uuid4().hex[:8]}"
            _pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.pg_template}"')
            _load_sample(database_url(name), self.folder / "postgres")
            self.pg = name
        return self.pg


@pytest.fixture(scope="session")
def loaded_templates(
    tmp_path_factory: pytest.TempPathFactory, pg_template: str | None
) -> Iterator[_LoadedTemplates]:
    templates = _LoadedTemplates(tmp_path_factory.mktemp("templates"), pg_template)
    yield templates
    if templates.pg is not None:
        _pg_execute(f'DROP DATABASE IF EXISTS "{templates.pg}" WITH (FORCE)')


class _SharedDatabases:
    """One PostgreSQL database per kind (empty, loaded) for tests marked ``refusal``: they
    change nothing, so they need no copy of their own. After each, one digest query checks
    that it is still as made; one that changed (a failing test) is replaced."""

    def __init__(self, pg_template: str | None, loaded: _LoadedTemplates) -> None:
        self.pg_template = pg_template
        self.loaded = loaded
        self.made: dict[bool, tuple[str, Any]] = {}

    def url(self, sample: bool) -> str:
        if sample not in self.made:
            assert self.pg_template is not None
            name = _clone(self.loaded.pg_database() if sample else self.pg_template)
            self.made[sample] = (name, Digest(database_url(name))())
        return database_url(self.made[sample][0])

    def check(self, sample: bool) -> None:
        name, digest = self.made[sample]
        if Digest(database_url(name))() != digest:
            del self.made[sample]
            _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop(self) -> None:
        for name, _digest in self.made.values():
            _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def shared_databases(
    pg_template: str | None, loaded_templates: _LoadedTemplates
) -> Iterator[_SharedDatabases]:
    shared = _SharedDatabases(pg_template, loaded_templates)
    yield shared
    shared.drop()


@pytest.fixture(scope="session")
def pg_office_key(pg_template: str | None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The office signing key of the template database (``keys init`` done once): on
    PostgreSQL no command creates a key, so every cloned database starts with one."""
    from datetime import UTC, datetime

    from sqlmodel import Session

    from arayis_cli.certificate.signing import KeyPlace, new_key, write_key_file
    from arayis_cli.db import Engines
    from arayis_cli.services.keys import register

    path = tmp_path_factory.mktemp("office") / "signing-key.pem"
    signer = new_key()
    write_key_file(path, signer, KeyPlace(None, path.parent)).rename(path)
    assert pg_template is not None
    engines = Engines()
    with Session(engines.get(database_url(pg_template))) as session:
        register(session, signer, now=datetime(2026, 1, 1, tzinfo=UTC), current=True)
        session.commit()
    engines.dispose()  # a template takes no connections
    return path


@pytest.fixture(params=_backends())
def db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    pg_template: str | None,
    loaded_templates: _LoadedTemplates,
    shared_databases: _SharedDatabases,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """A database of its own for each test: an SQLite file, or a PostgreSQL database cloned
    from a template (with the sample data when the test uses ``loaded``). A test marked
    ``refusal`` (it changes nothing) shares one PostgreSQL database with the others."""
    wants_sample = "loaded" in request.fixturenames
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        url = f"sqlite:///{path}"
        if wants_sample:
            shutil.copy2(loaded_templates.sqlite_file(), path)  # its mode too (0600)
            _PRELOADED.add(url)
        yield url
        _PRELOADED.discard(url)
        return
    if not PG_URL or pg_template is None:
        pytest.skip("ARAYIS_TEST_POSTGRES_URL not set")
    # This test's own copy of the office key (a test may rotate it); the key is registered
    # in the template before any database is cloned from it.
    key = tmp_path / "office-signing-key.pem"
    shutil.copy2(request.getfixturevalue("pg_office_key"), key)
    monkeypatch.setenv("ARAYIS_SIGNING_KEY", str(key))
    if request.node.get_closest_marker("refusal") is not None:
        url = shared_databases.url(wants_sample)
        if wants_sample:
            _PRELOADED.add(url)
        yield url
        shared_databases.check(wants_sample)
        return
    name = _clone(loaded_templates.pg_database() if wants_sample else pg_template)
    url = database_url(name)
    if wants_sample:
        _PRELOADED.add(url)
    yield url
    _PRELOADED.discard(url)
    _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
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
    tmp_path.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No test can touch a real user database or the real clock. A CLI invocation closes
    its own engines; what the test's own code opened outside any run is closed after it."""
    from arayis_cli import db

    _isolate(monkeypatch, tmp_path)
    yield tmp_path
    db.dispose_all()


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(db_url, monkeypatch)


@pytest.fixture
def loaded(cli: Cli) -> Cli:
    """The sample abonents and ledger loaded (cloned from a template that imported them
    through the CLI once per session)."""
    if cli.url not in _PRELOADED:  # a database made some other way: load it here
        cli("abonent", "import", SAMPLE / "abonents.csv")
        cli("ledger", "import", SAMPLE / "ledger.csv")
    return cli


@pytest.fixture
def unchanged(cli: Cli) -> Any:
    """Use as ``with unchanged(): …`` around a command that must change nothing (any row
    of any table: one digest query before and one after)."""
    from arayis_cli.db import ensure_schema

    ensure_schema(cli.url)
    digest = Digest(cli.url)

    @contextmanager
    def check() -> Iterator[None]:
        before = digest()
        yield
        assert digest() == before, "the command changed the database"

    return check


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that arayis sends to."""
    from tests.helpers.email import Server, free_port

    server = Server(free_port())
    monkeypatch.setenv("ARAYIS_SMTP_URL", f"smtp://127.0.0.1:{server.port}")
    monkeypatch.setenv("ARAYIS_MAIL_FROM", "arayis@azersu.az")
    server.start()
    yield server
    server.stop()
