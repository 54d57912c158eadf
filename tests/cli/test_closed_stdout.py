"""A closed stdout (``arayis … | head -1``) is exit 0 for every command, always.

Every command runs in-process through the entry point's own :func:`run`, 20 times, with an
stdout whose reader goes away after a different number of characters each time (from
before the first byte to well into the output): the command ends quietly with exit 0
(or with its own refusal, never exit 1), and says nothing about a broken pipe.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CODE, DOCS, SAMPLE, Cli, app_in, new_app, submit_args

RUNS = 20
BUDGETS = [0, 1, 2, 5, 10, 20, 40, 60, 80, 100, 150, 200, 300, 500, 800, 1200, 2000, 4000, 8000]
BUDGETS += [16000]
assert len(BUDGETS) == RUNS


class ClosingStdout(io.StringIO):
    """stdout as a pipe whose reader reads ``budget`` characters and then closes: writes
    beyond raise ``BrokenPipeError`` as the kernel's EPIPE does, until the program points
    the descriptor elsewhere (``dup2`` of the null device), as a real stdout would."""

    def __init__(self, budget: int, *, lines: int | None = None) -> None:
        super().__init__()
        self.budget = budget
        self.lines = lines
        read_end, self.fd = os.pipe()
        os.close(read_end)  # the reader is gone: poll() reports an error on this end

    def _broken(self) -> bool:
        return stat.S_ISFIFO(os.fstat(self.fd).st_mode) and self.budget < 0

    def write(self, s: str) -> int:
        if not stat.S_ISFIFO(os.fstat(self.fd).st_mode):
            return len(s)  # pointed at the null device: swallowed
        if self.lines is not None:
            if self.lines <= 0:
                self.budget = -1
                raise BrokenPipeError(32, "Broken pipe")
            self.lines -= s.count("\n")
            return super().write(s)
        if self.budget < len(s):
            super().write(s[: max(self.budget, 0)])
            self.budget = -1
            raise BrokenPipeError(32, "Broken pipe")
        self.budget -= len(s)
        return super().write(s)

    def flush(self) -> None:
        if self._broken():
            raise BrokenPipeError(32, "Broken pipe")

    def fileno(self) -> int:
        return self.fd

    def isatty(self) -> bool:
        return False

    def close_fd(self) -> None:
        os.close(self.fd)


def run_closing(
    url: str, args: list[str], budget: int, *, lines: int | None = None
) -> tuple[int, str]:
    from arayis_cli.cli.app import run

    fake, err = ClosingStdout(budget, lines=lines), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = fake, err
    try:
        code = run(["--db", url, *args])
    finally:
        sys.stdout, sys.stderr = saved
        fake.close_fd()
    return code, err.getvalue()


@pytest.fixture
def day(loaded: Cli, tmp_path: Path) -> dict[str, Any]:
    """A database as after a day's work: applications in every state, a certificate."""
    loaded("submit", "--from-file", SAMPLE / "applications.csv")
    done = app_in(loaded, "completed")
    printed = loaded.json("print", done, "--out", str(tmp_path / "c.pdf"))
    number = printed["certificate_number"]
    rejected = app_in(loaded, "rejected", code="0043569264")
    open_app = new_app(loaded, code="0003383936")
    return {"done": done, "number": number, "rejected": rejected, "open": open_app}


