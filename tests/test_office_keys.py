"""The office signing key (keys init / export / rotate / retire), on both backends.

On PostgreSQL the ``db_url`` fixture gives every test a database whose office key exists
(``keys init`` done in the template) and ``ARAYIS_SIGNING_KEY`` naming this test's copy of
it; SQLite is the embedded terminal, whose key is made on first use.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.helpers import CODE_CREDIT, CREDIT_FIN, Cli, app_in, key_place

PG = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _issue(cli: Cli, **kw: str) -> dict:
    return cli.json("print", app_in(cli, "completed", **kw))


def _key_of(cert: dict) -> str:
    from arayis_cli.certificate.signing import token_in_pdf

    token = token_in_pdf(Path(cert["path"]).read_bytes())
    assert token is not None
    return token.split(".")[4]


def _current(cli: Cli) -> str:
    return next(k["kid"] for k in cli.json("keys", "export", "--all") if k["current"])


@SQLITE
def test_export_never_creates_a_key(cli: Cli, isolated: Path) -> None:
    refused = cli.json("keys", "export", code=4)
    assert "keys init" in refused["message"]
    cli("keys", "export", "--all", code=4)
    assert not (isolated / "home" / "keys").exists()
    made = cli.json("keys", "init")
    assert [k["kid"] for k in cli.json("keys", "export")] == [made["kid"]]
    assert cli.json("keys", "init", code=5)["error"] == "conflict"


@PG
def test_postgres_print_without_office_key_is_refused(
    loaded: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, unchanged: Any
) -> None:
    app_id = app_in(loaded, "completed")
    key_file = Path(os.environ["ARAYIS_SIGNING_KEY"])
    # This machine has no ARAYIS_SIGNING_KEY: no key is made in the login's home folder.
    monkeypatch.delenv("ARAYIS_SIGNING_KEY")
    with unchanged():
        err = loaded.json("print", app_id, code=8)
    assert "ARAYIS_SIGNING_KEY" in err["message"] and err["error"] == "unavailable"
    assert not (tmp_path / "home" / "keys").exists()
    # A file holding some other key (an old copy): refused, never signed with it.
    from arayis_cli.certificate.signing import new_key, write_key_file

    other = tmp_path / "other.pem"
    write_key_file(other, new_key(), key_place()).rename(other)
    monkeypatch.setenv("ARAYIS_SIGNING_KEY", str(other))
    with unchanged():
        err = loaded.json("print", app_id, code=8)
    assert "not the office's current signing key" in err["message"]
    # No office key in the register at all (keys init never run): the admin must run it.
    monkeypatch.setenv("ARAYIS_SIGNING_KEY", str(key_file))
    kid = _current(loaded)
    loaded("keys", "retire", kid)
    with unchanged():
        err = loaded.json("print", app_id, code=8)
    assert "keys init" in err["message"]
    loaded("keys", "export", code=4)  # nothing current, and export makes nothing
    # keys init with no ARAYIS_SIGNING_KEY says where the key must be kept.
    monkeypatch.delenv("ARAYIS_SIGNING_KEY")
    assert "ARAYIS_SIGNING_KEY" in loaded.json("keys", "init", code=8)["message"]
    # A fresh path: keys init makes the office key there, owner-only, and printing works.
    fresh = tmp_path / "office" / "signing-key.pem"
    fresh.parent.mkdir()
    monkeypatch.setenv("ARAYIS_SIGNING_KEY", str(fresh))
    made = loaded.json("keys", "init")
    assert made["created"] and fresh.stat().st_mode & 0o777 == 0o600
    cert = loaded.json("print", app_id)
    assert _key_of(cert) == made["kid"] != kid


def test_rotate_keeps_old_certificates_verifying(loaded: Cli) -> None:
    first = _issue(loaded)
    old = _key_of(first)
    rotated = loaded.json("keys", "rotate")
    assert rotated["kid"] != old and _current(loaded) == rotated["kid"]
    second = _issue(loaded, code=CODE_CREDIT, fin=CREDIT_FIN)
    assert _key_of(second) == rotated["kid"]
    for cert in (first, second):
        assert loaded.json("verify", cert["path"])["valid"]


def test_compromised_key(loaded: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from arayis_cli.web.app import create_app
    from arayis_cli.web.config import ServeConfig

    before = _issue(loaded)
    loaded.now("2026-11-26T10:00:00+04:00")
    after = _issue(loaded, code=CODE_CREDIT, fin=CREDIT_FIN)
    kid = _key_of(after)
    assert _key_of(before) == kid
    loaded("keys", "retire", kid, "--since", "2026-11-26", code=2)  # --since needs --compromised
    assert "--since" in loaded.json("keys", "retire", kid, "--compromised", code=2)["message"]
    assert loaded.json("keys", "retire", "0123456789abcdef", code=4)["error"] == "not_found"
    retired = loaded.json("keys", "retire", kid, "--compromised", "--since", "2026-11-26T00:00")
    assert retired["compromised_since"].startswith("2026-11-26T00:00:00+04:00")
    assert retired["was_current"]
    verdict = json.loads(loaded("verify", after["path"], "--json", code=6).stdout)
    assert verdict["reason"] == "key compromised"
    people = loaded("verify", after["certificate_number"], "--abonent", CODE_CREDIT, code=6).stdout
    assert "stolen or lost" in " ".join(people.split())  # the reason in words
    assert loaded.json("verify", before["path"])["valid"]  # signed before: still genuine
    # The public page says so too, in Azerbaijani and in English.
    from arayis_cli.certificate.signing import token_in_pdf

    token = token_in_pdf(Path(after["path"]).read_bytes())
    config = ServeConfig(db_url=loaded.url, record_interval=0.05, burst=1000)
    with TestClient(create_app(config), client=("198.51.100.7", 40000)) as client:
        body = client.get(f"/verify/{token}", headers={"accept": "application/json"}).json()
        assert body["reason"] == "key compromised" and not body["valid"]
        assert "imzalayan açar oğurlanıb" in client.get(f"/verify/{token}").text
    # Printing stops until a new key: on SQLite too, the retired key signs nothing more.
    nxt = app_in(loaded, "completed")
    assert loaded.json("print", nxt, code=8)["error"] == "unavailable"
    loaded("keys", "rotate")
    assert _key_of(loaded.json("print", nxt)) != kid
    marked = {k["kid"]: k for k in loaded.json("keys", "export", "--all")}
    assert marked[kid]["compromised_since"] and not marked[kid]["current"]


@SQLITE
def test_passphrase_protected_key(
    loaded: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = tmp_path / "signing-key.pem"
    phrase = tmp_path / "passphrase"
    phrase.write_text("correct horse battery staple\n", encoding="ascii")
    monkeypatch.setenv("ARAYIS_SIGNING_KEY", str(key))
    monkeypatch.setenv("ARAYIS_SIGNING_KEY_PASSPHRASE_FILE", str(phrase))
    made = loaded.json("keys", "init")
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
    assert _key_of(_issue(loaded)) == made["kid"]
    app_id = app_in(loaded, "completed", code=CODE_CREDIT, fin=CREDIT_FIN)
    monkeypatch.delenv("ARAYIS_SIGNING_KEY_PASSPHRASE_FILE")
    err = loaded.json("print", app_id, code=8)  # the machine's set-up, not the input
    assert "ARAYIS_SIGNING_KEY_PASSPHRASE_FILE" in err["message"]
    assert err["error"] == "unavailable"
    wrong = tmp_path / "wrong"
    wrong.write_text("nope\n", encoding="ascii")
    monkeypatch.setenv("ARAYIS_SIGNING_KEY_PASSPHRASE_FILE", str(wrong))
    assert "passphrase does not open it" in loaded.json("print", app_id, code=8)["message"]
    monkeypatch.setenv("ARAYIS_SIGNING_KEY_PASSPHRASE_FILE", str(phrase))
    rotated = loaded.json("keys", "rotate")  # the new file is encrypted with it too
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
    assert _key_of(loaded.json("print", app_id)) == rotated["kid"]


@PG
def test_rotate_refuses_with_what_to_do(
    loaded: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    kid = _current(loaded)
    monkeypatch.delenv("ARAYIS_SIGNING_KEY")
    err = loaded.json("keys", "rotate", code=8)["message"]
    assert "ARAYIS_SIGNING_KEY" in err and kid in err
    monkeypatch.setenv("ARAYIS_SIGNING_KEY", str(tmp_path / "elsewhere.pem"))
    err = loaded.json("keys", "rotate", code=8)["message"]
    assert "elsewhere.pem" in err and kid in err
    assert not (tmp_path / "elsewhere.pem").exists()
    assert _current(loaded) == kid


def test_interrupted_rotation_says_where_the_new_key_is(
    loaded: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A rotation killed between its commit and moving the new file into place: prints are
    refused (never signed with the old key) and told where the current key is."""
    from arayis_cli.db import session_scope
    from arayis_cli.services import keys
    from tests.helpers import DEFAULT_NOW

    key = tmp_path / "office" / "signing-key.pem"
    key.parent.mkdir()
    if "sqlite" in loaded.url:
        monkeypatch.setenv("ARAYIS_SIGNING_KEY", str(key))
        loaded("keys", "init")
    else:
        shutil.copy2(os.environ["ARAYIS_SIGNING_KEY"], key)
        monkeypatch.setenv("ARAYIS_SIGNING_KEY", str(key))
    from datetime import datetime

    with session_scope(loaded.url) as session:  # keys rotate, up to its commit (then kill -9)
        now = datetime.fromisoformat(DEFAULT_NOW)
        data, pending = keys.rotate(session, now=now, place=key_place())
    assert pending is not None and pending.exists()
    app_id = app_in(loaded, "completed")
    err = loaded.json("print", app_id, code=8)["message"]
    assert "interrupted" in err and str(pending) in err and data["kid"] in err
    pending.rename(key)  # what the message says to do
    assert _key_of(loaded.json("print", app_id)) == data["kid"]


