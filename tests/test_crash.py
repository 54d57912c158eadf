"""Crash safety: kill -9 in the middle of a big import or attach; nothing is half-written,
the store checks whole, and running the same command again completes without duplicates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import Cli
from tests.helpers.faults import count, write_population

pytestmark = pytest.mark.slow


def _spawn(url: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "arayis_cli", "--db", url, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_kill_during_import_then_rerun(cli: Cli, tmp_path: Path) -> None:
    # Eight chunks of the import's 1,000: killed once two have committed, six are left
    # to interrupt (the import runs for seconds more; the poll sees rows every 50 ms).
    n = 8_000
    abonents, apps = write_population(tmp_path, n, seed=3)
    cli("abonent", "import", abonents)
    proc = _spawn(cli.url, "submit", "--from-file", str(apps))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if count(cli.url, "SELECT count(*) FROM application") >= 2000:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the import finished before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = count(cli.url, "SELECT count(*) FROM application")
    assert 0 < done < n
    # Whole chunks only: every application has its history row and its email.
    assert count(cli.url, "SELECT count(*) FROM event WHERE action = 'submit'") == done
    assert count(cli.url, "SELECT count(*) FROM outbox_message") == done
    assert cli.json("db", "check")["ok"]
    report = cli.json("submit", "--from-file", apps)
    assert report["created"] + report["existing"] == n and report["existing"] == done
    assert count(cli.url, "SELECT count(*) FROM application") == n
    assert count(cli.url, "SELECT count(DISTINCT external_id) FROM application") == n
    assert cli.json("db", "check")["ok"]


def test_kill_during_attach_then_rerun(loaded: Cli, tmp_path: Path) -> None:
    from tests.helpers import submit_args

    app_id = str(loaded.json(*submit_args())["id"])
    big = tmp_path / "scan.pdf"
    big.write_bytes(b"%PDF-1.4\n" + os.urandom(9 * 1024 * 1024) + b"\n%%EOF\n")
    for delay in (0.05, 0.15, 0.3, 0.5, 0.8):
        proc = _spawn(loaded.url, "attach", app_id, str(big), "--kind", "ownership")
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        docs = count(loaded.url, f"SELECT count(*) FROM document WHERE application_id = {app_id}")
        blobs = count(loaded.url, "SELECT count(*) FROM document_blob")
        assert (docs, blobs) in ((0, 0), (1, 1))
        assert loaded.json("db", "check")["ok"]
    app = loaded.json("attach", app_id, big, "--kind", "ownership")
    assert [d["size"] for d in app["documents"]] == [big.stat().st_size]
    assert loaded.json("db", "check")["ok"]
