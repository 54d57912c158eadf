"""The workflow as plain functions: keyword-only ``session=``, ``now=``, ``actor=``.

No Rich and no CLI here; errors are the domain exceptions of :mod:`arayis_cli.errors`.
Services take values (lengths, the organisation, paths, :class:`Terms`) as arguments;
they never read the settings: the command hands down its run's (``arayis_cli/run.py``), the
web worker its own (``arayis_cli/web/app.py``). ``tests/test_design.py`` keeps it so.

**The transaction rule: the caller owns the transaction; a service never commits and
never opens a session.** A service works in the ``Session`` it is given; the command (or
the web handler) opens it with its run's ``session()`` and commits by leaving the block,
or rolls everything back by raising. A service whose work is several transactions by
design (a print: the number commits before the certificate is signed, so that a kill
leaves a gap and never a reused number) takes a session factory, :class:`Sessions` (the
run's ``session`` method), instead of a database URL, and opens each transaction from it.
``tests/test_design.py`` keeps ``.commit()`` and ``session_scope(`` out of this package,
but for the few places listed there with their reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlmodel import Session

    from arayis_cli.calendar import WorkingCalendar
    from arayis_cli.config import Settings


class Sessions(Protocol):
    """Where a multi-transaction service gets each transaction: ``with sessions() as s``
    commits when the block ends and rolls back on an exception; ``write=False`` reads."""

    def __call__(self, *, write: bool = True) -> AbstractContextManager[Session]: ...


@dataclass(frozen=True)
class Terms:
    """What registering and deciding an application need of the settings: the
    organisation named in its emails (``ARAYIS_ORGANISATION``) and the working calendar its
    answer is due by (``ARAYIS_CALENDAR_OVERRIDE``)."""

    organisation: str
    calendar: WorkingCalendar

    @classmethod
    def of(cls, settings: Settings) -> Terms:
        from arayis_cli.calendar import calendar

        return cls(settings.organisation, calendar(settings.calendar_file()))
