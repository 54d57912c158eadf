"""db backup: a consistent, checked copy of the embedded store taken while others write;
it never overwrites, and PostgreSQL is pointed to its own tools."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import SAMPLE, Cli, submit_args
from tests.helpers.faults import count, write_population

WRITER = """
import sys
from arayis_cli.cli.app import app
url, apps = sys.argv[1], sys.argv[2]
import csv
rows = list(csv.DictReader(open(apps, encoding="utf-8")))
for row in rows:  # one application per command: one transaction each, as clerks work
    args = ["--db", url, "submit", "--abonent", row["abonent"], "--fin", row["fin"],
            "--phone", row["phone"], "--email", row["email"], "--external-id", row["external_id"]]
    try:
        app(args, standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            raise
"""


def _sqlite_only(cli: Cli) -> None:
    if not cli.url.startswith("sqlite"):
        pytest.skip("db backup copies the embedded SQLite store")


@pytest.mark.slow
def test_backup_while_four_writers_run_restores_whole(cli: Cli, tmp_path: Path) -> None:
    _sqlite_only(cli)
    per_writer, writers = 25, 4
    abonents, apps = write_population(tmp_path, per_writer * writers)
    cli("abonent", "import", abonents)
    lines = apps.read_text(encoding="utf-8").splitlines()
    files = []
    for w in range(writers):
        part = tmp_path / f"writer{w}.csv"
        part.write_text("\n".join([lines[0], *lines[1 + w :: writers]]) + "\n", encoding="utf-8")
        files.append(part)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, cli.url, str(f)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in files
    ]
    deadline = time.monotonic() + 120
    while count(cli.url, "SELECT count(*) FROM application") < 10:
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.05)
    copy = tmp_path / "backups" / "arayis-copy.db"
    copy.parent.mkdir()
    result = cli.json("db", "backup", copy)
    running = sum(p.poll() is None for p in procs)
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err  # the backup blocked no writer into a failure
    assert running > 0, "every writer had finished before the backup: nothing was proven"
    assert result["check"]["ok"] and result["path"] == str(copy)
    taken = result["check"]["checked"]["applications"]
    assert 10 <= taken <= per_writer * writers
    # Restore: the copy is one self-contained file; put it in place and use it.
    assert not Path(f"{copy}-wal").exists() and copy.stat().st_mode & 0o777 == 0o600
    restored = tmp_path / "restored.db"
    shutil.copy2(copy, restored)
    back = Cli(f"sqlite:///{restored}", cli.monkeypatch)
    assert back.json("db", "check")["ok"]
    assert back.json("stats")["total"] == taken
    assert cli.json("stats")["total"] == per_writer * writers


def test_backup_refuses_to_overwrite_and_bad_places(cli: Cli, tmp_path: Path, unchanged) -> None:
    if not cli.url.startswith("sqlite"):
        err = cli.json("db", "backup", tmp_path / "x.db", code=2)
        assert "pg_dump" in err["message"] and not (tmp_path / "x.db").exists()
        return
    cli("abonent", "import", SAMPLE / "abonents.csv")
    cli(*submit_args())
    existing = tmp_path / "kept.db"
    existing.write_bytes(b"precious")
    with unchanged():
        assert "already exists" in cli.json("db", "backup", existing, code=2)["message"]
        cli("db", "backup", tmp_path / "no" / "such" / "dir.db", code=2)
    assert existing.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    people = cli("db", "backup", tmp_path / "ok.db")
    assert "✓" in people.stderr and "db check of the copy: whole" in people.stderr


def test_backup_on_a_full_disk_is_exit_8_and_leaves_nothing(cli: Cli, tmp_path: Path) -> None:
    _sqlite_only(cli)
    from tests.helpers.faults import tmpfs

    cli("abonent", "import", SAMPLE / "abonents.csv")
    with tmpfs(tmp_path / "small", "64k") as small:
        err = cli.json("db", "backup", small / "copy.db", code=8)
        assert err["resource"] == "disk" and "disk full" in err["message"], err
        assert list(small.iterdir()) == []
