"""Hostile input: every class gets one clear line (or a row report), the documented exit code,
no traceback, and the store unchanged."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import CODE, DOCS, OWNER_FIN, Cli, submit_args

HEADER = "abonent,fin,phone,email,channel,external_id,submitted_at\n"
GOOD_ROW = f"{CODE},{OWNER_FIN},0501234567,a@example.az,egov,H-1,\n"


def _no_traceback(result) -> None:  # type: ignore[no-untyped-def]
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert len(result.stderr.strip().splitlines()) <= 1, result.stderr


@pytest.mark.parametrize(
    "name,content",
    [
        ("utf16.csv", (HEADER + GOOD_ROW).encode("utf-16")),
        ("latin1.csv", (HEADER + GOOD_ROW.replace("a@", "ş@")).encode("cp1254")),
        ("semicolons.csv", (HEADER + GOOD_ROW).replace(",", ";").encode()),
        ("nul.csv", (HEADER + GOOD_ROW).encode().replace(b"egov", b"eg\x00ov")),
        ("wide.csv", (",".join(f"c{i}" for i in range(1_000_000)) + "\n").encode()),
        ("empty.csv", b""),
        ("binary.csv", os.urandom(4096).replace(b"\n", b"") + b"\xff"),
    ],
)
@pytest.mark.refusal
def test_malformed_import_files(
    loaded: Cli, unchanged, tmp_path: Path, name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with unchanged():
        result = loaded("submit", "--from-file", path, code=2)
    _no_traceback(result)


def test_bom_is_accepted(loaded: Cli, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + GOOD_ROW).encode())
    assert loaded.json("submit", "--from-file", path)["created"] == 1


@pytest.mark.parametrize(
    "row",
    [
        f'{CODE},"{OWNER_FIN},0501234567,a@example.az,egov,H-2,\n',  # unbalanced quote
        f"{CODE},{OWNER_FIN},0501234567,{'x' * 20000}@example.az,egov,H-3,\n",  # giant field
        f"{CODE},{OWNER_FIN},0501234567,a@example.az,egov\n",  # too few fields
        f"{CODE}',{OWNER_FIN},0501234567,a@example.az,egov,'; DROP TABLE application;--,\n",
    ],
)
@pytest.mark.refusal
def test_bad_rows_are_reported(loaded: Cli, unchanged, tmp_path: Path, row: str) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(HEADER + row, encoding="utf-8")
    with unchanged():
        result = loaded("submit", "--from-file", path, "--json", code=2)
    report = json.loads(result.stdout)
    assert report["created"] == 0 and len(report["failed"]) == 1
    _no_traceback(result)


@pytest.mark.refusal
def test_jsonl_oddities(loaded: Cli, unchanged, tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    lines = [
        "[1, 2, 3]",
        '{"abonent": 1e400, "fin": "X", "phone": "0", "email": "a"}',
        '{"abonent": {"nested": [[[[[]]]]]}, "fin": "AAAAAAA", "phone": "0", "email": "a"}',
        '{"abonent": "' + CODE + '", "fin": null, "phone": "0501234567", "email": "a@example.az"}',
        "{" * 5000,
        '{"unknown": 1}',
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with unchanged():
        result = loaded("submit", "--from-file", path, "--json", code=2)
    report = json.loads(result.stdout)
    assert report["created"] == 0 and [f["row"] for f in report["failed"]] == [1, 2, 3, 4, 5, 6]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=600))
def test_random_bytes_never_crash_the_importer(
    cli: Cli, tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.csv"
    path.write_bytes(HEADER.encode() + data)
    from arayis_cli.cli.app import app

    result = cli.runner.invoke(app, ["--db", cli.url, "submit", "--from-file", str(path)])
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr


def test_hostile_attachments(loaded: Cli, unchanged, tmp_path: Path) -> None:
    app_id = str(loaded.json(*submit_args())["id"])
    png = (DOCS / "bildiris_faktura.png").read_bytes()
    pdf = (DOCS / "mulkiyyet_cixarisi.pdf").read_bytes()
    cases = {
        "png-then-zip.png": png + b"PK\x03\x04" + os.urandom(64),  # polyglot: trailing archive
        "pdf-then-html.pdf": pdf + b"<html><script>alert(1)</script></html>",
        "html.pdf": b"<html><body>%PDF-1.4</body></html>",
        "truncated.png": png[: len(png) // 2],
        "exe.pdf": b"MZ\x90\x00" + os.urandom(512),
    }
    with unchanged():
        for name, content in cases.items():
            path = tmp_path / name
            path.write_bytes(content)
            result = loaded("attach", app_id, path, "--kind", "other", code=2)
            _no_traceback(result)
        weird = tmp_path / "line\nbreak.pdf"
        weird.write_bytes(pdf)
        _no_traceback(loaded("attach", app_id, weird, "--kind", "other", code=2))
    shell = tmp_path / "$(touch pwned); `id`.pdf"
    shell.write_bytes(pdf)
    app = loaded.json("attach", app_id, shell, "--kind", "other")
    assert app["documents"][0]["filename"] == "$(touch pwned); `id`.pdf"
    assert not Path("pwned").exists()


@pytest.mark.parametrize(
    "value",
    [
        "x" * 100_000,
        "bad\x07bell",
        "right-to-left \u202e override",
        "zero\u200bwidth",
        "line\nbreak",
    ],
)
def test_hostile_option_text(loaded: Cli, unchanged, value: str) -> None:
    app_id = str(loaded.json(*submit_args())["id"])
    with unchanged():
        _no_traceback(loaded("reject", app_id, "--reason", value, code=2))
        _no_traceback(loaded("--operator", value, "review", app_id, code=2))
        _no_traceback(loaded("list", "--abonent", value, code=2))
        _no_traceback(
            loaded(
                "submit",
                "--abonent",
                value,
                "--fin",
                value,
                "--phone",
                value,
                "--email",
                value,
                code=2,
            )
        )


def test_sql_and_shell_metacharacters_are_just_text(loaded: Cli) -> None:
    app_id = str(loaded.json(*submit_args())["id"])
    reason = "'; DROP TABLE application; -- $(rm -rf /) `id` && echo"
    app = loaded.json("reject", app_id, "--reason", reason)
    assert app["rejection_reason"] == reason
    assert loaded.json("db", "check")["ok"]
    loaded("list", "--status", "'; DROP TABLE application; --", code=2)
    assert len(loaded.json("list")) == 1


def test_db_in_a_missing_folder_is_refused_not_created(tmp_path: Path) -> None:
    """A typo in --db (a folder that does not exist) is exit 2; nothing is created. The
    data directory itself is still created on first use (the embedded default)."""
    from typer.testing import CliRunner

    from arayis_cli.cli.app import app

    target = tmp_path / "no-such-folder" / "office.db"
    result = CliRunner().invoke(app, ["--db", f"sqlite:///{target}", "list", "--json"])
    assert result.exit_code == 2, result.stderr
    assert "no-such-folder" in result.stderr and not target.parent.exists()
    fresh = CliRunner().invoke(app, ["list", "--json"], env={"ARAYIS_DATABASE_URL": ""})
    assert fresh.exit_code == 0, fresh.stderr
