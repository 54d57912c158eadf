"""One current certificate per application under concurrent ``print --all-ready`` runs.

Three batch runs at once over 200 ready applications, five rounds, on SQLite and
PostgreSQL: every application ends with exactly one current certificate, every other run
skips what one printed, and no run fails (never exit 1). The 200 ready applications are
built once (through the services, in bulk); each round races on a fresh copy of that
database (a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.helpers import DEFAULT_NOW, OWNER_FIN, Cli, terms
from tests.helpers.database import copy_database, drop_copy

APPS = 200
RUNS = 3
ROUNDS = 5


def _abonents(url: str, now: datetime) -> list[str]:
    from arayis_cli.db import session_scope
    from arayis_cli.services.abonents import add_abonent

    codes = [f"77{i:08d}" for i in range(APPS)]
    with session_scope(url) as session:
        for code in codes:
            add_abonent(
                session,
                code_lengths=(6, 12),
                now=now,
                code=code,
                group="I",
                owner_name="Əliyeva Leyla Şamil qızı",
                owner_fin=OWNER_FIN,
                address="Bakı şəhəri, Xətai rayonu, küçə 1",
            )
    return codes


def _ready_applications(url: str, codes: list[str], now: datetime) -> list[int]:
    """One completed application per abonent, built with the service layer in bulk."""
    from arayis_cli.db import session_scope
    from arayis_cli.services import decisions
    from arayis_cli.services.applications import _insert, validate_submission

    subs = [
        validate_submission(
            now=now,
            abonent=code,
            fin=OWNER_FIN,
            phone="0501234567",
            email="a@example.az",
            code_lengths=(6, 12),
        )
        for code in codes
    ]
    with session_scope(url) as session:
        ids = _insert(session, subs, now=now, actor="loader", terms=terms())
    with session_scope(url) as session:
        for app_id in ids:
            decisions.review(session, app_id, now=now, actor="loader")
            decisions.approve(
                session, app_id, override="test load", now=now, actor="loader", terms=terms()
            )
    return ids


def _current(url: str, ids: list[int]) -> dict[int, list[str]]:
    from sqlalchemy import select

    from arayis_cli.db import session_scope
    from arayis_cli.models import Certificate

    found: dict[int, list[str]] = {app_id: [] for app_id in ids}
    with session_scope(url, write=False) as session:
        rows = session.execute(
            select(Certificate.application_id, Certificate.number).where(
                Certificate.application_id.in_(ids),
                Certificate.revoked_at.is_(None),
                Certificate.superseded_at.is_(None),
            )
        ).all()
    for app_id, number in rows:
        found[app_id].append(number)
    return found


def _race(url: str, folder: Path) -> list[str]:
    """``RUNS`` concurrent ``print --all-ready`` runs on ``url``; the numbers they printed
    (every other line must say the application was skipped, and no run may fail)."""
    env = {**os.environ, "ARAYIS_OPERATOR": "batch"}
    args = ["--db", url, "print", "--all-ready", "--json", "--out-dir", str(folder)]
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "arayis_cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(RUNS)
    ]
    printed: list[str] = []
    for run in runs:
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, (run.returncode, err)
        for line in out.splitlines():
            row = json.loads(line)
            if row.get("printed"):
                printed.append(row["certificate_number"])
            else:
                assert row.get("skipped") is True, row
    return printed


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_concurrent_all_ready_issue_each_certificate_once(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arayis_cli import db

    now = datetime.fromisoformat(DEFAULT_NOW)
    cli("db", "upgrade")
    ids = _ready_applications(cli.url, _abonents(cli.url, now), now)
    db.dispose_all()  # nothing connected to the template while it is copied
    for round_no in range(ROUNDS):
        name = f"{tmp_path / f'round{round_no}.db'}"
        if cli.url.startswith("postgresql"):
            name = f"{cli.url.rsplit('/', 1)[1]}_r{round_no}"
        url = copy_database(cli.url, name)
        try:
            folder = tmp_path / f"round{round_no}"
            folder.mkdir()
            printed = _race(url, folder)
            current = _current(url, ids)
            assert all(len(numbers) == 1 for numbers in current.values()), round_no
            assert sorted(printed) == sorted(n for numbers in current.values() for n in numbers)
            assert len({p.name for p in folder.glob("*.pdf")}) == APPS
            check = Cli(url, monkeypatch).json("db", "check")
            assert check["ok"] is True, (round_no, check)
        finally:
            db.dispose_all()
            drop_copy(url)
