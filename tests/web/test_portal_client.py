"""examples/portal_client.py against a real ``arayis serve`` on loopback: the subscriber's
steps end with the certificate PDF, or with the debt warning."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import CODE, CODE_DEBT, DEBT_FIN, DOCS, OWNER_FIN, REPO, Cli
from tests.helpers.web import served

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]
CLIENT = REPO / "examples" / "portal_client.py"


@pytest.fixture
def server(loaded: Cli) -> Iterator[str]:
    with served(loaded.url) as base:
        yield base


def _walk(cli: Cli, base: str, tmp_path: Path, code: str, fin: str) -> tuple[int, str]:
    key = cli.json("api-key", "create", f"egov-{code}", "--scope", "submit,status,print")["key"]
    out = tmp_path / f"{code}.pdf"
    client = subprocess.Popen(
        [
            *(sys.executable, str(CLIENT), "--url", base, "--key", key),
            *("--abonent", code, "--fin", fin, "--phone", "050 123 45 67"),
            *("--email", "leyla@example.az", "--poll", "0.2", "--wait", "120"),
            *("--document", f"id-card={DOCS / 'sexsiyyet_vesiqesi.jpg'}"),
            *("--document", f"ownership={DOCS / 'mulkiyyet_cixarisi.pdf'}"),
            *("--out", str(out)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # The office meanwhile: the application appears, is reviewed and approved.
    deadline = time.monotonic() + 60
    while True:
        found = [a for a in cli.json("list", "--abonent", code) if a["status"] == "new"]
        if found and found[0]["documents"]:
            break
        assert time.monotonic() < deadline and client.poll() is None, client.stdout
        time.sleep(0.3)
    app_id = str(found[0]["id"])
    cli("review", app_id)
    cli("approve", app_id, env={"ARAYIS_OPERATOR": "aysel"})
    output, _ = client.communicate(timeout=120)
    return client.returncode, output


def test_the_subscriber_gets_the_certificate(loaded: Cli, server: str, tmp_path: Path) -> None:
    code, output = _walk(loaded, server, tmp_path, CODE, OWNER_FIN)
    assert code == 0, output
    assert "Sənədlər yükləndi: id-card, ownership" in output and "İcra olunmuş" in output
    pdf = (tmp_path / f"{CODE}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    number = output.strip().splitlines()[-1].split()[1].rstrip(":")
    assert loaded.json("verify", number, "--abonent", CODE)["valid"] is True


def test_a_debt_ends_with_the_warning(loaded: Cli, server: str, tmp_path: Path) -> None:
    code, output = _walk(loaded, server, tmp_path, CODE_DEBT, DEBT_FIN)
    assert code == 3, output
    assert "Xəbərdarlıq: Borc var: 23,80" in output
    assert not (tmp_path / f"{CODE_DEBT}.pdf").exists()
