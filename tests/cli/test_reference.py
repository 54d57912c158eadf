"""abonent add/import/show, ledger import, pay."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import CODE, CODE_CREDIT, CODE_DEBT, SAMPLE, Cli


def test_import_is_idempotent(cli: Cli) -> None:
    first = cli.json("abonent", "import", SAMPLE / "abonents.csv")
    assert first["created"] == 44 and first["failed"] == []
    again = cli.json("abonent", "import", SAMPLE / "abonents.csv")
    assert again == {"created": 0, "updated": 0, "existing": 44, "failed": []}
    ledger = cli.json("ledger", "import", SAMPLE / "ledger.csv")
    assert ledger["created"] > 500 and ledger["failed"] == []
    assert cli.json("ledger", "import", SAMPLE / "ledger.csv")["created"] == 0


def test_show_balance_and_debt(loaded: Cli) -> None:
    owing = loaded.json("abonent", "show", CODE_DEBT)
    assert owing["balance"] == "23.80" and owing["debt"] == "23.80"
    assert owing["owner_name"] == "Səfərova Zəhra Ramil qızı"
    assert owing["owner_fin"] == "WRZ***B"
    assert loaded.json("abonent", "show", CODE_DEBT, "--show-pii")["owner_fin"] == "WRZZTWB"
    credit = loaded.json("abonent", "show", CODE_CREDIT)
    assert credit["balance"] == "-5.00" and credit["debt"] == "0.00"
    people = loaded("abonent", "show", CODE_DEBT).stdout
    assert "23,80 AZN" in people and "WRZZTWB" not in people


def test_add_and_refusals(cli: Cli, unchanged) -> None:
    cli(
        "abonent",
        "add",
        "0000123456",
        "--group",
        "I",
        "--owner-name",
        "Əliyev Əli Həsən oğlu",
        "--owner-fin",
        "5ZT8KPA",
        "--address",
        "Bakı şəhəri, Nizami küçəsi 1",
    )
    with unchanged():
        cli(
            "abonent",
            "add",
            "0000123456",
            "--group",
            "I",
            "--owner-name",
            "X",
            "--owner-fin",
            "5ZT8KPA",
            "--address",
            "Y",
            code=5,
        )
        cli(
            "abonent",
            "add",
            "0000123457",
            "--group",
            "IV",
            "--owner-name",
            "X",
            "--owner-fin",
            "5ZT8KPA",
            "--address",
            "Y",
            code=2,
        )
        cli(
            "abonent",
            "add",
            "0000123457",
            "--group",
            "I",
            "--owner-name",
            "X",
            "--owner-fin",
            "5ZT8KPI",
            "--address",
            "Y",
            code=2,
        )
        cli(
            "abonent",
            "add",
            "12-AB",
            "--group",
            "I",
            "--owner-name",
            "X",
            "--owner-fin",
            "5ZT8KPA",
            "--address",
            "Y",
            code=2,
        )
        cli("abonent", "show", "0000999999", code=4)


def test_bad_rows_are_reported_and_good_rows_kept(cli: Cli, tmp_path: Path) -> None:
    f = tmp_path / "ab.csv"
    f.write_text(
        "code,group,owner_name,owner_fin,address\n"
        "0000000011,I,Quliyev Rəşad Elçin oğlu,5ZT8KPA,Bakı\n"
        "0000000012,V,Quliyev Rəşad Elçin oğlu,5ZT8KPA,Bakı\n"
        "0000000013,I,,5ZT8KPA,Bakı\n",
        encoding="utf-8",
    )
    report = cli.json("abonent", "import", f, code=2)
    assert report["created"] == 1
    assert [r["row"] for r in report["failed"]] == [2, 3]


def test_malformed_file_refused_whole(cli: Cli, tmp_path: Path, unchanged) -> None:
    wrong_header = tmp_path / "wrong.csv"
    wrong_header.write_text("code;group;owner\n1;2;3\n", encoding="utf-8")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("code,group,owner_name,owner_fin,address\n0000000011,I,Ş".encode("utf-16"))
    with unchanged():
        cli("abonent", "import", wrong_header, code=2)
        cli("abonent", "import", latin1, code=2)
        cli("abonent", "import", tmp_path / "missing.csv", code=2)
        cli("abonent", "import", tmp_path, code=2)
        err = cli.json("ledger", "import", wrong_header, code=2)
    assert err["error"] == "invalid_input"


def test_ledger_rows(loaded: Cli, tmp_path: Path) -> None:
    f = tmp_path / "l.csv"
    f.write_text(
        "abonent_code,date,kind,amount,reference\n"
        f"{CODE},2026-11-01,charge,10.00,T-1\n"
        f"{CODE},2026-11-01,charge,10.005,T-2\n"
        f"{CODE},2026-11-01,payment,-3,T-3\n"
        f"{CODE},2026-11-01,refund,3,T-4\n"
        f"0000000001,2026-11-01,charge,3,T-5\n"
        f"{CODE},2026-11-02,charge,99.00,T-1\n"
        f"{CODE},2026-11-02,adjustment,-4.00,T-6\n",
        encoding="utf-8",
    )
    report = loaded.json("ledger", "import", f, code=2)
    assert report["created"] == 2
    assert [r["row"] for r in report["failed"]] == [2, 3, 4, 5, 6]
    assert loaded.json("abonent", "show", CODE)["balance"] == "6.00"


def test_pay_is_idempotent_by_reference(loaded: Cli, unchanged) -> None:
    paid = loaded.json("pay", CODE_DEBT, "10.00", "--reference", "KASSA-1")
    assert paid["created"] and paid["debt"] == "13.80"
    again = loaded.json("pay", CODE_DEBT, "10.00", "--reference", "KASSA-1")
    assert not again["created"] and again["debt"] == "13.80"
    with unchanged():
        loaded("pay", CODE_DEBT, "11.00", "--reference", "KASSA-1", code=5)
        loaded("pay", CODE_DEBT, "0", code=2)
        loaded("pay", CODE_DEBT, "-5", code=2)
        loaded("pay", CODE_DEBT, "1.234", code=2)
        loaded("pay", CODE_DEBT, "ten", code=2)
        loaded("pay", CODE_DEBT, "5", "--paid-at", "2026-12-01", code=2)
        loaded("pay", "0000000001", "5", code=4)
    assert loaded.json("pay", CODE_DEBT, "13,80", "--paid-at", "24.11.2026")["debt"] == "0.00"
