"""The portal API (/api/v1) through HTTP: each route's rules, keys and scopes, problem
documents, idempotency, "Çap et" (debt warning, the same bytes again, one certificate
for concurrent presses), every call recorded and shown by ``show``."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from arayis_cli.web.app import create_app
from arayis_cli.web.config import ServeConfig
from tests.helpers import CODE, CODE_DEBT, DEBT_FIN, DOCS, OWNER_FIN, Cli, app_in

PROBLEM = "application/problem+json"
BODY = {
    "abonent_code": CODE,
    "fin": OWNER_FIN,
    "phone": "050 123 45 67",
    "email": "leyla.aliyeva@example.az",
    "external_id": "EGOV-1",
}


@pytest.fixture
def unchanged(cli: Cli) -> Any:
    """``with unchanged(): …``: nothing but the record of the calls themselves changes."""
    from contextlib import contextmanager

    from tests.helpers.database import snapshot

    @contextmanager
    def check() -> Iterator[None]:
        before = snapshot(cli.url)
        yield
        after = snapshot(cli.url)
        before.pop("api_call"), after.pop("api_call")
        assert after == before

    return check


def _key(cli: Cli, name: str = "egov", scope: str = "submit,status,print") -> str:
    return str(cli.json("api-key", "create", name, "--scope", scope)["key"])


def _client(cli: Cli, **kw: Any) -> TestClient:
    config = ServeConfig(db_url=cli.url, record_interval=0.05, key_cache_seconds=0, **kw)
    return TestClient(create_app(config), client=("198.51.100.7", 40000))


@pytest.fixture
def api(loaded: Cli) -> Iterator[TestClient]:
    key = _key(loaded)
    with _client(loaded) as c:
        c.headers["authorization"] = f"Bearer {key}"
        yield c


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    data = response.json()
    assert data["status"] == status and data["code"] == code and data["detail"]
    return data


def _docs() -> list[tuple[str, Any]]:
    return [
        ("kind", (None, "id-card")),
        ("file", ("sexsiyyet_vesiqesi.jpg", (DOCS / "sexsiyyet_vesiqesi.jpg").read_bytes())),
        ("kind", (None, "ownership")),
        ("file", ("mulkiyyet_cixarisi.pdf", (DOCS / "mulkiyyet_cixarisi.pdf").read_bytes())),
    ]


def test_submit_created_then_same_external_id(api: TestClient, loaded: Cli) -> None:
    first = api.post("/api/v1/applications", json=BODY)
    assert first.status_code == 201, first.text
    data = first.json()
    assert data["status"] == "new" and data["external_id"] == "EGOV-1"
    assert data["id"] == data["application_id"] and data["print_enabled"] is False
    assert data["due_on"] == "2026-11-28" or data["due_on"] > "2026-11-25"
    again = api.post("/api/v1/applications", json=BODY)
    assert again.status_code == 200 and again.json()["id"] == data["id"]
    # The same abonent under another portal id: one open application per abonent.
    _problem(
        api.post("/api/v1/applications", json={**BODY, "external_id": "EGOV-2"}), 409, "conflict"
    )
    shown = loaded.json("show", str(data["id"]))
    assert shown["channel"] == "egov" and shown["history"][0]["action"] == "submit"


def test_submit_validated_as_the_cli(api: TestClient, loaded: Cli, unchanged: Any) -> None:
    with unchanged():
        bad = _problem(
            api.post("/api/v1/applications", json={**BODY, "fin": "12"}), 422, "invalid_input"
        )
        assert OWNER_FIN not in bad["detail"]
        cli_error = loaded.json(
            "submit",
            "--abonent",
            CODE,
            "--fin",
            "12",
            "--phone",
            "050 123 45 67",
            "--email",
            "a@example.az",
            code=2,
        )
        assert bad["code"] == cli_error["error"]
        _problem(
            api.post("/api/v1/applications", json={**BODY, "abonent_code": "9999999999"}),
            422,
            "not_found",
        )
        _problem(api.post("/api/v1/applications", json={"fin": OWNER_FIN}), 422, "invalid_input")
        _problem(
            api.post(
                "/api/v1/applications",
                content=b"{not json",
                headers={"content-type": "application/json"},
            ),
            422,
            "invalid_input",
        )
        _problem(
            api.post(
                "/api/v1/applications",
                content=b"x" * 20_000,
                headers={"content-type": "application/json"},
            ),
            413,
            "too_large",
        )


def test_problem_detail_in_azerbaijani_or_english(api: TestClient) -> None:
    az = _problem(
        api.post("/api/v1/applications", json={**BODY, "fin": "12"}), 422, "invalid_input"
    )
    en = _problem(
        api.post(
            "/api/v1/applications",
            json={**BODY, "fin": "12"},
            headers={"accept-language": "en-GB,en;q=0.9"},
        ),
        422,
        "invalid_input",
    )
    assert az["detail"] != en["detail"] and "FIN" in en["detail"]
    assert any(ch in az["detail"] for ch in "əöüğışç")


def test_keys_and_scopes(loaded: Cli) -> None:
    full = _key(loaded)
    reader = _key(loaded, "azersu", "status")
    with _client(loaded) as c:
        missing = _problem(c.get("/api/v1/changes"), 401, "unauthorized")
        assert missing["title"] == "Unauthorized"
        # The key is checked before the body is read: a stranger learns nothing from 422s.
        stranger = c.post(
            "/api/v1/applications",
            content=b"{not json",
            headers={"content-type": "application/json", "authorization": "Bearer arayis_x"},
        )
        _problem(stranger, 401, "unauthorized")
        assert c.get("/api/v1/openapi.json").status_code == 200
        _problem(
            c.get("/api/v1/changes", headers={"authorization": "Bearer arayis_nope"}),
            401,
            "unauthorized",
        )
        _problem(
            c.get("/api/v1/changes", headers={"authorization": f"Basic {full}"}),
            401,
            "unauthorized",
        )
        as_reader = {"authorization": f"Bearer {reader}"}
        assert c.get("/api/v1/changes", headers=as_reader).status_code == 200
        _problem(c.post("/api/v1/applications", json=BODY, headers=as_reader), 403, "not_permitted")
        _problem(c.post("/api/v1/applications/1/print", headers=as_reader), 403, "not_permitted")
        loaded("api-key", "revoke", "azersu")
        _problem(c.get("/api/v1/changes", headers=as_reader), 401, "unauthorized")
    listed = loaded.json("api-key", "list")
    assert [r["name"] for r in listed] == ["azersu", "egov"]
    assert listed[0]["revoked_at"] and "key" not in listed[0]
    assert full not in str(listed)
    loaded.json("api-key", "revoke", "azersu", code=5)
    loaded.json("api-key", "create", "egov", "--scope", "status", code=5)
    loaded.json("api-key", "create", "x y", "--scope", "status", code=2)
    loaded.json("api-key", "create", "other", "--scope", "status,delete", code=2)


def test_documents_pairs_and_idempotency_key(api: TestClient, loaded: Cli) -> None:
    app_id = api.post("/api/v1/applications", json=BODY).json()["id"]
    url = f"/api/v1/applications/{app_id}/documents"
    first = api.post(url, files=_docs(), headers={"idempotency-key": "k-1"})
    assert first.status_code == 201, first.text
    stored = first.json()
    assert stored["added"] == 2
    assert [d["kind"] for d in stored["documents"]] == ["id-card", "ownership"]
    events = len(loaded.json("show", str(app_id))["history"])
    again = api.post(url, files=_docs(), headers={"idempotency-key": "k-1"})
    assert again.status_code == 201 and again.json() == stored
    assert len(loaded.json("show", str(app_id))["history"]) == events
    other = [
        ("kind", (None, "other")),
        ("file", ("a.png", (DOCS / "bildiris_faktura.png").read_bytes())),
    ]
    _problem(api.post(url, files=other, headers={"idempotency-key": "k-1"}), 409, "conflict")
    # Without a key, the same files again are stored once (as attach does).
    assert api.post(url, files=_docs()).json()["added"] == 0


def test_documents_refused_as_attach_refuses(api: TestClient, loaded: Cli, unchanged: Any) -> None:
    app_id = api.post("/api/v1/applications", json=BODY).json()["id"]
    url = f"/api/v1/applications/{app_id}/documents"
    with unchanged():
        _problem(api.post(url, files=[("kind", (None, "id-card"))]), 422, "invalid_input")
        pairs = _docs()[:3]
        _problem(api.post(url, files=pairs), 422, "invalid_input")
        text = [("kind", (None, "id-card")), ("file", ("x.pdf", b"not a pdf at all"))]
        _problem(api.post(url, files=text), 422, "invalid_input")
        kind = [
            ("kind", (None, "passport")),
            ("file", ("a.png", (DOCS / "bildiris_faktura.png").read_bytes())),
        ]
        _problem(api.post(url, files=kind), 422, "invalid_input")
        _problem(api.post("/api/v1/applications/999999/documents", files=_docs()), 404, "not_found")
        _problem(api.post("/api/v1/applications/0/documents", files=_docs()), 422, "invalid_input")


def test_upload_over_the_limit_is_413(loaded: Cli) -> None:
    key = _key(loaded)
    app_id = app_in(loaded, "new")
    with _client(loaded, api_max_body_bytes=50_000) as c:
        big = [
            ("kind", (None, "other")),
            ("file", ("big.pdf", b"%PDF-1.4\n" + b"0" * 60_000 + b"%%EOF")),
        ]
        response = c.post(
            f"/api/v1/applications/{app_id}/documents",
            files=big,
            headers={"authorization": f"Bearer {key}"},
        )
        _problem(response, 413, "too_large")


def test_status_find_and_changes(api: TestClient, loaded: Cli) -> None:
    app_id = api.post("/api/v1/applications", json=BODY).json()["id"]
    seen = api.get(f"/api/v1/applications/{app_id}").json()
    subscriber = loaded.json("show", str(app_id), "--as-subscriber")
    assert {k: seen[k] for k in subscriber} == subscriber
    assert api.get("/api/v1/applications", params={"external_id": "EGOV-1"}).json() == seen
    _problem(api.get("/api/v1/applications", params={"external_id": "nope"}), 404, "not_found")
    _problem(api.get("/api/v1/applications/424242"), 404, "not_found")
    _problem(api.get("/api/v1/applications/99999999999999"), 422, "invalid_input")
    feed = api.get("/api/v1/changes", params={"after": 0, "limit": 10}).json()
    assert feed == loaded.json("changes", "--after", "0", "--limit", "10")
    _problem(api.get("/api/v1/changes", params={"limit": 0}), 422, "invalid_input")
    _problem(api.get("/api/v1/nothing"), 404, "not_found")


def test_print_debt_warning_recorded_as_refused(api: TestClient, loaded: Cli) -> None:
    app_id = app_in(loaded, "completed", code=CODE_DEBT, fin=DEBT_FIN)
    refused = _problem(api.post(f"/api/v1/applications/{app_id}/print"), 409, "debt")
    assert refused["debt"] == "23.80" and refused["application_id"] == int(app_id)
    assert refused["warning"].startswith("Borc var: 23,80")
    shown = loaded.json("show", app_id)
    assert [a["printed"] for a in shown["print_attempts"]] == [False]
    assert shown["certificates"] == []


def test_print_not_completed_is_409(api: TestClient, loaded: Cli) -> None:
    app_id = app_in(loaded, "in_progress")
    _problem(api.post(f"/api/v1/applications/{app_id}/print"), 409, "conflict")
    _problem(api.post("/api/v1/applications/77777/print"), 404, "not_found")


def test_print_again_returns_the_same_bytes(api: TestClient, loaded: Cli) -> None:
    import io

    from pypdf import PdfReader

    app_id = app_in(loaded, "completed")
    first = api.post(f"/api/v1/applications/{app_id}/print")
    assert first.status_code == 200 and first.headers["content-type"] == "application/pdf"
    number = first.headers["x-certificate-number"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(first.content)).pages)
    assert number in text
    second = api.post(f"/api/v1/applications/{app_id}/print")
    assert second.status_code == 200 and second.content == first.content
    shown = loaded.json("show", app_id)
    assert [c["certificate_number"] for c in shown["certificates"]] == [number]
    assert [a["printed"] for a in shown["print_attempts"]] == [True, True]
    verdict = loaded.json("verify", number, "--abonent", CODE)
    assert verdict["valid"] is True


def test_concurrent_presses_issue_one_certificate(
    loaded: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arayis_cli.db import WriteTurns, session_scope
    from arayis_cli.services import portal
    from arayis_cli.services.portal import press_print
    from tests.helpers import issuer, run_now

    app_id = int(app_in(loaded, "completed"))
    turns = WriteTurns(loaded.url)
    results: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)
    # All six at once, as from six workers (one worker lets one press through at a time,
    # and presses of one application one after the other; other workers would not wait).
    monkeypatch.setattr(portal, "_press_slots", threading.BoundedSemaphore(6))
    monkeypatch.setattr(portal, "_one_press_at_a_time", lambda app_id: contextlib.nullcontext())

    def press() -> None:
        start.wait()
        try:
            pressed = press_print(
                lambda *, write=True: session_scope(loaded.url, write=write),
                app_id,
                now=run_now(),
                actor="api:egov",
                issuer=issuer(),
                turns=turns,
            )
            results.append(pressed)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=press) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sum(r.fresh for r in results) == 1
    assert len({r.pdf for r in results}) == 1
    assert len(loaded.json("show", str(app_id))["certificates"]) == 1


def test_rate_limit_per_client(loaded: Cli) -> None:
    key = _key(loaded)
    with _client(loaded, api_burst=2, api_rate_per_minute=1) as c:
        c.headers["authorization"] = f"Bearer {key}"
        assert c.get("/api/v1/changes").status_code == 200
        assert c.get("/api/v1/changes").status_code == 200
        limited = _problem(c.get("/api/v1/changes"), 429, "rate_limited")
        assert limited and int(c.get("/api/v1/changes").headers["retry-after"]) >= 1


def test_every_call_recorded_and_shown(loaded: Cli) -> None:
    key = _key(loaded)
    with _client(loaded) as c:
        c.headers["authorization"] = f"Bearer {key}"
        app_id = c.post("/api/v1/applications", json=BODY).json()["id"]
        c.get(f"/api/v1/applications/{app_id}")
        c.post(f"/api/v1/applications/{app_id}/print")
        c.get(f"/api/v1/applications/{app_id}", headers={"authorization": "Bearer arayis_bad"})
    calls = loaded.json("show", str(app_id))["api_calls"]
    assert [(x["client"], x["method"], x["route"], x["status"], x["outcome"]) for x in calls] == [
        ("egov", "POST", "/api/v1/applications", 201, "ok"),
        ("egov", "GET", "/api/v1/applications/{app_id}", 200, "ok"),
        ("egov", "POST", "/api/v1/applications/{app_id}/print", 409, "conflict"),
        (None, "GET", "/api/v1/applications/{app_id}", 401, "unauthorized"),
    ]
    human = loaded("show", str(app_id)).stdout
    assert "Portal API calls" in human and "409 conflict" in human


def test_a_revoked_certificate_is_not_printed_again(api: TestClient, loaded: Cli) -> None:
    app_id = app_in(loaded, "completed")
    number = api.post(f"/api/v1/applications/{app_id}/print").headers["x-certificate-number"]
    loaded("revoke", number, "--reason", "Səhv abonentə verilib")
    refused = _problem(api.post(f"/api/v1/applications/{app_id}/print"), 409, "conflict")
    assert number in refused["detail"]
    assert len(loaded.json("show", app_id)["certificates"]) == 1


@pytest.mark.parametrize("route", ["submit", "upload"])
def test_submissions_and_uploads_take_turns_at_the_write_lock(
    api: TestClient, loaded: Cli, route: str
) -> None:
    """SQLite: the API's other writes wait for their turn as the presses do (another worker
    holding the ``<database>-turn`` lock, here through a descriptor of its own), instead of
    each in SQLite's sleeping busy handler; then they go through."""
    import fcntl
    import os

    from arayis_cli.db import WriteTurns

    if not loaded.url.startswith("sqlite"):
        pytest.skip("PostgreSQL locks rows: no turns")
    app_id = api.post("/api/v1/applications", json=BODY).json()["id"]
    turn_file = WriteTurns(loaded.url).path
    assert turn_file is not None
    fd = os.open(turn_file, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    answers: list[Any] = []

    def call() -> None:
        if route == "submit":
            body = {**BODY, "abonent_code": CODE_DEBT, "fin": DEBT_FIN, "external_id": "EGOV-9"}
            answers.append(api.post("/api/v1/applications", json=body))
        else:
            answers.append(api.post(f"/api/v1/applications/{app_id}/documents", files=_docs()))

    waiting = threading.Event()
    real_take = WriteTurns._take

    def take(self: WriteTurns, turn_fd: int) -> None:
        waiting.set()
        real_take(self, turn_fd)

    writer = threading.Thread(target=call)
    try:
        WriteTurns._take = take  # type: ignore[method-assign]
        writer.start()
        assert waiting.wait(30)  # it came to the turn …
        writer.join(0.5)
        assert writer.is_alive() and not answers  # … and waits for it, nothing written
    finally:
        WriteTurns._take = real_take  # type: ignore[method-assign]
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    writer.join(30)
    assert answers and answers[0].status_code == 201, answers[0].text


def test_a_path_the_mount_does_not_take_is_still_a_problem_document(api: TestClient) -> None:
    """A line break in the path (Starlette's mount does not match it) is the API's 404
    problem document, not the verification site's HTML page."""
    for method, path in (
        ("POST", "/api/v1/applications/1%0a/print"),
        ("GET", "/api/v1/applications/1%0a/documents"),
        ("PUT", "/api/v1/%0a"),
    ):
        _problem(api.request(method, path), 404, "not_found")
    assert api.get("/nowhere%0a").headers["content-type"].startswith("text/html")
