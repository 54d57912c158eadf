"""docs/operations.md done for real on PostgreSQL.

- The set-up SQL is taken verbatim from the page's fenced blocks and run on the test
  cluster with a NON-superuser owner; the owner then runs `db upgrade`, `db roles` and
  `keys init`, and a day is worked through the logins the page makes (billing loads the
  ledger, a clerk submits and reviews, an approver approves and prints, the mail job's login
  sends the emails, the web job's login answers the public page) — each login able to do
  its job and nothing more.
- Two printing logins, one office key: after `keys rotate` both sign with the new key.
- A `pg_dump` restored into a new database: `db check` and `verify` pass there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import (
    CODE,
    CODE_CREDIT,
    CREDIT_FIN,
    DOCS,
    PG_URL,
    REPO,
    SAMPLE,
    Cli,
    app_in,
    submit_args,
)
from tests.helpers.database import admin_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="ARAYIS_TEST_POSTGRES_URL not set"),
]

OPERATIONS = REPO / "docs" / "operations.md"
#: The names docs/operations.md uses (the database and every login its SQL makes).
DATABASE = "arayis"
OWNER = "arayis_owner"
PAGE_LOGINS = ("leyla", "aysel", "elvin", "kassa", "rauf", "arayis_mail_job", "arayis_web_job")
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def sql_block(marker: str) -> list[str]:
    """The statements of the fenced ``sql`` block of docs/operations.md that starts with
    ``marker`` (a comment line), comments dropped."""
    text = OPERATIONS.read_text(encoding="utf-8")
    for block in re.findall(r"```sql\n(.*?)```", text, flags=re.S):
        if block.startswith(marker):
            body = "\n".join(
                line for line in block.splitlines() if not line.lstrip().startswith("--")
            )
            return [s.strip() for s in body.split(";") if s.strip()]
    raise AssertionError(f"docs/operations.md has no sql block starting {marker!r}")


def _url(login: str | None, database: str = DATABASE) -> str:
    from sqlalchemy.engine import make_url

    assert PG_URL
    url = make_url(PG_URL).set(database=database, drivername="postgresql+psycopg")
    if login is not None:
        url = url.set(username=login, password=None)
    return url.render_as_string(hide_password=False)


def _plain(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run_sql(url: str, statements: list[str]) -> None:
    import psycopg

    with psycopg.connect(_plain(url), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


def _clean_cluster() -> None:
    """What a previous run of this test left (the page's names are fixed)."""
    from arayis_cli import db

    db.dispose_all()
    statements = [f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)']
    statements += [f'DROP ROLE IF EXISTS "{r}"' for r in (*PAGE_LOGINS, OWNER, "ops_nobody")]
    _run_sql(admin_url(), statements)


def _pg_tool(name: str) -> str:
    found = PG_BIN / name if (PG_BIN / name).exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed here")
    return str(found)


class _Mailbox:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes
        from email.policy import default

        self.messages.append(message_from_bytes(envelope.original_content, policy=default))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Mailbox]:
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = _Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("ARAYIS_SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setenv("ARAYIS_MAIL_FROM", "arayis@azersu.az")
    yield box
    controller.stop()


def test_setup_from_the_docs_and_a_day_through_its_logins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mailbox: _Mailbox
) -> None:
    import psycopg
    from starlette.testclient import TestClient

    from arayis_cli.certificate.signing import token_in_pdf
    from arayis_cli.web.app import create_app
    from arayis_cli.web.config import ServeConfig

    _clean_cluster()
    try:
        # 1. As a superuser, once: the owner (no superuser) and its database.
        _run_sql(admin_url(), sql_block("-- arayis set-up 1"))
        with psycopg.connect(_plain(admin_url())) as conn:
            superuser = conn.execute(
                "SELECT rolsuper FROM pg_roles WHERE rolname = %s", (OWNER,)
            ).fetchone()
        assert superuser == (False,)
        owner = Cli(_url(OWNER), monkeypatch)
        key = tmp_path / "etc" / "signing-key.pem"
        key.parent.mkdir()
        monkeypatch.setenv("ARAYIS_SIGNING_KEY", str(key))
        monkeypatch.setenv("ARAYIS_OPERATOR", "set-up")
        # 2. As the owner: the schema. A login used before `db roles` is told what to run.
        owner("db", "upgrade")
        _run_sql(admin_url(), ["CREATE ROLE ops_nobody LOGIN"])
        early = Cli(_url("ops_nobody"), monkeypatch)("list", code=8).stderr
        assert "arayis db roles" in early and "permission denied" not in early
        assert early.count("\n") == 1
        # An owner without CREATEROLE is told what a superuser must run (the real server's
        # refusal, on a role name nobody has made).
        _run_sql(admin_url(), [f'ALTER ROLE "{OWNER}" NOCREATEROLE'])
        probe = f"arayis_probe_{uuid.uuid4().hex[:6]}"
        _assert_createrole_advice(_url(OWNER), probe)
        _run_sql(admin_url(), [f'ALTER ROLE "{OWNER}" CREATEROLE'])
        owner("db", "roles")
        made = owner.json("keys", "init")
        assert made["created"] and key.stat().st_mode & 0o777 == 0o600
        # 3. The logins, as the owner, verbatim from the page.
        _run_sql(_url(OWNER), sql_block("-- arayis set-up 2"))
        # `db upgrade` again: it re-applies the grants itself (the roles exist by now).
        assert owner.json("db", "upgrade")["grants"] is True

        as_ = {login: Cli(_url(login), monkeypatch) for login in PAGE_LOGINS}
        # 4. A day. Billing loads the abonents and the ledger.
        as_["kassa"]("abonent", "import", SAMPLE / "abonents.csv")
        as_["kassa"]("ledger", "import", SAMPLE / "ledger.csv")
        clerk, approver = as_["leyla"], as_["aysel"]
        app_id = str(clerk.json(*submit_args())["id"])
        clerk("attach", app_id, DOCS / "sexsiyyet_vesiqesi.jpg", "--kind", "id-card")
        clerk("attach", app_id, DOCS / "mulkiyyet_cixarisi.pdf", "--kind", "ownership")
        clerk("review", app_id)
        clerk("approve", app_id, code=7)  # the clerk may not approve
        approver("approve", app_id)
        cert = approver.json("print", app_id, "--out", str(tmp_path / "out"))
        assert cert["certificate_number"].startswith("AR-")
        # The mail job's login sends the queue, and may do nothing else.
        mailer = as_["arayis_mail_job"]
        sent = mailer.json("outbox", "send")
        assert sent["sent"] >= 2 and sent["failed"] == 0
        assert len(mailbox.messages) == sent["sent"]
        assert all(m["To"] == "leyla.aliyeva@example.az" for m in mailbox.messages)
        for forbidden in (["list"], ["show", app_id], ["print", app_id], ["approve", app_id]):
            assert mailer.json(*forbidden, code=7)["error"] == "not_permitted"
        # The web job's login answers the public page and logs the check; nothing else.
        token = token_in_pdf(Path(cert["path"]).read_bytes())
        config = ServeConfig(db_url=_url("arayis_web_job"), record_interval=0.05, burst=1000)
        with TestClient(create_app(config), client=("198.51.100.7", 40000)) as client:
            page = client.get(f"/verify/{token}", headers={"accept": "application/json"})
            assert page.status_code == 200 and page.json()["valid"] is True
        web = as_["arayis_web_job"]
        assert web.json("list", code=7)["error"] == "not_permitted"
        shown = clerk.json("show", app_id)
        assert [v["channel"] for v in shown["verifications"]] == ["web"]
        for job in ("arayis_web_job", "arayis_mail_job"):
            with (
                psycopg.connect(_plain(_url(job))) as conn,
                pytest.raises(psycopg.errors.InsufficientPrivilege),
            ):
                conn.execute("SELECT fin FROM application")
        # The admin checks the store; support-level reads work for the clerk.
        assert as_["rauf"].json("db", "check")["ok"] is True
        assert clerk.json("verify", cert["certificate_number"], "--abonent", CODE)["valid"] is True
    finally:
        _clean_cluster()


