"""Docs cannot drift: every command has help and appears in README; CI runs README's command."""

from __future__ import annotations

import re

from typer.main import get_command
from typer.testing import CliRunner

from arayis_cli.cli.app import app
from tests.helpers import REPO


def _commands() -> list[tuple[str, ...]]:
    root = get_command(app)
    found = []
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        sub = getattr(cmd, "commands", None)
        if sub:
            found += [(name, s) for s in sub]
        else:
            found.append((name,))
    return found


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for path in _commands():
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        cmd = get_command(app)
        for part in path:
            cmd = cmd.commands[part]  # type: ignore[attr-defined]
        assert (cmd.help or "").strip(), f"{' '.join(path)} has no help text"


def test_every_command_is_in_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for path in _commands():
        assert f"arayis {' '.join(path)}" in readme, f"README lacks 'arayis {' '.join(path)}'"


def test_every_command_accepts_json() -> None:
    root = get_command(app)
    for path in _commands():
        cmd = root
        for part in path:
            cmd = cmd.commands[part]  # type: ignore[attr-defined]
        if path == ("demo",):
            continue  # a story told for people
        assert any("--json" in p.opts for p in cmd.params), path


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    command = re.search(r'^TEST_CMD="(.+)"$', ci, re.M)
    assert command, "TEST_CMD not found in .ci/run"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert command.group(1) in readme


def test_version() -> None:
    from arayis_cli import __version__

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"arayis {__version__}\n"


def test_usage_errors_as_json_for_scripts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'u.db'}"
    cmd = [sys.executable, "-m", "arayis_cli", "--db", url, "list", "--limit", "abc"]
    people = subprocess.run(cmd, capture_output=True, text=True)
    assert people.returncode == 2 and "Invalid value for '--limit'" in people.stderr
    scripts = subprocess.run([*cmd, "--json"], capture_output=True, text=True)
    assert scripts.returncode == 2 and scripts.stdout == ""
    assert json.loads(scripts.stderr)["error"] == "usage"