def invocations(day: dict[str, Any], tmp: Path) -> Iterator[tuple[list[str], bool]]:
    """(arguments, read_only) for every command of the role table, each with output."""
    done, number, open_app = day["done"], day["number"], day["open"]
    yield ["list"], True
    yield ["list", "--format", "csv"], True
    yield ["list", "--json"], True
    yield ["show", done], True
    yield ["show", done, "--json"], True
    yield ["show", done, "--as-subscriber"], True
    yield ["verify", number, "--abonent", CODE], True
    yield ["stats"], True
    yield ["changes"], True
    yield ["outbox", "list"], True
    yield ["outbox", "show", "1"], True
    yield ["policy", "show"], True
    yield ["audit"], True
    yield ["abonent", "show", CODE], True
    yield [*submit_args(external_id="EGOV-PIPE-1")], False
    yield ["attach", open_app, str(DOCS / "sexsiyyet_vesiqesi.jpg"), "--kind", "id-card"], False
    yield ["relabel", "6", "other", "--reason", "Sınaq"], False  # the open one's ownership
    yield ["detach", "6", "--reason", "Sınaq"], False
    yield ["review", "--next", "--count", "2", "--json"], False
    yield ["review", "--next"], False
    yield ["reject", open_app, "--reason", "Sınaq"], False
    yield ["outbox", "retry", "1"], False
    yield ["approve", done], False
    yield ["print", done, "--out", str(tmp / "again.pdf")], False
    yield ["print", done, "--copy", "--out", str(tmp / "copy.pdf")], False
    yield ["staff", "add", "leyla", "--name", "Leyla Əliyeva", "--title", "mütəxəssis"], False
    yield ["staff", "list"], True
    yield ["staff", "remove", "leyla"], False
    yield ["api-key", "create", "egov", "--scope", "submit,status,print"], False
    yield ["api-key", "list"], True
    yield ["api-key", "revoke", "egov"], False
    yield ["keys", "init"], False
    yield ["keys", "retire", "0123456789abcdef"], False
    yield ["outbox", "send", "--dry-run"], True
    yield ["abonent", "add", "0099999991", "--group", "I", "--owner-name", "Ad Soyad",
           "--owner-fin", "1AB2CD3", "--address", "Bakı"], False  # fmt: skip
    yield ["abonent", "import", str(SAMPLE / "abonents.csv")], False
    yield ["ledger", "import", str(SAMPLE / "ledger.csv")], False
    yield ["pay", CODE, "1.00", "--reference", "PIPE-1"], False
    yield ["pay", CODE, "1.00", "--reference", "PIPE-1", "--json"], False
    yield ["revoke", number, "--reason", "Sınaq"], False
    yield ["keys", "export"], True
    yield ["keys", "rotate"], False
    yield ["policy", "set", "four-eyes", "off"], False
    yield ["db", "upgrade"], False
    yield ["db", "check"], True
    yield ["register", "head"], True
    yield ["register", "head", "--json"], True
    yield ["db", "backup", str(tmp / "backup.db")], False
    yield ["--version"], True
    yield ["--help"], True
    yield ["list", "--help"], True


def test_every_command_of_the_role_table_is_run(tmp_path: Path) -> None:
    from arayis_cli.access import COMMANDS

    covered = set()
    day = {"done": "1", "number": "AR-1", "rejected": "2", "open": "3"}
    for args, _ in invocations(day, tmp_path):
        words = [a for a in args[:2] if not a.startswith("-")]
        if words:
            covered.add(" ".join(words) if " ".join(words) in COMMANDS else words[0])
    # serve is a server (tests/web); demo builds its own database (its test is below);
    # db roles needs PostgreSQL's owner.
    assert set(COMMANDS) - covered == {"serve", "demo", "db roles"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_closed_stdout_is_exit_0_for_every_command(day: dict[str, Any], loaded: Cli,
                                                     tmp_path: Path) -> None:  # fmt: skip
    failures = []
    for args, read_only in invocations(day, tmp_path):
        for budget in BUDGETS:
            code, err = run_closing(loaded.url, args, budget)
            if "BrokenPipe" in err or "Broken pipe" in err or code == 1 or (read_only and code):
                failures.append((args, budget, code, err.strip()[:200]))
    assert failures == []


def test_review_next_never_claims_more_than_it_printed(loaded: Cli) -> None:
    """``review --next --count 3 --json | head -1``: the claim whose line met the closed
    pipe is rolled back, so exactly the printed claims stay in work."""
    ids = [new_app(loaded, code=c) for c in ("0011276516", "0003383936", "0043569264")]
    code, err = run_closing(loaded.url, ["review", "--next", "--count", "3", "--json"], 0, lines=1)
    assert (code, err) == (0, "")
    statuses = [loaded.json("show", i)["status"] for i in ids]
    assert statuses == ["in_progress", "new", "new"]
    code, err = run_closing(loaded.url, ["review", "--next", "--count", "3"], 0, lines=0)
    assert (code, err) == (0, "")
    assert [loaded.json("show", i)["status"] for i in ids] == statuses


def test_a_broken_pipe_elsewhere_is_still_a_failure(
    loaded: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only stdout's reader going away is exit 0: a broken pipe to anything else (a socket,
    a child process) while stdout is still read is reported like any other failure."""
    import arayis_cli.services.stats as stats_service
    from arayis_cli.cli.app import run

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(stats_service, "stats", broken)
    read_end, write_end = os.pipe()  # the reader stays: stdout is fine
    out, err = open(write_end, "w"), io.StringIO()  # noqa: SIM115
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = run(["--db", loaded.url, "stats"])
    finally:
        sys.stdout, sys.stderr = saved
        out.close()
        os.close(read_end)
    assert code == 1 and "Broken pipe" in err.getvalue()  # exit 1, one line, no traceback