def _assert_createrole_advice(url: str, role: str) -> None:
    from sqlmodel import Session

    from arayis_cli import db
    from arayis_cli.errors import NotPermitted
    from arayis_cli.services.roles import _create_role

    with Session(db.get_engine(url)) as session, pytest.raises(NotPermitted) as refused:
        _create_role(session, role)
    assert f"ALTER ROLE {OWNER} CREATEROLE" in refused.value.message
    assert "permission denied" not in refused.value.message
    db.dispose_all()


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_rotation_reaches_every_printing_login(
    loaded: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two approvers print on the office's print server (one key file); the admin rotates;
    the next print of each is signed with the new key, and the old certificate verifies."""
    from sqlalchemy.engine import make_url

    from arayis_cli.certificate.signing import token_in_pdf

    suffix = uuid.uuid4().hex[:6]
    first, second, admin = (f"rot_{who}_{suffix}" for who in ("aysel", "elvin", "rauf"))
    loaded("db", "roles")
    statements = [f'CREATE ROLE "{login}" LOGIN' for login in (first, second, admin)]
    statements += [
        f'GRANT arayis_approver TO "{first}"',
        f'GRANT arayis_approver TO "{second}"',
        f'GRANT arayis_admin TO "{admin}"',
    ]
    _run_sql(admin_url(), statements)
    try:

        def as_(login: str) -> Cli:
            url = make_url(loaded.url).set(username=login, password=None)
            return Cli(url.render_as_string(hide_password=False), monkeypatch)

        def kid_of(cert: dict) -> str:
            token = token_in_pdf(Path(cert["path"]).read_bytes())
            assert token is not None
            return token.split(".")[4]

        old_cert = as_(first).json("print", app_in(loaded, "completed"))
        old = kid_of(old_cert)
        # A second machine with its own copy of the key file, made before the rotation.
        stale = tmp_path / "elvin-laptop.pem"
        shutil.copy2(Path(os.environ["ARAYIS_SIGNING_KEY"]), stale)
        rotated = as_(admin).json("keys", "rotate")
        assert rotated["previous"] == old != rotated["kid"]
        a = as_(first).json("print", app_in(loaded, "completed", code=CODE_CREDIT, fin=CREDIT_FIN))
        b = as_(second).json("print", app_in(loaded, "completed", code=CODE))
        assert kid_of(a) == kid_of(b) == rotated["kid"]
        assert loaded.json("verify", old_cert["path"])["valid"]
        # The stale copy signs nothing: the print is refused with what to do.
        monkeypatch.setenv("ARAYIS_SIGNING_KEY", str(stale))
        nxt = app_in(loaded, "completed", code=CODE_CREDIT, fin=CREDIT_FIN)
        refused = as_(second).json("print", nxt, code=8)
        assert "install the current key file" in refused["message"]
    finally:
        from arayis_cli import db

        db.dispose_all()
        _run_sql(
            admin_url(),
            [f'DROP ROLE IF EXISTS "{login}"' for login in (first, second, admin)],
        )


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_restore_a_dump_into_a_new_database(loaded: Cli, tmp_path: Path) -> None:
    from sqlalchemy.engine import make_url

    from arayis_cli import db

    pg_dump, pg_restore, createdb = (_pg_tool(n) for n in ("pg_dump", "pg_restore", "createdb"))
    cert = loaded.json("print", app_in(loaded, "completed"))
    other = loaded.json("print", app_in(loaded, "completed", code=CODE_CREDIT, fin=CREDIT_FIN))
    loaded("revoke", other["certificate_number"], "--reason", "Sınaq")
    source = make_url(loaded.url)
    conn = [f"--host={source.host}", f"--port={source.port}", f"--username={source.username}"]
    dump = tmp_path / "arayis.dump"
    subprocess.run(
        [pg_dump, *conn, "--format=custom", f"--file={dump}", source.database], check=True
    )
    restored = f"arayis_restored_{uuid.uuid4().hex[:8]}"
    subprocess.run([createdb, *conn, restored], check=True)
    try:
        subprocess.run(
            [pg_restore, *conn, f"--dbname={restored}", "--exit-on-error", str(dump)], check=True
        )
        there = Cli(
            source.set(database=restored).render_as_string(hide_password=False), loaded.monkeypatch
        )
        report = there.json("db", "check")
        assert report["ok"] is True, report
        assert there.json("verify", cert["path"])["valid"] is True
        assert there.json("verify", cert["certificate_number"], "--abonent", CODE)["valid"] is True
        before = {k["kid"] for k in loaded.json("keys", "export", "--all")}
        assert {k["kid"] for k in there.json("keys", "export", "--all")} == before
        # The office key file (restored beside it) signs on the restored database.
        assert there.json("print", app_in(there, "completed", code=CODE))["certificate_number"]
    finally:
        db.dispose_all()
        _run_sql(admin_url(), [f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)'])
