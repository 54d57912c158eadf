"""submit (single and --from-file): registration, due date, email, idempotency, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import CODE, CODE_DEBT, CODE_GROUP_II, OWNER_FIN, SAMPLE, Cli, submit_args


def test_submit_registers_new_application(loaded: Cli) -> None:
    app = loaded.json(*submit_args(channel="azersu"))
    assert app["id"] >= 1
    assert app["status"] == "new" and app["status_label"] == "Yeni"
    assert app["abonent_code"] == CODE and app["channel"] == "azersu"
    assert app["fin"] == "6HV***C" and app["phone"] == "+99450*****67"
    assert app["email"] == "l***@example.az"
    assert app["submitted_at"] == "2026-11-25T10:00:00+04:00"
    # Wednesday 25 Nov 2026 → Thu 26, Fri 27, Mon 30 Nov.
    assert app["due_on"] == "2026-11-30" and app["overdue"] is False
    assert app["documents"] == [] and app["operator"] is None

    outbox = loaded.json("outbox", "list")
    assert [(m["kind"], m["application_id"], m["status"]) for m in outbox] == [
        ("received", app["id"], "pending")
    ]
    assert outbox[0]["to"] == "l***@example.az"
    assert loaded.json("outbox", "list", "--show-pii")[0]["to"] == "leyla.aliyeva@example.az"

    history = loaded.json("show", str(app["id"]))["history"]
    assert [(h["action"], h["from_status"], h["to_status"], h["operator"]) for h in history] == [
        ("submit", None, "new", "leyla")
    ]


def test_confirmation_for_people(loaded: Cli) -> None:
    result = loaded(*submit_args())
    # Said to the clerk, not the subscriber's portal sentence ("Müraciətinizin nəticəsi …").
    assert "Application №1 registered. Due by 30.11.2026" in result.stderr
    assert "Müraciətinizin" not in result.stderr
    az = loaded("--lang", "az", *submit_args(code="0003383936"))
    assert "Müraciət №2 qeydə alındı" in az.stderr and "Müraciətinizin" not in az.stderr
    assert "Yeni" in result.stdout


def test_received_email_promises_three_working_days(loaded: Cli) -> None:
    from sqlalchemy import create_engine, text

    loaded(*submit_args())
    engine = create_engine(loaded.url)
    with engine.connect() as conn:
        subject, body, to = conn.execute(
            text("SELECT subject, body, to_addr FROM outbox_message")
        ).one()
    engine.dispose()
    assert subject == "Müraciət №1 qeydiyyata alındı"
    assert "3 iş günü ərzində (30.11.2026 tarixinədək)" in body
    assert to == "leyla.aliyeva@example.az"


def test_a_backdated_application_promises_no_date_already_past(loaded: Cli) -> None:
    """Registered late with --submitted-at (its due day gone by): the confirmation says
    "as soon as possible", not a date the subscriber already missed."""
    app = loaded.json(*submit_args(submitted_at="2026-11-10T09:00:00+04:00"))
    assert app["due_on"] < "2026-11-25"
    [email] = loaded.json("show", str(app["id"]))["emails"]
    body = loaded.json("outbox", "show", str(email["id"]))["body_text"]
    assert "ən qısa müddətdə email ünvanınıza" in body and "tarixinədək" not in body


def test_submitted_at_and_due_on_across_novruz(loaded: Cli) -> None:
    app = loaded.json(*submit_args(submitted_at="2026-03-19T16:30:00"))
    assert app["submitted_at"] == "2026-03-19T16:30:00+04:00"
    assert app["due_on"] == "2026-04-02"
    assert app["overdue"] is True  # still open long after 2 April


def test_external_id_is_idempotent(loaded: Cli) -> None:
    first = loaded.json(*submit_args(external_id="EGOV-1"))
    again = loaded.json(*submit_args(external_id="EGOV-1"))
    assert again["id"] == first["id"]
    assert len(loaded.json("list")) == 1
    assert len(loaded.json("outbox", "list")) == 1


def test_one_open_application_per_abonent(loaded: Cli, unchanged) -> None:
    loaded(*submit_args())
    with unchanged():
        err = loaded.json(*submit_args(), code=5)
    assert err["error"] == "conflict" and CODE in err["message"]


@pytest.mark.parametrize(
    "change,code",
    [
        ({"fin": "5ZTIKPA"}, 2),
        ({"code": "12AB"}, 2),
        ({"code": "0000000001"}, 4),
        ({"code": CODE_GROUP_II}, 2),
    ],
)
def test_refusals_change_nothing(loaded: Cli, unchanged, change: dict[str, str], code: int) -> None:
    with unchanged():
        result = loaded(*submit_args(**change), code=code)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("arayis: ")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "option,value",
    [
        ("--phone", "12345"),
        ("--phone", "+7 916 123 45 67"),
        ("--email", "not-an-email"),
        ("--channel", "fax"),
        ("--submitted-at", "yesterday"),
        ("--external-id", "x" * 101),
    ],
)
def test_bad_options_exit_2(loaded: Cli, unchanged, option: str, value: str) -> None:
    args = submit_args()
    if option in args:
        args[args.index(option) + 1] = value
    else:
        args += [option, value]
    with unchanged():
        err = loaded.json(*args, code=2)
    assert err["error"] == "invalid_input"
    if option in ("--phone", "--email"):
        assert value not in err["message"]  # personal data is not echoed back


def test_missing_options(loaded: Cli) -> None:
    loaded("submit", "--abonent", CODE, code=2)


def test_group_ii_message(loaded: Cli) -> None:
    err = loaded.json(*submit_args(code=CODE_GROUP_II), code=2)
    assert "group I" in err["message"]


def test_from_file_csv_and_rerun(loaded: Cli) -> None:
    report = loaded.json("submit", "--from-file", SAMPLE / "applications.csv")
    assert report == {"created": 20, "existing": 0, "failed": []}
    assert loaded.json("submit", "--from-file", SAMPLE / "applications.csv") == {
        "created": 0,
        "existing": 20,
        "failed": [],
    }
    assert len(loaded.json("list")) == 20
    assert len(loaded.json("outbox", "list")) == 20


def test_from_file_reports_bad_rows(loaded: Cli) -> None:
    report = loaded.json("submit", "--from-file", SAMPLE / "applications-with-errors.csv", code=2)
    assert report["created"] == 1
    assert [f["row"] for f in report["failed"]] == [2, 3, 4, 5, 6, 7]
    text = json.dumps(report)
    assert "not-an-email" not in text and "12345" not in text


def test_from_file_jsonl(loaded: Cli, tmp_path: Path) -> None:
    f = tmp_path / "apps.jsonl"
    rows = [
        {
            "abonent": CODE,
            "fin": OWNER_FIN,
            "phone": "0501234567",
            "email": "a@example.az",
            "external_id": "J-1",
        },
        {
            "abonent": CODE_DEBT,
            "fin": "WRZZTWB",
            "phone": "0501234567",
            "email": "b@example.az",
            "channel": "office",
            "external_id": "J-2",
            "submitted_at": "2026-11-20T09:00:00+04:00",
        },
        "not an object",
    ]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n", encoding="utf-8")
    report = loaded.json("submit", "--from-file", f, code=2)
    assert report["created"] == 2
    assert [x["row"] for x in report["failed"]] == [3, 4]
    listed = loaded.json("list")
    assert [a["external_id"] for a in listed] == ["J-2", "J-1"]  # oldest first


def test_from_file_duplicates_inside_file(loaded: Cli, tmp_path: Path) -> None:
    f = tmp_path / "dups.csv"
    f.write_text(
        "abonent,fin,phone,email,channel,external_id,submitted_at\n"
        f"{CODE},{OWNER_FIN},0501234567,a@example.az,egov,D-1,\n"
        f"{CODE},{OWNER_FIN},0501234567,a@example.az,egov,D-1,\n"
        f"{CODE},{OWNER_FIN},0501234567,a@example.az,egov,D-2,\n",
        encoding="utf-8",
    )
    report = loaded.json("submit", "--from-file", f, code=2)
    assert report["created"] == 1 and report["existing"] == 1
    assert report["failed"][0]["row"] == 3 and "open application" in report["failed"][0]["message"]


def test_from_file_malformed_is_refused_whole(loaded: Cli, tmp_path: Path, unchanged) -> None:
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("abonent;fin;phone\n1;2;3\n", encoding="utf-8")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x01garbage\x00")
    with unchanged():
        loaded("submit", "--from-file", wrong, code=2)
        loaded("submit", "--from-file", binary, code=2)
        loaded("submit", "--from-file", tmp_path / "nope.csv", code=2)
        loaded("submit", "--from-file", wrong, "--abonent", CODE, code=2)
