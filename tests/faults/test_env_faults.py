"""Environment failures are not bugs (exit 8): a read-only or full disk, a
database server refused or lost mid-batch, a schema behind or ahead of the tool. Each
gives exit 8 and one clear line (one JSON object on stderr with --json, nothing else),
loses and doubles nothing, and a re-run once the fault is fixed completes the work."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from arayis_cli.migrations import HEAD
from tests.faults.pgcluster import Cluster
from tests.helpers import SAMPLE, Cli, submit_args
from tests.helpers.faults import count, tmpfs, write_population


def run(url: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """arayis in its own process: the real stderr, driver and logging lines included."""
    return subprocess.run(
        [sys.executable, "-m", "arayis_cli", "--db", url, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_json_error(proc: subprocess.CompletedProcess[str], code: int = 8) -> dict[str, Any]:
    """Exit ``code`` and exactly one JSON object on stderr, nothing else."""
    assert proc.returncode == code, proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    err = json.loads(lines[0])
    assert set(err) >= {"error", "message"}
    return err


# -- connection refused, read-only, disk full (SQLite and the file system) ---------------


def test_connection_refused_is_exit_8_with_one_json_line() -> None:
    err = one_json_error(run("postgresql+psycopg://arayis@127.0.0.1:1/arayis", "stats", "--json"))
    assert err["error"] == "unavailable" and err["resource"] == "database"
    assert "cannot connect to the PostgreSQL database 127.0.0.1:1/arayis" in err["message"]
    people = run("postgresql+psycopg://arayis@127.0.0.1:1/arayis", "stats")
    assert people.returncode == 8 and len(people.stderr.splitlines()) == 1, people.stderr
    assert people.stderr.startswith("arayis: cannot connect")


def test_json_stderr_stays_empty_while_a_fresh_store_migrates(tmp_path: Path) -> None:
    done = run(f"sqlite:///{tmp_path / 'fresh.db'}", "stats", "--json")  # runs every migration
    assert done.returncode == 0 and done.stderr == "", done.stderr  # no alembic/driver lines
    assert json.loads(done.stdout)["total"] == 0


def test_read_only_database_is_exit_8_not_cannot_connect(tmp_path: Path) -> None:
    url_of = lambda folder: f"sqlite:///{folder / 'store.db'}"  # noqa: E731
    work = tmp_path / "work"
    work.mkdir()
    assert run(url_of(work), "abonent", "import", str(SAMPLE / "abonents.csv")).returncode == 0
    if os.geteuid() == 0:  # root writes through file modes: use a read-only mount instead
        with tmpfs(tmp_path / "ro", "8m") as ro:
            subprocess.run(["cp", str(work / "store.db"), str(ro)], check=True)
            subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
            _assert_read_only_refused(url_of(ro))
    else:
        (work / "store.db").chmod(0o444)
        work.chmod(0o555)
        try:
            _assert_read_only_refused(url_of(work))
        finally:
            work.chmod(0o755)


def _assert_read_only_refused(url: str) -> None:
    for args in (["stats", "--json"], [*submit_args(), "--json"]):
        err = one_json_error(run(url, *args))
        assert "read-only" in err["message"] and "store.db" in err["message"], err
        assert "cannot connect" not in err["message"]


def test_disk_full_is_exit_8_and_a_rerun_completes(tmp_path: Path) -> None:
    abonents, _ = write_population(tmp_path, 1500)
    with tmpfs(tmp_path / "disk", "3m") as disk:
        url = f"sqlite:///{disk / 'store.db'}"
        assert run(url, "abonent", "import", str(SAMPLE / "abonents.csv")).returncode == 0
        filler = disk / "filler"
        fd = os.open(filler, os.O_CREAT | os.O_WRONLY, 0o600)
        with contextlib.suppress(OSError):  # take the space that is left …
            while True:
                os.write(fd, b"\0" * 65536)
        os.close(fd)
        filler_size = filler.stat().st_size
        os.truncate(filler, max(0, filler_size - 64 * 1024))  # … less a few pages
        before = count(url, "SELECT count(*) FROM abonent")
        err = one_json_error(run(url, "abonent", "import", str(abonents), "--json"))
        assert err["resource"] == "disk" and "disk full" in err["message"], err
        assert count(url, "SELECT count(*) FROM abonent") == before  # all or nothing
        filler.unlink()
        assert run(url, "db", "check").returncode == 0
        again = run(url, "abonent", "import", str(abonents), "--json")
        assert again.returncode == 0, again.stderr
        assert count(url, "SELECT count(*) FROM abonent") == before + 1500


# -- schema drift ----------------------------------------------------------------------


def _set_revision(url: str, revision: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()
    from arayis_cli import db

    db.dispose_all()  # as a new process would: nothing remembered about this database


def _downgrade(url: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from arayis_cli import db

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    db.upgrade(url)
    with db.get_engine(url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    db.dispose_all()


def test_database_ahead_of_the_tool_is_refused_naming_both_revisions(cli: Cli) -> None:
    cli("abonent", "import", SAMPLE / "abonents.csv")
    _set_revision(cli.url, "0099")
    for args in (["stats"], ["db", "upgrade"], ["db", "check"]):
        err = cli.json(*args, code=8)
        assert err["error"] == "unavailable" and err["resource"] == "schema"
        assert "0099" in err["message"] and HEAD in err["message"], err
        assert (err["revision"], err["expected"]) == ("0099", HEAD)
    assert count(cli.url, "SELECT count(*) FROM alembic_version WHERE version_num='0099'") == 1


def test_schema_behind_migrates_only_the_embedded_store(cli: Cli) -> None:
    cli("abonent", "import", SAMPLE / "abonents.csv")
    _downgrade(cli.url, "0004")
    if cli.url.startswith("sqlite"):
        cli("stats")  # the embedded store follows its tool
        assert (
            count(
                cli.url,
                "SELECT count(*) FROM alembic_version WHERE version_num = :h".replace(
                    ":h", f"'{HEAD}'"
                ),
            )
            == 1
        )
        return
    # A shared PostgreSQL database is left alone: other operators' tools use it.
    for args in (["stats"], ["abonent", "show", "0011276516"]):
        err = cli.json(*args, code=8)
        assert err["resource"] == "schema" and "run `arayis db upgrade`" in err["message"]
        assert "0004" in err["message"] and HEAD in err["message"]
    assert count(cli.url, "SELECT count(*) FROM alembic_version WHERE version_num='0004'") == 1
    assert cli.json("db", "upgrade")["revision"] == HEAD
    cli("stats")


def test_fresh_database_still_needs_no_set_up(cli: Cli) -> None:
    if not cli.url.startswith("sqlite"):
        engine = create_engine(cli.url)  # the test database comes migrated: empty it
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    assert cli.json("stats")["total"] == 0


# -- PostgreSQL server stopped mid-batch, then restarted --------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    yield c
    c.destroy()


@pytest.mark.slow
def test_server_stopped_mid_import_reports_committed_rows(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arayis_cli import db

    n = 3000
    pg = Cli(cluster.create_database("faults_import"), monkeypatch)
    abonents, apps = write_population(tmp_path, n)
    pg("abonent", "import", abonents)
    db.dispose_all()
    args = ["--db", pg.url, "submit", "--json", "--from-file", str(apps)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "arayis_cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if count(pg.url, "SELECT count(*) FROM application") >= 1000:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the import finished before the server could be stopped"
    cluster.stop()
    out, err = proc.communicate(timeout=60)
    error = one_json_error(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    assert error["resource"] == "database" and "faults_import" in error["message"], error
    report = json.loads(out)  # stdout: the rows committed before the server went
    assert report["interrupted"] is True and report["failed"] == []
    assert report["created"] >= 1000
    cluster.start()
    kept = count(pg.url, "SELECT count(*) FROM application")
    # A commit in flight when the server died may or may not have landed: at most one chunk.
    assert report["created"] <= kept <= report["created"] + 1000
    assert count(pg.url, "SELECT count(*) FROM outbox_message") == kept
    assert count(pg.url, "SELECT count(*) FROM event WHERE action = 'submit'") == kept
    again = pg.json("submit", "--from-file", apps)
    assert (again["created"] + again["existing"], again["existing"]) == (n, kept)
    assert count(pg.url, "SELECT count(DISTINCT external_id) FROM application") == n
    assert count(pg.url, "SELECT count(*) FROM application") == n
    assert pg.json("db", "check")["ok"]


@pytest.mark.slow
def test_server_down_is_exit_8_then_work_resumes(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arayis_cli import db

    pg = Cli(cluster.create_database("faults_down"), monkeypatch)
    pg("abonent", "import", SAMPLE / "abonents.csv")
    db.dispose_all()
    cluster.stop()
    try:
        err = one_json_error(run(pg.url, *submit_args(), "--json"))
        assert "cannot connect" in err["message"] and "faults_down" in err["message"]
    finally:
        cluster.start()
    pg(*submit_args())


# -- kill -9 of an import at several moments --------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("after_rows", [0, 1000])
def test_kill_9_during_import_at_several_moments(cli: Cli, tmp_path: Path, after_rows: int) -> None:
    n = 2000
    abonents, apps = write_population(tmp_path, n, seed=after_rows)
    cli("abonent", "import", abonents)
    proc = subprocess.Popen(
        [sys.executable, "-m", "arayis_cli", "--db", cli.url, "submit", "--from-file", str(apps)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if after_rows == 0 or count(cli.url, "SELECT count(*) FROM application") >= after_rows:
            break
        time.sleep(0.02)
    if after_rows == 0:
        time.sleep(0.4)  # started, not yet committed (import and validation take longer)
    if proc.poll() is not None:
        pytest.fail("the import finished before it could be killed")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = count(cli.url, "SELECT count(*) FROM application")
    assert kept % 1000 == 0 and kept >= after_rows  # whole chunks only
    assert count(cli.url, "SELECT count(*) FROM outbox_message") == kept
    assert count(cli.url, "SELECT count(*) FROM event WHERE action = 'submit'") == kept
    assert cli.json("db", "check")["ok"]
    again = cli.json("submit", "--from-file", apps)
    assert (again["created"] + again["existing"], again["existing"]) == (n, kept)
    assert count(cli.url, "SELECT count(DISTINCT external_id) FROM application") == n
    assert cli.json("db", "check")["ok"]


# -- the one classification, unit by unit ---------------------------------------------


def test_classify_tells_environment_from_bugs(tmp_path: Path) -> None:
    import errno
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from arayis_cli.unavailable import classify

    url = f"sqlite:///{tmp_path / 'x.db'}"

    def sqlite_error(code: int, message: str) -> sqlite3.OperationalError:
        err = sqlite3.OperationalError(message)
        err.sqlite_errorcode = code  # type: ignore[attr-defined]
        return err

    full = classify(
        OperationalError("INSERT", {}, sqlite_error(13, "database or disk is full")), db_url=url
    )
    assert full is not None and full.extra["resource"] == "disk" and "x.db" in full.message
    ro = classify(sqlite_error(8 | (3 << 8), "attempt to write a readonly database"), db_url=url)
    assert ro is not None and "read-only" in ro.message
    assert classify(OSError(errno.ENOSPC, "No space left on device", "/out/a.pdf")) is not None
    assert classify(OSError(errno.EROFS, "Read-only file system")) is not None
    # Bugs stay bugs: a wrong query, a missing table, a plain exception, a missing file.
    assert classify(sqlite_error(1, "no such table: nothing"), db_url=url) is None
    assert classify(ValueError("x")) is None
    assert classify(OSError(errno.ENOENT, "No such file or directory", "a")) is None
