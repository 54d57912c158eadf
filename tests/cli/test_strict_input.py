"""Strict input (docs/input.md): money grammar, times, ids, external ids, group I at approve.

Every refusal is exit 2 (or the documented code named), one line, and changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.helpers import (
    CODE,
    CODE_CREDIT,
    CODE_DEBT,
    CREDIT_FIN,
    DEBT_FIN,
    DOCS,
    Cli,
    new_app,
    submit_args,
)

LEDGER_HEADER = "abonent_code,date,kind,amount,reference\n"

# -- money --------------------------------------------------------------------------------

REFUSED_AMOUNTS = [
    "1e3",  # exponent: today books 1,000 AZN
    "1E3",
    "1_000",  # underscore separator
    "١٢",  # Arabic-Indic digits
    "１２",  # full-width digits
    "12.50 AZN",  # currency text
    "12.50AZN",
    "₼12",
    "1.000,50",  # thousands separator
    "1,000.50",
    "1 200",  # space inside
    "1\u00a0200",
    "+5",  # signs
    "−5",  # U+2212 minus
    ".5",  # a separator needs digits on both sides
    "5.",
    "5,",
    "12.505",  # three decimals
    "0x10",
    "NaN",
    "Infinity",
    "",
    "1" * 13,  # absurdly large
    " 23.80",  # whitespace around it: the grammar allows nothing else (never trimmed)
    "23.80 ",
    "\t23.80",
    "23.80\n",
    "\r\n23.80",
]


def _pay_error(cli: Cli, amount: str) -> dict[str, str]:
    """``pay CODE -- AMOUNT`` (so that Typer never reads the amount as an option)."""
    result = cli("pay", "--json", CODE_DEBT, "--", amount, code=2)
    (line,) = result.stderr.strip().splitlines()
    return json.loads(line)


@pytest.mark.parametrize("amount", REFUSED_AMOUNTS)
@pytest.mark.refusal
def test_pay_refuses_amounts_outside_the_grammar(loaded: Cli, unchanged, amount: str) -> None:
    with unchanged():
        err = _pay_error(loaded, amount)
    assert err["error"] == "invalid_input"


@pytest.mark.refusal
def test_pay_negative_amount_is_refused(loaded: Cli, unchanged) -> None:
    with unchanged():
        loaded("pay", CODE_DEBT, "-5", code=2)  # an unknown option to Typer
        err = _pay_error(loaded, "-5")
    assert err["error"] == "invalid_input"


@pytest.mark.parametrize(
    "amount,booked", [("13,80", "13.80"), ("13.8", "13.80"), ("5", "5.00"), ("007.10", "7.10")]
)
def test_pay_accepts_the_grammar(loaded: Cli, amount: str, booked: str) -> None:
    assert loaded.json("pay", CODE_DEBT, amount)["amount"] == booked


@pytest.mark.parametrize(
    "kind,amount",
    [
        ("charge", "1e3"),
        ("charge", "1_000"),
        ("charge", "١٢"),
        ("charge", "12.50 AZN"),
        ("charge", '"1.000,50"'),
        ("charge", "+5"),
        ("charge", "-5"),
        ("payment", "-5"),
        ("adjustment", "+5"),
        ("adjustment", "--5"),
        ("adjustment", "- 5"),
        ("adjustment", "−5.00"),
        ("adjustment", "-1e1"),
    ],
)
@pytest.mark.refusal
def test_ledger_rows_outside_the_grammar(
    loaded: Cli, unchanged, tmp_path: Path, kind: str, amount: str
) -> None:
    f = tmp_path / "l.csv"
    f.write_text(LEDGER_HEADER + f"{CODE},2026-11-01,{kind},{amount},X-1\n", encoding="utf-8")
    with unchanged():
        report = loaded.json("ledger", "import", f, code=2)
    assert report["created"] == 0 and [r["row"] for r in report["failed"]] == [1]


@pytest.mark.refusal
@pytest.mark.parametrize("amount", ['" 23.80"', '"23.80 "', '"\t23.80"', '"23.80\n"', " 23.80"])
def test_ledger_amounts_with_whitespace_are_row_errors(
    loaded: Cli, unchanged, tmp_path: Path, amount: str
) -> None:
    """A spaced amount is one row error with a code and a clear line, both languages."""
    f = tmp_path / "l.csv"
    good = f"{CODE},2026-11-02,charge,1.00,X-2\n"
    f.write_text(LEDGER_HEADER + f"{CODE},2026-11-01,charge,{amount},X-1\n" + good, "utf-8")
    report = loaded.json("ledger", "import", f, code=2)
    assert report["created"] == 1
    [row] = report["failed"]
    assert (row["row"], row["error"]) == (1, "invalid_input")
    assert "spaces, tabs or line breaks" in row["message"] and "\n" not in row["message"]
    people = loaded("--lang", "az", "ledger", "import", f, code=2, env={"COLUMNS": "200"})
    assert "boşluq" in people.stdout + people.stderr


def test_pay_amount_with_whitespace_is_one_clear_line(loaded: Cli, unchanged) -> None:
    with unchanged():
        for lang in ("en", "az"):
            err = loaded("--lang", lang, "pay", CODE_DEBT, "--", "23.80\n", code=2).stderr
            assert len(err.strip().splitlines()) == 1 and "'23.80\\n'" in err


def test_negative_adjustment_still_allowed(loaded: Cli, tmp_path: Path) -> None:
    f = tmp_path / "l.csv"
    f.write_text(LEDGER_HEADER + f"{CODE},2026-11-01,adjustment,-4.00,X-1\n", encoding="utf-8")
    assert loaded.json("ledger", "import", f)["created"] == 1
    assert loaded.json("abonent", "show", CODE)["balance"] == "-4.00"


# -- times --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "when",
    [
        "2027-11-25T10:00:00+04:00",  # next year: later decided_at < submitted_at
        "2026-11-25T10:06:00+04:00",  # beyond the clock skew allowed
        "2026-11-26",
        "1999-12-31T23:59:00+04:00",
        "1970-01-01",
    ],
)
@pytest.mark.refusal
def test_submitted_at_in_the_future_or_absurd_past(loaded: Cli, unchanged, when: str) -> None:
    with unchanged():
        err = loaded.json(*submit_args(submitted_at=when), code=2)
    assert err["error"] == "invalid_input" and "submitted-at" in err["message"]


def test_submitted_at_within_clock_skew_is_registered_now(loaded: Cli) -> None:
    app = loaded.json(*submit_args(submitted_at="2026-11-25T10:03:00+04:00"))
    assert app["submitted_at"] == "2026-11-25T10:00:00+04:00"
    app_id = str(app["id"])
    loaded("reject", app_id, "--reason", "Sənəd yoxdur")
    decided = loaded.json("show", app_id)["decided_at"]
    assert decided >= app["submitted_at"]


def test_submit_file_rows_in_the_future_are_row_errors(loaded: Cli, tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text(
        "abonent,fin,phone,email,channel,external_id,submitted_at\n"
        f"{CODE},6HV4DVC,0501234567,a@example.az,egov,F-1,2027-01-01T09:00:00\n"
        f"{CODE_DEBT},{DEBT_FIN},0501234567,a@example.az,egov,F-2,1999-01-01\n"
        f"{CODE_CREDIT},{CREDIT_FIN},0501234567,a@example.az,egov,F-3,2026-11-24T09:00:00\n",
        encoding="utf-8",
    )
    report = loaded.json("submit", "--from-file", f, code=2)
    assert report["created"] == 1 and [r["row"] for r in report["failed"]] == [1, 2]


@pytest.mark.parametrize("day", ["2026-11-26", "26.11.2026", "2099-01-01", "1999-12-31"])
@pytest.mark.refusal
def test_ledger_row_dated_after_today_or_before_2000(
    loaded: Cli, unchanged, tmp_path: Path, day: str
) -> None:
    f = tmp_path / "l.csv"
    f.write_text(LEDGER_HEADER + f"{CODE},{day},charge,10.00,X-1\n", encoding="utf-8")
    with unchanged():
        report = loaded.json("ledger", "import", f, code=2)
    assert report["created"] == 0 and [r["row"] for r in report["failed"]] == [1]
    assert "date" in report["failed"][0]["message"]


def test_ledger_row_dated_today_is_accepted(loaded: Cli, tmp_path: Path) -> None:
    f = tmp_path / "l.csv"
    f.write_text(LEDGER_HEADER + f"{CODE},2026-11-25,charge,10.00,X-1\n", encoding="utf-8")
    assert loaded.json("ledger", "import", f)["created"] == 1


@pytest.mark.parametrize("day", ["2026-11-26", "1999-12-31", "0001-01-01"])
@pytest.mark.refusal
def test_paid_at_in_the_future_or_before_2000(loaded: Cli, unchanged, day: str) -> None:
    with unchanged():
        err = loaded.json("pay", CODE_DEBT, "5", "--paid-at", day, code=2)
    assert "paid-at" in err["message"]


# -- ids ----------------------------------------------------------------------------------

BAD_IDS = ["99999999999999999999999", "9223372036854775808", "0", "-1", "abc", "1_0", "١", "1.0"]


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.refusal
def test_ids_out_of_range_are_exit_2(loaded: Cli, unchanged, bad: str) -> None:
    with unchanged():
        result = loaded("show", "--", bad, code=2)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["review", "--", "1", "99999999999999999999999"],
        ["reject", "--reason", "x", "--", "99999999999999999999999"],
        ["approve", "--", "99999999999999999999999"],
        ["print", "--", "99999999999999999999999"],
        ["attach", "--kind", "id-card", "--", "0", str(DOCS / "sexsiyyet_vesiqesi.jpg")],
        ["outbox", "list", "--application", "99999999999999999999999"],
    ],
)
def test_every_command_parses_ids_alike(loaded: Cli, unchanged, args: list[str]) -> None:
    loaded(*submit_args())  # application 1 exists: nothing is done to it either
    with unchanged():
        result = loaded(*args, code=2)
    assert "must be a whole number from 1 up" in result.stderr or "is too large" in result.stderr
    assert "9223372036854775807" not in result.stderr  # an internal limit, not the clerk's


@pytest.mark.parametrize("big", [str(2**31), str(2**63 - 1)])
def test_largest_ids_are_simply_not_found(loaded: Cli, unchanged, big: str) -> None:
    loaded(*submit_args())
    with unchanged():
        for args in (["show", big], ["review", big], ["approve", big], ["print", big]):
            err = loaded.json(*args, code=4)
            assert err["error"] == "not_found"
        loaded("attach", big, DOCS / "sexsiyyet_vesiqesi.jpg", "--kind", "id-card", code=4)
        assert loaded.json("outbox", "list", "--application", big) == []


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--limit", "99999999999999999999"],
        ["list", "--offset", "99999999999999999999"],
        ["list", "--limit", "-1"],
        ["review", "--next", "--count", "99999999999999999999"],
        ["outbox", "list", "--limit", "99999999999999999999"],
    ],
)
@pytest.mark.refusal
def test_counts_out_of_range_are_exit_2(loaded: Cli, unchanged, args: list[str]) -> None:
    with unchanged():
        result = loaded(*args, code=2)
    assert "internal error" not in result.stderr


# -- external ids -------------------------------------------------------------------------


def test_external_id_same_abonent_returns_existing(loaded: Cli) -> None:
    first = loaded.json(*submit_args(external_id="EGOV-1"))
    assert first["created"] is True
    again = loaded.json(*submit_args(external_id="EGOV-1"))
    assert again["created"] is False and again["id"] == first["id"]


def test_external_id_other_abonent_is_a_conflict(loaded: Cli, unchanged) -> None:
    loaded(*submit_args(external_id="EGOV-1"))
    with unchanged():
        err = loaded.json(*submit_args(code=CODE_DEBT, fin=DEBT_FIN, external_id="EGOV-1"), code=5)
    assert err["error"] == "conflict" and "EGOV-1" in err["message"]
    assert CODE not in err["message"]  # the other abonent is not disclosed


def test_external_id_other_abonent_in_a_file_is_a_row_error(loaded: Cli, tmp_path: Path) -> None:
    loaded(*submit_args(external_id="EGOV-1"))
    f = tmp_path / "a.csv"
    f.write_text(
        "abonent,fin,phone,email,channel,external_id,submitted_at\n"
        f"{CODE},6HV4DVC,0501234567,a@example.az,egov,EGOV-1,\n"
        f"{CODE_DEBT},{DEBT_FIN},0501234567,a@example.az,egov,EGOV-1,\n"
        f"{CODE_CREDIT},{CREDIT_FIN},0501234567,a@example.az,egov,EGOV-2,\n"
        f"{CODE_CREDIT},{CREDIT_FIN},0501234567,a@example.az,egov,EGOV-2,\n",
        encoding="utf-8",
    )
    report = loaded.json("submit", "--from-file", f, code=2)
    assert report["created"] == 1 and report["existing"] == 2
    assert [r["row"] for r in report["failed"]] == [2]
    assert "EGOV-1" in report["failed"][0]["message"]


def test_external_id_other_abonent_within_one_file(loaded: Cli, tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    rows = [
        {"abonent": CODE, "fin": "6HV4DVC", "phone": "0501234567", "email": "a@example.az"},
        {"abonent": CODE_DEBT, "fin": DEBT_FIN, "phone": "0501234567", "email": "a@example.az"},
    ]
    f.write_text("".join(json.dumps({**r, "external_id": "E-9"}) + "\n" for r in rows))
    report = loaded.json("submit", "--from-file", f, code=2)
    assert report["created"] == 1 and [r["row"] for r in report["failed"]] == [2]


# -- group I at approve -------------------------------------------------------------------


def _regroup(cli: Cli, code: str, group: str) -> None:
    """The billing system moves the abonent: re-import it with the new group."""
    engine = create_engine(cli.url)
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT owner_name, owner_fin, address FROM abonent WHERE code = :c"), {"c": code}
        ).one()
    engine.dispose()
    f = Path(f"regroup-{code}.csv")  # the test's own working folder
    f.write_text(
        f'code,group,owner_name,owner_fin,address\n{code},{group},{row[0]},{row[1]},"{row[2]}"\n',
        encoding="utf-8",
    )
    assert cli.json("abonent", "import", f)["updated"] == 1


def test_approve_refuses_abonent_no_longer_in_group_i(loaded: Cli, unchanged) -> None:
    app_id = new_app(loaded)
    loaded("review", app_id)
    _regroup(loaded, CODE, "III")
    with unchanged():
        err = loaded.json("approve", app_id, code=5)
        overridden = loaded.json("approve", app_id, "--override", "Sənədlər qaydasındadır", code=5)
        human = loaded("approve", app_id, code=5)
    for e in (err, overridden):
        assert e["error"] == "conflict" and "group III" in e["message"]
        items = {i["code"]: i["ok"] for i in e["checklist"]["items"]}
        assert items["group_i"] is False
    assert "group III" in human.stderr


def test_review_checklist_shows_the_group(loaded: Cli) -> None:
    app_id = new_app(loaded)
    _regroup(loaded, CODE, "II")
    check = loaded.json("review", app_id)["checklist"]
    assert check["passed"] is False
    assert {i["code"]: i["ok"] for i in check["items"]}["group_i"] is False
