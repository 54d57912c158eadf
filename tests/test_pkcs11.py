"""The office key in a PKCS#11 token: SoftHSM2 (Debian's softhsm2) through python-pkcs11,
Ed25519 (CKM_EDDSA). Skipped, with the reason, where either is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import CODE_CREDIT, CREDIT_FIN, Cli, app_in

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")


@pytest.fixture
def token_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    pytest.importorskip("pkcs11", reason="python-pkcs11 is not installed")
    util = shutil.which("softhsm2-util")
    if util is None or not MODULE.exists():
        pytest.skip("SoftHSM2 is not installed here (apt-get install softhsm2)")
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n",
        encoding="ascii",
    )
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    subprocess.run(
        [util, "--init-token", "--free", "--label", "arayis", "--pin", "4321", "--so-pin", "8765"],
        check=True,
        capture_output=True,
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
    )
    pin = tmp_path / "hsm-pin"
    pin.write_text("4321\n", encoding="ascii")
    return f"pkcs11:token=arayis;object=arayis-signing?module-path={MODULE}&pin-source={pin}"


def _kid_of(cert: dict) -> str:
    from arayis_cli.certificate.signing import token_in_pdf

    token = token_in_pdf(Path(cert["path"]).read_bytes())
    assert token is not None
    return token.split(".")[4]


def test_office_key_in_a_token(
    loaded: Cli, token_uri: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if "postgresql" in loaded.url:  # the template's file key is current: make way for the token
        loaded("keys", "retire", loaded.json("keys", "export")[0]["kid"])
    monkeypatch.setenv("ARAYIS_SIGNING_KEY", token_uri)
    made = loaded.json("keys", "init")
    assert made["created"] and made["path"].startswith("pkcs11:token=arayis")
    first = loaded.json("print", app_in(loaded, "completed"))
    assert _kid_of(first) == made["kid"]
    assert loaded.json("verify", first["path"])["valid"]
    rotated = loaded.json("keys", "rotate")
    assert rotated["previous"] == made["kid"] != rotated["kid"]
    second = loaded.json("print", app_in(loaded, "completed", code=CODE_CREDIT, fin=CREDIT_FIN))
    assert _kid_of(second) == rotated["kid"]
    for cert in (first, second):
        assert loaded.json("verify", cert["path"])["valid"]
    # Nothing was written beside the data: the private key never left the token.
    # (PostgreSQL: the template's retired file key is this test's copy.)
    assert {p.name for p in tmp_path.rglob("*.pem")} <= {"office-signing-key.pem"}
    assert not (tmp_path / "home" / "keys").exists()
    # A wrong PIN or a missing URI part: one clear line, no traceback.
    wrong = tmp_path / "wrong-pin"
    wrong.write_text("0000\n", encoding="ascii")
    pin_source = token_uri.split("pin-source=")[1]
    monkeypatch.setenv("ARAYIS_SIGNING_KEY", token_uri.replace(pin_source, str(wrong)))
    nxt = app_in(loaded, "completed")
    assert "cannot be opened" in loaded.json("print", nxt, code=8)["message"]
    monkeypatch.setenv("ARAYIS_SIGNING_KEY", token_uri.split("?")[0])
    assert "module-path" in loaded.json("print", nxt, code=2)["message"]
