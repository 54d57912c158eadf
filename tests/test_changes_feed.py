"""The portal's feed (``changes``): every status change once, in commit order, never a skip."""

from __future__ import annotations

import csv
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CODE_DEBT, DEBT_FIN, REPO, SAMPLE, Cli, app_in, new_app, submit_args

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def _feed(cli: Cli, after: int = 0, limit: int = 10_000) -> dict[str, Any]:
    return cli.json("changes", "--after", str(after), "--limit", str(limit))


def _pairs(entries: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(e["application_id"], e["status"]) for e in entries]


def test_every_status_change_once_in_order(loaded: Cli, tmp_path: Path) -> None:
    assert _feed(loaded) == {"changes": [], "next_cursor": 0}
    a = int(loaded.json(*submit_args(external_id="EGOV-1"))["id"])
    b = int(new_app(loaded, code=CODE_DEBT, fin=DEBT_FIN))
    loaded("review", str(a))
    loaded("attach", str(a), SAMPLE / "documents" / "sexsiyyet_vesiqesi.jpg", "--kind", "id-card")
    loaded("attach", str(a), SAMPLE / "documents" / "mulkiyyet_cixarisi.pdf", "--kind", "ownership")
    loaded("approve", str(a))
    loaded.json("reject", str(b), "--reason", "Uyğunsuzluq")
    # Not status changes: a print, a payment, the same external id again, a refused move.
    loaded("print", str(a), "--out", tmp_path / "a.pdf")
    loaded("pay", CODE_DEBT, "1", "--reference", "K-1", "--paid-at", "2026-11-25")
    loaded(*submit_args(external_id="EGOV-1"))
    loaded("review", str(a), code=5)
    feed = _feed(loaded)
    entries = feed["changes"]
    assert _pairs(entries) == [
        (a, "new"),
        (b, "new"),
        (a, "in_progress"),
        (a, "completed"),
        (b, "rejected"),
    ]
    assert [e["cursor"] for e in entries] == [1, 2, 3, 4, 5] and feed["next_cursor"] == 5
    assert [e["print_enabled"] for e in entries] == [False, False, False, True, False]
    assert entries[0]["external_id"] == "EGOV-1" and entries[1]["external_id"] is None
    assert entries[3]["status_label"] == "İcra olunmuş"
    assert entries[0]["at"] == "2026-11-25T10:00:00+04:00"
    assert set(entries[0]) == {
        "cursor",
        "application_id",
        "external_id",
        "status",
        "status_label",
        "print_enabled",
        "at",
    }
    assert _feed(loaded, after=5) == {"changes": [], "next_cursor": 5}


def test_paging_with_limit(loaded: Cli) -> None:
    loaded("submit", "--from-file", SAMPLE / "applications.csv")
    for app_id in ("1", "2", "3"):
        loaded("review", app_id)
    everything = _feed(loaded)["changes"]
    assert len(everything) == 23
    seen: list[dict[str, Any]] = []
    cursor = 0
    while True:
        page = _feed(loaded, after=cursor, limit=4)
        assert len(page["changes"]) <= 4
        if not page["changes"]:
            assert page["next_cursor"] == cursor
            break
        seen += page["changes"]
        cursor = page["next_cursor"]
    assert seen == everything


def test_bulk_intake_writes_its_feed_rows_once(loaded: Cli) -> None:
    loaded("submit", "--from-file", SAMPLE / "applications.csv")
    first = _feed(loaded)
    assert _pairs(first["changes"]) == [(i, "new") for i in range(1, 21)]
    loaded("submit", "--from-file", SAMPLE / "applications.csv")  # nothing twice
    assert _feed(loaded) == first


def test_refused_commands_add_nothing(loaded: Cli, unchanged) -> None:
    app_id = app_in(loaded, "rejected")
    with unchanged():
        loaded("review", app_id, code=5)
        loaded("approve", app_id, code=5)
        loaded("reject", app_id, "--reason", "x", code=5)
        loaded(
            "submit",
            "--abonent",
            "0011276516",
            "--fin",
            "BAD",
            "--phone",
            "1",
            "--email",
            "x",
            code=2,
        )


@pytest.mark.parametrize(
    "args",
    [
        ["--after", "-1"],
        ["--after", str(2**63)],
        ["--after", "abc"],
        ["--limit", "-1"],
        ["--limit", "10001"],
    ],
)
def test_bad_cursor_or_limit_is_exit_2(cli: Cli, args: list[str]) -> None:
    result = cli("changes", *args, "--json", code=2)
    assert result.stdout == ""


def test_limit_0_is_accepted_like_list(loaded: Cli) -> None:
    app_in(loaded, "in_progress")
    assert loaded.json("list", "--limit", "0") == []
    assert loaded.json("changes", "--after", "1", "--limit", "0") == {
        "changes": [],
        "next_cursor": 1,
    }


