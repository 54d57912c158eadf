"""list (filters, formats, paging) and show (history, emails)."""

from __future__ import annotations

import csv
import io

from tests.helpers import CODE, DOCS, SAMPLE, Cli, submit_args


def test_list_filters_and_order(loaded: Cli) -> None:
    loaded("submit", "--from-file", SAMPLE / "applications.csv")
    everything = loaded.json("list")
    assert len(everything) == 20
    times = [a["submitted_at"] for a in everything]
    assert times == sorted(times)
    first = everything[0]["id"]
    loaded("review", str(first))
    assert [a["id"] for a in loaded.json("list", "--status", "in_progress")] == [first]
    assert [a["id"] for a in loaded.json("list", "--status", "İcrada olan")] == [first]
    assert len(loaded.json("list", "--status", "Yeni", "--status", "in_progress")) == 20
    assert len(loaded.json("list", "--limit", "5")) == 5
    assert loaded.json("list", "--limit", "2", "--offset", "1") == everything[1:3]
    one = loaded.json("list", "--abonent", everything[3]["abonent_code"])
    assert [a["id"] for a in one] == [everything[3]["id"]]
    assert all(
        a["submitted_at"].startswith("2026-11-18")
        for a in loaded.json("list", "--since", "2026-11-18", "--until", "18.11.2026")
    )


def test_overdue(loaded: Cli) -> None:
    loaded("submit", "--from-file", SAMPLE / "applications.csv")
    # Now is 25 Nov: applications due before today and still open are overdue.
    overdue = loaded.json("list", "--overdue")
    assert overdue and all(a["overdue"] and a["due_on"] < "2026-11-25" for a in overdue)
    assert len(overdue) < 20
    assert loaded.json("list", "--overdue", "--status", "completed") == []


def test_formats(loaded: Cli) -> None:
    loaded(*submit_args())
    as_csv = loaded("list", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert rows[0]["abonent_code"] == CODE and rows[0]["status_label"] == "Yeni"
    assert rows[0]["fin"] == "6HV***C"
    assert loaded.json("list") == loaded.json("list", "--format", "json")
    table = loaded("list").stdout
    assert "Yeni" in table and CODE in table and "6HV4DVC" not in table
    assert "6HV4DVC" in loaded("list", "--show-pii").stdout


def test_list_refusals(loaded: Cli) -> None:
    loaded("list", "--status", "done", code=2)
    loaded("list", "--format", "xml", code=2)
    loaded("list", "--since", "last week", code=2)
    loaded("list", "--limit", "-1", code=2)
    assert loaded.json("list") == []
    assert "No applications found" in loaded("list").stdout


def test_show_full_history(loaded: Cli) -> None:
    app_id = str(loaded.json(*submit_args())["id"])
    loaded("attach", app_id, DOCS / "sexsiyyet_vesiqesi.jpg", "--kind", "id-card")
    loaded("review", app_id)
    loaded("reject", app_id, "--reason", "Mülkiyyət sənədi təqdim olunmayıb")
    shown = loaded.json("show", app_id)
    assert shown["status"] == "rejected"
    assert shown["rejection_reason"] == "Mülkiyyət sənədi təqdim olunmayıb"
    assert shown["owner_name"] == "Süleymanov Zaur Ağa oğlu"
    assert [h["action"] for h in shown["history"]] == ["submit", "attach", "review", "reject"]
    assert all(h["operator"] == "leyla" and h["at"].endswith("+04:00") for h in shown["history"])
    assert [m["kind"] for m in shown["emails"]] == ["received", "rejected"]
    people = loaded("show", app_id).stdout
    assert "History" in people and "Ləğv olunmuş" in people
    loaded("show", "999", code=4)
    loaded("show", "abc", code=2)


def test_list_streams_what_show_shows(loaded: Cli) -> None:
    """list reads plain rows (dates as stored, no ORM objects); every field still equals
    show's, in every status, with documents, masked and unmasked; CSV agrees with JSON."""
    from tests.helpers import CODE_CREDIT, CODE_DEBT, CREDIT_FIN, DEBT_FIN
    from tests.helpers import app_in as _to

    ids = [
        _to(loaded, "new"),
        _to(loaded, "in_progress", code=CODE_DEBT, fin=DEBT_FIN),
        _to(loaded, "completed", code=CODE_CREDIT, fin=CREDIT_FIN),
    ]
    loaded("reject", ids[0], "--reason", "sənəd natamamdır")
    ids.append(loaded.json(*submit_args())["id"])  # no documents
    for pii in ([], ["--show-pii"]):
        listed = {a["id"]: a for a in loaded.json("list", *pii)}
        for app_id in ids:
            shown = loaded.json("show", str(app_id), *pii)
            assert listed[int(app_id)] == {k: shown[k] for k in listed[int(app_id)]}
        rows = list(csv.DictReader(io.StringIO(loaded("list", "--format", "csv", *pii).stdout)))
        assert [int(r["id"]) for r in rows] == list(listed)
        for row in rows:
            record = listed[int(row["id"])]
            assert row["documents"] == ";".join(d["kind"] for d in record["documents"])
            assert row["overdue"] == ("true" if record["overdue"] else "false")
            for key in ("fin", "phone", "email", "submitted_at", "due_on", "status_label"):
                assert row[key] == record[key]
            assert row["operator"] == (record["operator"] or "")
    from arayis_cli.cli.listing import LIST_COLUMNS
    from arayis_cli.present import APPLICATION_FIELDS

    assert APPLICATION_FIELDS[: len(LIST_COLUMNS)] == LIST_COLUMNS  # CSV takes them by place
    assert any(a["decided_at"] for a in listed.values())
    assert any(a["documents"] for a in listed.values())
