"""The clock every command and the web service read: the real time, or the time
``ARAYIS_NOW`` (ISO 8601) freezes for tests and rehearsals. Apart from ``cli/`` so that the
web service and the services need no command-line module to know the time."""

from __future__ import annotations

from datetime import UTC, datetime

from arayis_cli.config import settings


def now() -> datetime:
    """The current time (aware, UTC); ``ARAYIS_NOW`` freezes it."""
    frozen = settings().now
    return frozen.astimezone(UTC) if frozen is not None else datetime.now(UTC)
