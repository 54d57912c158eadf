"""The web workers' turns at SQLite's one write lock (arayis_cli.db.WriteTurns)."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

import pytest

from arayis_cli.db import WriteTurns
from arayis_cli.errors import Unavailable


def test_a_turn_held_elsewhere_is_waited_for_then_given(tmp_path: Path) -> None:
    turns = WriteTurns(f"sqlite:///{tmp_path / 'a.db'}")
    assert turns.path == tmp_path / "a.db-turn"
    other = os.open(tmp_path / "a.db-turn", os.O_RDWR | os.O_CREAT, 0o600)  # another worker
    fcntl.flock(other, fcntl.LOCK_EX)
    had: list[float] = []

    def writer() -> None:
        with turns():
            had.append(time.monotonic())

    thread = threading.Thread(target=writer)
    thread.start()
    time.sleep(0.3)
    assert not had
    released = time.monotonic()
    fcntl.flock(other, fcntl.LOCK_UN)
    thread.join(5)
    assert had and had[0] - released < 0.1  # woken at once, not at a polling interval
    os.close(other)
    turns.close()


def test_a_turn_never_let_go_ends_in_unavailable(tmp_path: Path) -> None:
    """A worker stuck holding the turn: the others answer "unavailable" after the busy
    timeout instead of waiting without end, and take turns again once it lets go."""
    turns = WriteTurns(f"sqlite:///{tmp_path / 'a.db'}")
    turns.timeout = 0.3
    other = os.open(tmp_path / "a.db-turn", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(other, fcntl.LOCK_EX)
    started = time.monotonic()
    with pytest.raises(Unavailable, match="locked by another process"), turns():
        pass
    assert 0.25 < time.monotonic() - started < 5
    fcntl.flock(other, fcntl.LOCK_UN)
    os.close(other)
    time.sleep(0.1)  # the abandoned wait lets go of what it got
    again = WriteTurns(f"sqlite:///{tmp_path / 'a.db'}")
    again.timeout = 2
    with again():
        pass
    with turns():
        pass
    again.close()
    turns.close()


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "sqlite:///file:reg?mode=memory&cache=shared&uri=true"],
)
def test_no_turn_file_without_a_plain_file_name(url: str) -> None:
    turns = WriteTurns(url)
    assert turns.path is None
    with turns():  # this process's lock alone
        pass


def test_a_turn_file_that_cannot_be_opened_leaves_the_process_lock(tmp_path: Path) -> None:
    """A performance aid, not a guard (BEGIN IMMEDIATE guards the data): a turn file that
    cannot be made (here a folder stands in its place; a read-only folder does the same)
    leaves this process's lock alone, never an error."""
    (tmp_path / "a.db-turn").mkdir()
    turns = WriteTurns(f"sqlite:///{tmp_path / 'a.db'}")
    with turns():
        pass
    assert turns.path is None
    with turns():
        pass


def test_postgresql_takes_no_turn() -> None:
    turns = WriteTurns("postgresql+psycopg://u@127.0.0.1:1/x")
    assert turns.path is None and not turns.sqlite
    with turns():
        pass


def test_a_web_workers_commits_leave_checkpoints_to_its_thread(tmp_path: Path) -> None:
    """The web worker's engines never checkpoint at commit (that was a subscriber's press,
    inside its write turn); Engines.checkpoint, run by the worker's Checkpoints thread,
    copies the log into the database file. Any other engine checkpoints as SQLite does."""
    from arayis_cli.db import Engines

    def fill(name: str, engines: Engines) -> Path:
        url = f"sqlite:///{tmp_path / name}"
        with engines.get(url).connect() as conn:
            conn.exec_driver_sql("CREATE TABLE scratch (x BLOB)")
            conn.commit()
            for _ in range(600):  # ≈ 5 MB: past SQLite's threshold of 1,000 pages
                conn.exec_driver_sql("INSERT INTO scratch VALUES (zeroblob(8000))")
                conn.commit()
        return tmp_path / name

    worker = Engines(checkpoints=False)
    db = fill("worker.db", worker)
    assert db.stat().st_size < 100_000  # every page still in the log: no commit copied it
    worker.checkpoint(f"sqlite:///{db}")
    assert db.stat().st_size > 4_000_000  # copied by the checkpoint
    worker.dispose()
    other = Engines()
    assert fill("run.db", other).stat().st_size > 1_000_000  # a commit past the threshold did
    other.dispose()
