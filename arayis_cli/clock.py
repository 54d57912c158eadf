"""The clock every command and the web service read: the real time, or the time
``ARAYIS_NOW`` (ISO 8601) freezes for tests and rehearsals. Apart from ``cli/`` so that the
web service and the services need no command-line module to know the time; the frozen time
is the caller's (its run's settings, or the web worker's), never read here."""

from __future__ import annotations

from datetime import UTC, datetime


def now(frozen: datetime | None = None) -> datetime:
    """The current time (aware, UTC), or ``frozen`` (``ARAYIS_NOW``) when it is set."""
    return frozen.astimezone(UTC) if frozen is not None else datetime.now(UTC)
