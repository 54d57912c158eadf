"""Email: templates, and delivery to a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import string
import subprocess
import sys

import pytest

from arayis_cli.services.emails import KINDS, TEMPLATES, render
from tests.helpers import (
    CODE_CREDIT,
    CODE_DEBT,
    CREDIT_FIN,
    DEBT_FIN,
    SAMPLE,
    Cli,
    new_app,
    submit_args,
)
from tests.helpers.email import Server

VALUES = {
    "received": {
        "submitted_at": "25.11.2026 10:00",
        "result_by": "3 iş günü ərzində (30.11.2026 tarixinədək)",
    },
    "rejected": {"reason": "Sənəd oxunmur"},
    "approved_no_debt": {"checked_at": "25.11.2026 10:00"},
    "approved_debt": {"checked_at": "25.11.2026 10:00", "debt": "23,80 AZN"},
}


@pytest.mark.parametrize("kind", KINDS)
def test_every_template_fills_completely(kind: str) -> None:
    org = {"organisation": '"Azərsu" ASC'}
    subject, body = render(
        kind, {"app_id": 17, "abonent_code": "0012345678", **org, **VALUES[kind]}
    )
    assert "№17" in subject
    assert "$" not in subject + body and "0012345678" in body
    assert '"Azərsu" ASC' in body


@pytest.mark.parametrize("kind", KINDS)
def test_a_missing_value_is_an_error_not_a_half_filled_email(kind: str) -> None:
    names = {
        m.group("named") or m.group("braced")
        for text in TEMPLATES[kind]
        for m in string.Template.pattern.finditer(text)
        if m.group("named") or m.group("braced")
    }
    full = {"app_id": 1, "abonent_code": "0012345678", "organisation": "X", **VALUES[kind]}
    assert "organisation" in names  # the caller's (its run's settings), never looked up
    for name in names:
        with pytest.raises(KeyError):
            render(kind, {k: v for k, v in full.items() if k != name})


def _statuses(cli: Cli) -> list[str]:
    return [m["status"] for m in cli.json("outbox", "list")]


def test_whole_story_delivers_exactly_the_promised_emails(loaded: Cli, smtp: Server) -> None:
    refused = str(loaded.json(*submit_args())["id"])
    loaded("reject", refused, "--reason", "Mülkiyyət sənədində ünvan uyğun gəlmir")
    owing = new_app(loaded, code=CODE_DEBT, fin=DEBT_FIN)
    loaded("review", owing)
    loaded("approve", owing)
    report = loaded.json("outbox", "send")
    assert (report["sent"], report["retry"], report["failed"]) == (4, 0, 0)
    assert loaded.json("outbox", "send")["sent"] == 0  # nothing twice
    got = {(m["To"], m["Subject"]) for m in smtp.messages}
    assert len(smtp.messages) == 4 and len(got) == 4
    subjects = [m["Subject"] for m in smtp.messages]
    assert f"Müraciət №{refused} qeydiyyata alındı" in subjects
    assert f"Müraciət №{refused}: sənədlər qəbul edilmədi (Ləğv olunmuş)" in subjects
    assert f"Müraciət №{owing} icra olundu: əvvəlcə borcu ödəyin" in subjects
    debt_mail = next(m for m in smtp.messages if "borcu ödəyin" in m["Subject"])
    body = debt_mail.get_body(("plain",)).get_content()
    assert "23,80 AZN" in body and "Çap et" in body and "ə" in body
    assert debt_mail.get_body(("html",)) is not None
    rejected = next(m for m in smtp.messages if "Ləğv" in m["Subject"])
    assert "Mülkiyyət sənədində ünvan uyğun gəlmir" in rejected.get_body(("plain",)).get_content()
    for m in smtp.messages:
        assert m["Message-ID"] and m["Date"] and m["From"] == "arayis@azersu.az"
        assert m["Date"].endswith("+0400"), m["Date"]  # Baku time, as the office reads it
        assert m["To"] == "leyla.aliyeva@example.az"
    assert _statuses(loaded) == ["sent"] * 4
    shown = loaded.json("show", owing, "--show-pii")
    assert all(e["status"] == "sent" and e["attempts"] == 1 for e in shown["emails"])


def test_server_down_then_up(loaded: Cli, smtp: Server) -> None:
    smtp.stop()
    loaded(*submit_args())
    # A cron job can tell: exit 8, the report on stdout, the error naming the server on stderr.
    result = loaded("outbox", "send", "--json", code=8)
    down = json.loads(result.stdout)
    assert (down["sent"], down["retry"], down["smtp_unreachable"]) == (0, 1, True)
    error = json.loads(result.stderr)
    assert error["error"] == "unavailable"
    assert f"127.0.0.1:{smtp.port}" in error["message"] and "refused" in error["message"]
    assert "Errno" not in error["message"]
    [msg] = loaded.json("outbox", "list")
    assert msg["status"] == "pending" and msg["attempts"] == 1
    assert "Connection" in msg["last_error"] or "refused" in msg["last_error"].lower()
    assert msg["next_attempt_at"] == "2026-11-25T10:01:00+04:00"
    smtp.start()
    assert loaded.json("outbox", "send")["sent"] == 0  # backoff: not yet
    loaded.now("2026-11-25T10:01:00+04:00")
    assert loaded.json("outbox", "send")["sent"] == 1
    assert loaded.json("outbox", "send", "--force")["sent"] == 0
    assert len(smtp.messages) == 1


def test_server_down_named_for_people_in_their_language(loaded: Cli, smtp: Server) -> None:
    smtp.stop()
    loaded(*submit_args())
    people = loaded("outbox", "send", code=8)
    assert f"SMTP server 127.0.0.1:{smtp.port}" in people.stderr
    assert "Errno" not in people.stderr and "ConnectionRefusedError" not in people.stderr
    az = loaded("--lang", "az", "outbox", "send", "--force", code=8)
    assert f"127.0.0.1:{smtp.port}" in az.stderr and "SMTP serveri" in az.stderr
    assert "refused" not in az.stderr
    smtp.start()
    assert loaded.json("outbox", "send", "--force")["smtp_unreachable"] is False


def test_4xx_then_success(loaded: Cli, smtp: Server) -> None:
    smtp.handler.plan = ["451 4.3.0 Mailbox busy, try later"]
    loaded(*submit_args())
    first = loaded.json("outbox", "send")
    assert first["retry"] == 1 and first["messages"][0]["error"] == "smtp_deferred"
    assert first["messages"][0]["detail"].startswith("451")
    again = loaded.json("outbox", "send", "--force")
    assert again["sent"] == 1
    [msg] = loaded.json("outbox", "list")
    assert msg["attempts"] == 2 and msg["status"] == "sent" and msg["last_error"] is None
    assert len(smtp.messages) == 1


def test_5xx_fails_for_good(loaded: Cli, smtp: Server) -> None:
    smtp.handler.plan = ["550 5.1.1 No such mailbox"]
    loaded(*submit_args())
    report = loaded.json("outbox", "send")
    assert report["failed"] == 1
    [msg] = loaded.json("outbox", "list", "--failed")
    assert msg["status"] == "failed" and "550" in msg["last_error"]
    assert loaded.json("outbox", "send", "--force")["sent"] == 0
    assert loaded.json("outbox", "list", "--pending") == []
    assert smtp.messages == []


def test_send_errors_are_stable_codes_with_a_message_and_the_reply(
    loaded: Cli, smtp: Server
) -> None:
    """messages[]: ``error`` a code that never changes with the language, ``message`` the
    sentence in the operator's language, ``detail`` the server's reply for support."""
    smtp.handler.plan = ["451 4.3.0 Mailbox busy, try later", "550 5.1.1 No such mailbox"]
    loaded(*submit_args())
    loaded(*submit_args(code=CODE_CREDIT, fin=CREDIT_FIN))
    report = loaded.json("outbox", "send")
    deferred, rejected = report["messages"]
    assert (deferred["status"], deferred["error"]) == ("pending", "smtp_deferred")
    assert deferred["detail"] == "451 4.3.0 Mailbox busy, try later"
    assert deferred["message"] == "the mail server asked to try later (451); it will be retried"
    assert (rejected["status"], rejected["error"]) == ("failed", "smtp_rejected")
    assert rejected["detail"] == "550 5.1.1 No such mailbox"
    assert (
        "(550)" in rejected["message"]
        and f"outbox retry {rejected['id']} --to" in (rejected["message"])
    )
    # Azerbaijani: the same codes and replies, the sentence translated.
    smtp.handler.plan = ["452 4.2.2 Mailbox full"]
    az = loaded.json("--lang", "az", "outbox", "send", "--force")["messages"][0]
    assert (az["error"], az["detail"]) == ("smtp_deferred", "452 4.2.2 Mailbox full")
    assert "poçt serveri" in az["message"] and "(452)" in az["message"]
    assert "try later" not in az["message"]
    # For people: the sentence, not the server's English.
    smtp.handler.plan = ["451 4.3.0 Mailbox busy, try later"]
    people = loaded("--lang", "az", "outbox", "send", "--force", env={"COLUMNS": "200"}).stdout
    assert "Mailbox busy" not in people and "poçt serveri" in people
    sent = loaded.json("outbox", "send", "--force")["messages"][0]
    assert (sent["error"], sent["message"], sent["detail"]) == (None, None, None)


def test_unreachable_server_code(loaded: Cli, smtp: Server) -> None:
    smtp.stop()
    loaded(*submit_args())
    result = loaded("outbox", "send", "--json", code=8)
    [msg] = json.loads(result.stdout)["messages"]
    assert msg["error"] == "smtp_unreachable" and "refused" in msg["message"]
    assert "Errno" not in msg["message"] and msg["detail"]


def test_dry_run_sends_nothing(loaded: Cli, smtp: Server, unchanged) -> None:
    loaded(*submit_args())
    with unchanged():
        report = loaded.json("outbox", "send", "--dry-run")
    assert report["dry_run"] is True and len(report["would_send"]) == 1
    assert smtp.messages == []


def test_configuration_errors(loaded: Cli, monkeypatch: pytest.MonkeyPatch, unchanged) -> None:
    loaded(*submit_args())
    with unchanged():
        monkeypatch.delenv("ARAYIS_SMTP_URL", raising=False)
        loaded("outbox", "send", code=2)
        monkeypatch.setenv("ARAYIS_SMTP_URL", "http://example")
        monkeypatch.setenv("ARAYIS_MAIL_FROM", "arayis@azersu.az")
        loaded("outbox", "send", code=2)
        monkeypatch.setenv("ARAYIS_SMTP_URL", "smtp://127.0.0.1:25")
        monkeypatch.setenv("ARAYIS_MAIL_FROM", "not an address")
        loaded("outbox", "send", code=2)
        loaded("outbox", "send", "--limit", "0", code=2)


def test_stale_sending_is_not_resent_without_force(loaded: Cli, smtp: Server) -> None:
    from sqlalchemy import create_engine, text

    loaded(*submit_args())
    engine = create_engine(loaded.url)
    with engine.begin() as conn:  # a sender that died after claiming
        conn.execute(
            text(
                "UPDATE outbox_message SET status = 'sending', claimed_by = 'dead', "
                "claimed_at = :t, message_id = '<dead@azersu.az>'"
            ),
            {"t": "2026-11-25 05:00:00"},
        )
    engine.dispose()
    assert loaded.json("outbox", "send")["sent"] == 0
    assert _statuses(loaded) == ["sending"]
    assert loaded.json("outbox", "send", "--force")["sent"] == 1
    assert [m["Message-ID"] for m in smtp.messages] == ["<dead@azersu.az>"]


@pytest.mark.slow
def test_two_senders_at_once_send_each_message_once(loaded: Cli, smtp: Server) -> None:
    loaded("submit", "--from-file", SAMPLE / "applications.csv")
    env = {**os.environ}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "arayis_cli",
                "--db",
                loaded.url,
                "outbox",
                "send",
                "--limit",
                "3",
                "--json",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    # Whatever the six runs left (each took at most 3), one more run sends.
    loaded.json("outbox", "send")
    ids = [m["Message-ID"] for m in smtp.messages]
    assert len(ids) == 20 and len(set(ids)) == 20
    assert _statuses(loaded) == ["sent"] * 20


def test_550_then_retry_to_a_corrected_address_delivers_once(loaded: Cli, smtp: Server) -> None:
    smtp.handler.plan = ["550 5.1.1 No such mailbox"]
    app_id = loaded.json(*submit_args())["id"]
    assert loaded.json("outbox", "send")["failed"] == 1
    [msg] = loaded.json("outbox", "list", "--failed")
    first_id = msg["message_id"]
    got = loaded.json(
        "outbox",
        "retry",
        msg["id"],
        "--to",
        "leyla.new@example.az",
        "--reason",
        "zəng etdi",
        "--show-pii",
    )
    assert got["status"] == "pending" and got["to"] == "leyla.new@example.az"
    assert loaded.json("outbox", "send")["sent"] == 1
    assert loaded.json("outbox", "send", "--force")["sent"] == 0  # never twice
    assert [(m["To"], m["Message-ID"]) for m in smtp.messages] == [
        ("leyla.new@example.az", first_id)
    ]
    shown = loaded.json("show", app_id, "--show-pii")
    assert shown["email"] == "leyla.new@example.az"  # the contact email corrected with it
    [event] = [e for e in shown["history"] if e["action"] == "email_retry"]
    assert event["operator"] == "leyla"
    assert event["detail"] == {
        "email": msg["id"],
        "kind": "received",
        "from": "failed",
        "address_changed": True,
        "reason": "zəng etdi",
    }


def test_retry_refuses_what_it_cannot_release(loaded: Cli, smtp: Server, unchanged) -> None:
    loaded(*submit_args())
    [msg] = loaded.json("outbox", "list")
    with unchanged():
        assert loaded.json("outbox", "retry", msg["id"], code=5)["error"] == "conflict"  # pending
        loaded("outbox", "retry", "999999", code=4)
        loaded("outbox", "retry", "0", code=2)
        loaded("outbox", "retry", msg["id"], "--to", "not an address", code=2)
    loaded("outbox", "send")
    with unchanged():
        loaded("outbox", "retry", msg["id"], code=5)  # sent: never twice


def test_stranded_sending_reported_and_released_by_retry(loaded: Cli, smtp: Server) -> None:
    from sqlalchemy import text

    from arayis_cli import db

    loaded(*submit_args())
    # A sender that died after claiming, 5 minutes ago: the tool's own write (through its
    # engine, so that the hash chain links it as it links a real claim).
    with db.get_engine(loaded.url).begin() as conn:
        conn.execute(
            text(
                "UPDATE outbox_message SET status = 'sending', claimed_by = 'dead', "
                "claimed_at = :t, message_id = '<dead@azersu.az>'"
            ),
            {"t": "2026-11-25 05:55:00"},
        )
    db.dispose_all()
    [msg] = loaded.json("outbox", "list")
    assert loaded.json("db", "check")["ok"]  # still within its lease: maybe alive
    refused = loaded.json("outbox", "retry", msg["id"], code=5)
    assert "being sent right now" in refused["message"]
    assert loaded.json("outbox", "send", "--force")["sent"] == 0
    loaded.now("2026-11-25T10:06:00+04:00")  # the lease (10 min) has run out
    report = loaded.json("db", "check", code=6)
    assert any(f"email {msg['id']}" in p and "stranded in sending" in p for p in report["problems"])
    loaded("outbox", "retry", msg["id"])
    assert loaded.json("db", "check")["ok"]
    assert loaded.json("outbox", "send")["sent"] == 1
    assert [m["Message-ID"] for m in smtp.messages] == ["<dead@azersu.az>"]


def test_force_tries_each_message_once_per_run(loaded: Cli, smtp: Server) -> None:
    smtp.handler.plan = ["451 4.3.0 Mailbox busy, try later"] * 5
    loaded(*submit_args())
    report = loaded.json("outbox", "send", "--force", "--limit", "10")
    assert (report["sent"], report["retry"], len(report["messages"])) == (0, 1, 1)
    [msg] = loaded.json("outbox", "list")
    assert msg["attempts"] == 1 and msg["status"] == "pending"


@pytest.mark.parametrize("kind", KINDS)
def test_templates_fill_as_string_template_does(kind: str) -> None:
    """The emails are filled from templates split once per process: the text is exactly
    what ``string.Template.substitute`` gives, dollar signs in values included."""
    from arayis_cli.services.emails import _fill

    values = {
        "app_id": 17,
        "abonent_code": "$abonent_code",
        "organisation": "${organisation} $$",
        **{k: f"{v} $x ${{y}}" for k, v in VALUES[kind].items()},
    }
    for template in (*TEMPLATES[kind], "$$ ${app_id}$app_id $$app_id"):
        assert _fill(template, values) == string.Template(template).substitute(values)
    with pytest.raises(ValueError):
        _fill("a $ b", values)
