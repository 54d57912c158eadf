"""The role table (arayis_cli/access.py): every command placed, the README shows it as is."""

from __future__ import annotations

from arayis_cli.access import (
    COMMANDS,
    LOCAL,
    OWNER_ONLY,
    Role,
    allowed_roles,
    holders,
    permitted,
)
from tests.helpers import REPO
from tests.helpers.access import registered

COLUMNS = (
    Role.SUPPORT,
    Role.CLERK,
    Role.APPROVER,
    Role.BILLING,
    Role.ADMIN,
    Role.MAILER,
    Role.WEB,
)


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
            cells = ["owner" if r is Role.ADMIN else "" for r in COLUMNS]
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
    assert allowed_roles("abonent show") == set(Role) - {Role.MAILER, Role.WEB, Role.PORTAL}
    # Job roles hold one job each, and nobody includes them.
    assert holders(Role.MAILER) == {Role.MAILER} and holders(Role.WEB) == {Role.WEB}
    assert {c for c in COMMANDS if Role.MAILER in allowed_roles(c)} == {"outbox send"}
    assert {c for c in COMMANDS if Role.WEB in allowed_roles(c)} == {"serve"}


def test_permitted() -> None:
    assert permitted("approve", {Role.APPROVER, Role.CLERK, Role.SUPPORT})
    assert not permitted("approve", {Role.CLERK, Role.SUPPORT})
    assert not permitted("list", {Role.BILLING})
    assert not permitted("db roles", set(Role))  # the schema belongs to the owner
    assert permitted("db roles", set(), owner=True)
    assert permitted("demo", set())
    assert not permitted("a command nobody placed", {Role.SUPPORT, Role.CLERK})
    assert permitted("a command nobody placed", {Role.ADMIN})
