"""The workflow as plain functions: keyword-only ``session=``, ``now=``, ``actor=``.

No Rich and no CLI here; errors are the domain exceptions of :mod:`arayis_cli.errors`.
Services take values (lengths, the organisation, paths) as arguments; they do not read
the settings for a command that already has them.

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

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from sqlmodel import Session


class Sessions(Protocol):
    """Where a multi-transaction service gets each transaction: ``with sessions() as s``
    commits when the block ends and rolls back on an exception; ``write=False`` reads."""

    def __call__(self, *, write: bool = True) -> AbstractContextManager[Session]: ...
