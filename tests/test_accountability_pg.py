"""Accountability on PostgreSQL with real logins.

One login per role (``t_support`` … ``t_admin``, and ``t_none`` with no arayis role),
connected as themselves (the test cluster trusts local logins):

- every command tried by every login, parametrised from the same table the README shows
  (:data:`arayis_cli.access.COMMANDS`): allowed → it works; not allowed → exit 7 and
  nothing changed;
- the same forbidden writes tried through raw SQL as each login: the server refuses them;
- the history names the login; four eyes between logins; PII reads audited, append-only.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from arayis_cli.access import COMMANDS, LOCAL, OWNER_ONLY, allowed_roles
from arayis_cli.cli.app import app
from tests.helpers import (
    CODE,
    CODE_DEBT,
    DEBT_FIN,
    DOCS,
    PG_URL,
    SAMPLE,
    Cli,
    submit_args,
)
from tests.helpers.access import registered
from tests.helpers.database import Digest
from tests.helpers.database import database_url as _db_url
from tests.helpers.logins import (  # noqa: F401  (fixtures)
    DONE,
    LOGINS,
    NEW,
    READY,
    WORKING,
    _as,
    _clone,
    _drop,
    _plain,
    _psql,
    fresh,
    office_key,
    prepared,
    shared,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="ARAYIS_TEST_POSTGRES_URL not set"),
]

#: One invocation per command that works for every login allowed to run it.
INVOCATIONS: dict[str, list[str]] = {
    "list": ["list"],
    "show": ["show", NEW],
    "verify": ["verify", "{cert}", "--abonent", CODE],
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
    "keys retire": ["keys", "retire", "{kid}", "--compromised", "--since", "2026-11-25"],
    "policy set": ["policy", "set", "four-eyes", "on"],
    "db check": ["db", "check"],
    "register head": ["register", "head"],
    "db upgrade": ["db", "upgrade"],
    "db roles": ["db", "roles"],
    "changes": ["changes", "--after", "0"],
    "outbox show": ["outbox", "show", "1"],
    "outbox retry": ["outbox", "retry", "1", "--reason", "Poçt qutusu düzəldildi"],
    "api-key create": ["api-key", "create", "azersu", "--scope", "status"],
    "api-key list": ["api-key", "list"],
    "api-key revoke": ["api-key", "revoke", "egov"],
    "staff add": ["staff", "add", "t_clerk", "--name", "Əliyeva Leyla"],
    "staff list": ["staff", "list"],
    "staff remove": ["staff", "remove", "owner"],
}
#: Not in the matrix, with the reason: `serve` runs until stopped (its role check is the
#: same guard), `db backup` copies the embedded SQLite store only (exit 2 on PostgreSQL).
NOT_IN_MATRIX = {"serve", "db backup", "keys init"}  # the office key exists already here

#: Commands that change the database when allowed: each such run gets a fresh copy.
WRITES = {
    *("submit", "attach", "review", "reject", "approve", "print", "abonent add", "pay"),
    *("revoke", "keys export", "keys rotate", "policy set", "db roles", "outbox retry"),
    "keys retire",
    *("api-key create", "api-key revoke"),
    *("staff add", "staff remove"),
}


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
    args = [
        a.format(cert=prepared["cert"], tmp=tmp_path, kid=prepared["kid"])
        for a in INVOCATIONS[command]
    ]
    cli = Cli(_as(url, login), monkeypatch)
    if allowed:
        cli(*args, "--json")
        return
    digest = Digest(url)  # every row of every table, one query
    before, files = digest(), sorted(tmp_path.rglob("*"))
    refused = cli.json(*args, code=7)
    assert refused["error"] == "not_permitted" and login in refused["message"]
    assert digest() == before
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
            " VALUES (3, now(), 't_admin', 'attach') RETURNING actor, operator_name"
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
    digest = Digest(fresh)
    before = digest()
    assert "four-eyes" in approver.json("approve", NEW, "--override", "x", code=7)["message"]
    approver("reject", NEW, "--reason", "x", code=7)
    assert digest() == before
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
    login without table privileges) is one line saying what the owner must run — the
    database is not set up (exit 8) — never the server's own words, not a crash."""
    from arayis_cli.db import ensure_schema

    name = _clone(pg_template)
    try:
        url = _db_url(name)
        ensure_schema(url)
        Cli(url, monkeypatch)("list")  # the owner, as always
        refused = Cli(_as(url, "t_none"), monkeypatch).json("list", code=8)
        assert refused["error"] == "unavailable" and "arayis db roles" in refused["message"]
        assert "permission denied" not in refused["message"] and "t_none" in refused["message"]
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
    from tests.helpers.email import Server
    from tests.helpers.email import free_port as _free_port

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


def test_approver_renews_and_copies_but_cannot_unrevoke(
    fresh: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--renew and --copy as the approver's login (the grants allow exactly that); the
    column grant lets a renewal mark a certificate superseded, not undo a revocation."""
    import psycopg

    approver = Cli(_as(fresh, "t_approver"), monkeypatch)
    renewed = approver.json("print", DONE, "--renew", "--reason", "Kağız itib", "--out", tmp_path)
    copy = approver.json("print", DONE, "--copy", "--out", tmp_path / "copy.pdf")
    assert copy["certificate_number"] == renewed["certificate_number"]
    assert (tmp_path / "copy.pdf").read_bytes() == Path(renewed["path"]).read_bytes()
    Cli(_as(fresh, "t_clerk"), monkeypatch)("print", DONE, "--copy", code=7)
    with psycopg.connect(_plain(_as(fresh, "t_approver")), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE certificate SET revoked_at = NULL")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE certificate_pdf SET content = 'x'")
