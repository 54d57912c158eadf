"""Races between real processes: claims, decisions, prints — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import SAMPLE, Cli, new_app

pytestmark = pytest.mark.slow


def _spawn(url: str, *args: str, operator: str = "worker") -> subprocess.Popen[str]:
    env = {**os.environ, "ARAYIS_OPERATOR": operator}
    return subprocess.Popen(
        [sys.executable, "-m", "arayis_cli", "--db", url, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


WORKER = """
import io, json, sys
from contextlib import redirect_stderr, redirect_stdout
from arayis_cli.cli.app import run
url, name = sys.argv[1], sys.argv[2]
claimed = []
while True:  # one `review --next` after another, as a clerk's script would run them
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run(["--db", url, "--operator", name, "review", "--next", "--json"])
    if code == 4:
        break
    if code != 0:
        print(json.dumps({"error": code, "stderr": err.getvalue()}))
        sys.exit(1)
    claimed.append(json.loads(out.getvalue())["id"])
print(json.dumps({"claimed": claimed}))
"""


def test_parallel_review_next_never_claims_twice(loaded: Cli, tmp_path: Path) -> None:
    """Four worker processes claim with ``review --next`` (each runs the command through
    the entry point's ``run``, claim after claim) until none is left."""
    loaded("submit", "--from-file", SAMPLE / "applications.csv")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    workers = [
        subprocess.Popen(
            [sys.executable, str(script), loaded.url, f"worker-{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    results = []
    for w in workers:
        out, err = w.communicate(timeout=300)
        assert w.returncode == 0, out + err
        results.append(json.loads(out.strip().splitlines()[-1]))
    claimed = [app_id for r in results for app_id in r["claimed"]]
    assert len(claimed) == 20 and len(set(claimed)) == 20
    listed = loaded.json("list")
    assert all(a["status"] == "in_progress" for a in listed)
    # Each application was taken into work exactly once, by the worker that got it.
    for a in listed:
        reviews = [
            h for h in loaded.json("show", str(a["id"]))["history"] if h["action"] == "review"
        ]
        assert len(reviews) == 1 and reviews[0]["operator"] == a["operator"]


def test_concurrent_decisions_exactly_one_wins(loaded: Cli) -> None:
    from tests.helpers import CODE, CODE_CREDIT, CODE_DEBT, CREDIT_FIN, DEBT_FIN, OWNER_FIN

    apps = [
        new_app(loaded, code=c, fin=f)
        for c, f in ((CODE, OWNER_FIN), (CODE_DEBT, DEBT_FIN), (CODE_CREDIT, CREDIT_FIN))
    ]
    for app_id in apps:
        loaded("review", app_id)
    procs = []
    for app_id in apps:
        procs.append((app_id, _spawn(loaded.url, "approve", app_id, "--json", operator="anar")))
        procs.append(
            (
                app_id,
                _spawn(
                    loaded.url,
                    "reject",
                    app_id,
                    "--reason",
                    "Uyğunsuzluq",
                    "--json",
                    operator="aysel",
                ),
            )
        )
        procs.append((app_id, _spawn(loaded.url, "approve", app_id, "--json", operator="rauf")))
    outcomes: dict[str, list[int]] = {a: [] for a in apps}
    for app_id, proc in procs:
        code, _, err = _finish(proc)
        assert code in (0, 5), err
        if code == 5:
            assert json.loads(err)["error"] == "conflict"
        outcomes[app_id].append(code)
    for app_id in apps:
        assert sorted(outcomes[app_id]) == [0, 5, 5], outcomes
        shown = loaded.json("show", app_id)
        decisions = [h for h in shown["history"] if h["action"] in ("approve", "reject")]
        assert len(decisions) == 1
        decision_mails = [m for m in shown["emails"] if m["kind"] != "received"]
        assert len(decision_mails) == 1
        assert (
            shown["status"]
            == {"approve": "completed", "reject": "rejected"}[decisions[0]["action"]]
        )


def test_concurrent_prints_issue_one_certificate_each(loaded: Cli, tmp_path: Path) -> None:
    """Three prints of one application at once: one issues, the others refuse (exit 5)."""
    from tests.helpers import CODE, CODE_CREDIT, CREDIT_FIN, OWNER_FIN

    apps = [
        new_app(loaded, code=c, fin=f) for c, f in ((CODE, OWNER_FIN), (CODE_CREDIT, CREDIT_FIN))
    ]
    for app_id in apps:
        loaded("review", app_id)
        loaded("approve", app_id)
    procs = [
        (app_id, _spawn(loaded.url, "print", app_id, "--out", str(tmp_path), "--json"))
        for app_id in apps
        for _ in range(3)
    ]
    winners: dict[str, list[str]] = {app_id: [] for app_id in apps}
    for app_id, proc in procs:
        code, out, err = _finish(proc)
        if code == 0:
            winners[app_id].append(json.loads(out)["certificate_number"])
        else:
            assert code == 5 and json.loads(err)["error"] == "conflict", err
    assert all(len(numbers) == 1 for numbers in winners.values()), winners
    files = sorted(p.name for p in tmp_path.glob("AR-2026-*.pdf"))
    assert files == sorted(f"{n[0]}.pdf" for n in winners.values())
    for app_id in apps:
        assert len(loaded.json("show", app_id)["certificates"]) == 1


def test_concurrent_submits_one_open_application(loaded: Cli) -> None:
    from tests.helpers import CODE, OWNER_FIN

    args = [
        "submit",
        "--abonent",
        CODE,
        "--fin",
        OWNER_FIN,
        "--phone",
        "0501234567",
        "--email",
        "a@example.az",
        "--json",
    ]
    procs = [_spawn(loaded.url, *args) for _ in range(4)]
    codes = Counter(_finish(p)[0] for p in procs)
    assert codes == Counter({0: 1, 5: 3})
    assert len(loaded.json("list")) == 1


def _waiting_on_locks(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND datname = current_database()"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_two_first_ever_policy_changes_both_succeed(loaded: Cli) -> None:
    """Two `policy set` at once while no policy row exists yet: both succeed, one after the
    other (never exit 1 on the row's key), and the audit log says so in order."""
    import time

    from sqlalchemy import create_engine, text

    holder = None
    if loaded.url.startswith("postgresql"):
        # An uncommitted policy row: both processes find no row to lock and wait on its
        # key, so that both insert at the same moment once it is rolled back.
        holder = create_engine(loaded.url).connect()
        holder.execute(
            text(
                "INSERT INTO policy (key, value, changed_at, changed_by)"
                " VALUES ('four_eyes', 'off', now(), 'holder')"
            )
        )
    procs = [
        _spawn(loaded.url, "policy", "set", "four-eyes", value, "--json", operator=f"admin-{i}")
        for i, value in enumerate(("on", "off"))
    ]
    if holder is not None:
        deadline = time.monotonic() + 60
        while _waiting_on_locks(loaded.url) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _waiting_on_locks(loaded.url) == 2
        holder.rollback()
        holder.close()
        holder.engine.dispose()
    results = [_finish(p) for p in procs]
    assert [code for code, _out, _err in results] == [0, 0], results
    changes = sorted(
        (a for a in loaded.json("audit") if a["kind"] == "policy"), key=lambda a: a["id"]
    )
    assert [a["detail"]["was"] for a in changes] == ["off", changes[0]["detail"]["four_eyes"]]
    final = loaded.json("policy", "show")
    assert final["four_eyes"] is (changes[1]["detail"]["four_eyes"] == "on")
    assert loaded.json("db", "check")["ok"] is True
