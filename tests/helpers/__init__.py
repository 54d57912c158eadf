"""Shared test code (constants, the in-process CLI runner, workflow shortcuts).

Test modules import from here, never from another test module or from tests/conftest.py
(tests/test_suite_layout.py keeps it so); conftest.py holds only fixtures.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import typer.main
import typer.testing
from typer.testing import CliRunner

from arayis_cli import db
from arayis_cli.cli.app import app, command
from tests.helpers.database import snapshot

__all__ = [
    "CODE",
    "CODE_CREDIT",
    "CODE_DEBT",
    "CODE_GROUP_II",
    "CREDIT_FIN",
    "DEBT_FIN",
    "DEFAULT_NOW",
    "DOCS",
    "OWNER_FIN",
    "PG_URL",
    "REPO",
    "SAMPLE",
    "Cli",
    "app_in",
    "copy_doc",
    "issuer",
    "key_place",
    "new_app",
    "run_now",
    "snapshot",
    "submit_args",
    "terms",
]


# What a run hands to the services, from the test's environment (conftest sets it), for
# tests that call a service directly.


def issuer() -> Any:
    """:class:`~arayis_cli.services.printing.Issuer` of a run started now."""
    from arayis_cli.config import Settings
    from arayis_cli.services.printing import Issuer

    return Issuer.of(Settings.from_env())


def terms() -> Any:
    """:class:`~arayis_cli.services.Terms` of a run started now."""
    from arayis_cli.config import Settings
    from arayis_cli.services import Terms

    return Terms.of(Settings.from_env())


def run_now() -> Any:
    """The clock of a run started now (``ARAYIS_NOW``, which conftest freezes)."""
    from arayis_cli.clock import now
    from arayis_cli.config import Settings

    return now(Settings.from_env().now)


def key_place() -> Any:
    """:class:`~arayis_cli.certificate.signing.KeyPlace` of a run started now."""
    from arayis_cli.certificate.signing import KeyPlace
    from arayis_cli.config import Settings

    return KeyPlace.of(Settings.from_env())


def _command(typer_app: typer.Typer) -> Any:
    """typer's CliRunner builds the app's Click command anew on every ``invoke`` (~30 ms);
    for arayis's app, the one built once per process (``arayis_cli.cli.app.command``, what
    ``arayis`` itself runs). The suite runs thousands of commands in-process."""
    return command() if typer_app is app else typer.main.get_command(typer_app)


# typer 0.29's CliRunner.invoke calls the name ``_get_command`` of typer.testing (typer is
# pinned below 0.30 in pyproject.toml): if it is gone, this fails here, not silently slow.
assert typer.testing._get_command is typer.main.get_command, "typer.testing changed"
typer.testing._get_command = _command

REPO = Path(__file__).resolve().parent.parent.parent
SAMPLE = REPO / "sample_data"
DOCS = SAMPLE / "documents"
PG_URL = os.environ.get("ARAYIS_TEST_POSTGRES_URL")

# A Wednesday in November 2026, Baku time.
DEFAULT_NOW = "2026-11-25T10:00:00+04:00"

# Sample abonents used throughout (see sample_data/abonents.csv).
OWNER_FIN = "6HV4DVC"
CODE = "0011276516"  # group I, nothing owed
CODE_DEBT = "0003383936"  # group I, owes 23.80 AZN
DEBT_FIN = "WRZZTWB"
CODE_CREDIT = "0043569264"  # group I, 5.00 AZN overpaid
CREDIT_FIN = "4N4DNV7"
CODE_GROUP_II = "0070606831"


class Cli:
    """Runs arayis in-process against one database and checks exit codes."""

    def __init__(self, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.url = url
        self.monkeypatch = monkeypatch
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0, env: dict[str, str] | None = None) -> Any:
        # The invocations of one test share the engines of code outside a run (one pool,
        # as before); the conftest's autouse teardown closes them.
        result = self.runner.invoke(
            app, ["--db", self.url, *map(str, args)], env=env, obj=db.outside
        )
        assert result.exit_code == code, (
            f"arayis {' '.join(map(str, args))} exited {result.exit_code}, expected {code}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}\n{result.exception!r}"
        )
        return result

    def json(self, *args: str, code: int = 0, env: dict[str, str] | None = None) -> Any:
        """stdout's JSON document; for a refusal (no stdout), the one-line JSON error."""
        result = self(*args, "--json", code=code, env=env)
        if code == 0 or result.stdout.strip():
            return json.loads(result.stdout)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        return json.loads(lines[0])

    def now(self, when: str) -> None:
        self.monkeypatch.setenv("ARAYIS_NOW", when)


def submit_args(code: str = CODE, fin: str = OWNER_FIN, **extra: str) -> list[str]:
    args = ["submit", "--abonent", code, "--fin", fin, "--phone", "050 123 45 67"]
    args += ["--email", "leyla.aliyeva@example.az"]
    for key, value in extra.items():
        args += [f"--{key.replace('_', '-')}", value]
    return args


def new_app(cli: Cli, code: str = CODE, fin: str | None = None, docs: bool = True) -> str:
    """A new application (Yeni) for ``code``, with both required documents unless ``docs``
    is false; its number."""
    args = submit_args(code=code, fin=fin) if fin else submit_args(code=code)
    app_id = str(cli.json(*args)["id"])
    if docs:
        cli("attach", app_id, DOCS / "sexsiyyet_vesiqesi.jpg", "--kind", "id-card")
        cli("attach", app_id, DOCS / "mulkiyyet_cixarisi.pdf", "--kind", "ownership")
    return app_id


def app_in(cli: Cli, status: str, **kw: str) -> str:
    """A new application moved through the CLI to ``status``; its number."""
    app_id = new_app(cli, **kw)
    if status in ("in_progress", "completed"):
        cli("review", app_id)
    if status == "completed":
        cli("approve", app_id)
    if status == "rejected":
        cli("reject", app_id, "--reason", "Uyğunsuzluq")
    return app_id


def copy_doc(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copy(DOCS / name, target)
    return target
