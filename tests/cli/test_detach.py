"""detach and relabel: a document filed by mistake is corrected while the application is
open; the copy stays in the store, the history says who, when and why, and the checklist,
approve and the subscriber's view count only the documents attached now."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import CODE_CREDIT, CREDIT_FIN, DOCS, Cli, app_in, new_app

ID_CARD = DOCS / "sexsiyyet_vesiqesi.jpg"
OWNERSHIP = DOCS / "mulkiyyet_cixarisi.pdf"


def _doc_ids(cli: Cli, app_id: str) -> dict[str, int]:
    return {d["kind"]: d["id"] for d in cli.json("show", app_id)["documents"]}


def _failed_items(checklist: dict[str, Any]) -> list[str]:
    return [item["code"] for item in checklist["items"] if not item["ok"]]


def test_detached_document_no_longer_counts(loaded: Cli) -> None:
    app_id = new_app(loaded)
    ownership = _doc_ids(loaded, app_id)["ownership"]
    out = loaded.json("detach", ownership, "--reason", "Başqa mənzilin çıxarışı")
    assert [d["kind"] for d in out["documents"]] == ["id-card"]
    assert out["detached"] == {
        "id": ownership,
        "kind": "ownership",
        "filename": "mulkiyyet_cixarisi.pdf",
        "detached_at": "2026-11-25T10:00:00+04:00",
        "detached_by": "leyla",
        "reason": "Başqa mənzilin çıxarışı",
    }
    reviewed = loaded.json("review", app_id)
    assert _failed_items(reviewed["checklist"]) == ["ownership"]
    assert loaded.json("approve", app_id, code=5)["error"] == "conflict"
    assert [d["kind"] for d in loaded.json("list")[0]["documents"]] == ["id-card"]
    # The same bytes attached again come back (under the kind given now).
    back = loaded.json("attach", app_id, OWNERSHIP, "--kind", "ownership")
    assert {d["id"] for d in back["documents"]} == {ownership, _doc_ids(loaded, app_id)["id-card"]}
    assert loaded.json("approve", app_id)["status"] == "completed"
    assert loaded.json("db", "check")["ok"] is True
    again = loaded.json("show", app_id)["history"]
    assert [e["action"] for e in again][-4:] == ["detach", "review", "attach", "approve"]
    assert again[-2]["detail"]["document"] == ownership
    shown = loaded("--lang", "az", "show", app_id, env={"COLUMNS": "120"}).stdout
    assert "sənəd yenidən əlavə olundu" in shown


def test_history_says_who_detached_what_when_and_why(loaded: Cli) -> None:
    app_id = new_app(loaded)
    ownership = _doc_ids(loaded, app_id)["ownership"]
    loaded("--operator", "aysel", "detach", ownership, "--reason", "Oxunmur")
    history = loaded.json("show", app_id)["history"]
    event = history[-1]
    assert event["action"] == "detach"
    assert event["detail"]["reason"] == "Oxunmur"
    assert event["detail"]["document"] == ownership
    assert event["detail"]["kind"] == "ownership"
    assert event["detail"]["filename"] == "mulkiyyet_cixarisi.pdf"
    assert event["at"] == "2026-11-25T10:00:00+04:00"
    # For people: labelled phrases in the operator's language, never raw codes.
    en = loaded("show", app_id, env={"COLUMNS": "120"}).stdout
    assert "document detached" in en and "Reason: Oxunmur" in en
    assert f"Document №: {ownership}" in en and "Kind: ownership document" in en
    az = loaded("--lang", "az", "show", app_id, env={"COLUMNS": "120"}).stdout
    assert "sənəd ayrıldı" in az and "Səbəb: Oxunmur" in az and "mülkiyyət sənədi" in az
    assert "detach" not in az and "ownership" not in az


def test_relabel_files_a_document_under_the_right_kind(loaded: Cli) -> None:
    app_id = loaded.json(
        "submit",
        "--abonent",
        "0011276516",
        "--fin",
        "6HV4DVC",
        "--phone",
        "050 123 45 67",
        "--email",
        "a@example.az",
    )["id"]
    loaded("attach", app_id, ID_CARD, "--kind", "ownership")
    loaded("attach", app_id, OWNERSHIP, "--kind", "ownership")
    # Attaching the same bytes under another kind says where it is and how to correct it.
    said = loaded("attach", app_id, ID_CARD, "--kind", "id-card").stderr
    doc = next(d for d in loaded.json("show", app_id)["documents"] if d["filename"].endswith("jpg"))
    assert f"arayis relabel {doc['id']} id-card --reason" in said
    out = loaded.json("relabel", doc["id"], "id-card", "--reason", "Səhv növ seçilmişdi")
    assert out["relabelled"] == {"id": doc["id"], "kind": "id-card"}
    assert _failed_items(loaded.json("review", app_id)["checklist"]) == []
    event = loaded.json("show", app_id)["history"][-2]
    assert event["action"] == "relabel"
    assert event["detail"] == {
        "document": doc["id"],
        "was": "ownership",
        "kind": "id-card",
        "reason": "Səhv növ seçilmişdi",
    }
    az = loaded("--lang", "az", "show", app_id, env={"COLUMNS": "120"}).stdout
    assert "Növ: mülkiyyət sənədi → şəxsiyyət vəsiqəsi" in az and "sənədin növü düzəldildi" in az
    en = loaded("show", app_id, env={"COLUMNS": "120"}).stdout
    assert "Kind: ownership document → identity card" in en
    assert loaded.json("db", "check")["ok"] is True


@pytest.mark.parametrize(
    "reason",
    ["", "   ", "sətir\nsonu", "zəng\x07", "gizli\u202esimvol", "x" * 501],
    ids=["empty", "blank", "newline", "bell", "bidi", "too-long"],
)
def test_bad_reason_is_exit_2_and_changes_nothing(loaded: Cli, unchanged: Any, reason: str) -> None:
    app_id = new_app(loaded)
    doc = _doc_ids(loaded, app_id)["ownership"]
    with unchanged():
        err = loaded.json("detach", doc, "--reason", reason, code=2)
        assert err["error"] == "invalid_input" and "reason" in err["message"]
        loaded("relabel", doc, "other", "--reason", reason, code=2)


def test_refusals_change_nothing(loaded: Cli, unchanged: Any) -> None:
    open_app = new_app(loaded)
    doc = _doc_ids(loaded, open_app)["ownership"]
    done = app_in(loaded, "completed", code=CODE_CREDIT, fin=CREDIT_FIN)
    done_doc = _doc_ids(loaded, done)["ownership"]
    with unchanged():
        # Unknown document: not found (4), whatever the spelling of the number.
        assert loaded.json("detach", "999", "--reason", "x", code=4)["error"] == "not_found"
        loaded("detach", "2147483648", "--reason", "x", code=4)
        for bad in ("0", "-1", "abc", "1.5", "9223372036854775808", "٣"):
            loaded("detach", bad, "--reason", "x", code=2)
        loaded("detach", "--reason", "x", code=2)  # no number
        loaded("detach", doc, code=2)  # no reason
        # Decided: the file set is what the decision was made on (5).
        err = loaded.json("detach", done_doc, "--reason", "x", code=5)
        assert err["error"] == "conflict" and "open" in err["message"]
        loaded("relabel", done_doc, "other", "--reason", "x", code=5)
        # A kind that does not exist, or the kind it has already.
        loaded("relabel", doc, "passport", "--reason", "x", code=2)
        loaded("relabel", doc, "ownership", "--reason", "x", code=5)
    loaded("detach", doc, "--reason", "Təkrar")
    with unchanged():
        err = loaded.json("detach", doc, "--reason", "Təkrar", code=5)
        assert "detached already" in err["message"]
        loaded("relabel", doc, "other", "--reason", "x", code=5)


def test_hostile_reasons_are_kept_literally(loaded: Cli) -> None:
    app_id = new_app(loaded)
    doc = _doc_ids(loaded, app_id)["ownership"]
    reason = "[bold]x[/] '; DROP TABLE document; -- $(rm -rf /) %s {app_id} ə"
    loaded("detach", doc, "--reason", reason)
    assert loaded.json("show", app_id)["history"][-1]["detail"]["reason"] == reason
    assert reason in loaded("show", app_id, env={"COLUMNS": "400"}).stdout
    assert loaded.json("db", "check")["ok"] is True


def test_four_eyes_whoever_changed_the_documents_after_review_may_not_decide(
    loaded: Cli, unchanged: Any
) -> None:
    if loaded.url.startswith("postgresql"):
        pytest.skip("one login is one actor on PostgreSQL (tests/test_accountability_pg.py)")
    loaded("policy", "set", "four-eyes", "on")
    app_id = new_app(loaded)
    loaded("--operator", "rauf", "review", app_id)
    ownership = _doc_ids(loaded, app_id)["ownership"]
    # Aysel swaps the ownership copy after Rauf looked at the file set...
    loaded("--operator", "aysel", "detach", ownership, "--reason", "Köhnə çıxarış")
    loaded(
        "--operator",
        "aysel",
        "attach",
        app_id,
        DOCS / "bildiris_faktura.png",
        "--kind",
        "ownership",
    )
    with unchanged():
        err = loaded.json("--operator", "aysel", "approve", app_id, code=7)
        assert err["error"] == "not_permitted" and "changed its documents" in err["message"]
        loaded("--operator", "aysel", "reject", app_id, "--reason", "x", code=7)
        loaded("--operator", "rauf", "approve", app_id, code=7)  # the reviewer, as before
    # ...so a third person decides.
    assert loaded.json("--operator", "nigar", "approve", app_id)["status"] == "completed"


def test_four_eyes_changes_before_review_are_what_the_reviewer_saw(loaded: Cli) -> None:
    if loaded.url.startswith("postgresql"):
        pytest.skip("one login is one actor on PostgreSQL (tests/test_accountability_pg.py)")
    loaded("policy", "set", "four-eyes", "on")
    app_id = new_app(loaded)
    doc = _doc_ids(loaded, app_id)["id-card"]
    loaded("--operator", "aysel", "relabel", doc, "other", "--reason", "Səhv")
    loaded("--operator", "aysel", "relabel", doc, "id-card", "--reason", "Geri")
    loaded("--operator", "rauf", "review", app_id)
    assert loaded.json("--operator", "aysel", "approve", app_id)["status"] == "completed"


def test_subscriber_view_and_portal_count_only_attached_documents(loaded: Cli) -> None:
    from arayis_cli.db import session_scope
    from arayis_cli.services.portal import documents_document

    app_id = new_app(loaded)
    doc = _doc_ids(loaded, app_id)["id-card"]
    loaded("detach", doc, "--reason", "Bulanıq")
    with session_scope(loaded.url, write=False) as session:
        shown = documents_document(session, int(app_id), 0)
    assert [d["kind"] for d in shown["documents"]] == ["ownership"]


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE document SET detached_at = '2026-11-25 06:00:00+00:00', detached_by = 'x',"
        " detach_reason = 'x' WHERE id = {doc}",
        "UPDATE document SET kind = 'other' WHERE id = {doc}",
    ],
    ids=["detach", "relabel"],
)
def test_db_check_finds_a_change_made_by_hand_with_the_triggers_on(loaded: Cli, sql: str) -> None:
    """Even a write the hash chain linked (PostgreSQL's triggers link any write, a hand edit
    by the owner in psql too) is a finding: the history has no detach or relabel for it."""
    from sqlalchemy import text

    from arayis_cli import db

    app_id = new_app(loaded)
    doc = _doc_ids(loaded, app_id)["ownership"]
    loaded("relabel", _doc_ids(loaded, app_id)["id-card"], "other", "--reason", "x")
    assert loaded.json("db", "check")["ok"] is True
    engine = db.get_engine(loaded.url)  # the tool's engine: on SQLite it links the change too
    with engine.begin() as conn:
        conn.execute(text(sql.format(doc=doc)))
    db.dispose_all()
    report = loaded.json("db", "check", code=6)
    found = [p for p in report["problems"] if f"document {doc}" in p]
    assert found and all("history" in p for p in found), report  # the chain agrees with it
