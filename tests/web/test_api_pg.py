"""The portal API on PostgreSQL as a login holding only ``arayis_portal``: every route
works through it, and the same login cannot do anything else from ``psql``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from arayis_cli.web.app import create_app
from arayis_cli.web.config import ServeConfig
from tests.helpers import CODE, DOCS, OWNER_FIN, PG_URL, Cli, app_in
from tests.helpers.database import admin_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="ARAYIS_TEST_POSTGRES_URL not set"),
]


def _psql(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def _as(url: str, login: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(username=login, password=None).render_as_string(hide_password=False)


@pytest.fixture
def portal(loaded: Cli) -> Iterator[tuple[str, str]]:
    """(the portal login's URL, an API key) on a database with the roles installed."""
    if not loaded.url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    loaded("db", "roles")
    login = f"t_portal_{uuid.uuid4().hex[:6]}"
    _psql(admin_url(), f'CREATE ROLE "{login}" LOGIN')
    _psql(admin_url(), f'GRANT arayis_portal TO "{login}"')
    key = loaded.json("api-key", "create", "egov", "--scope", "submit,status,print")["key"]
    yield _as(loaded.url, login), key
    from arayis_cli import db

    db.dispose_all()
    _psql(admin_url(), f'DROP OWNED BY "{login}"')
    _psql(admin_url(), f'DROP ROLE "{login}"')


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_every_route_as_the_portal_login(loaded: Cli, portal: tuple[str, str]) -> None:
    url, key = portal
    ready = app_in(loaded, "completed", code="0009907822", fin="2ERRY24")
    config = ServeConfig(db_url=url, record_interval=0.05, key_cache_seconds=0)
    with TestClient(create_app(config)) as c:
        c.headers["authorization"] = f"Bearer {key}"
        body = {"abonent_code": CODE, "fin": OWNER_FIN, "phone": "050 123 45 67"}
        body |= {"email": "leyla@example.az", "external_id": "PG-1"}
        created = c.post("/api/v1/applications", json=body)
        assert created.status_code == 201, created.text
        app_id = created.json()["id"]
        files = [
            ("kind", (None, "id-card")),
            ("file", ("a.jpg", (DOCS / "sexsiyyet_vesiqesi.jpg").read_bytes())),
        ]
        stored = c.post(f"/api/v1/applications/{app_id}/documents", files=files)
        assert stored.status_code == 201, stored.text
        assert c.get(f"/api/v1/applications/{app_id}").json()["status"] == "new"
        assert c.get("/api/v1/applications", params={"external_id": "PG-1"}).status_code == 200
        assert c.get("/api/v1/changes").json()["changes"]
        printed = c.post(f"/api/v1/applications/{ready}/print")
        assert printed.status_code == 200, printed.text
        again = c.post(f"/api/v1/applications/{ready}/print")
        assert again.content == printed.content
    shown = loaded.json("show", ready)
    assert len(shown["certificates"]) == 1
    # The server names the login it authenticated; the client is beside it.
    assert shown["history"][-1]["actor"].startswith("t_portal_")
    assert shown["history"][-1]["operator"] == "api:egov"
    assert [c["client"] for c in shown["api_calls"]] == ["egov", "egov"]


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE application SET status = 'in_progress' WHERE id = {app}",
        "UPDATE application SET fin = 'AAAAAAA' WHERE id = {app}",
        "INSERT INTO ledger_entry (abonent_code, entry_date, kind, amount_qepik) "
        "VALUES ('0011276516', '2026-11-25', 'payment', 100)",
        "SELECT * FROM audit_log",
        "SELECT * FROM document_blob",
        "UPDATE api_client SET revoked_at = NULL",
        "DELETE FROM api_call",
        "UPDATE certificate SET revoked_at = now()",
        "SELECT * FROM policy",
    ],
)
def test_the_portal_login_can_do_nothing_else(
    loaded: Cli, portal: tuple[str, str], sql: str
) -> None:
    import psycopg

    app_id = app_in(loaded, "new")
    url, _key = portal
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with (
        psycopg.connect(plain, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute(sql.format(app=app_id))
