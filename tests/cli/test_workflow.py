"""review, reject, approve: every cell of the transition table through the CLI."""

from __future__ import annotations

import pytest

from tests.helpers import CODE_DEBT, DEBT_FIN, DOCS, Cli, app_in, new_app, submit_args


def _emails(cli: Cli, app_id: str) -> list[str]:
    return [m["kind"] for m in cli.json("outbox", "list", "--application", app_id)]


def test_review_shows_checklist(loaded: Cli) -> None:
    app_id = new_app(loaded)
    app = loaded.json("review", app_id)
    assert app["status"] == "in_progress" and app["status_label"] == "İcrada olan"
    assert app["operator"] == "leyla"
    check = app["checklist"]
    assert check["passed"] is True and check["debt"] == "0.00"
    assert {i["code"]: i["ok"] for i in check["items"]} == {
        "group_i": True,
        "fin_matches_owner": True,
        "id-card": True,
        "ownership": True,
    }


def test_review_checklist_failures_and_debt(loaded: Cli) -> None:
    app_id = new_app(loaded, code=CODE_DEBT, fin="5ZT8KPA", docs=False)
    result = loaded("review", app_id)
    assert "✗" in result.stdout and "23,80 AZN" in result.stdout
    check = loaded.json("show", app_id)
    assert check["status"] == "in_progress"


def test_review_next_claims_oldest(loaded: Cli) -> None:
    loaded(*submit_args(submitted_at="2026-11-24T12:00:00"))
    older = loaded.json(
        *submit_args(code=CODE_DEBT, fin=DEBT_FIN, submitted_at="2026-11-23T09:00:00")
    )
    claimed = loaded.json("review", "--next")
    assert claimed["id"] == older["id"] and claimed["status"] == "in_progress"
    loaded.json("review", "--next")
    err = loaded.json("review", "--next", code=4)
    assert err["error"] == "not_found"
    loaded("review", code=2)
    loaded("review", "1", "--next", code=2)


CELLS = [
    # (status before, command, exit code, status after)
    ("new", "review", 0, "in_progress"),
    ("new", "approve", 5, "new"),
    ("new", "reject", 0, "rejected"),
    ("in_progress", "review", 5, "in_progress"),
    ("in_progress", "approve", 0, "completed"),
    ("in_progress", "reject", 0, "rejected"),
    ("completed", "review", 5, "completed"),
    ("completed", "approve", 5, "completed"),
    ("completed", "reject", 5, "completed"),
    ("rejected", "review", 5, "rejected"),
    ("rejected", "approve", 5, "rejected"),
    ("rejected", "reject", 5, "rejected"),
]


@pytest.mark.parametrize("before,command,code,after", CELLS)
def test_transition_table(
    loaded: Cli, unchanged, before: str, command: str, code: int, after: str
) -> None:
    app_id = app_in(loaded, before)
    args = [command, app_id] + (["--reason", "Sənəd oxunmur"] if command == "reject" else [])
    history_before = loaded.json("show", app_id)["history"]
    if code:
        with unchanged():
            err = loaded.json(*args, code=code)
        assert err["error"] == "conflict"
    else:
        loaded(*args)
    shown = loaded.json("show", app_id)
    assert shown["status"] == after
    new_events = shown["history"][len(history_before) :]
    if code == 0:
        assert [(e["action"], e["from_status"], e["to_status"]) for e in new_events] == [
            (command, before, after)
        ]
    else:
        assert new_events == []


def test_unknown_application(loaded: Cli) -> None:
    for args in (
        ["review", "42"],
        ["approve", "42"],
        ["reject", "42", "--reason", "x"],
        ["print", "42"],
    ):
        loaded(*args, code=4)


def test_reject_needs_a_reason(loaded: Cli, unchanged) -> None:
    app_id = new_app(loaded)
    with unchanged():
        loaded("reject", app_id, "--reason", "   ", code=2)
        loaded("reject", app_id, "--reason", "bad\x00reason", code=2)
        loaded("reject", app_id, code=2)
    app = loaded.json("reject", app_id, "--reason", "Mülkiyyət sənədində ünvan uyğun deyil")
    assert app["rejection_reason"] == "Mülkiyyət sənədində ünvan uyğun deyil"
    assert _emails(loaded, app_id) == ["received", "rejected"]