def test_human_output(loaded: Cli) -> None:
    app_in(loaded, "completed")
    out = loaded("changes", "--after", "1", env={"COLUMNS": "80"}).stdout
    assert "İcrada olan" in out and "İcra olunmuş" in out and "Yeni" not in out
    assert "Next cursor (--after): 3" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_upgrade_backfills_current_statuses(db_url: str) -> None:
    """A database from before the feed gets one entry per application, its status now."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from arayis_cli import db
    from arayis_cli.services import changes

    db.upgrade(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(REPO / "arayis_cli" / "migrations"))
    with db.get_engine(db_url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    with db.get_engine(db_url).begin() as conn:
        conn.execute(
            text(
                'INSERT INTO abonent (code, "group", owner_name, owner_fin, address, created_at)'
                " VALUES ('0000000001', 'I', 'X', 'AAAAAAA', 'Y', :t),"
                " ('0000000002', 'I', 'X', 'AAAAAAA', 'Y', :t)"
            ),
            {"t": "2026-11-01 00:00:00"},
        )
        for code, status, submitted in (
            ("0000000001", "completed", "2026-11-18 05:00:00"),
            ("0000000002", "new", "2026-11-19 05:00:00"),
        ):
            conn.execute(
                text(
                    "INSERT INTO application (abonent_code, fin, phone, email, channel,"
                    " submitted_at, due_on, status, created_by, version) VALUES (:c, 'AAAAAAA',"
                    " '+994501234567', 'a@b.az', 'egov', :s, '2026-11-23', :st, 'x', 1)"
                ),
                {"c": code, "s": submitted, "st": status},
            )
        conn.execute(
            text(
                "INSERT INTO event (application_id, at, actor, action, from_status, to_status)"
                " VALUES (1, :at, 'x', 'approve', 'in_progress', 'completed')"
            ),
            {"at": "2026-11-20 07:00:00"},
        )
    db.upgrade(db_url)
    with db.session_scope(db_url, write=False) as session:
        entries, cursor = changes.feed(session, after=0, limit=100)
    assert [(c.cursor, c.application_id, c.status) for c in entries] == [
        (1, 2, "new"),  # 19.11 09:00 Baku
        (2, 1, "completed"),  # reached 20.11 11:00 Baku
    ]
    assert entries[1].at == datetime(2026, 11, 20, 7, 0, tzinfo=UTC) and cursor == 2
    # The next change continues after the backfill.
    from arayis_cli.services.decisions import review

    with db.session_scope(db_url) as session:
        review(session, 2, now=NOW, actor="x")
    with db.session_scope(db_url, write=False) as session:
        entries, cursor = changes.feed(session, after=2, limit=100)
    assert [(c.cursor, c.application_id, c.status) for c in entries] == [(3, 2, "in_progress")]


# -- PostgreSQL: commit order, not insert order ---------------------------------------------


def _pg_only(url: str) -> None:
    if not url.startswith("postgresql"):
        pytest.skip("two concurrent writers: PostgreSQL only (SQLite serialises writers)")


def _session(url: str) -> Any:
    from sqlmodel import Session

    from arayis_cli.db import ensure_schema, get_engine

    ensure_schema(url)
    return Session(get_engine(url), expire_on_commit=False)


def _poll(url: str, after: int) -> tuple[list[tuple[int, str]], int]:
    from arayis_cli.db import session_scope
    from arayis_cli.services.changes import feed

    with session_scope(url, write=False) as session:
        found, cursor = feed(session, after=after, limit=1000)
    return [(c.application_id, c.status) for c in found], cursor


def test_a_slow_transaction_committing_later_is_not_skipped(loaded: Cli) -> None:
    """T1 changes A and holds; T2 changes B and commits; poll; T1 commits; poll: both seen
    exactly once. A cursor on the identity column would have skipped A here."""
    _pg_only(loaded.url)
    from sqlalchemy import select

    from arayis_cli.models import StatusChange
    from arayis_cli.services.decisions import review

    a, b = int(new_app(loaded, docs=False)), int(new_app(loaded, code=CODE_DEBT, fin=DEBT_FIN))
    _, cursor = _poll(loaded.url, 0)
    t1, t2 = _session(loaded.url), _session(loaded.url)
    try:
        review(t1, a, now=NOW, actor="slow")
        t1.flush()  # A's feed row exists (uncommitted) before B's
        review(t2, b, now=NOW, actor="fast")
        t2.commit()
        seen, cursor = _poll(loaded.url, cursor)
        assert seen == [(b, "in_progress")]
        t1.commit()
        later, cursor = _poll(loaded.url, cursor)
        assert later == [(a, "in_progress")]
        assert _poll(loaded.url, cursor) == ([], cursor)
        rows = {
            r.application_id: r
            for r in t1.execute(select(StatusChange).where(StatusChange.status == "in_progress"))
            .scalars()
            .all()
        }
        # Inserted A first, committed B first: an id cursor would have jumped over A.
        assert rows[a].id < rows[b].id and rows[a].position > rows[b].position
    finally:
        t1.close()
        t2.close()


def test_positions_are_taken_under_a_lock_held_to_commit(loaded: Cli) -> None:
    """Once T1 has its position, T2 waits for T1's commit: positions follow commit order."""
    _pg_only(loaded.url)
    from arayis_cli.services import changes
    from arayis_cli.services.decisions import review

    a, b = int(new_app(loaded, docs=False)), int(new_app(loaded, code=CODE_DEBT, fin=DEBT_FIN))
    _, cursor = _poll(loaded.url, 0)
    t1 = _session(loaded.url)
    done = threading.Event()
    errors: list[BaseException] = []

    def other() -> None:
        try:
            with _session(loaded.url) as t2:
                review(t2, b, now=NOW, actor="second")
                t2.commit()
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
        finally:
            done.set()

    try:
        review(t1, a, now=NOW, actor="first")
        assert changes.place(t1) == 1  # what the commit hook does: T1 now holds the counter
        thread = threading.Thread(target=other)
        thread.start()
        assert not done.wait(0.5), "T2 committed while T1 held the feed counter"
        assert _poll(loaded.url, cursor) == ([], cursor)
        t1.commit()
        thread.join(30)
        assert done.is_set() and not errors, errors
        seen, _ = _poll(loaded.url, cursor)
        assert seen == [(a, "in_progress"), (b, "in_progress")]
    finally:
        t1.close()


