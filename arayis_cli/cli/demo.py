"""demo: the whole story on sample data (filled in below)."""

from __future__ import annotations

from arayis_cli.cli.output import command


@command
def demo() -> None:
    """Walk through the whole workflow on sample data."""
    raise NotImplementedError
