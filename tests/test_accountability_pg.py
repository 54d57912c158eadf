"""Accountability on PostgreSQL with real logins (SPEC §5.4).

One login per role (``t_support`` … ``t_admin``, and ``t_none`` with no arayis role),
connected as themselves (the test cluster trusts local logins):

- every command tried by every login, parametrised from the same table the README shows
  (:data:`arayis_cli.access.COMMANDS`): allowed → it works; not allowed → exit 7 and
  nothing changed;
- the same forbidden writes tried through raw SQL as each login: the server refuses them;
- the history names the login; four eyes between logins; PII reads audited, append-only.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from arayis_cli.access import COMMANDS, LOCAL, OWNER_ONLY, Role, allowed_roles
from arayis_cli.cli.app import app
from tests.conftest import (
    CODE,
    CODE_CREDIT,
    CODE_DEBT,
    CREDIT_FIN,
    DEBT_FIN,
    DEFAULT_NOW,
    DOCS,
    PG_URL,
    SAMPLE,
    Cli,
    _admin_url,
    _db_url,
    snapshot,
    submit_args,
)
from tests.test_access import registered

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="ARAYIS_TEST_POSTGRES_URL not set"),
]

LOGINS: dict[str, Role | None] = {
    "t_support": Role.SUPPORT,
    "t_clerk": Role.CLERK,
    "t_approver": Role.APPROVER,
    "t_billing": Role.BILLING,
    "t_admin": Role.ADMIN,
    "t_none": None,
}

# Applications of the prepared database.
DONE, WORKING, NEW, READY = "1", "2", "3", "4"  # completed+certificate, in_progress, new, completed

#: One invocation per command that works for every login allowed to run it.
INVOCATIONS: dict[str, list[str]] = {
    "list": ["list"],
    "show": ["show", NEW],
    "verify": ["verify", "{cert}"],
    "stats": ["stats"],
    "outbox list": ["outbox", "list"],
    "policy show": ["policy", "show"],
    "audit": ["audit"],
    "abonent show": ["abonent", "show", CODE],
    "submit": submit_args(code=CODE_DEBT, fin=DEBT_FIN),
    "attach": ["attach", NEW, str(DOCS / "sexsiyyet_vesiqesi.jpg"), "--kind", "id-card"],
    "review": ["review", NEW],
    "reject": ["reject", NEW, "--reason", "Sənədlər oxunmur"],
    "approve": ["approve", WORKING],
    "print": ["print", READY, "--out", "{tmp}"],
    "outbox send": ["outbox", "send", "--dry-run"],
    "abonent add": [
        *("abonent", "add", "0012345678", "--group", "I", "--owner-name", "Ad Soyad"),
        *("--owner-fin", "5ZT8KPA", "--address", "Bakı"),
    ],
    "abonent import": ["abonent", "import", str(SAMPLE / "abonents.csv")],
    "ledger import": ["ledger", "import", str(SAMPLE / "ledger.csv")],
    "pay": ["pay", CODE_DEBT, "1.00", "--reference", "T-PAY-1"],
    "revoke": ["revoke", "{cert}", "--reason", "Səhv abonentə verilib"],
    "keys export": ["keys", "export"],
    "keys rotate": ["keys", "rotate"],
    "policy set": ["policy", "set", "four-eyes", "on"],
    "db check": ["db", "check"],
    "register head": ["register", "head"],
    "db upgrade": ["db", "upgrade"],
    "db roles": ["db", "roles"],
    "changes": ["changes", "--after", "0"],
    "outbox show": ["outbox", "show", "1"],
    "outbox retry": ["outbox", "retry", "1", "--reason", "Poçt qutusu düzəldildi"],
}
#: Not in the matrix, with the reason: `serve` runs until stopped (its role check is the
#: same guard), `db backup` copies the embedded SQLite store only (exit 2 on PostgreSQL).
NOT_IN_MATRIX = {"serve", "db backup"}
#: Commands that change the database when allowed: each such run gets a fresh copy.
WRITES = {
    *("submit", "attach", "review", "reject", "approve", "print", "abonent add", "pay"),
    *("revoke", "keys export", "keys rotate", "policy set", "db roles", "outbox retry"),
}


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
    from arayis_cli import db

    db.dispose_all()
    _psql(_admin_url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def prepared(
    pg_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """A database with roles installed and an application in every state, as a template."""
    from arayis_cli import db

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
        run(*submit_args(code="0019698455", fin="4N5UBBM"))  # NEW
        ready = run(*submit_args(code="0009907822", fin="2ERRY24"))["id"]
        run("review", ready)
        run("approve", ready, "--override", "Sənədlər kağızda təqdim olunub")
        run("db", "roles")
    # A bounced email for `outbox retry` to put back in the queue.
    _psql(
        _plain(url),
        "UPDATE outbox_message SET status = 'failed', last_error = '550 no such user' WHERE id = 1",
    )
    for login, role in LOGINS.items():
        _psql(
            _admin_url(),
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{login}') "
            f'THEN CREATE ROLE "{login}" LOGIN; END IF; END $$',
        )
        if role is not None:
            _psql(_admin_url(), f'GRANT "{role.value}" TO "{login}"')
    db.dispose_all()
    yield {"template": name, "cert": cert}
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


def test_every_command_has_a_role_and_a_test() -> None:
    for path in registered():
        assert path in COMMANDS, f"'{path}' is not in arayis_cli.access.COMMANDS"
        assert path in INVOCATIONS or path in NOT_IN_MATRIX or COMMANDS[path] == LOCAL, (
            f"no invocation for '{path}'"
        )


def _allowed(command: str, login: str) -> bool:
    role = LOGINS[login]
    return role is not None and command not in OWNER_ONLY and role in allowed_roles(command)


CASES = [(command, login) for command in INVOCATIONS for login in LOGINS]


@pytest.mark.parametrize(("command", "login"), CASES, ids=[f"{c}-{lg}" for c, lg in CASES])
def test_role_matrix(
    command: str,
    login: str,
    prepared: dict[str, str],
    shared: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    if command not in registered():
        pytest.skip(f"'{command}' is not a command of this build")
    allowed = _allowed(command, login)
    url = request.getfixturevalue("fresh") if allowed and command in WRITES else shared
    args = [a.format(cert=prepared["cert"], tmp=tmp_path) for a in INVOCATIONS[command]]
    cli = Cli(_as(url, login), monkeypatch)
    if allowed:
        cli(*args, "--json")
        return
    before, files = snapshot(url), sorted(tmp_path.rglob("*"))
    refused = cli.json(*args, code=7)
    assert refused["error"] == "not_permitted" and login in refused["message"]
    assert snapshot(url) == before
    assert sorted(tmp_path.rglob("*")) == files


def test_owner_runs_the_schema_commands(fresh: str) -> None:
    runner = CliRunner()
    for args in (["db", "upgrade"], ["db", "roles"], ["db", "roles"]):
        result = runner.invoke(app, ["--db", fresh, *args, "--json"])
        assert result.exit_code == 0, result.stderr


def test_refusal_is_one_clear_line(shared: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = Cli(_as(shared, "t_clerk"), monkeypatch)
    err = cli("approve", WORKING, code=7).stderr
    assert err.count("\n") == 1
    assert "t_clerk" in err and "arayis_approver" in err and "approve" in err


# --- the database itself: raw SQL as each login ---------------------------------------

FORBIDDEN = {
    "complete": "UPDATE application SET status = 'completed' WHERE id = 2",
    "reopen": "UPDATE application SET status = 'new' WHERE id = 2",
    "change_final": "UPDATE application SET rejection_reason = 'x' WHERE id = 1",
    "insert_completed": (
        "INSERT INTO application (abonent_code, fin, phone, email, channel, submitted_at,"
        " due_on, status, created_by, version) VALUES ('0003383936', 'WRZZTWB',"
        " '+994501234567', 'a@b.az', 'egov', now(), current_date, 'completed', 'x', 1)"
    ),
    "certificate": (
        "INSERT INTO certificate (number, application_id, issued_at, valid_until,"
        " balance_qepik, operator, pdf_sha256, pdf_size)"
        " VALUES ('AR-2026-999999-0', 3, now(), current_date, 0, 'x', 'x', 1)"
    ),
    "update_event": "UPDATE event SET actor = 'someone else'",
    "delete_event": "DELETE FROM event",
    "truncate_event": "TRUNCATE event",
    "update_audit": "UPDATE audit_log SET actor = 'someone else'",
    "delete_audit": "DELETE FROM audit_log",
    "truncate_audit": "TRUNCATE audit_log",
    "policy": "UPDATE policy SET value = 'off'",
    "ledger": "DELETE FROM ledger_entry",
    "owner_fin": "UPDATE abonent SET owner_fin = '5ZT8KPA' WHERE code = '0019698455'",
}
#: The logins the server lets through (everything else must be refused).
SQL_ALLOWED: dict[str, set[str]] = {
    "complete": {"t_approver", "t_admin"},
    "reopen": {"t_admin"},  # admin repairs; the history of it stays append-only
    "policy": {"t_admin"},
    "change_final": {"t_admin"},
    "insert_completed": {"t_admin"},
    "certificate": {"t_admin"},  # an approver only for a completed application
    "ledger": {"t_admin"},
    "owner_fin": {"t_billing", "t_admin"},
}
SQL_CASES = [(what, login) for what in FORBIDDEN for login in LOGINS]


@pytest.mark.parametrize(("what", "login"), SQL_CASES, ids=[f"{w}-{lg}" for w, lg in SQL_CASES])
def test_server_refuses_forbidden_writes(what: str, login: str, shared: str) -> None:
    import psycopg

    with psycopg.connect(_plain(_as(shared, login))) as conn:
        try:
            conn.execute(FORBIDDEN[what])
        except psycopg.errors.InsufficientPrivilege as exc:
            refused = str(exc)
        else:
            refused = ""
        finally:
            conn.rollback()  # nothing a permitted statement did survives this test
    if login in SQL_ALLOWED.get(what, set()):
        assert refused == ""
    else:
        assert refused, f"{login} could: {FORBIDDEN[what]}"


def test_a_clerk_may_lock_an_abonent_but_not_change_it(shared: str) -> None:
    """A decision may lock the abonent row (SELECT … FOR UPDATE) against a payment."""
    import psycopg

    with psycopg.connect(_plain(_as(shared, "t_clerk"))) as conn:
        conn.execute("SELECT code FROM abonent WHERE code = %s FOR UPDATE", (CODE,))
        conn.rollback()


def test_history_cannot_be_forged(shared: str) -> None:
    import psycopg

    with psycopg.connect(_plain(_as(shared, "t_clerk"))) as conn:
        actor, operator = conn.execute(
            "INSERT INTO event (application_id, at, actor, action)"
            " VALUES (3, now(), 't_admin', 'approve') RETURNING actor, operator_name"
        ).fetchone()
        conn.rollback()
    assert (actor, operator) == ("t_clerk", "t_admin")


# --- identity, four eyes, audit -----------------------------------------------------------


def test_history_names_the_login_beside_the_operator(
    fresh: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clerk = Cli(_as(fresh, "t_clerk"), monkeypatch)
    clerk("--operator", "Leyla Əliyeva", "review", NEW)
    last = clerk.json("show", NEW)["history"][-1]
    assert (last["action"], last["actor"], last["operator"]) == (
        "review",
        "t_clerk",
        "Leyla Əliyeva",
    )
    shown = clerk("show", NEW).stdout
    assert "t_clerk" in shown and "Leyla" in shown


def test_four_eyes_between_logins(fresh: str, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = Cli(fresh, monkeypatch)
    approver = Cli(_as(fresh, "t_approver"), monkeypatch)
    Cli(_as(fresh, "t_clerk"), monkeypatch)("policy", "set", "four-eyes", "off", code=7)
    owner("policy", "set", "four-eyes", "on")
    assert approver.json("policy", "show")["changed_by"] == "postgres"
    # The owner reviewed WORKING: the approver may decide it.
    assert approver.json("approve", WORKING)["status"] == "completed"
    approver("review", NEW)
    before = snapshot(fresh)
    assert "four-eyes" in approver.json("approve", NEW, "--override", "x", code=7)["message"]
    approver("reject", NEW, "--reason", "x", code=7)
    assert snapshot(fresh) == before
    # Another login decides it; and a name typed with --operator changes nothing.
    Cli(_as(fresh, "t_admin"), monkeypatch)("reject", NEW, "--reason", "Sənəd oxunmur")


def test_pii_reads_audited_and_append_only(fresh: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    support = Cli(_as(fresh, "t_support"), monkeypatch)
    support("--operator", "Nigar", "show", NEW, "--show-pii")
    Cli(_as(fresh, "t_billing"), monkeypatch)("abonent", "show", CODE, "--show-pii")
    reads = [
        (e["actor"], e["operator"], e["command"], e["application_id"], e["abonent_code"])
        for e in support.json("audit")
        if e["kind"] == "pii_read"
    ]
    assert reads == [
        ("t_support", "Nigar", "show", int(NEW), None),
        ("t_billing", "leyla", "abonent show", None, CODE),
    ]
    assert support.json("audit", "--actor", "t_billing")[0]["abonent_code"] == CODE
    Cli(_as(fresh, "t_billing"), monkeypatch)("audit", code=7)
    for login in LOGINS:
        with psycopg.connect(_plain(_as(fresh, login))) as conn:
            for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(sql)
                conn.rollback()
    assert len(support.json("audit")) == 2


def test_before_roles_every_login_passes_the_tool(
    pg_template: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No `db roles` yet: the tool lets anyone through; what the server still refuses (a
    login without table privileges) is exit 7 with one line, not a crash."""
    from arayis_cli.db import ensure_schema

    name = _clone(pg_template)
    try:
        url = _db_url(name)
        ensure_schema(url)
        Cli(url, monkeypatch)("list")  # the owner, as always
        refused = Cli(_as(url, "t_none"), monkeypatch).json("list", code=7)
        assert refused["error"] == "not_permitted" and "permission denied" in refused["message"]
    finally:
        _drop(name)


