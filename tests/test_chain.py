"""The hash chain itself: the genesis of an upgraded store, writers that never fork it,
and (PostgreSQL) no client role able to write it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.helpers import CODE_CREDIT, CREDIT_FIN, Cli, app_in
from tests.helpers.database import edit_behind


def _links(url: str) -> list[tuple[int, str, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [
                (int(p), str(t), str(r))
                for p, t, r in conn.execute(
                    text("SELECT position, tbl, rid FROM chain_link ORDER BY position")
                )
            ]
    finally:
        engine.dispose()


def test_an_upgraded_store_is_chained_whole(loaded: Cli) -> None:
    """A store written before the chain existed gets its genesis from the migration."""
    from alembic import command
    from alembic.config import Config

    from arayis_cli import db
    from tests.helpers import REPO

    a = app_in(loaded, "completed")
    loaded("print", a)
    app_in(loaded, "rejected", code=CODE_CREDIT, fin=CREDIT_FIN)
    cfg = Config()
    cfg.set_main_option("script_location", str(REPO / "arayis_cli" / "migrations"))
    with db.get_engine(loaded.url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0009_accountability")
    db.dispose_all()
    db.upgrade(loaded.url)
    db.dispose_all()
    links = _links(loaded.url)
    assert [p for p, _t, _r in links] == list(range(1, len(links) + 1))
    assert {("application", a), ("abonent", "0011276516")} <= {(t, r) for _p, t, r in links}
    assert loaded.json("db", "check")["ok"] is True
    loaded("policy", "set", "four-eyes", "on")  # the tool goes on from the genesis
    assert loaded.json("db", "check")["ok"] is True


def test_concurrent_writers_never_fork_the_chain(loaded: Cli, tmp_path: Path) -> None:
    """Four processes changing the policy at once: every change is linked, in one line."""
    env = {**os.environ, "ARAYIS_HOME": str(tmp_path / "home"), "ARAYIS_LANG": "en"}
    script = (
        "import sys\n"
        "from arayis_cli.cli.app import main\n"
        "url = sys.argv[1]\n"
        "for i in range(4):\n"
        "    sys.argv = ['arayis', '--db', url, 'policy', 'set', 'four-eyes',"
        " 'on' if i % 2 else 'off']\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as exc:\n"
        "        assert not exc.code, exc.code\n"
    )
    # The row exists first (two first-ever changes at once: tests/test_concurrency.py).
    loaded("policy", "set", "four-eyes", "off")
    before = len(_links(loaded.url))
    procs = [
        subprocess.Popen([sys.executable, "-c", script, loaded.url], env=env) for _ in range(4)
    ]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0, 0]
    links = _links(loaded.url)
    assert [p for p, _t, _r in links] == list(range(1, len(links) + 1))
    assert len(links) - before >= 16  # 16 policy changes, each at least its policy row
    assert loaded.json("db", "check")["ok"] is True


@pytest.mark.postgres
def test_no_role_may_write_the_chain(loaded: Cli) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    from tests.helpers.database import admin_url as _admin_url

    if not loaded.url.startswith("postgresql"):
        pytest.skip("roles are PostgreSQL's")
    loaded("policy", "set", "four-eyes", "off")
    loaded("db", "roles")
    login = f"t_chain_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{login}" LOGIN')
        conn.execute(f'GRANT "arayis_admin" TO "{login}"')
    url = (
        make_url(loaded.url)
        .set(drivername="postgresql", username=login, password=None)
        .render_as_string(hide_password=False)
    )
    attempts = [
        "INSERT INTO chain_link VALUES (999999, 'policy', 'x', 'x', 'x')",
        "UPDATE chain_link SET digest = 'x'",
        "DELETE FROM chain_link",
        "TRUNCATE chain_link",
        "INSERT INTO chain_pending (tbl, rid) VALUES ('policy', 'four_eyes')",
        "DELETE FROM chain_pending",
        "SELECT arayis_chain_seal_now()",
        "SELECT arayis_chain_digest('application', '1')",
    ]
    for sql in attempts:
        with psycopg.connect(url) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
            conn.rollback()
    # What the role may do, it does with the database writing the link.
    with psycopg.connect(url) as conn:
        conn.execute("SELECT count(*) FROM chain_link").fetchone()
        before = conn.execute("SELECT max(position) FROM chain_link").fetchone()
        conn.execute("UPDATE policy SET value = 'on'")
        conn.commit()
        after = conn.execute("SELECT max(position) FROM chain_link").fetchone()
    assert after[0] > before[0]
    assert loaded.json("db", "check")["ok"] is True


def test_a_bulk_import_links_every_row_it_writes(loaded: Cli) -> None:
    """`submit --from-file` seals a chunk at a time: each application, its history row,
    email and feed row gets its own link, and an edit of any of them afterwards is found."""
    from tests.helpers import SAMPLE

    before = len(_links(loaded.url))
    assert loaded.json("submit", "--from-file", SAMPLE / "applications.csv")["created"] == 20
    links = _links(loaded.url)
    assert [p for p, _t, _r in links] == list(range(1, len(links) + 1))
    new = {(t, r) for _p, t, r in links[before:]}
    for table in ("application", "event", "outbox_message", "status_change"):
        assert sum(t == table for t, _r in new) == 20, table
    assert loaded.json("db", "check")["ok"] is True
    edit_behind(
        loaded.url,
        "UPDATE application SET email = 'x@evil.example' WHERE id = (SELECT max(id) FROM "
        "application)",
        "UPDATE outbox_message SET body = 'Ödəniş edin: evil.example' WHERE id = "
        "(SELECT min(id) FROM outbox_message)",
        "DELETE FROM status_change WHERE id = (SELECT max(id) FROM status_change)",
    )
    found = loaded("db", "check", code=6).stdout
    assert "3 problem(s)" in found, found
    for line in ("application ", "email ", "feed entry "):
        assert f"- {line}" in found, found
