"""The verification service through HTTP (Starlette's TestClient): every route, the
verdicts, the security headers, the limits, and no personal data on any page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from arayis_cli.certificate.signing import token_in_pdf
from arayis_cli.web.app import create_app
from arayis_cli.web.config import ServeConfig
from tests.helpers import CODE, CODE_CREDIT, DOCS, OWNER_FIN, Cli
from tests.helpers.certificates import issue as _issue
from tests.helpers.certificates import signed_for as _signed_for
from tests.helpers.web import client as _client

JSON = {"accept": "application/json"}
TOKEN_IN_LINK = re.compile(r"/verify/[A-Za-z0-9_.-]+")
# What the sample abonent's certificate must never show on the web: owner, FIN, phone,
# email, amounts (see tests/conftest.py and sample_data/abonents.csv).
PII = ("Süleymanov", OWNER_FIN, "050", "leyla", "@", "AZN", "0.00", "0,00")


@pytest.fixture
def issued(loaded: Cli) -> dict[str, Any]:
    out = _issue(loaded)
    # The token as embedded in the PDF (the QR code's path is decoded in test_browser.py).
    out["token"] = token_in_pdf(Path(out["path"]).read_bytes())
    return out


@pytest.fixture
def client(loaded: Cli) -> Iterator[TestClient]:
    with _client(loaded, burst=1000, rate_per_minute=60_000) as c:
        yield c


def _no_pii(html: str) -> None:
    # The token (in the page's own links) is public and random: its key id and signature
    # could spell "050" or "AZN" by chance.
    html = TOKEN_IN_LINK.sub("", html)
    for personal in PII:
        assert personal not in html, personal


def test_valid_token_page_and_json(loaded: Cli, issued: dict, client: TestClient) -> None:
    page = client.get(f"/verify/{issued['token']}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="az">' in html and "Arayış etibarlıdır" in html
    assert issued["certificate_number"] in html and "25.12.2026" in html
    assert "0011276516" in html and "Azərsu" in html
    assert "arayis.azersu.az" in html and "ünvan sətrində" in html  # the domain reminder
    assert "<script" not in html and "style=" not in html
    _no_pii(html)
    en = client.get(f"/verify/{issued['token']}?lang=en").text
    assert '<html lang="en">' in en and "The certificate is valid" in en
    _no_pii(en)
    as_json = client.get(f"/verify/{issued['token']}", headers=JSON)
    assert as_json.headers["content-type"] == "application/json"
    cli_json = json.loads(loaded("verify", issued["token"], "--json").stdout)
    public = {k: v for k, v in cli_json.items() if k not in ("application_id", "revoked_reason")}
    assert as_json.json() == public


def test_every_reason_is_shown(loaded: Cli, issued: dict, client: TestClient) -> None:
    from arayis_cli.certificate.numbers import certificate_number

    token = issued["token"]
    number, issued_at, _valid, abonent, kid, sig = token.split(".")
    forged = ".".join((number, issued_at, "20301231", abonent, kid, sig))
    page = client.get(f"/verify/{forged}")
    assert page.status_code == 200 and "Arayış etibarsızdır" in page.text
    assert "imza yanlışdır" in page.text and "31.12.2030" not in page.text
    assert client.get(f"/verify/{forged}", headers=JSON).json()["reason"] == "bad signature"
    orphan = _signed_for(certificate_number(2026, 999), token)
    assert client.get(f"/verify/{orphan}", headers=JSON).json()["reason"] == "not in register"
    assert "reyestrdə yoxdur" in client.get(f"/verify/{orphan}").text
    loaded("revoke", issued["certificate_number"], "--reason", "Səhv abonent Süleymanov")
    revoked = client.get(f"/verify/{token}")
    assert "ləğv edilib" in revoked.text and "Süleymanov" not in revoked.text
    body = client.get(f"/verify/{token}", headers=JSON).json()
    assert body["reason"] == "revoked" and "revoked_reason" not in body
    assert "application_id" not in body
    loaded.now("2026-12-26T00:01:00+04:00")
    expired_token = _issue_other(loaded)
    loaded.now("2027-02-01T10:00:00+04:00")
    # A worker reads its settings (ARAYIS_NOW too) when it starts: a later one, later.
    with _client(loaded, burst=1000, rate_per_minute=60_000) as later:
        assert later.get(f"/verify/{expired_token}", headers=JSON).json()["reason"] == "expired"
        assert "The certificate has expired" in later.get(f"/verify/{expired_token}?lang=en").text


def _issue_other(cli: Cli) -> str:
    from tests.helpers import CODE_CREDIT, CREDIT_FIN

    out = _issue(cli, code=CODE_CREDIT, fin=CREDIT_FIN)
    return token_in_pdf(Path(out["path"]).read_bytes())


@pytest.mark.parametrize(
    "bad",
    [
        "garbage",
        "a.b.c",
        "x" * 5000,
        "AR-2026-000001-5.1.2.3.4.5<script>",
        "AR-2026-000001-5.notanumber.20261225.0011276516.abcdef0123456789.c2ln",
        "%00%00",
        "AR-2026-000001-5.1764050400.20261225.0011276516.abcdef0123456789.sig%0Aextra",
    ],
)
def test_malformed_tokens_are_refused_plainly(client: TestClient, bad: str) -> None:
    page = client.get(f"/verify/{bad}")
    assert page.status_code == 400 and "yoxlama keçidi deyil" in page.text
    assert "<script>" not in page.text
    err = client.get(f"/verify/{bad}", headers=JSON)
    assert err.status_code == 400 and err.json()["error"] == "invalid_input"


def test_form_number_and_uploads(
    loaded: Cli, issued: dict, client: TestClient, tmp_path: Path
) -> None:
    form = client.get("/verify")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    assert 'type="file"' in form.text and 'name="number"' in form.text
    assert 'name="abonent"' in form.text
    number = issued["certificate_number"]
    by_number = client.post("/verify", data={"number": number, "abonent": CODE})
    assert "Arayış etibarlıdır" in by_number.text
    alone = client.post("/verify", data={"number": number})
    assert alone.status_code == 400 and "abonent kodunu" in alone.text
    assert "Arayış etibarlıdır" not in alone.text
    other = client.post("/verify", data={"number": number, "abonent": CODE_CREDIT}, headers=JSON)
    assert other.json() == {
        "valid": False,
        "certificate_number": number,
        "reason": "does not match",
    }
    typo = number[:-1] + str((int(number[-1]) + 1) % 10)
    mistyped = client.post("/verify", data={"number": typo, "abonent": CODE})
    assert mistyped.status_code == 400 and "yoxlama rəqəmi" in mistyped.text
    demo = client.post("/verify", data={"number": "NM-2026-000001-5"}, headers=JSON)
    assert demo.json()["reason"] == "demo" and demo.json()["valid"] is False
    genuine = Path(issued["path"]).read_bytes()
    ok = client.post("/verify", files={"pdf": ("a.pdf", genuine, "application/pdf")})
    assert ok.status_code == 200 and "Arayış etibarlıdır" in ok.text
    _no_pii(ok.text)
    changed = bytearray(genuine)
    changed[len(changed) // 2] ^= 0x01
    altered = client.post(
        "/verify", files={"pdf": ("a.pdf", bytes(changed), "application/pdf")}, headers=JSON
    )
    assert altered.json()["reason"] == "altered"
    other = (DOCS / "mulkiyyet_cixarisi.pdf").read_bytes()
    foreign = client.post("/verify", files={"pdf": ("b.pdf", other, "application/pdf")})
    assert "Azərsu arayışı deyil" in foreign.text
    # The CLI and the web agree byte for byte.
    copy = tmp_path / "changed.pdf"
    copy.write_bytes(bytes(changed))
    assert json.loads(loaded("verify", str(copy), "--json", code=6).stdout)["reason"] == "altered"
    from arayis_cli.certificate.numbers import certificate_number

    unknown = client.post(
        "/verify", data={"number": certificate_number(2026, 999), "abonent": CODE}, headers=JSON
    )
    assert unknown.json()["reason"] == "not in register"
    for typo in ("AR-2026-00000a-0", "hello", "x" * 100):
        bad = client.post("/verify", data={"number": typo, "abonent": CODE})
        assert bad.status_code == 400 and "AR-2026-000123-4" in bad.text
    empty = client.post("/verify", data={"number": "  "})
    assert empty.status_code == 400
    assert (
        client.post(
            "/verify", content=b"junk", headers={"content-type": "multipart/form-data; boundary=x"}
        ).status_code
        == 400
    )


def test_limits(loaded: Cli, client: TestClient) -> None:
    big = b"%PDF-" + b"0" * (2 * 1024 * 1024)
    too_big = client.post("/verify", files={"pdf": ("big.pdf", big, "application/pdf")})
    assert too_big.status_code == 413 and "çox böyükdür" in too_big.text

    def chunks() -> Iterator[bytes]:  # no Content-Length: the stream itself is counted
        for _ in range(40):
            yield b"0" * 65536

    streamed = client.post(
        "/verify", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert streamed.status_code == 413
    assert client.get("/verify/" + "A" * 300).status_code == 400
    assert client.put("/verify").status_code == 405
    assert client.get("/nothing-here").status_code == 404


def test_security_headers_and_no_cookies(issued: dict, client: TestClient) -> None:
    for path in ("/verify", f"/verify/{issued['token']}", "/healthz", "/nothing", "/verify/x"):
        response = client.get(path)
        headers = response.headers
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src" not in csp and "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert "set-cookie" not in headers and "server" not in headers
        assert headers["cache-control"] == "no-store"
    css = client.get("/static/verify.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_healthz(loaded: Cli, client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_rate_limit_per_address(loaded: Cli, issued: dict) -> None:
    path = f"/verify/{issued['token']}"
    with _client(loaded, burst=3, rate_per_minute=1) as client:
        assert [client.get(path).status_code for _ in range(3)] == [200, 200, 200]
        limited = client.get(path)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert client.get(path, headers=JSON).json()["error"] == "rate_limited"
        assert client.get("/healthz").status_code == 200  # probes are not limited
        # A forged X-Forwarded-For is ignored unless the peer is a trusted proxy.
        spoof = client.get(path, headers={"x-forwarded-for": "203.0.113.9"})
        assert spoof.status_code == 429
    with TestClient(
        create_app(ServeConfig(db_url=loaded.url, burst=2, rate_per_minute=1)),
        client=("198.51.100.7", 1),
    ) as other:
        assert other.get(path).status_code == 200  # its own bucket in a new process


def test_trusted_proxy_forwarded_address(loaded: Cli, issued: dict) -> None:
    path = f"/verify/{issued['token']}"
    config = ServeConfig(
        db_url=loaded.url, burst=1, rate_per_minute=1, trusted_proxies=("10.0.0.0/8",)
    )
    with TestClient(create_app(config), client=("10.1.2.3", 5555)) as proxy:
        first = {"x-forwarded-for": "203.0.113.1"}
        assert proxy.get(path, headers=first).status_code == 200
        assert proxy.get(path, headers=first).status_code == 429
        # The client's own claim further left changes nothing; the proxy's hop counts.
        forged = {"x-forwarded-for": "1.1.1.1, 203.0.113.1"}
        assert proxy.get(path, headers=forged).status_code == 429
        assert proxy.get(path, headers={"x-forwarded-for": "203.0.113.2"}).status_code == 200


def test_verifications_are_recorded_and_shown(loaded: Cli, issued: dict) -> None:
    with _client(loaded, burst=100) as client:
        client.get(f"/verify/{issued['token']}")
        client.post("/verify", data={"number": issued["certificate_number"], "abonent": CODE})
        client.get("/verify/" + "A" * 10)  # refused before any lookup: nothing to record
    shown = loaded.json("show", str(issued["application_id"]))
    seen = [(v["verdict"], v["channel"], v["evidence"]) for v in shown["verifications"]]
    assert seen == [("valid", "web", "token"), ("valid", "web", "number")]


def test_token_buckets_refill_and_stay_bounded() -> None:
    from arayis_cli.web import guard

    clock = [0.0]
    buckets = guard.TokenBuckets(rate=1.0, burst=2, clock=lambda: clock[0])
    assert [buckets.take("a"), buckets.take("a")] == [0.0, 0.0]
    assert buckets.take("a") == pytest.approx(1.0)
    clock[0] = 1.0
    assert buckets.take("a") == 0.0
    old = guard.MAX_TRACKED_ADDRESSES
    guard.MAX_TRACKED_ADDRESSES = 100
    try:
        for i in range(1000):
            clock[0] += 0.001
            buckets.take(f"10.0.{i // 256}.{i % 256}")
        assert len(buckets._buckets) <= 101
    finally:
        guard.MAX_TRACKED_ADDRESSES = old


def test_oversized_headers_are_refused(client: TestClient) -> None:
    assert client.get("/verify", headers={"x-big": "a" * 20_000}).status_code == 431


def test_serve_refuses_plainly(cli: Cli) -> None:
    import socket

    cli("serve", "--trusted-proxy", "nonsense", code=2)
    cli("serve", "--port", "0", code=2)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        err = cli.json("serve", "--port", str(port), code=8)
    assert err["error"] == "unavailable" and str(port) in err["message"]


def test_ipv6_clients_share_their_64() -> None:
    from arayis_cli.web.guard import client_address

    one = client_address({"client": ("2001:db8:1:2::1", 1)}, [])
    other = client_address({"client": ("2001:db8:1:2:ffff::9", 1)}, [])
    assert one == other == "2001:db8:1:2::/64"
    assert client_address({"client": ("2001:db8:1:3::1", 1)}, []) != one
    assert client_address({"client": ("203.0.113.5", 1)}, []) == "203.0.113.5"


def test_log_records_wait_for_the_database(loaded: Cli, issued: dict, tmp_path: Path) -> None:
    """A register that cannot be written keeps the records queued until it can."""
    from datetime import UTC, datetime

    from sqlalchemy import create_engine, text

    from arayis_cli.services.verification import Check
    from arayis_cli.web.recorder import Recorder

    recorder = Recorder(f"sqlite:///{tmp_path}/no/such/dir/x.db", interval=60)
    (tmp_path / "no").write_text("a file where a folder should be", encoding="ascii")
    number = issued["certificate_number"]
    engine = create_engine(loaded.url)
    with engine.connect() as conn:
        row_id = conn.execute(
            text("SELECT id FROM certificate WHERE number = :n"), {"n": number}
        ).scalar_one()
    engine.dispose()
    recorder.add(Check(row_id, datetime.now(UTC), "valid", "web", "token"))
    recorder.flush()  # fails quietly: the record stays queued
    assert len(recorder._pending) == 1
    recorder.db_url = loaded.url
    recorder.flush()
    assert recorder._pending == []
    shown = loaded.json("show", str(issued["application_id"]))["verifications"]
    assert [(v["verdict"], v["channel"]) for v in shown] == [("valid", "web")]


def test_register_unreachable_is_503_not_a_verdict(tmp_path: Path) -> None:
    (tmp_path / "no").write_text("a file where a folder should be", encoding="ascii")
    config = ServeConfig(db_url=f"sqlite:///{tmp_path}/no/x.db")
    token = "AR-2026-000001-5.1764050400.20261225.0011276516.abcdef0123456789.c2lnbmF0dXJl"
    with TestClient(create_app(config)) as client:
        assert client.get("/healthz").status_code == 503
        page = client.get(f"/verify/{token}")
        assert page.status_code == 503 and "müvəqqəti" in page.text
        assert "etibarsız" not in page.text  # an outage never reads as a verdict
        body = client.get(f"/verify/{token}", headers=JSON).json()
        assert body["error"] == "unavailable"
        form = client.post("/verify", data={"number": "AR-2026-000001-5", "abonent": CODE})
        assert form.status_code == 503


def test_a_superseded_certificate_names_the_newer_one(
    loaded: Cli, issued: dict, client: TestClient
) -> None:
    app_id = str(issued["application_id"])
    newer = loaded.json("print", app_id, "--renew", "--reason", "paper lost")["certificate_number"]
    body = client.get(f"/verify/{issued['token']}", headers=JSON).json()
    assert body["valid"] is False and body["reason"] == "superseded"
    assert body["superseded_by"] == newer
    page = client.get(f"/verify/{issued['token']}")
    assert "Arayış etibarsızdır" in page.text and "yenisi ilə əvəz edilib" in page.text
    assert newer in page.text
    _no_pii(page.text)