def test_unreachable_server_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    cli = Cli("postgresql+psycopg://nobody@127.0.0.1:1/arayis", monkeypatch)
    assert cli.json("list", code=8)["error"] == "unavailable"


def test_offline_verify_needs_no_login(
    prepared: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`verify --offline` reads no database, so it checks no role (even with no server)."""
    name = _clone(prepared["template"])
    try:
        owner = Cli(_db_url(name), monkeypatch)
        keys = tmp_path / "keys.pem"
        keys.write_text(owner("keys", "export", "--all").stdout)
        pdf = Path(owner.json("print", READY, "--out", str(tmp_path))["path"])
    finally:
        _drop(name)
    cli = Cli("postgresql+psycopg://nobody@127.0.0.1:1/arayis", monkeypatch)
    assert cli.json("verify", str(pdf), "--offline", "--public-key", str(keys))["valid"]


def test_approver_delivers_the_outbox(fresh: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`outbox send` for real (the matrix uses --dry-run), as the approver's login."""
    from tests.test_email import Server, _free_port

    server = Server(_free_port())
    monkeypatch.setenv("ARAYIS_SMTP_URL", f"smtp://127.0.0.1:{server.port}")
    monkeypatch.setenv("ARAYIS_MAIL_FROM", "arayis@azersu.az")
    server.start()
    try:
        Cli(_as(fresh, "t_clerk"), monkeypatch)("outbox", "send", code=7)
        approver = Cli(_as(fresh, "t_approver"), monkeypatch)
        report = approver.json("outbox", "send")
    finally:
        server.stop()
    assert report["sent"] == len(server.messages) > 0
    # Every queued email went out; the template's one bounced email (№1) waits for a retry.
    statuses = {m["id"]: m["status"] for m in approver.json("outbox", "list")}
    assert statuses.pop(1) == "failed" and set(statuses.values()) == {"sent"}