def test_rejection_email_carries_the_reason(loaded: Cli) -> None:
    from sqlalchemy import create_engine, text

    app_id = new_app(loaded)
    loaded("reject", app_id, "--reason", "Şəxsiyyət vəsiqəsinin surəti oxunmur")
    engine = create_engine(loaded.url)
    with engine.connect() as conn:
        subject, body = conn.execute(
            text("SELECT subject, body FROM outbox_message WHERE kind = 'rejected'")
        ).one()
    engine.dispose()
    assert f"№{app_id}" in subject
    assert "Səbəb: Şəxsiyyət vəsiqəsinin surəti oxunmur" in body


def test_approve_refused_when_checklist_fails(loaded: Cli, unchanged) -> None:
    app_id = new_app(loaded, fin="5ZT8KPA")  # not the owner's FIN
    loaded("review", app_id)
    with unchanged():
        err = loaded.json("approve", app_id, code=5)
        loaded("approve", app_id, "--override", "  ", code=2)
    assert "checklist" in err["message"] and "FIN" in err["message"]
    assert "5ZT8KPA" not in err["message"]
    app = loaded.json("approve", app_id, "--override", "Etibarnamə təqdim olunub")
    assert app["status"] == "completed" and app["override_reason"] == "Etibarnamə təqdim olunub"
    event = loaded.json("show", app_id)["history"][-1]
    assert event["detail"]["override"] == "Etibarnamə təqdim olunub"
    assert event["detail"]["checklist_failures"] == ["FIN does not match the owner on record"]


def test_approve_missing_documents(loaded: Cli) -> None:
    app_id = new_app(loaded, docs=False)
    loaded("review", app_id)
    err = loaded.json("approve", app_id, code=5)
    assert "identity card" in err["message"] and "ownership document" in err["message"]
    assert not any(item["ok"] for item in err["checklist"]["items"][2:])  # codes in JSON


def test_approve_without_debt_emails_ready(loaded: Cli) -> None:
    app_id = new_app(loaded)
    loaded("review", app_id)
    app = loaded.json("approve", app_id)
    assert app["status"] == "completed" and app["debt"] == "0.00"
    assert app["decided_at"] == "2026-11-25T10:00:00+04:00"
    assert _emails(loaded, app_id) == ["received", "approved_no_debt"]


def test_approve_with_debt_emails_amount(loaded: Cli) -> None:
    from sqlalchemy import create_engine, text

    app_id = new_app(loaded, code=CODE_DEBT, fin=DEBT_FIN)
    loaded("review", app_id)
    app = loaded.json("approve", app_id)
    assert app["debt"] == "23.80"
    assert _emails(loaded, app_id) == ["received", "approved_debt"]
    engine = create_engine(loaded.url)
    with engine.connect() as conn:
        body = conn.execute(
            text("SELECT body FROM outbox_message WHERE kind = 'approved_debt'")
        ).scalar_one()
    engine.dispose()
    assert "23,80 AZN" in body and "Çap et" in body


def test_stats(loaded: Cli) -> None:
    from tests.helpers import CODE_CREDIT, CREDIT_FIN

    # Registered Wed 18 Nov (due Mon 23 Nov), approved today, Wed 25 Nov: 5 working days, late.
    late = loaded.json(*submit_args(submitted_at="2026-11-18T09:00:00"))["id"]
    loaded("attach", str(late), DOCS / "sexsiyyet_vesiqesi.jpg", "--kind", "id-card")
    loaded("attach", str(late), DOCS / "mulkiyyet_cixarisi.pdf", "--kind", "ownership")
    loaded("review", str(late))
    loaded("approve", str(late))
    # Registered Fri 20 Nov: due today, not overdue yet.
    loaded(*submit_args(code=CODE_DEBT, fin=DEBT_FIN, submitted_at="2026-11-20T09:00:00"))
    # Registered Mon 16 Nov: due Thu 19 Nov, still open: overdue.
    loaded(*submit_args(code=CODE_CREDIT, fin=CREDIT_FIN, submitted_at="2026-11-16T09:00:00"))
    stats = loaded.json("stats")
    assert stats["by_status"] == {"new": 2, "in_progress": 0, "completed": 1, "rejected": 0}
    assert stats["overdue"] == 1 and stats["open"] == 2 and stats["total"] == 3
    assert stats["decided"] == 1 and stats["decided_late"] == 1
    assert stats["median_working_days_to_decision"] == 5
    assert len(loaded.json("list", "--overdue")) == 1
    assert "İcra olunmuş" in loaded("stats").stdout
