"""The command paths of this build, as the role table must place them."""

from __future__ import annotations

from typer.main import get_command

from arayis_cli.cli.app import app


def registered() -> list[str]:
    """Every command path of this build (``db roles``, ``list`` …)."""
    root = get_command(app)
    paths = []
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        sub = getattr(cmd, "commands", None)
        paths += [f"{name} {s}" for s in sub] if sub else [name]
    return paths