@SQLITE
def test_a_terminals_first_key_follows_the_passphrase_setting(
    loaded: Cli, isolated: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The embedded terminal makes its key at its first print. With
    ``ARAYIS_SIGNING_KEY_PASSPHRASE_FILE`` set, that key is encrypted with the passphrase;
    a passphrase file that is missing refuses the print before a number is taken (it used
    to make the key unencrypted, number the certificate, then fail to read the key back:
    a gap in the numbers)."""
    keys = isolated / "home" / "keys"
    shutil.rmtree(keys, ignore_errors=True)
    phrase = tmp_path / "passphrase"
    monkeypatch.setenv("ARAYIS_SIGNING_KEY_PASSPHRASE_FILE", str(phrase))
    app_id = app_in(loaded, "completed")
    refused = loaded.json("print", app_id, code=8)
    assert "passphrase" in refused["message"]
    assert not list(keys.glob("*.pem")) and not (keys / "current").exists()
    phrase.write_text("correct horse battery staple\n", encoding="ascii")
    cert = loaded.json("print", app_id)
    assert cert["certificate_number"] == "AR-2026-000001-5"  # no number was spent
    (pem,) = keys.glob("*.pem")
    assert b"ENCRYPTED PRIVATE KEY" in pem.read_bytes()
    rotated = loaded.json("keys", "rotate")  # the terminal's next key is encrypted too
    assert b"ENCRYPTED PRIVATE KEY" in (keys / f"{rotated['kid']}.pem").read_bytes()


@SQLITE
def test_a_corrupt_key_pointer_is_the_machines_problem(loaded: Cli, isolated: Path) -> None:
    """The terminal's ``keys/current`` garbled (not ASCII): exit 8 naming it, no traceback,
    no number taken."""
    app_id = app_in(loaded, "completed")
    pointer = isolated / "home" / "keys" / "current"
    pointer.parent.mkdir(parents=True, exist_ok=True)
    pointer.write_bytes(b"\xff\xfe garbage")
    err = loaded.json("print", app_id, code=8)
    assert err["error"] == "unavailable" and "current" in err["message"]
    assert loaded.json("show", app_id)["certificates"] == []
