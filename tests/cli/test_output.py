"""Output paths (docs/input.md): a closed stdout is not an error; batch modes write JSON
Lines with refusals in the same stream; people read money and dates the Azerbaijani way."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import (
    CODE,
    CODE_DEBT,
    DEBT_FIN,
    OWNER_FIN,
    SAMPLE,
    Cli,
    submit_args,
)

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
DOT_MONEY = re.compile(r"(?<![\d.])\d+\.\d{2}(?![\d.])")


def _run_into_closed_pipe(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run arayis with stdout a pipe whose reader has already gone (``| head -0``)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "arayis_cli", "--db", url, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert proc.stdout is not None
    proc.stdout.close()  # before the child has even started: its first write meets EPIPE
    _, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, "", err)


@pytest.mark.parametrize(
    "args",
    [
        ("list", "--format", "csv"),
        ("list", "--format", "json"),
        ("list",),
        ("show", "1", "--json"),
        ("show", "1"),
        ("review", "--next", "--count", "3", "--json"),
        ("stats",),
    ],
    ids=lambda a: "-".join(a),
)
def test_a_closed_stdout_is_not_an_error(loaded: Cli, args: tuple[str, ...]) -> None:
    loaded("submit", "--from-file", SAMPLE / "applications.csv")
    done = _run_into_closed_pipe(loaded.url, *args)
    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_head_of_a_long_csv_in_a_shell_pipe(loaded: Cli) -> None:
    import sqlite3

    loaded("submit", "--from-file", SAMPLE / "applications.csv")
    loaded("reject", "1", "--reason", "x")
    # Far more rows than a pipe buffers (64 KiB), so the writer outlives `head`.
    with sqlite3.connect(loaded.url.removeprefix("sqlite:///")) as conn:
        cols = [r[1] for r in conn.execute("PRAGMA table_info(application)") if r[1] != "id"]
        copy = ", ".join("NULL" if c == "external_id" else c for c in cols)
        for _ in range(3000):
            conn.execute(
                f"INSERT INTO application ({', '.join(cols)}) "
                f"SELECT {copy} FROM application WHERE id = 1"
            )
    cmd = (
        f"set -o pipefail; {sys.executable} -m arayis_cli --db '{loaded.url}' "
        "list --format csv --show-pii | head -1"
    )
    done = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("id,abonent_code,")


def test_batch_refusals_have_the_single_command_shape(loaded: Cli) -> None:
    first = str(loaded.json(*submit_args())["id"])
    single = loaded.json("reject", "99", "--reason", "x", code=4)
    lines = [
        json.loads(line)
        for line in loaded("reject", first, "99", "--reason", "x", "--json", code=4)
        .stdout.strip()
        .splitlines()
    ]
    assert lines[0]["id"] == int(first) and lines[0]["status"] == "rejected"
    assert lines[1] == {**single, "id": 99}
    assert set(lines[1]) == {"id", "error", "message"}


def test_print_all_ready_refusal_is_an_error_object(loaded: Cli, tmp_path: Path) -> None:
    app_id = str(loaded.json(*submit_args(code=CODE_DEBT, fin=DEBT_FIN))["id"])
    loaded("review", app_id)
    loaded("approve", app_id, "--override", "sınaq")
    single = loaded.json("print", app_id, code=3)
    (row,) = [
        json.loads(line)
        for line in loaded("print", "--all-ready", "--out-dir", tmp_path, "--json", code=3)
        .stdout.strip()
        .splitlines()
    ]
    assert row["application_id"] == int(app_id)
    assert {k: row[k] for k in single} == single
    assert row["error"] == "debt" and row["debt"] == "23.80"


def test_people_read_money_and_dates_the_azerbaijani_way(loaded: Cli) -> None:
    app_id = str(loaded.json(*submit_args())["id"])
    loaded("attach", app_id, SAMPLE / "documents" / "sexsiyyet_vesiqesi.jpg", "--kind", "id-card")
    loaded("attach", app_id, SAMPLE / "documents" / "mulkiyyet_cixarisi.pdf", "--kind", "ownership")
    loaded("review", app_id)
    loaded("approve", app_id)
    printed = loaded("print", app_id, env={"COLUMNS": "300"})
    message = printed.stdout + printed.stderr
    assert "25.12.2026" in message and not ISO_DATE.search(message), message
    number = loaded.json("show", app_id)["certificates"][0]["certificate_number"]
    verified = loaded("verify", number, "--abonent", CODE, env={"COLUMNS": "300"})
    assert "25.12.2026" in verified.stdout and not ISO_DATE.search(verified.stdout)

    owing = str(loaded.json(*submit_args(code=CODE_DEBT, fin=DEBT_FIN))["id"])
    loaded("review", owing)
    loaded("approve", owing, "--override", "sınaq")
    loaded("print", owing, code=3)
    shown = loaded("show", owing, env={"COLUMNS": "300"}).stdout
    assert "23,80 AZN" in shown and not DOT_MONEY.search(shown), shown
    assert not ISO_DATE.search(shown)


def test_abonent_show_people_dates(loaded: Cli) -> None:
    shown = loaded("abonent", "show", CODE, env={"COLUMNS": "300"}).stdout
    assert not ISO_DATE.search(shown) and not DOT_MONEY.search(shown)
    assert OWNER_FIN not in shown