# -- 4 writer processes and a poller --------------------------------------------------------

WRITER = """
import sys
from datetime import UTC, datetime
from arayis_cli.config import Settings
from arayis_cli.db import session_scope
from arayis_cli.services import Terms
from arayis_cli.services.applications import submit, validate_submission
from arayis_cli.services.decisions import approve, reject, review

terms = Terms.of(Settings.from_env())

url, name, cycles = sys.argv[1], sys.argv[2], int(sys.argv[3])
pairs = [p.split(":") for p in sys.argv[4:]]
now = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
for cycle in range(cycles):
    for code, fin in pairs:
        sub = validate_submission(
            abonent=code,
            fin=fin,
            phone="0501234567",
            email="a@example.az",
            now=now,
            code_lengths=(6, 12),
        )
        with session_scope(url) as s:
            app_id = submit(s, sub, now=now, actor=name, terms=terms)[0].id
        with session_scope(url) as s:
            review(s, app_id, now=now, actor=name)
        with session_scope(url) as s:
            if cycle % 2:
                reject(s, app_id, reason="x", now=now, actor=name, terms=terms)
            else:
                approve(s, app_id, override="test", now=now, actor=name, terms=terms)
print("ok")
"""


@pytest.mark.slow
def test_four_writers_and_a_poller_miss_and_repeat_nothing(loaded: Cli) -> None:
    from sqlalchemy import select

    from arayis_cli.db import session_scope
    from arayis_cli.models import Event

    with (SAMPLE / "abonents.csv").open(encoding="utf-8") as fh:
        group_i = [f"{r['code']}:{r['owner_fin']}" for r in csv.DictReader(fh) if r["group"] == "I"]
    cycles = 4
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                loaded.url,
                f"w{i}",
                str(cycles),
                *group_i[2 * i : 2 * i + 2],
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    seen: list[tuple[int, str]] = []
    cursors: list[int] = []
    cursor = 0

    def poll_once() -> int:
        nonlocal cursor
        from arayis_cli.services.changes import feed

        with session_scope(loaded.url, write=False) as session:
            found, cursor = feed(session, after=cursor, limit=7)
        seen.extend((c.application_id, c.status) for c in found)
        cursors.extend(c.cursor for c in found)
        return len(found)

    while any(w.poll() is None for w in writers):
        poll_once()
        time.sleep(0.005)
    for w in writers:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0 and out.strip() == "ok", err
    while poll_once():
        pass
    expected = 4 * 2 * cycles * 3  # submit, review, decision per cycle per abonent
    assert len(seen) == expected and len(set(seen)) == expected
    assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors)
    # The feed agrees with the history, application by application, in the same order.
    with session_scope(loaded.url, write=False) as session:
        history = [
            (e.application_id, e.to_status)
            for e in session.execute(
                select(Event).where(Event.to_status.is_not(None)).order_by(Event.id)
            ).scalars()
        ]
    assert sorted(history) == sorted(seen)
    for app_id in {a for a, _ in seen}:
        assert [s for a, s in seen if a == app_id] == [s for a, s in history if a == app_id]


def test_a_lost_feed_counter_is_recreated_after_the_last_position(loaded: Cli) -> None:
    from sqlalchemy import delete

    from arayis_cli.db import session_scope
    from arayis_cli.models import Counter

    app_id = new_app(loaded, docs=False)
    with session_scope(loaded.url) as session:
        session.execute(delete(Counter).where(Counter.name == "feed"))
    loaded("review", app_id)
    assert [e["cursor"] for e in _feed(loaded)["changes"]] == [1, 2]
