"""verify, revoke, keys: genuine certificates pass; altered, forged, expired, revoked do not."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.helpers import CODE, CODE_CREDIT, DOCS, Cli
from tests.helpers.certificates import issue as _issue
from tests.helpers.certificates import qr_text as _qr_text
from tests.helpers.certificates import signed_for as _signed_for


def _verdict(cli: Cli, what: str | Path, *extra: str, code: int = 0) -> dict:
    result = cli("verify", str(what), *extra, "--json", code=code)
    return json.loads(result.stdout)


def test_genuine_certificate_verifies_every_way(loaded: Cli) -> None:
    out = _issue(loaded)
    pdf = Path(out["path"])
    number = out["certificate_number"]
    by_file = _verdict(loaded, pdf)
    assert by_file["valid"] is True and by_file["reason"] is None
    assert by_file["certificate_number"] == number and by_file["valid_until"] == "2026-12-25"
    assert _verdict(loaded, number, "--abonent", CODE)["valid"] is True
    url = _qr_text(pdf)  # what a phone reads from the printed page
    assert url.startswith("https://arayis.azersu.az/verify/" + number + ".")
    token = url.rsplit("/", 1)[1]
    assert _verdict(loaded, token)["valid"] is True
    assert _verdict(loaded, url)["valid"] is True
    for personal in ("Süleymanov", "6HV4DVC", "0.00", "0,00"):
        assert personal not in url
    people = loaded("verify", str(pdf))
    assert "is authentic" in people.stdout


def test_mistyped_and_unknown_numbers(loaded: Cli) -> None:
    number = _issue(loaded)["certificate_number"]
    typo = number[:-3] + str((int(number[-3]) + 1) % 10) + number[-2:]
    loaded("verify", typo, "--abonent", CODE, code=2)
    from arayis_cli.certificate.numbers import certificate_number

    err = loaded.json("verify", certificate_number(2026, 999), "--abonent", CODE, code=4)
    assert err["error"] == "not_found"


def test_demo_numbers_are_never_valid(loaded: Cli) -> None:
    from arayis_cli.certificate.numbers import certificate_number

    demo = certificate_number(2026, 1, series="NM")
    assert demo == "NM-2026-000001-5"  # the same check digit as the office's series
    verdict = _verdict(loaded, demo, code=6)  # no --abonent needed: never valid anywhere
    assert verdict["reason"] == "demo" and verdict["certificate_number"] == demo
    assert _verdict(loaded, demo, "--abonent", CODE, code=6)["reason"] == "demo"
    assert "demo" in loaded("verify", demo, code=6).stdout
    loaded("verify", "NM-2026-000001-6", code=2)  # a mistyped demo number is still mistyped


def test_a_number_alone_is_not_proof(loaded: Cli) -> None:
    out = _issue(loaded)
    number = out["certificate_number"]
    err = loaded.json("verify", number, code=2)
    assert err["error"] == "invalid_input" and "--abonent" in err["message"]
    other = _verdict(loaded, number, "--abonent", CODE_CREDIT, code=6)
    assert other == {
        "valid": False,
        "certificate_number": number,
        "reason": "does not match",
    }  # nothing about the real certificate is told
    people = loaded("verify", number, "--abonent", CODE_CREDIT, code=6)
    assert "do not match" in " ".join(people.stdout.split())  # the reason's words
    loaded("verify", number, "--abonent", "x!", code=2)
    # The QR link (a signed token) needs nothing more; a wrong code with it is refused too.
    url = _qr_text(Path(out["path"]))
    assert _verdict(loaded, url)["valid"] is True
    assert _verdict(loaded, url, "--abonent", CODE_CREDIT, code=6)["reason"] == "does not match"


def test_one_changed_byte_is_altered(loaded: Cli, tmp_path: Path) -> None:
    pdf = Path(_issue(loaded)["path"])
    content = pdf.read_bytes()
    start = content.index(b"arayis-token:")
    for position in (len(content) // 3, len(content) // 2, len(content) - 10, 5):
        if start <= position < start + 250:
            continue
        changed = bytearray(content)
        changed[position] ^= 0x01
        copy = tmp_path / f"changed-{position}.pdf"
        copy.write_bytes(bytes(changed))
        verdict = _verdict(loaded, copy, code=6)
        assert verdict == {**verdict, "valid": False, "reason": "altered"}


def test_tampered_token_in_pdf_is_bad_signature(loaded: Cli, tmp_path: Path) -> None:
    pdf = Path(_issue(loaded)["path"])
    content = pdf.read_bytes()
    start = content.index(b"arayis-token:")
    end = content.index(b")", start)
    sig_pos = content.rindex(b".", start, end) + 5
    changed = bytearray(content)
    changed[sig_pos] = ord("A") if changed[sig_pos] != ord("A") else ord("B")
    copy = tmp_path / "tampered.pdf"
    copy.write_bytes(bytes(changed))
    assert _verdict(loaded, copy, code=6)["reason"] == "bad signature"


def test_forged_tokens(loaded: Cli) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    out = _issue(loaded)
    token = _qr_text(Path(out["path"])).rsplit("/", 1)[1]
    number, issued, _valid, abonent, kid, sig = token.split(".")
    # A later expiry date under the original signature.
    longer = ".".join((number, issued, "20301231", abonent, kid, sig))
    assert _verdict(loaded, longer, code=6)["reason"] == "bad signature"
    # Signed by somebody else's key that claims our key id.
    other = Ed25519PrivateKey.generate()
    payload = ".".join((number, issued, "20301231", abonent, kid))
    forged_sig = base64.urlsafe_b64encode(other.sign(payload.encode())).rstrip(b"=").decode()
    assert _verdict(loaded, f"{payload}.{forged_sig}", code=6)["reason"] == "bad signature"
    loaded("verify", "garbage-that-is-not-a-token", code=2)


def test_not_a_certificate_pdf(loaded: Cli, tmp_path: Path) -> None:
    """Some other PDF (or a file that is no PDF at all) is not called 'altered'."""
    if "sqlite" in loaded.url:
        loaded("keys", "init")  # nothing printed yet, and keys export never makes a key
    for other in (DOCS / "mulkiyyet_cixarisi.pdf",):
        verdict = _verdict(loaded, other, code=6)
        assert verdict["reason"] == "not a certificate" and verdict["certificate_number"] is None
        offline = _verdict(
            loaded, other, "--offline", "--public-key", str(_keys(loaded, tmp_path)), code=6
        )
        assert offline["reason"] == "not a certificate"
    text = tmp_path / "notes.txt"
    text.write_text("hello", encoding="ascii")
    assert _verdict(loaded, text, code=6)["reason"] == "not a certificate"
    people = loaded("verify", str(DOCS / "mulkiyyet_cixarisi.pdf"), code=6)
    assert "this file is not an Azərsu certificate" in " ".join(people.stdout.split())
    loaded("verify", "missing.pdf", code=2)


def _keys(cli: Cli, tmp_path: Path) -> Path:
    keys = tmp_path / "keys.pem"
    keys.write_text(cli("keys", "export", "--all").stdout, encoding="ascii")
    return keys


def test_damaged_token_in_a_certificate_is_altered(loaded: Cli, tmp_path: Path) -> None:
    """A certificate whose embedded token no longer parses was altered, not 'not a certificate'."""
    content = Path(_issue(loaded)["path"]).read_bytes()
    dot = content.index(b".", content.index(b"arayis-token:"))
    changed = content[:dot] + b"!" + content[dot + 1 :]  # the token no longer parses
    copy = tmp_path / "damaged.pdf"
    copy.write_bytes(changed)
    assert _verdict(loaded, copy, code=6)["reason"] == "altered"


def test_well_signed_but_unregistered_is_not_in_register(loaded: Cli, tmp_path: Path) -> None:
    from arayis_cli.certificate.numbers import certificate_number

    out = _issue(loaded)
    token = _qr_text(Path(out["path"])).rsplit("/", 1)[1]
    orphan = _signed_for(certificate_number(2026, 999), token)
    verdict = _verdict(loaded, orphan, code=6)
    assert verdict["reason"] == "not in register"
    assert verdict["certificate_number"] == certificate_number(2026, 999)
    # The same orphan inside a PDF (a print killed before its register row committed).
    pdf = Path(out["path"]).read_bytes().replace(token.encode(), orphan.encode())
    copy = tmp_path / "orphan.pdf"
    copy.write_bytes(pdf)
    assert _verdict(loaded, copy, code=6)["reason"] == "not in register"
    people = loaded("verify", orphan, code=6)
    assert "no certificate with this number is in the register" in " ".join(people.stdout.split())


def test_every_verification_is_recorded_and_shown(loaded: Cli) -> None:
    out = _issue(loaded)
    number = out["certificate_number"]
    _verdict(loaded, out["path"])
    _verdict(loaded, number, "--abonent", CODE)
    loaded("revoke", number, "--reason", "Səhv")
    _verdict(loaded, number, "--abonent", CODE, code=6)
    shown = loaded.json("show", str(out["application_id"]))
    seen = [
        (v["certificate_number"], v["verdict"], v["channel"], v["evidence"])
        for v in shown["verifications"]
    ]
    assert seen == [
        (number, "valid", "cli", "pdf"),
        (number, "valid", "cli", "number"),
        (number, "revoked", "cli", "number"),
    ]
    assert all(v["at"].endswith("+04:00") for v in shown["verifications"])
    people = loaded("show", str(out["application_id"]))
    assert "Verifications" in people.stdout and "revoked" in people.stdout


def test_expired(loaded: Cli) -> None:
    out = _issue(loaded)
    [cert] = loaded.json("show", str(out["application_id"]))["certificates"]
    assert cert["revoked_at"] is None and cert["revocation_reason"] is None
    loaded.now("2026-12-25T23:59:00+04:00")
    assert _verdict(loaded, out["certificate_number"], "--abonent", CODE)["valid"] is True
    loaded.now("2026-12-26T00:01:00+04:00")
    assert (
        _verdict(loaded, out["certificate_number"], "--abonent", CODE, code=6)["reason"]
        == "expired"
    )
    assert _verdict(loaded, out["path"], code=6)["reason"] == "expired"


def test_revoke(loaded: Cli, unchanged) -> None:
    out = _issue(loaded)
    number = out["certificate_number"]
    revoked = loaded.json("revoke", number, "--reason", "Səhv abonentə verilib")
    assert revoked["certificate_number"] == number
    verdict = _verdict(loaded, out["path"], code=6)
    assert verdict["reason"] == "revoked" and verdict["revoked_reason"] == "Səhv abonentə verilib"
    assert _verdict(loaded, number, "--abonent", CODE, code=6)["reason"] == "revoked"
    shown = loaded.json("show", str(out["application_id"]))
    history = shown["history"]
    assert history[-1]["action"] == "revoke" and history[-1]["detail"]["reason"]
    # show says when and why; people see it beside the certificate.
    [cert] = shown["certificates"]
    assert cert["revoked_at"] == "2026-11-25T10:00:00+04:00"
    assert cert["revocation_reason"] == "Səhv abonentə verilib"
    people = " ".join(loaded("show", str(out["application_id"])).stdout.split())
    assert "Revoked" in people and "Səhv" in people
    with unchanged():
        loaded("revoke", number, "--reason", "again", code=5)
        loaded("revoke", number[:-1] + str((int(number[-1]) + 1) % 10), "--reason", "x", code=2)
        loaded("revoke", number, "--reason", " ", code=2)


def test_key_rotation_keeps_old_certificates_verifiable(loaded: Cli, tmp_path: Path) -> None:
    from tests.helpers import CODE_CREDIT, CREDIT_FIN

    old = _issue(loaded)
    old_keys = tmp_path / "old.pem"
    old_keys.write_text(loaded("keys", "export").stdout, encoding="ascii")
    rotated = loaded.json("keys", "rotate")
    new = _issue(loaded, code=CODE_CREDIT, fin=CREDIT_FIN)
    assert _verdict(loaded, old["path"])["valid"] and _verdict(loaded, new["path"])["valid"]
    keys = loaded.json("keys", "export", "--all")
    assert len(keys) == 2 and [k["current"] for k in keys].count(True) == 1
    assert next(k for k in keys if k["current"])["kid"] == rotated["kid"]
    all_keys = tmp_path / "all.pem"
    all_keys.write_text(loaded("keys", "export", "--all").stdout, encoding="ascii")
    # Offline: signature and expiry only, from the exported public keys.
    for pdf in (old["path"], new["path"]):
        assert _verdict(loaded, pdf, "--offline", "--public-key", str(all_keys))["valid"]
    assert (
        _verdict(loaded, new["path"], "--offline", "--public-key", str(old_keys), code=6)["reason"]
        == "bad signature"
    )
    loaded.now("2027-02-01T10:00:00+04:00")
    assert (
        _verdict(loaded, old["path"], "--offline", "--public-key", str(all_keys), code=6)["reason"]
        == "expired"
    )


def test_offline_needs_a_key(loaded: Cli, tmp_path: Path) -> None:
    out = _issue(loaded)
    loaded("verify", out["path"], "--offline", code=2)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key", encoding="ascii")
    loaded("verify", out["path"], "--offline", "--public-key", str(junk), code=2)
    loaded("verify", out["certificate_number"], "--offline", "--public-key", str(junk), code=2)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_private_key_is_owner_only(loaded: Cli, isolated: Path) -> None:
    """The embedded terminal's key, made on first use (PostgreSQL: tests/test_office_keys)."""
    _issue(loaded)
    keys = list((isolated / "home" / "keys").glob("*.pem"))
    assert len(keys) == 1 and keys[0].stat().st_mode & 0o077 == 0
    assert (isolated / "home" / "keys").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_configured_key(loaded: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key_file = tmp_path / "office.pem"
    key_file.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    monkeypatch.setenv("ARAYIS_SIGNING_KEY", str(key_file))
    out = _issue(loaded)
    assert _verdict(loaded, out["path"])["valid"]
    rotated = loaded.json("keys", "rotate")  # works on the configured file itself
    assert rotated["previous"] != rotated["kid"] and key_file.stat().st_mode & 0o007 == 0
    assert _verdict(loaded, out["path"])["valid"]  # signed by the old key: still valid
    monkeypatch.setenv("ARAYIS_SIGNING_KEY", str(tmp_path / "missing.pem"))
    # The machine's set-up, not the input: exit 8, as on PostgreSQL.
    loaded("print", str(out["application_id"]), "--renew", "--reason", "key", code=8)
