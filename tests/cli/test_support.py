"""Support staff's three questions, each answered by one command (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import (
    CODE,
    CODE_DEBT,
    DEBT_FIN,
    OWNER_FIN,
    SAMPLE,
    Cli,
    app_in,
    new_app,
    submit_args,
)
from tests.helpers.email import Server

NEW_MESSAGE = (
    "Əməliyyat uğurla yerinə yetirildi. Müraciətinizin nəticəsi 3 iş günü ərzində email "
    "ünvanınıza göndəriləcək."
)


# -- show --as-subscriber: "why was I refused?" -----------------------------------------


def test_as_subscriber_new(loaded: Cli) -> None:
    app_id = new_app(loaded, docs=False)
    view = loaded.json("show", app_id, "--as-subscriber")
    assert set(view) == {"application_id", "status_label", "print_enabled", "message", "emails"}
    assert view["application_id"] == int(app_id)
    assert (view["status_label"], view["print_enabled"]) == ("Yeni", False)
    assert view["message"] == NEW_MESSAGE
    [email] = view["emails"]
    assert set(email) == {"kind", "subject", "body_text", "status", "sent_at"}
    assert email["kind"] == "received" and email["status"] == "pending"
    assert email["sent_at"] is None and f"№{app_id}" in email["body_text"]


def test_as_subscriber_refused_shows_the_reason_literally(loaded: Cli) -> None:
    app_id = new_app(loaded)
    reason = "Mülkiyyət sənədi [/] oxunmur [bold]"
    loaded.json("reject", app_id, "--reason", reason)  # (reject's own human output: another fix)
    view = loaded.json("show", app_id, "--as-subscriber")
    assert view["status_label"] == "Ləğv olunmuş" and view["print_enabled"] is False
    assert reason in view["message"]
    assert [e["kind"] for e in view["emails"]] == ["received", "rejected"]
    assert reason in view["emails"][1]["body_text"]
    human = loaded("show", app_id, "--as-subscriber").stdout
    assert reason in human and "Ləğv olunmuş" in human and "not enabled" in human
    assert "leyla.aliyeva" not in human and "+99450" not in human  # nothing personal


@pytest.mark.parametrize(
    ("status", "label", "enabled", "words"),
    [
        ("in_progress", "İcrada olan", False, "icradadır"),
        ("completed", "İcra olunmuş", True, '"Çap et" düyməsi aktivdir'),
    ],
)
def test_as_subscriber_each_status(
    loaded: Cli, status: str, label: str, enabled: bool, words: str
) -> None:
    app_id = app_in(loaded, status)
    view = loaded.json("show", app_id, "--as-subscriber")
    assert (view["status_label"], view["print_enabled"]) == (label, enabled)
    assert words in view["message"]


def test_as_subscriber_emails_as_delivered(loaded: Cli, smtp: Server) -> None:
    app_id = app_in(loaded, "completed", code=CODE_DEBT, fin=DEBT_FIN)
    loaded("outbox", "send")
    view = loaded.json("show", app_id, "--as-subscriber")
    assert [(e["kind"], e["status"]) for e in view["emails"]] == [
        ("received", "sent"),
        ("approved_debt", "sent"),
    ]
    assert all(e["sent_at"] == "2026-11-25T10:00:00+04:00" for e in view["emails"])
    delivered = {m["Subject"]: m.get_body(("plain",)).get_content() for m in smtp.messages}
    for e in view["emails"]:  # exactly what the subscriber received
        assert delivered[e["subject"]].rstrip("\n") == e["body_text"].rstrip("\n")


def test_as_subscriber_unknown_application(loaded: Cli) -> None:
    err = loaded.json("show", "999", "--as-subscriber", code=4)
    assert err["error"] == "not_found"


# -- show: "I paid, why can't I print?" --------------------------------------------------


def test_show_explains_debt_then_payment_then_print(loaded: Cli, tmp_path: Path) -> None:
    app_id = app_in(loaded, "completed", code=CODE_DEBT, fin=DEBT_FIN)
    shown = loaded.json("show", app_id)
    assert (shown["balance"], shown["debt"]) == ("23.80", "23.80")
    assert shown["print_blocker"]["code"] == "debt"
    assert "23,80 AZN" in shown["print_blocker"]["message"]
    assert len(shown["recent_ledger"]) == 5
    assert shown["recent_ledger"][0] == {
        "date": "2026-10-25",
        "kind": "payment",
        "amount": "44.35",
        "reference": "ODN-1024",
    }
    loaded("print", app_id, "--out", tmp_path / "a.pdf", code=3)
    loaded("pay", CODE_DEBT, "20", "--reference", "KASSA-1", "--paid-at", "2026-11-25")
    loaded("print", app_id, "--out", tmp_path / "b.pdf", code=3)
    shown = loaded.json("show", app_id)
    assert (shown["balance"], shown["debt"]) == ("3.80", "3.80")
    assert shown["recent_ledger"][0]["reference"] == "KASSA-1"
    assert [(a["printed"], a["debt"]) for a in shown["print_attempts"]] == [
        (False, "23.80"),
        (False, "3.80"),
    ]
    assert "3,80 AZN" in shown["print_blocker"]["message"]
    loaded("pay", CODE_DEBT, "3.80", "--reference", "KASSA-2", "--paid-at", "2026-11-25")
    number = loaded.json("print", app_id, "--out", tmp_path / "c.pdf")["certificate_number"]
    shown = loaded.json("show", app_id)
    assert shown["print_attempts"][-1]["printed"] is True
    assert shown["print_attempts"][-1]["certificate_number"] == number
    assert shown["print_blocker"]["code"] == "valid_certificate"
    assert number in shown["print_blocker"]["message"]
    # The documented keys are still there, unchanged.
    for key in ("id", "status", "history", "emails", "certificates", "documents"):
        assert key in shown
    human = loaded("show", app_id, env={"COLUMNS": "80"}).stdout
    assert "KASSA-2" in human and "refused (debt)" in human and "Print:" in human
    assert "23,80 AZN" in human and number in human


@pytest.mark.parametrize(
    ("status", "code"),
    [("new", "not_completed"), ("in_progress", "not_completed"), ("rejected", "rejected")],
)
def test_show_blocker_for_open_and_refused(loaded: Cli, status: str, code: str) -> None:
    app_id = app_in(loaded, status)
    assert loaded.json("show", app_id)["print_blocker"]["code"] == code


def test_show_nothing_blocks_and_group_changed(loaded: Cli, tmp_path: Path) -> None:
    app_id = app_in(loaded, "completed")
    shown = loaded.json("show", app_id)
    assert shown["print_blocker"]["code"] == "none" and shown["debt"] == "0.00"
    assert shown["print_attempts"] == []
    row = next(
        line for line in (SAMPLE / "abonents.csv").read_text().splitlines() if line.startswith(CODE)
    )
    moved = tmp_path / "moved.csv"
    moved.write_text(
        "code,group,owner_name,owner_fin,address\n" + row.replace(",I,", ",II,", 1) + "\n"
    )
    loaded("abonent", "import", moved)
    blocker = loaded.json("show", app_id)["print_blocker"]
    assert blocker["code"] == "not_group_i" and "II" in blocker["message"]


# -- outbox show / list: "I never got the email" ------------------------------------------


def test_outbox_show_failed_message_in_full(loaded: Cli, smtp: Server) -> None:
    smtp.handler.plan = ["550 5.1.1 No such mailbox"]
    app_id = new_app(loaded, docs=False)
    loaded("outbox", "send")
    [msg] = loaded.json("outbox", "list", "--application", app_id)
    shown = loaded.json("outbox", "show", str(msg["id"]))
    assert shown["status"] == "failed" and shown["attempts"] == 1
    assert "550" in shown["last_error"] and shown["next_attempt_at"] is None
    assert shown["headers"]["To"] == "l***@example.az" == shown["to"]
    assert shown["headers"]["From"] == "arayis@azersu.az"
    assert shown["headers"]["Subject"] == f"Müraciət №{app_id} qeydiyyata alındı"
    assert shown["headers"]["Message-ID"]  # given when the message was claimed
    assert f"№{app_id}" in shown["body_text"] and "Hörmətlə" in shown["body_text"]
    pii = loaded.json("outbox", "show", str(msg["id"]), "--show-pii")
    assert pii["headers"]["To"] == "leyla.aliyeva@example.az"
    human = loaded("outbox", "show", str(msg["id"])).stdout
    assert "550 5.1.1 No such mailbox" in human and "l***@example.az" in human
    assert "leyla.aliyeva@example.az" not in human and "Hörmətli abonent" in human


def test_outbox_show_sent_message(loaded: Cli, smtp: Server) -> None:
    new_app(loaded, docs=False)
    loaded("outbox", "send")
    [msg] = loaded.json("outbox", "list")
    shown = loaded.json("outbox", "show", str(msg["id"]))
    assert shown["status"] == "sent" and shown["sent_at"] == "2026-11-25T10:00:00+04:00"
    assert shown["headers"]["Date"] == "Wed, 25 Nov 2026 10:00:00 +0400"
    assert shown["headers"]["Message-ID"] == smtp.messages[0]["Message-ID"]


@pytest.mark.parametrize(("arg", "code"), [("999", 4), ("0", 2), ("-5", 2), (str(2**63), 2)])
def test_outbox_show_refuses(loaded: Cli, arg: str, code: int, unchanged) -> None:
    with unchanged():
        result = loaded("outbox", "show", "--json", "--", arg, code=code)
    assert result.stdout == ""
    if code == 4:
        assert len(result.stderr.strip().splitlines()) == 1
    else:  # a malformed id is a usage error (cli/params.py): Typer's message names it
        assert "№" in result.stderr and arg in result.stderr  # the argument as help shows it


def test_outbox_list_fits_80_columns(loaded: Cli, smtp: Server) -> None:
    loaded("submit", "--from-file", SAMPLE / "applications.csv")
    smtp.handler.plan = ["550 5.1.1 No such mailbox", "451 4.3.0 Mailbox busy, try later"]
    loaded("outbox", "send", "--limit", "5")
    out = loaded("outbox", "list", env={"COLUMNS": "80"}).stdout
    lines = out.splitlines()
    assert lines and max(len(line) for line in lines) <= 80, out
    assert "failed" in out and "sent" in out and "→ 25.11.2026 10:01" in out  # next attempt
    assert "25.11.2026 10:00" in out  # sent time
    assert "To" in out.splitlines()[1]  # the heading row
    # One line per message: nothing wrapped into a second line.
    assert sum("@example.az" in line for line in lines) == 20


# -- the open-application conflict names the open application ----------------------------


def test_open_application_conflict_names_its_number(loaded: Cli, tmp_path: Path) -> None:
    first = loaded.json(*submit_args())["id"]
    err = loaded.json(*submit_args(), code=5)
    assert err["error"] == "conflict" and f"open application №{first}" in err["message"]
    batch = tmp_path / "two.csv"
    batch.write_text(
        "abonent,fin,phone,email,channel,external_id,submitted_at\n"
        f"{CODE},{OWNER_FIN},0501234567,a@example.az,egov,,\n"
        f"{CODE_DEBT},{DEBT_FIN},0501234567,b@example.az,egov,,\n"
        f"{CODE_DEBT},{DEBT_FIN},0501234567,b@example.az,egov,,\n"
    )
    report = loaded.json("submit", "--from-file", batch, code=2)
    errors = {f["row"]: f["message"] for f in report["failed"]}
    assert f"open application №{first}" in errors[1]
    assert "open application (row 2 of this file)" in errors[3]
