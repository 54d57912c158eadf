"""Personal data (FIN, phone, email) stays masked unless asked for, is never echoed in
errors, and the files that hold it are owner-only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.helpers import CODE, CODE_GROUP_II, OWNER_FIN, Cli, app_in

PHONE = "+994501234567"
EMAIL = "leyla.aliyeva@example.az"
PII = (OWNER_FIN, PHONE, "501234567", EMAIL)


def _clean(text: str) -> None:
    for value in PII:
        assert value not in text, f"{value} leaked"


def test_masked_everywhere_without_show_pii(loaded: Cli) -> None:
    app_id = app_in(loaded, "completed")
    loaded("print", app_id)
    outputs = []
    for args in (
        ["show", app_id],
        ["list"],
        ["list", "--format", "csv"],
        ["outbox", "list"],
        ["abonent", "show", CODE],
        ["print", app_id, "--copy", "--force"],  # the same paper again, twice (text, JSON)
        ["stats"],
    ):
        for extra in ([], ["--json"]):
            if args[0] == "list" and "--format" in args and extra:
                continue
            result = loaded(*args, *extra)
            outputs.append(result.stdout + result.stderr)
    for text in outputs:
        _clean(text)
    shown = loaded.json("show", app_id, "--show-pii")
    assert (shown["fin"], shown["phone"], shown["email"]) == (OWNER_FIN, PHONE, EMAIL)


@pytest.mark.parametrize(
    "code,expected",
    [("0000000001", 4), (CODE_GROUP_II, 2)],
)
def test_errors_do_not_echo_personal_data(loaded: Cli, code: str, expected: int) -> None:
    result = loaded(
        "submit",
        "--abonent",
        code,
        "--fin",
        OWNER_FIN,
        "--phone",
        PHONE,
        "--email",
        EMAIL,
        code=expected,
    )
    _clean(result.stderr + result.stdout)
    json_err = loaded.json(
        "submit",
        "--abonent",
        code,
        "--fin",
        OWNER_FIN,
        "--phone",
        PHONE,
        "--email",
        EMAIL,
        code=expected,
    )
    _clean(str(json_err))


def test_conflict_does_not_echo_personal_data(loaded: Cli) -> None:
    args = ["submit", "--abonent", CODE, "--fin", OWNER_FIN, "--phone", PHONE, "--email", EMAIL]
    loaded(*args)
    result = loaded(*args, code=5)
    _clean(result.stderr)


def test_files_are_owner_only(loaded: Cli, isolated: Path) -> None:
    app_id = app_in(loaded, "completed")
    pdf = Path(loaded.json("print", app_id)["path"])
    if loaded.url.startswith("sqlite"):
        db_file = Path(loaded.url.removeprefix("sqlite:///"))
        assert stat.S_IMODE(db_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(pdf.stat().st_mode) == 0o600
    for key in (isolated / "home" / "keys").glob("*.pem"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_internal_errors_name_no_data(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from arayis_cli.services import applications

    def boom(*_a, **_k):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"crash while handling {OWNER_FIN} {PHONE} {EMAIL}")

    monkeypatch.setattr(applications, "submit", boom)
    cli(
        "abonent",
        "add",
        CODE,
        "--group",
        "I",
        "--owner-name",
        "X",
        "--owner-fin",
        OWNER_FIN,
        "--address",
        "Y",
    )
    result = cli(
        "submit", "--abonent", CODE, "--fin", OWNER_FIN, "--phone", PHONE, "--email", EMAIL, code=1
    )
    assert "internal error (RuntimeError)" in result.stderr
    _clean(result.stderr + result.stdout)
