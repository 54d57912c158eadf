"""Real PostgreSQL logins, one per role, on a prepared database (roles installed, an
application in every state): shared by the accountability and insider tests.

Import the fixtures (``prepared``, ``shared``, ``fresh``, ``office_key``) into a test
module to use them.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from arayis_cli.access import Role
from arayis_cli.cli.app import app
from tests.helpers import CODE, CODE_CREDIT, CREDIT_FIN, DEFAULT_NOW, DOCS, SAMPLE, submit_args
from tests.helpers.database import admin_url as _admin_url
from tests.helpers.database import database_url as _db_url

LOGINS: dict[str, Role | None] = {
    "t_support": Role.SUPPORT,
    "t_clerk": Role.CLERK,
    "t_approver": Role.APPROVER,
    "t_billing": Role.BILLING,
    "t_admin": Role.ADMIN,
    "t_mailer": Role.MAILER,
    "t_web": Role.WEB,
    "t_none": None,
}

# Applications of the prepared database.
DONE, WORKING, NEW, READY = "1", "2", "3", "4"  # completed+certificate, in_progress, new, completed


@pytest.fixture(autouse=True)
def office_key(pg_office_key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The office key of the databases here (PostgreSQL prints only with it): each test's
    own copy, since `keys rotate` replaces the file."""
    key = tmp_path / "office-signing-key.pem"
    shutil.copy2(pg_office_key, key)
    monkeypatch.setenv("ARAYIS_SIGNING_KEY", str(key))


def _psql(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def _plain(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _as(url: str, login: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(username=login, password=None).render_as_string(hide_password=False)


def _clone(template: str) -> str:
    name = f"arayis_acc_{uuid.uuid4().hex[:10]}"
    _psql(_admin_url(), f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


def _drop(name: str) -> None:
    _psql(_admin_url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def prepared(
    pg_template: str, pg_office_key: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """A database with roles installed and an application in every state, as a template
    (each invocation below closes its own engines: nothing holds a connection to it)."""
    name = _clone(pg_template)
    url = _db_url(name)
    home = tmp_path_factory.mktemp("acc")
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(app, ["--db", url, *map(str, args), "--json"])
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return json.loads(result.stdout)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ARAYIS_HOME", str(home / "home"))
        mp.setenv("ARAYIS_NOW", DEFAULT_NOW)
        mp.setenv("ARAYIS_OPERATOR", "owner")
        mp.setenv("ARAYIS_SIGNING_KEY", str(pg_office_key))
        mp.chdir(home)
        run("abonent", "import", SAMPLE / "abonents.csv")
        run("ledger", "import", SAMPLE / "ledger.csv")
        for code, fin in ((CODE, "6HV4DVC"), (CODE_CREDIT, CREDIT_FIN)):
            app_id = run(*submit_args(code=code, fin=fin))["id"]
            run("attach", app_id, DOCS / "sexsiyyet_vesiqesi.jpg", "--kind", "id-card")
            run("attach", app_id, DOCS / "mulkiyyet_cixarisi.pdf", "--kind", "ownership")
            run("review", app_id)
        run("approve", DONE)
        cert = run("print", DONE)["certificate_number"]
        kid = run("keys", "export")[0]["kid"]
        run(*submit_args(code="0019698455", fin="4N5UBBM"))  # NEW
        ready = run(*submit_args(code="0009907822", fin="2ERRY24"))["id"]
        run("review", ready)
        run("approve", ready, "--override", "Sənədlər kağızda təqdim olunub")
        run("api-key", "create", "egov", "--scope", "submit,status,print")
        run("staff", "add", "owner", "--name", "Sahib Sahibov")
        run("db", "roles")
    # A bounced email for `outbox retry` to put back in the queue.
    _psql(
        _plain(url),
        "UPDATE outbox_message SET status = 'failed', last_error = '550 no such user' WHERE id = 1",
    )
    for login, role in LOGINS.items():
        _psql(
            _admin_url(),
            # Logins are cluster-wide: another test process may be making the same one.
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{login}') "
            f'THEN CREATE ROLE "{login}" LOGIN; END IF; '
            "EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL; END $$",
        )
        if role is not None:
            _psql(
                _admin_url(),
                f'DO $$ BEGIN GRANT "{role.value}" TO "{login}"; '
                "EXCEPTION WHEN unique_violation THEN NULL; END $$",
            )
    yield {"template": name, "cert": cert, "kid": kid}
    _drop(name)


@pytest.fixture(scope="module")
def shared(prepared: dict[str, str]) -> Iterator[str]:
    """One copy for every run that must change nothing (refusals, reads)."""
    name = _clone(prepared["template"])
    yield _db_url(name)
    _drop(name)


@pytest.fixture
def fresh(prepared: dict[str, str]) -> Iterator[str]:
    name = _clone(prepared["template"])
    yield _db_url(name)
    _drop(name)
