"""Batch modes: review --next --count, approve/reject several ids, print --all-ready."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import (
    CODE,
    CODE_CREDIT,
    CODE_DEBT,
    CREDIT_FIN,
    DEBT_FIN,
    OWNER_FIN,
    SAMPLE,
    Cli,
    new_app,
)


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_review_next_count(loaded: Cli) -> None:
    loaded("submit", "--from-file", SAMPLE / "applications.csv")
    result = loaded("review", "--next", "--count", "5", "--json")
    claimed = _lines(result.stdout)
    assert len(claimed) == 5 and all(c["status"] == "in_progress" for c in claimed)
    assert all("checklist" in c for c in claimed)
    rest = _lines(loaded("review", "--next", "--count", "100", "--json").stdout)
    assert len(rest) == 15
    assert {c["id"] for c in claimed}.isdisjoint({c["id"] for c in rest})
    loaded("review", "--next", "--count", "3", code=4)
    loaded("review", "1", "--count", "3", code=2)
    loaded("review", "--next", "--count", "0", code=2)


def test_approve_and_reject_several(loaded: Cli) -> None:
    a = new_app(loaded, code=CODE, fin=OWNER_FIN)
    b = new_app(loaded, code=CODE_DEBT, fin=DEBT_FIN)
    c = new_app(loaded, code=CODE_CREDIT, fin=CREDIT_FIN)
    loaded("review", a, b)
    result = loaded("approve", a, b, c, "--json", code=5)  # c is still new: refused
    lines = _lines(result.stdout)
    assert [line.get("status") for line in lines[:2]] == ["completed", "completed"]
    assert [line["debt"] for line in lines[:2]] == ["0.00", "23.80"]
    assert lines[2] == {**lines[2], "id": int(c), "error": "conflict"}
    rejected = _lines(loaded("reject", c, a, "--reason", "Uyğunsuzluq", "--json", code=5).stdout)
    assert rejected[0]["status"] == "rejected" and rejected[1]["error"] == "conflict"
    people = loaded("approve", a, b, code=5)
    assert people.stderr.count("arayis: №") == 2


def test_print_all_ready(loaded: Cli, tmp_path: Path) -> None:
    ready = new_app(loaded, code=CODE, fin=OWNER_FIN)
    owing = new_app(loaded, code=CODE_DEBT, fin=DEBT_FIN)
    for app_id in (ready, owing):
        loaded("review", app_id)
        loaded("approve", app_id)
    out = tmp_path / "batch"
    out.mkdir()
    lines = _lines(loaded("print", "--all-ready", "--out-dir", out, "--json", code=3).stdout)
    by_id = {line["application_id"]: line for line in lines}
    assert by_id[int(ready)]["printed"] is True and Path(by_id[int(ready)]["path"]).is_file()
    assert by_id[int(owing)] == {
        "application_id": int(owing),
        "abonent_code": CODE_DEBT,
        "printed": False,
        "error": "debt",
        "message": by_id[int(owing)]["message"],
        "debt": "23.80",
    }
    # A current certificate exists now: the next run prints only what is still owed.
    again = _lines(loaded("print", "--all-ready", "--out-dir", out, "--json", code=3).stdout)
    assert [line["application_id"] for line in again] == [int(owing)]
    loaded("pay", CODE_DEBT, "23.80")
    third = _lines(loaded("print", "--all-ready", "--out-dir", out, "--json").stdout)
    assert [(line["application_id"], line["printed"]) for line in third] == [(int(owing), True)]
    assert len(list(out.glob("AR-*.pdf"))) == 2
    loaded("print", "--all-ready", "--out-dir", tmp_path / "missing", code=2)
    loaded("print", ready, "--all-ready", code=2)
    loaded("print", code=2)
