"""One invocation's context: what a command needs to know about the run it is part of.

The root callback (``cli/app.py`` ``root()``) builds one :class:`Run` per invocation from
the global options and the settings, and puts it on the Click context (``ctx.obj``), as
pypa/hatch carries its ``Application``. Commands read it with
:func:`arayis_cli.cli.output.current_run` (Click's ``pass_obj`` without the decorator);
nothing about one invocation is left in a module global for the next one (an in-process
test, the demo) to inherit.

Code that runs outside a command (the web worker, a test helper) builds its own.

Cheap to import: the standard library only; engines and consoles are made when first used.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from arayis_cli.config import Settings
from arayis_cli.db import Engines

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from rich.console import Console
    from sqlmodel import Session

    from arayis_cli.certificate.signing import KeyPlace


@dataclass(frozen=True)
class Run:
    """The global options of one invocation, resolved once."""

    #: ``--db`` or ``ARAYIS_DATABASE_URL`` or the SQLite file in the data directory; empty
    #: when a bad ``ARAYIS_*`` value left it unknown (the command then refuses: exit 2).
    db_url: str = ""
    #: Whether ``--db`` was given on the command line.
    db_explicit: bool = False
    #: ``--operator`` or ``ARAYIS_OPERATOR`` or the OS user, as typed (checked by ``actor()``).
    operator: str = ""
    #: The language of its messages (``--lang``, ``ARAYIS_LANG``, ``az``); in force while
    #: it runs through :func:`arayis_cli.i18n.speaking`.
    lang: str = "az"
    #: Every ``ARAYIS_*`` setting, read and checked once when the run began (the defaults
    #: when a value was bad: then :attr:`refusal` holds why, and every command refuses).
    settings: Settings = field(default_factory=Settings)
    #: A bad ``ARAYIS_*`` value (exit 2 naming the variable), or None.
    refusal: Exception | None = None
    #: The database engines of this run, closed when the invocation ends.
    engines: Engines = field(default_factory=Engines, compare=False, repr=False)
    #: The Rich consoles of this run (stdout, stderr), made when first written to.
    consoles: dict[bool, Any] = field(default_factory=dict, compare=False, repr=False)

    def now(self) -> datetime:
        """This run's clock: the current time (aware, UTC); ``ARAYIS_NOW`` freezes it."""
        from arayis_cli.clock import now

        return now(self.settings.now)

    def keys(self) -> KeyPlace:
        """Where this run's signing keys are (``ARAYIS_SIGNING_KEY``, the data directory)."""
        from arayis_cli.certificate.signing import KeyPlace

        return KeyPlace.of(self.settings)

    def session(self, *, write: bool = True) -> AbstractContextManager[Session]:
        """One transaction on this run's database: committed when the block ends, rolled
        back on any exception (``write=False``: a read, no write lock taken on SQLite)."""
        return self.engines.session(self.db_url, write=write)

    def console(self, *, stderr: bool = False) -> Console:
        """The Rich console: colours only on a terminal; stdout for data, stderr for
        messages; markup off (nothing a person typed is read as markup)."""
        import sys

        stream = sys.stderr if stderr else sys.stdout
        cached = self.consoles.get(stderr)
        if cached is None or cached.file is not stream:
            cached = _console_class()(
                file=stream, markup=False, emoji=False, highlight=False, soft_wrap=False
            )
            self.consoles[stderr] = cached
        return cached


@functools.cache
def _console_class() -> type[Console]:
    from rich.console import Console

    class QuietPipeConsole(Console):
        def on_broken_pipe(self) -> None:
            # Rich's documented hook; its default exits 1. A closed stdout goes to the
            # command's stdout guard, which ends the command quietly with exit 0; messages
            # for a closed stderr are dropped (nobody is there to read them).
            import sys

            self.quiet = True
            if self.file is sys.stdout:
                raise BrokenPipeError

    return QuietPipeConsole
