"""The role table (arayis_cli/access.py): every command placed, the README shows it as is."""

from __future__ import annotations

from typer.main import get_command

from arayis_cli.access import (
    COMMANDS,
    LOCAL,
    OWNER_ONLY,
    Role,
    allowed_roles,
    holders,
    permitted,
)
from arayis_cli.cli.app import app
from tests.conftest import REPO

COLUMNS = (Role.SUPPORT, Role.CLERK, Role.APPROVER, Role.BILLING, Role.ADMIN)


def registered() -> list[str]:
    """Every command path of this build (``db roles``, ``list`` …)."""
    root = get_command(app)
    paths = []
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        sub = getattr(cmd, "commands", None)
        paths += [f"{name} {s}" for s in sub] if sub else [name]
    return paths


def matrix_markdown() -> str:
    """The role × command table of the README, built from :data:`COMMANDS`."""
    lines = [
        "| command | " + " | ".join(r.short for r in COLUMNS) + " |",
        "|---|" + "---|" * len(COLUMNS),
    ]
    paths = registered()
    for command in COMMANDS:
        if command not in paths:
            continue
        if COMMANDS[command] == LOCAL:
            cells = ["✓"] * len(COLUMNS)
        elif command in OWNER_ONLY:
            cells = [""] * (len(COLUMNS) - 1) + ["owner"]
        else:
            cells = ["✓" if r in allowed_roles(command) else "" for r in COLUMNS]
        lines.append(f"| `{command}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def test_every_command_is_placed() -> None:
    missing = [p for p in registered() if p not in COMMANDS]
    assert not missing, f"put these in arayis_cli.access.COMMANDS: {missing}"


def test_readme_shows_the_matrix() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = matrix_markdown()
    assert table in readme, f"README's role table should read:\n{table}"


def test_inheritance() -> None:
    assert holders(Role.SUPPORT) == {Role.SUPPORT, Role.CLERK, Role.APPROVER, Role.ADMIN}
    assert holders(Role.BILLING) == {Role.BILLING, Role.ADMIN}
    assert holders(Role.ADMIN) == {Role.ADMIN}
    # Everyone but the portal API's login, which runs no command of the tool.
    assert allowed_roles("abonent show") == set(Role) - {Role.PORTAL}


def test_permitted() -> None:
    assert permitted("approve", {Role.APPROVER, Role.CLERK, Role.SUPPORT})
    assert not permitted("approve", {Role.CLERK, Role.SUPPORT})
    assert not permitted("list", {Role.BILLING})
    assert not permitted("db roles", set(Role))  # the schema belongs to the owner
    assert permitted("db roles", set(), owner=True)
    assert permitted("demo", set())
    assert not permitted("a command nobody placed", {Role.SUPPORT, Role.CLERK})
    assert permitted("a command nobody placed", {Role.ADMIN})
