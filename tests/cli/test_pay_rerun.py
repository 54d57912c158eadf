"""pay run twice: with --reference the second run is recognised (exit 0, created false);
without one, the same amount on the same day for the same abonent is refused as a repeat
(exit 5, naming the entry) unless --again says it is another payment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers import CODE_DEBT, REPO, Cli


def _payments(cli: Cli) -> list[dict[str, Any]]:
    return [e for e in cli.json("abonent", "show", CODE_DEBT)["ledger"] if e["kind"] == "payment"]


def test_a_rerun_without_reference_books_nothing(loaded: Cli, unchanged: Any) -> None:
    before = len(_payments(loaded))
    first = loaded.json("pay", CODE_DEBT, "10.00")
    assert first["created"] is True and first["debt"] == "13.80"
    with unchanged():
        err = loaded.json("pay", CODE_DEBT, "10.00", code=5)
        assert err["error"] == "conflict" and err["reference"] == first["reference"]
        assert "--again" in err["message"] and first["reference"] in err["message"]
        loaded("pay", CODE_DEBT, "10,00", code=5)  # the same amount, however written
        said = loaded("--lang", "az", "pay", CODE_DEBT, "10.00", code=5).stderr
        assert "--again" in said and "artıq" in said and "already" not in said
    assert len(_payments(loaded)) == before + 1
    # Another payment indeed: said so, it is booked.
    second = loaded.json("pay", CODE_DEBT, "10.00", "--again")
    assert second["created"] is True and second["reference"] != first["reference"]
    assert second["debt"] == "3.80"
    # Another amount, or another day, is another payment.
    assert loaded.json("pay", CODE_DEBT, "1.00")["created"] is True
    assert loaded.json("pay", CODE_DEBT, "10.00", "--paid-at", "2026-11-24")["created"] is True


def test_a_rerun_with_reference_is_recognised(loaded: Cli) -> None:
    first = loaded.json("pay", CODE_DEBT, "10.00", "--reference", "KASSA-7")
    again = loaded.json("pay", CODE_DEBT, "10.00", "--reference", "KASSA-7")
    assert (first["created"], again["created"]) == (True, False)
    assert again["debt"] == first["debt"] == "13.80"
    # A reference names the payment: a second receipt of the same amount is its own.
    assert loaded.json("pay", CODE_DEBT, "10.00", "--reference", "KASSA-8")["created"] is True


def test_a_repeat_of_an_imported_payment_is_caught(loaded: Cli, tmp_path: Path) -> None:
    bill = tmp_path / "l.csv"
    bill.write_text(
        f"abonent_code,date,kind,amount,reference\n{CODE_DEBT},2026-11-25,payment,23.80,B-1\n",
        encoding="utf-8",
    )
    loaded("ledger", "import", bill)
    assert loaded.json("pay", CODE_DEBT, "23.80", code=5)["reference"] == "B-1"


def test_two_reruns_at_once_book_one(loaded: Cli, tmp_path: Path) -> None:
    """Two processes paying the same without a reference at the same moment: one wins."""
    env = {
        **os.environ,
        "ARAYIS_DATABASE_URL": loaded.url,
        "ARAYIS_HOME": str(tmp_path / "home"),
        "ARAYIS_LANG": "en",
    }
    cmd = [sys.executable, "-m", "arayis_cli", "pay", CODE_DEBT, "10.00"]
    procs = [
        subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    codes = sorted(p.wait(timeout=120) for p in procs)
    assert codes == [0, 5, 5], [p.stderr.read() for p in procs if p.stderr]
    assert [e["amount"] for e in _payments(loaded)].count("10.00") == 1
