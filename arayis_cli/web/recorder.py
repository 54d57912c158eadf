"""Verifications are logged in batches by one thread per process.

One INSERT + commit per request would make the register's write lock (SQLite) or a WAL
flush (PostgreSQL) the cost of every page view; a batch every ``interval`` seconds costs
one commit for hundreds of verifications. What a crash can lose is the last interval's
records (never a verdict: the person already saw it). Shutdown flushes what is queued.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arayis_cli.db import Engines, WriteTurns

log = logging.getLogger("arayis.serve")
MAX_QUEUED = 100_000  # past this (database gone for a long time) the oldest are dropped
BATCH = 1000


class Recorder:
    def __init__(
        self,
        db_url: str,
        *,
        interval: float,
        write: Callable[[Any, list[Any]], None] | None = None,
        what: str = "verification log",
        engines: Engines | None = None,
        turns: WriteTurns | None = None,
    ) -> None:
        """``write(session, records)`` adds a batch (default: verifications), through
        ``engines`` (the service's; engines of its own when not given), in the worker's
        ``turns`` at the write lock when given (SQLite: after the press writing now)."""
        from arayis_cli.db import Engines

        self.db_url = db_url
        self.engines = engines if engines is not None else Engines()
        self.turns = turns
        self.interval = interval
        self.write = write
        self.what = what
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending: list[Any] = []

    def add(self, record: Any | None) -> None:
        if record is not None:
            self._queue.put(record)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="arayis-recorder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.flush()

    def _turn(self) -> Any:
        from contextlib import nullcontext

        return self.turns() if self.turns is not None else nullcontext()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def flush(self) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        from arayis_cli.errors import ArayisError
        from arayis_cli.services.verification import record_checks

        write = self.write or record_checks
        while True:
            try:
                self._pending.append(self._queue.get_nowait())
            except queue.Empty:
                break
        if len(self._pending) > MAX_QUEUED:
            log.error("%s: %d records dropped", self.what, len(self._pending) - MAX_QUEUED)
            del self._pending[: len(self._pending) - MAX_QUEUED]
        while self._pending:
            batch = self._pending[:BATCH]
            try:
                with self._turn(), self.engines.session(self.db_url) as session:
                    write(session, batch)
            except (SQLAlchemyError, ArayisError) as exc:
                # Kept for the next round: the database may be back by then.
                log.warning("%s not written yet (%s)", self.what, type(exc).__name__)
                return
            del self._pending[: len(batch)]
