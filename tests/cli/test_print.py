"""print: only completed, debt checked at this moment, certificate PDF content."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CODE, CODE_CREDIT, CODE_DEBT, CREDIT_FIN, DEBT_FIN, SAMPLE, Cli, app_in


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


def test_print_without_debt_writes_certificate(loaded: Cli, tmp_path: Path) -> None:
    app_id = app_in(loaded, "completed")
    out = loaded.json("print", app_id)
    assert out["certificate_number"] == "AR-2026-000001-5"
    assert out["application_id"] == int(app_id) and out["debt"] == "0.00"
    assert out["issued_at"] == "2026-11-25T10:00:00+04:00"
    path = Path(out["path"])
    assert path == tmp_path / "AR-2026-000001-5.pdf" and path.is_file()
    assert path.stat().st_mode & 0o077 == 0  # owner-only: it names a citizen
    text = _pdf_text(path)
    for expected in (
        "ARAYIŞ",
        "AR-2026-000001-5",
        CODE,
        "Süleymanov Zaur Ağa oğlu",
        "Bakı şəhəri, Xətai rayonu, Xocalı prospekti 134, mənzil 86",
        "25.11.2026 10:00",
        "borcu yoxdur",
        "25.12.2026 tarixinədək etibarlıdır",
        "I qrup (əhali)",
        "Məsul şəxs: ____",  # nobody in the staff register: a line to write the name by hand
        "M.Y.",
        "Yoxlama ünvanı: https://arayis.azersu.az/verify",
    ):
        assert expected in " ".join(text.split()), expected
    assert "leyla" not in text  # never the operator's login
    assert "6HV4DVC" not in text  # the FIN is masked on the certificate
    shown = loaded.json("show", app_id)
    cert = shown["certificates"][0]
    assert cert["certificate_number"] == "AR-2026-000001-5"
    assert cert["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert cert["valid_until"] == "2026-12-25" and cert["balance"] == "0.00"
    assert shown["history"][-1]["action"] == "print"
    assert shown["history"][-1]["detail"]["certificate_number"] == "AR-2026-000001-5"


def test_a_second_print_refuses_and_names_copy_and_renew(loaded: Cli, tmp_path: Path) -> None:
    app_id = app_in(loaded, "completed")
    (tmp_path / "out").mkdir()
    first = loaded.json("print", app_id, "--out", tmp_path / "out")
    assert first["path"] == str(tmp_path / "out" / "AR-2026-000001-5.pdf")
    before = loaded.json("show", app_id)
    again = loaded("print", app_id, "--out", tmp_path / "named.pdf", "--json", code=5)
    err = json.loads(again.stderr)
    assert err["error"] == "conflict" and err["certificate_number"] == "AR-2026-000001-5"
    assert f"print {app_id} --copy" in err["message"]
    assert f"print {app_id} --renew --reason" in err["message"]
    assert not (tmp_path / "named.pdf").exists()
    assert loaded.json("show", app_id) == before  # nothing issued, nothing recorded


def test_copy_is_the_registered_paper(loaded: Cli, tmp_path: Path) -> None:
    app_id = app_in(loaded, "completed")
    first = loaded.json("print", app_id)
    original = Path(first["path"]).read_bytes()
    Path(first["path"]).unlink()
    copy = loaded.json("print", app_id, "--copy", "--out", tmp_path / "copy.pdf")
    assert copy["copy"] is True and copy["certificate_number"] == first["certificate_number"]
    data = (tmp_path / "copy.pdf").read_bytes()
    assert data == original
    shown = loaded.json("show", app_id)
    assert len(shown["certificates"]) == 1
    assert shown["certificates"][0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert loaded.json("verify", tmp_path / "copy.pdf")["valid"] is True
    # An application never printed has nothing to copy.
    other = app_in(loaded, "completed", code=CODE_CREDIT, fin=CREDIT_FIN)
    loaded("print", other, "--copy", code=5)


def test_renew_supersedes_the_current_certificate(loaded: Cli, tmp_path: Path) -> None:
    app_id = app_in(loaded, "completed")
    first = loaded.json("print", app_id)
    loaded("print", app_id, "--renew", code=2)  # --reason is required
    loaded("print", app_id, "--reason", "lost", code=2)
    loaded("print", app_id, "--copy", "--renew", "--reason", "x", code=2)
    second = loaded.json(
        "print", app_id, "--renew", "--reason", "paper lost", "--out", tmp_path / "n.pdf"
    )
    assert second["certificate_number"] == "AR-2026-000002-8"
    shown = loaded.json("show", app_id)
    old, new = shown["certificates"]
    assert old["superseded_by"] == "AR-2026-000002-8" and old["superseded_at"]
    assert new["superseded_at"] is None and new["superseded_by"] is None
    renewed = shown["history"][-1]
    assert renewed["action"] == "renew"
    assert renewed["detail"]["renews"] == first["certificate_number"]
    assert renewed["detail"]["reason"] == "paper lost"
    verdict = json.loads(loaded("verify", first["path"], "--json", code=6).stdout)
    assert verdict["reason"] == "superseded" and verdict["superseded_by"] == "AR-2026-000002-8"
    people = loaded("verify", first["path"], code=6)
    assert "AR-2026-000002-8" in people.stdout
    assert "superseded" in loaded("show", app_id).stdout
    assert loaded.json("verify", tmp_path / "n.pdf")["valid"] is True


def test_renew_needs_a_certificate_to_replace(loaded: Cli) -> None:
    app_id = app_in(loaded, "completed")
    err = json.loads(loaded("print", app_id, "--renew", "--reason", "x", "--json", code=5).stderr)
    assert "no certificate to renew" in err["message"]
    assert loaded.json("show", app_id)["certificates"] == []


def test_revocation_sticks_until_renewed(loaded: Cli, tmp_path: Path) -> None:
    app_id = app_in(loaded, "completed")
    first = loaded.json("print", app_id)
    loaded("revoke", first["certificate_number"], "--reason", "wrong abonent")
    refused = loaded("print", app_id, "--json", code=5)
    assert "--renew" in json.loads(refused.stderr)["message"]
    loaded("print", app_id, "--copy", code=5)
    batch = loaded("print", "--all-ready", "--out-dir", tmp_path, "--json")
    assert batch.stdout == ""  # not ready again
    renewed = loaded.json("print", app_id, "--renew", "--reason", "re-issued")
    assert renewed["certificate_number"] == "AR-2026-000002-8"
    shown = loaded.json("show", app_id)
    old, new = shown["certificates"]
    assert old["revoked_at"] and new["revoked_at"] is None
    assert shown["history"][-1]["action"] == "renew"
    assert loaded.json("verify", renewed["path"])["valid"] is True


def test_credit_balance_prints(loaded: Cli) -> None:
    app_id = app_in(loaded, "completed", code=CODE_CREDIT, fin=CREDIT_FIN)
    out = loaded.json("print", app_id)
    assert "-5,00 AZN (artıq ödəniş)" in _pdf_text(Path(out["path"]))


def test_debt_refuses_and_records_the_attempt(loaded: Cli, tmp_path: Path) -> None:
    app_id = app_in(loaded, "completed", code=CODE_DEBT, fin=DEBT_FIN)
    before = loaded.json("show", app_id)
    result = loaded("print", app_id, "--json", code=3)
    assert result.stdout == ""
    err = json.loads(result.stderr)
    assert err["error"] == "debt" and err["debt"] == "23.80"
    people = loaded("print", app_id, code=3)
    assert "23,80 AZN" in people.stderr and len(people.stderr.strip().splitlines()) == 1
    assert list(tmp_path.glob("*.pdf")) == [] and list(tmp_path.glob(".*tmp")) == []
    after = loaded.json("show", app_id)
    assert after["certificates"] == [] and after["emails"] == before["emails"]
    refused = after["history"][len(before["history"]) :]
    assert [(e["action"], e["detail"]["debt"], e["operator"]) for e in refused] == [
        ("print_refused", "23.80", "leyla"),
        ("print_refused", "23.80", "leyla"),
    ]
    # Paying part of it is not enough; paying the rest is.
    loaded("pay", CODE_DEBT, "20.00", "--reference", "KASSA-9")
    assert loaded.json("print", app_id, code=3)["debt"] == "3.80"
    loaded("pay", CODE_DEBT, "3.80")
    out = loaded.json("print", app_id)
    assert out["debt"] == "0.00" and Path(out["path"]).is_file()


def test_debt_arising_after_approval_blocks_print(loaded: Cli, tmp_path: Path) -> None:
    app_id = app_in(loaded, "completed")
    bill = tmp_path / "bill.csv"
    bill.write_text(
        f"abonent_code,date,kind,amount,reference\n{CODE},2026-11-25,charge,9.15,BF-202611-X\n",
        encoding="utf-8",
    )
    loaded("ledger", "import", bill)
    assert loaded.json("print", app_id, code=3)["debt"] == "9.15"


@pytest.mark.parametrize("status", ["new", "in_progress", "rejected"])
def test_print_only_completed(loaded: Cli, unchanged, tmp_path: Path, status: str) -> None:
    app_id = app_in(loaded, status)
    with unchanged():
        err = loaded.json("print", app_id, code=5)
    assert "İcra olunmuş" in err["message"]
    assert list(tmp_path.glob("*.pdf")) == []


def test_print_to_missing_folder(loaded: Cli, unchanged, tmp_path: Path) -> None:
    app_id = app_in(loaded, "completed")
    with unchanged():
        loaded("print", app_id, "--out", tmp_path / "no" / "such" / "x.pdf", code=2)


# -- what the certificate shows (issue 10 §3) ----------------------------------------------


def _abonent(cli: Cli, tmp_path: Path, code: str, fin: str, owner: str, address: str) -> None:
    """One more group-I abonent, nothing owed, with the given name and address."""
    path = tmp_path / f"abonent-{code}.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        rows = csv.writer(f)
        rows.writerow(("code", "group", "owner_name", "owner_fin", "address"))
        rows.writerow((code, "I", owner, fin, address))
    cli("abonent", "import", path)


def _all_text(path: Path) -> str:
    from pypdf import PdfReader

    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(str(path)).pages)


def test_batch_print_survives_a_later_certificate_with_new_letters(
    loaded: Cli, tmp_path: Path
) -> None:
    # One process prints both; the second needs glyphs the first certificate's font subset
    # lacked. Before: internal error (MissingGlyphsSubsettingError) on the second one.
    first = app_in(loaded, "completed")
    _abonent(loaded, tmp_path, "0099000001", "7ZXKP2M", "Müller Jürgen", "Berliner Straße 5, Ä")
    second = app_in(loaded, "completed", code="0099000001", fin="7ZXKP2M")
    out = tmp_path / "batch"
    out.mkdir()
    rows = [
        json.loads(line)
        for line in loaded("print", "--all-ready", "--out-dir", out, "--json").stdout.splitlines()
    ]
    assert [(r["application_id"], r["printed"]) for r in rows] == [
        (int(first), True),
        (int(second), True),
    ]
    assert "Berliner Straße 5, Ä" in _all_text(Path(rows[1]["path"]))


def test_cyrillic_owner_and_manat_sign_are_on_the_certificate(loaded: Cli, tmp_path: Path) -> None:
    owner = "Гасанов Әли Ҹаһангир оғлу"
    address = "Bakı, Füzuli küç. 5 (icarə haqqı 12,50 ₼)"
    _abonent(loaded, tmp_path, "0099000002", "8ZXKP2M", owner, address)
    out = loaded.json("print", app_in(loaded, "completed", code="0099000002", fin="8ZXKP2M"))
    text = _all_text(Path(out["path"]))
    assert owner in text and address in text


@pytest.mark.parametrize(
    ("owner", "address", "named"),
    [
        ("Əliyev Əli 😀", "Bakı, Nizami küç. 5", "U+1F600 '😀'"),
        ("Əliyev Əli", "Bakı, 中山路 5", "U+4E2D '中'"),
    ],
)
def test_a_letter_the_font_lacks_refuses_the_print(
    loaded: Cli, unchanged, tmp_path: Path, owner: str, address: str, named: str
) -> None:
    # Refused when stored (abonent add/import) since issue 22; an abonent stored before
    # that check still reaches print, which refuses it the same way.
    loaded("abonent", "add", "0099000003", "--group", "I", "--owner-name", owner,
           "--owner-fin", "9ZXKP2M", "--address", address, code=2)  # fmt: skip
    _abonent(loaded, tmp_path, "0099000003", "9ZXKP2M", "Əliyev Əli", "Bakı")
    from sqlalchemy import create_engine, text

    engine = create_engine(loaded.url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE abonent SET owner_name = :o, address = :a WHERE code = '0099000003'"),
            {"o": owner, "a": address},
        )
    engine.dispose()
    app_id = app_in(loaded, "completed", code="0099000003", fin="9ZXKP2M")
    target = tmp_path / "refused.pdf"
    with unchanged():
        err = loaded.json("print", app_id, "--out", target, code=2)
        people = loaded("print", app_id, "--out", target, code=2)
        az = loaded.json("print", app_id, "--out", target, code=2, env={"ARAYIS_LANG": "az"})
    assert (
        az["message"].startswith("çap etmək olmur: arayışın şriftində") and named in az["message"]
    )
    assert err["error"] == "invalid_input" and named in err["message"]
    assert err["characters"][0] == named.split()[0]
    assert named in people.stderr and len(people.stderr.strip().splitlines()) == 1
    assert not target.exists() and list(tmp_path.glob("*.pdf")) == []
    assert loaded.json("show", app_id)["certificates"] == []


def test_a_long_address_flows_onto_a_second_page_and_still_verifies(
    loaded: Cli, tmp_path: Path
) -> None:
    import pypdfium2 as pdfium
    import zxingcpp

    address = ("Bakı şəhəri, Nərimanov rayonu, Ağa Neymətulla küçəsi 22, mənzil 56; " * 8)[:500]
    _abonent(loaded, tmp_path, "0099000004", "6ZXKP2M", "Süleymanova Gülnarə " * 5, address)
    out = loaded.json("print", app_in(loaded, "completed", code="0099000004", fin="6ZXKP2M"))
    path = Path(out["path"])
    assert address in _all_text(path)
    doc = pdfium.PdfDocument(str(path))
    try:
        assert len(doc) == 2
        found = [
            c.text for page in doc for c in zxingcpp.read_barcodes(page.render(scale=2).to_pil())
        ]
    finally:
        doc.close()
    assert len(found) == 1 and found[0].startswith("https://arayis.azersu.az/verify/")
    verdict = json.loads(loaded("verify", str(path), "--json").stdout)
    assert verdict["valid"] is True


# --- Output paths (docs/input.md): a path that cannot be written is exit 2 and nothing is issued.


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create files in (root ignores modes: use sysfs)."""
    import os

    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        probe = os.open(folder / "probe", os.O_CREAT | os.O_WRONLY, 0o600)
    except PermissionError:
        return folder
    os.close(probe)
    (folder / "probe").unlink()
    sysfs = Path("/sys/kernel")
    if sysfs.is_dir() and not os.access(sysfs, os.W_OK):
        return sysfs
    try:
        os.close(os.open(sysfs / "arayis-probe.pdf", os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError:
        return sysfs
    pytest.skip("no folder here refuses this user's writes")


@pytest.mark.parametrize(
    "where",
    ["missing-folder", "name-too-long", "path-too-long", "no-permission", "unwritable-dir"],
)
def test_print_to_unwritable_path_issues_nothing(
    loaded: Cli, unchanged, tmp_path: Path, where: str
) -> None:
    app_id = app_in(loaded, "completed")
    target = {
        "missing-folder": lambda: tmp_path / "no" / "such" / "x.pdf",
        "name-too-long": lambda: tmp_path / ("a" * 300 + ".pdf"),
        "path-too-long": lambda: tmp_path / "/".join(["d" * 200] * 25) / "x.pdf",
        "no-permission": lambda: _unwritable_folder(tmp_path) / "x.pdf",
        "unwritable-dir": lambda: _unwritable_folder(tmp_path),
    }[where]()
    with unchanged():
        err = loaded.json("print", app_id, "--out", target, code=2)
        people = loaded("print", app_id, "--out", target, code=2)
    assert err["error"] == "invalid_input"
    assert len(people.stderr.strip().splitlines()) == 1 and "Traceback" not in people.stderr
    assert list(tmp_path.rglob("*.pdf")) == [] and list(tmp_path.rglob(".*tmp")) == []
    # The number was not consumed: the next certificate is still the first.
    assert loaded.json("print", app_id)["certificate_number"] == "AR-2026-000001-5"


@pytest.mark.parametrize("where", ["missing", "no-permission", "a-file"])
def test_print_all_ready_to_unwritable_folder_issues_nothing(
    loaded: Cli, unchanged, tmp_path: Path, where: str
) -> None:
    app_in(loaded, "completed")
    folder = {
        "missing": lambda: tmp_path / "missing",
        "no-permission": lambda: _unwritable_folder(tmp_path),
        "a-file": lambda: tmp_path / "plain.txt",
    }[where]()
    (tmp_path / "plain.txt").write_text("x")
    with unchanged():
        err = loaded.json("print", "--all-ready", "--out-dir", folder, code=2)
    assert err["error"] == "invalid_input"
    assert list(tmp_path.rglob("*.pdf")) == []


def test_print_over_an_existing_file_replaces_it_with_force(loaded: Cli, tmp_path: Path) -> None:
    app_id = app_in(loaded, "completed")
    named = tmp_path / "arayis.pdf"
    named.write_bytes(b"old")
    loaded("print", app_id, "--out", named, code=2)  # never silently (test_print_paths.py)
    out = loaded.json("print", app_id, "--out", named, "--force")
    assert (
        hashlib.sha256(named.read_bytes()).hexdigest()
        == (loaded.json("show", app_id)["certificates"][0]["sha256"])
    )
    assert out["path"] == str(named) and list(tmp_path.glob(".*tmp")) == []


# --- Validity and group I at print time.


def test_validity_comes_from_settings(loaded: Cli) -> None:
    app_id = app_in(loaded, "completed")
    out = loaded.json("print", app_id, env={"ARAYIS_CERTIFICATE_VALIDITY_DAYS": "10"})
    assert out["valid_until"] == "2026-12-05"
    assert loaded.json("show", app_id)["certificates"][0]["valid_until"] == "2026-12-05"


def test_abonent_no_longer_in_group_one_refuses(loaded: Cli, unchanged, tmp_path: Path) -> None:
    app_id = app_in(loaded, "completed")
    moved = tmp_path / "moved.csv"
    rows = (SAMPLE / "abonents.csv").read_text(encoding="utf-8").splitlines()
    moved.write_text(
        "\n".join([rows[0], *(r.replace(",I,", ",III,") for r in rows[1:] if r.startswith(CODE))]),
        encoding="utf-8",
    )
    loaded("abonent", "import", moved)
    with unchanged():
        err = loaded.json("print", app_id, code=5)
        people = loaded("print", app_id, code=5)
    assert err["error"] == "conflict" and "no longer in group I" in err["message"]
    assert "now group III" in err["message"]
    assert len(people.stderr.strip().splitlines()) == 1
    assert list(tmp_path.glob("*.pdf")) == []


# --- Evidence: print --all-ready records every refused print, as print does.


def test_print_all_ready_records_refusals(loaded: Cli, tmp_path: Path) -> None:
    owing = app_in(loaded, "completed", code=CODE_DEBT, fin=DEBT_FIN)
    ready = app_in(loaded, "completed")
    before = loaded.json("show", owing)["history"]
    loaded("print", "--all-ready", "--json", code=3)  # the first refusal's exit code
    after = loaded.json("show", owing)["history"]
    added = after[len(before) :]
    assert [(e["action"], e["detail"]["debt"], e["operator"]) for e in added] == [
        ("print_refused", "23.80", "leyla")
    ]
    assert loaded.json("show", ready)["history"][-1]["action"] == "print"


# --- Debt check and ledger writes serialised per abonent (PostgreSQL, READ COMMITTED).


def _pg_only(cli: Cli) -> None:
    if not cli.url.startswith("postgresql"):
        pytest.skip("row locks across connections: PostgreSQL (SQLite serialises every writer)")


def _spawn(cli: Cli, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "arayis_cli", "--db", cli.url, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _holding_abonent(cli: Cli, code: str) -> Any:
    """A second connection that holds the abonent row as a ledger writer would."""
    import psycopg

    url = cli.url.replace("postgresql+psycopg://", "postgresql://")
    conn = psycopg.connect(url)
    conn.execute("SELECT code FROM abonent WHERE code = %s FOR UPDATE", (code,))
    return conn


def _waits_for(cli: Cli, holder: Any, proc: subprocess.Popen[str]) -> bool:
    """True once ``proc`` waits on a lock that ``holder`` holds (pg_stat_activity says so);
    False if it ends first (it did not wait)."""
    import psycopg

    url = cli.url.replace("postgresql+psycopg://", "postgresql://")
    blocker = holder.info.backend_pid
    deadline = time.monotonic() + 120
    with psycopg.connect(url, autocommit=True) as watch:
        while time.monotonic() < deadline and proc.poll() is None:
            waiting = watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND %s = ANY(pg_blocking_pids(pid))",
                (blocker,),
            ).fetchone()
            if waiting is not None and waiting[0] > 0:
                return proc.poll() is None
            time.sleep(0.05)
    return False


def test_print_waits_for_a_concurrent_charge(loaded: Cli, tmp_path: Path) -> None:
    """A charge whose transaction holds the abonent is either before the debt check or after
    the certificate: print waits for it and then sees it (exit 3), never prints past it."""
    _pg_only(loaded)
    app_id = app_in(loaded, "completed")
    conn = _holding_abonent(loaded, CODE)
    try:
        conn.execute(
            "INSERT INTO ledger_entry (abonent_code, entry_date, kind, amount_qepik, reference,"
            " created_at) VALUES (%s, '2026-11-25', 'charge', 915, 'RACE-1', now())",
            (CODE,),
        )
        proc = _spawn(loaded, "print", app_id, "--json")
        assert _waits_for(loaded, conn, proc), "print did not wait for the abonent's ledger writer"
        conn.commit()
    finally:
        conn.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert json.loads(err)["debt"] == "9.15"
    assert list(tmp_path.glob("*.pdf")) == []


@pytest.mark.parametrize("writer", ["pay", "ledger-import"])
def test_ledger_writes_wait_for_a_print_in_progress(
    loaded: Cli, tmp_path: Path, writer: str
) -> None:
    """pay and ledger import take the same abonent lock that print holds over its check."""
    _pg_only(loaded)
    bill = tmp_path / "bill.csv"
    bill.write_text(
        f"abonent_code,date,kind,amount,reference\n{CODE},2026-11-25,charge,9.15,BF-X\n",
        encoding="utf-8",
    )
    args = {"pay": ["pay", CODE, "5.00"], "ledger-import": ["ledger", "import", bill]}[writer]
    conn = _holding_abonent(loaded, CODE)
    try:
        proc = _spawn(loaded, *args)
        assert _waits_for(loaded, conn, proc), f"{writer} did not wait for the abonent lock"
        conn.rollback()
    finally:
        conn.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err


def test_print_all_ready_goes_on_past_an_abonent_out_of_group_one(
    loaded: Cli, tmp_path: Path
) -> None:
    moved_app = app_in(loaded, "completed")
    ready = app_in(loaded, "completed", code=CODE_CREDIT, fin=CREDIT_FIN)
    moved = tmp_path / "moved.csv"
    rows = (SAMPLE / "abonents.csv").read_text(encoding="utf-8").splitlines()
    moved.write_text(
        "\n".join([rows[0], *(r.replace(",I,", ",II,") for r in rows[1:] if r.startswith(CODE))]),
        encoding="utf-8",
    )
    loaded("abonent", "import", moved)
    result = loaded("print", "--all-ready", "--json", code=5)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    by_id = {line.get("id", line.get("application_id")): line for line in lines}
    assert by_id[int(moved_app)]["error"] == "conflict"
    assert by_id[int(ready)]["printed"] is True
    assert [c["certificate_number"] for c in loaded.json("show", moved_app)["certificates"]] == []


def test_batch_group_rechecks_after_a_charge_between_numbering_and_register(
    loaded: Cli, tmp_path: Path
) -> None:
    """print --all-ready numbers a group, then checks each again under lock. A charge that
    commits in between (here: while the first certificate of the group renders) refuses
    that application with its evidence recorded, and the rest of the group is checked
    again from the start and printed; its number is a gap, never reused."""
    _pg_only(loaded)
    import psycopg

    from arayis_cli.certificate.pdf import render as render_pdf
    from arayis_cli.services.printfiles import output_folder
    from arayis_cli.services.printing import print_group
    from tests.helpers import CODE_CREDIT, CREDIT_FIN, issuer

    first = int(app_in(loaded, "completed"))
    second = int(app_in(loaded, "completed", code=CODE_CREDIT, fin=CREDIT_FIN))
    url = loaded.url.replace("postgresql+psycopg://", "postgresql://")
    charged: list[int] = []

    def render(data: Any) -> Any:
        if not charged:  # the second abonent is not locked yet: a ledger writer gets in
            with psycopg.connect(url) as conn:
                conn.execute(
                    "INSERT INTO ledger_entry (abonent_code, entry_date, kind, amount_qepik,"
                    " reference, created_at) VALUES (%s, '2026-11-25', 'charge', 2000,"
                    " 'RACE-2', now())",
                    (CODE_CREDIT,),
                )
            charged.append(data.application_id)
        return lambda: render_pdf(data)

    from datetime import datetime

    from arayis_cli.db import Engines
    from arayis_cli.validation import BAKU

    engines = Engines()
    outcomes = print_group(
        lambda write=True: engines.session(loaded.url, write=write),
        [first, second],
        target=output_folder(tmp_path),
        now=datetime(2026, 11, 25, 10, tzinfo=BAKU),
        actor="leyla",
        issuer=issuer(),
        render=render,
    )
    engines.dispose()
    assert charged == [first]
    assert outcomes[0].issued is not None and outcomes[0].path is not None
    assert outcomes[0].issued.certificate.number == "AR-2026-000001-5"
    assert outcomes[1].error is not None and outcomes[1].error.error == "debt"
    history = loaded.json("show", str(second))["history"]
    assert history[-1]["action"] == "print_refused" and history[-1]["detail"]["debt"] == "15.00"
    assert [p.name for p in tmp_path.glob("*.pdf")] == ["AR-2026-000001-5.pdf"]
    assert not list(tmp_path.glob(".arayis-*.tmp"))
    again = loaded.json("print", str(first), "--renew", "--reason", "gap", "--out", tmp_path)
    assert again["certificate_number"] == "AR-2026-000003-1"  # 2 was the refused one's
    assert loaded.json("db", "check")["ok"]


def test_staff_register_names_the_responsible_person(loaded: Cli, tmp_path: Path) -> None:
    assert loaded.json("staff", "list") == []
    assert "Nobody is registered" in loaded("staff", "list").stderr
    added = loaded.json(
        "staff", "add", "leyla", "--name", "Məmmədova Leyla Arif qızı", "--title", "operator"
    )
    assert added["login"] == "leyla" and added["title"] == "operator"
    loaded("staff", "add", "two words", "--name", "X", code=2)
    loaded("staff", "add", "x", "--name", "   ", code=2)
    loaded("staff", "add", "x", "--name", "Ad \U0001f600", code=2)  # the font lacks it
    [row] = loaded.json("staff", "list")
    assert row["name"] == "Məmmədova Leyla Arif qızı"
    out = loaded.json("print", app_in(loaded, "completed"))
    text = " ".join(_pdf_text(Path(out["path"])).split())
    assert "Məsul şəxs: Məmmədova Leyla Arif qızı, operator" in text
    assert "leyla" not in text
    loaded.json("staff", "add", "leyla", "--name", "Əliyeva Leyla")  # a correction
    assert [r["name"] for r in loaded.json("staff", "list")] == ["Əliyeva Leyla"]
    assert loaded.json("staff", "remove", "leyla")["login"] == "leyla"
    loaded("staff", "remove", "leyla", code=4)
    assert loaded.json("staff", "list") == []
