"""Engine, sessions and migrations.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and every write
transaction starts with ``BEGIN IMMEDIATE`` so that the read half of a
read-then-update already holds the write lock. PostgreSQL is used as it is; claims
there use ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arayis_cli.errors import InvalidInput, Unavailable
from arayis_cli.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

_write_mode: ContextVar[bool] = ContextVar("arayis_write_mode", default=False)

SQLITE_BUSY_TIMEOUT_MS = 60_000


def _prepare_sqlite_file(url: Any, data_dir: Callable[[], Path] | None) -> None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database).expanduser()
    if not path.parent.exists() and not _in_data_dir(path, data_dir):
        # A typo in --db must not quietly start an empty office database somewhere new.
        raise InvalidInput(
            _(
                "the folder of the database file does not exist: {folder}; check --db / "
                "ARAYIS_DATABASE_URL (only the data directory is created on first use)"
            ).format(folder=path.parent)
        )
    try:
        if not path.parent.exists():  # a new data directory holds personal data: owner-only
            path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
        if not path.exists():
            # The database holds personal data: owner-only from the first byte.
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
    except OSError as exc:
        from arayis_cli.unavailable import classify

        raise classify(exc) or Unavailable(
            _(
                "cannot create the database file {path}: {exc_strerror}; check that its folder is "
                "writable for this user, or point --db elsewhere"
            ).format(path=path, exc_strerror=exc.strerror),
            resource="database",
        ) from None


def _in_data_dir(path: Path, data_dir: Callable[[], Path] | None) -> bool:
    if data_dir is None:
        return False
    return path.resolve().is_relative_to(data_dir().expanduser().resolve())


class Engines:
    """The engines one run uses, one per database URL, and the URLs whose schema it has
    checked. A command's :class:`~arayis_cli.run.Run` owns one and disposes of it when the
    invocation ends; the web service owns one per worker process. Nothing is shared between
    two runs in one process (an in-process test, the demo).

    ``data_dir``: the run's data directory (its settings' ``data_dir``, asked only when
    needed), the one folder a new SQLite file's missing folder is created in (first use).
    """

    def __init__(
        self, data_dir: Callable[[], Path] | None = None, *, checkpoints: bool = True
    ) -> None:
        self._data_dir = data_dir
        self._checkpoints = checkpoints
        self._engines: dict[str, Engine] = {}
        self._migrated: set[str] = set()

    def get(self, url: str) -> Engine:
        """The engine of ``url``, made on first use."""
        engine = self._engines.get(url)
        if engine is None:
            engine = self._engines[url] = _new_engine(url, self._data_dir, self._checkpoints)
        return engine

    def checkpoint(self, url: str) -> None:
        """SQLite: copy what the write-ahead log holds into the database file, without
        waiting for (or blocking) anyone (``PASSIVE``). The web workers' engines
        (``checkpoints=False``) leave this to a background thread instead of the commit that
        happens to fill the log — a subscriber's press. Nothing to do on PostgreSQL."""
        if url.startswith("sqlite"):
            with self.get(url).connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def ensure_schema(self, url: str) -> None:
        """:func:`ensure_schema` once per URL for this run."""
        if url not in self._migrated:
            _check_schema(self.get(url), url)
            self._migrated.add(url)

    @contextmanager
    def session(self, url: str, *, write: bool = True) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        from sqlmodel import Session

        self.ensure_schema(url)
        token = _write_mode.set(write)
        try:
            with Session(self.get(url), expire_on_commit=False) as session:
                try:
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
        finally:
            _write_mode.reset(token)

    def upgrade(self, url: str, revision: str = "head") -> None:
        """Run alembic migrations (serialised between processes)."""
        _upgrade(self.get(url), url, revision)
        self._migrated.discard(url)

    def forget(self, url: str) -> None:
        """Close and drop one engine (a database this run is done with, e.g. a backup)."""
        engine = self._engines.pop(url, None)
        if engine is not None:
            engine.dispose()
        self._migrated.discard(url)

    def dispose(self) -> None:
        """Close every engine (the end of the run)."""
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        self._migrated.clear()


def _new_engine(
    url: str, data_dir: Callable[[], Path] | None = None, checkpoints: bool = True
) -> Engine:
    from sqlalchemy import event
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError
    from sqlmodel import create_engine

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput(_("database URL is not a valid SQLAlchemy URL")) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        _prepare_sqlite_file(parsed, data_dir)
        engine = create_engine(
            parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "isolation_level": None}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
            if not checkpoints:  # a background thread checkpoints (Engines.checkpoint)
                cur.execute("PRAGMA wal_autocheckpoint = 0")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            from arayis_cli.services import chain

            chain.install_sqlite_triggers(conn.connection.dbapi_connection, conn.connection.info)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_mode.get() else "BEGIN")

        @event.listens_for(engine, "commit")
        def _sqlite_commit(conn: Any) -> None:
            # The hash chain's links for this transaction's writes, in the same transaction.
            from arayis_cli.services import chain

            chain.seal_sqlite(conn.connection.dbapi_connection, conn.connection.info)

    elif backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            engine = create_engine(parsed, pool_pre_ping=False)
        except NoSuchModuleError:
            raise InvalidInput(
                _("unsupported database driver {parsed_drivername!r}").format(
                    parsed_drivername=parsed.drivername
                )
            ) from None
    else:
        raise InvalidInput(_("database URL must be sqlite:/// or postgresql+psycopg://"))
    return engine


def _check_schema(engine: Engine, url: str) -> None:
    """Make sure the database is at the schema this arayis knows (exit 8 if not).

    A fresh (empty) database and the embedded SQLite store migrate themselves. A shared
    PostgreSQL database that is behind is refused with "run `arayis db upgrade`": other
    operators' older tools still use it, so migrating it is a deliberate act. A database
    ahead of this arayis (a revision it does not know) is refused everywhere.
    """
    from arayis_cli.migrations import HEAD

    current, empty = _current_revision(engine, url)
    if current == HEAD:
        return
    if current is not None and current not in known_revisions():
        raise _ahead(url, current)
    if current is None and not empty:
        from arayis_cli.unavailable import describe_database

        raise Unavailable(
            _(
                "{describe_database} holds tables but no arayis schema revision: it is not an "
                "arayis database; check --db / ARAYIS_DATABASE_URL"
            ).format(describe_database=describe_database(url)),
            resource="schema",
        )
    if current is not None and engine.dialect.name != "sqlite":
        raise _schema_mismatch(
            url,
            current,
            _(
                "{describe_database} is at schema revision {current}, this arayis needs {HEAD}: "
                "run `arayis db upgrade` (once, when no older arayis still uses it)"
            ),
        )
    _upgrade(engine, url, "head")


def _current_revision(engine: Engine, url: str) -> tuple[str | None, bool]:
    """(revision recorded in alembic_version or None, whether the database has no tables)."""
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect() as conn:
            try:  # the common case in one query: a database at some revision
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar(), False
            except DBAPIError as exc:
                if _unavailable(exc, url) is not exc:
                    raise
                if getattr(exc.orig, "sqlstate", None) == "42501":
                    raise  # a login without privileges (exit 7), not a missing schema
                conn.rollback()  # no alembic_version table: fresh, or not ours
                return None, not inspect(conn).get_table_names()
    except Exception as exc:
        raise _unavailable(exc, url) from None


def known_revisions() -> set[str]:
    """Every schema revision this arayis ships (read from the migration scripts)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(Path(__file__).parent / "migrations"))
    return {rev.revision for rev in script.walk_revisions()}


def _ahead(url: str, current: str) -> Unavailable:
    return _schema_mismatch(
        url,
        current,
        _(
            "{describe_database} is at schema revision {current}, newer than this arayis knows "
            "(its newest is {HEAD}): upgrade arayis, do not run this version against it"
        ),
    )


def _schema_mismatch(url: str, current: str, message: str) -> Unavailable:
    """Exit 8 for a database at another schema revision, naming both revisions."""
    from arayis_cli.migrations import HEAD
    from arayis_cli.unavailable import describe_database

    return Unavailable(
        message.format(describe_database=describe_database(url), current=current, HEAD=HEAD),
        resource="schema",
        revision=current,
        expected=HEAD,
    )


def _unavailable(exc: Exception, url: str) -> Exception:
    """An environment failure as exit 8; anything else unchanged (a bug stays a bug)."""
    from arayis_cli.unavailable import classify

    return classify(exc, db_url=url) or exc


def _upgrade(engine: Engine, url: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    token = _write_mode.set(True)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Two processes meeting a fresh database: one migrates, the other waits.
                conn.execute(text("SELECT pg_advisory_xact_lock(727274)"))
            current = _revision_in(conn)
            if current is not None and current not in known_revisions():
                raise _ahead(url, current)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        if engine.dialect.name == "sqlite":
            # A migration that rebuilt a table took the connection's TEMP chain triggers
            # with it: fresh connections install them again.
            engine.dispose()
    except Unavailable:
        raise
    except Exception as exc:
        raise _unavailable(exc, url) from None
    finally:
        _write_mode.reset(token)


def _revision_in(conn: Any) -> str | None:
    from sqlalchemy import inspect, text

    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


# -- Code outside a command's run ------------------------------------------------------------
# A command uses its run's engines (``current_run().session()``); the web worker its
# service's. These functions serve code that has no run: tests and their helpers, alembic's
# own command line; they share :data:`outside` unless ``engines`` is given.

#: The engines of code outside any run (tests, scripts); :func:`dispose_all` closes them.
#: A process that runs many commands in-process (the tests' ``Cli``) may hand them to each
#: invocation (``app(..., obj=db.outside)``) so that the runs reuse one pool.
outside = Engines()
_outside = outside


def get_engine(url: str, engines: Engines | None = None) -> Engine:
    return (engines or _outside).get(url)


def ensure_schema(url: str, engines: Engines | None = None) -> None:
    """Make sure the database is at the schema this arayis knows (exit 8 if not)."""
    (engines or _outside).ensure_schema(url)


def upgrade(url: str, revision: str = "head", engines: Engines | None = None) -> None:
    """Run alembic migrations (serialised between processes)."""
    (engines or _outside).upgrade(url, revision)


@contextmanager
def session_scope(
    url: str, *, write: bool = True, engines: Engines | None = None
) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any exception."""
    with (engines or _outside).session(url, write=write) as session:
        yield session


def dispose_all() -> None:
    """Close the engines of code outside a run (tests that stand for a new process)."""
    _outside.dispose()


def forget(url: str, engines: Engines | None = None) -> None:
    """Close and drop one engine (a database this process is done with, e.g. a backup)."""
    (engines or _outside).forget(url)


class WriteTurns:
    """One writer of the database at a time, for the web workers' write transactions.

    SQLite takes one writer at a time for the whole database. A transaction that finds it
    taken waits in SQLite's busy handler, which sleeps in steps of up to 100 ms and so
    leaves the lock idle long after it is free: a burst of presses from two workers was
    stretched far beyond their work. Here the workers' writers ("Çap et" presses, the call
    and verification logs) take turns first: on a lock of this process, then on an advisory
    lock (``flock``) of a file beside the database, ``<database>-turn``, shared by every
    process serving it; the next one gets the turn within a fraction of a millisecond.
    PostgreSQL locks rows, not the database: no turn is needed.

    The turn only spares the busy handler; ``BEGIN IMMEDIATE`` still guards the data. So a
    database without a plain file name (``file:`` URIs, in memory), or a folder where the
    turn file cannot be made, is served with this process's lock alone. A turn not had
    within SQLite's busy timeout (another worker stuck holding it) is :class:`Unavailable`,
    as a write lock held that long is.
    """

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.sqlite = db_url.startswith("sqlite")
        self.path: Path | None = None
        if self.sqlite:
            from sqlalchemy.engine import make_url

            database = make_url(db_url).database
            if database and database != ":memory:" and not database.startswith("file:"):
                path = Path(database).expanduser()
                self.path = path.with_name(path.name + "-turn")
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._closed = False
        #: Seconds a turn is waited for before :class:`Unavailable` (SQLite's busy timeout).
        self.timeout = SQLITE_BUSY_TIMEOUT_MS / 1000

    @contextmanager
    def __call__(self) -> Iterator[None]:
        if not self.sqlite:
            yield
            return
        if not self._lock.acquire(timeout=self.timeout):
            raise self._busy()
        try:
            fd = self._file()
            if fd is not None:
                self._take(fd)
            try:
                yield
            finally:
                if fd is not None:
                    import fcntl

                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def _file(self) -> int | None:
        """The turn file's descriptor (this process's own), or None: this process's lock only."""
        if self._fd is None and self.path is not None and not self._closed:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                self.path = None  # e.g. a read-only folder: SQLite's own lock still guards
        return self._fd

    def _take(self, fd: int) -> None:
        """The turn file's lock. When it is held, a thread of its own waits for it (woken the
        moment it is free: polling would add its interval to every turn), while this one
        waits at most SQLite's busy timeout: a holder that never lets go (a worker stuck)
        ends in :class:`Unavailable` instead of a wait without end."""
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        got = threading.Event()
        guard = threading.Lock()
        abandoned = False

        def wait() -> None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with guard:
                if abandoned:  # given up on: let the next one have it
                    fcntl.flock(fd, fcntl.LOCK_UN)
                else:
                    got.set()

        threading.Thread(target=wait, name="arayis-turn", daemon=True).start()
        if got.wait(self.timeout):
            return
        with guard:
            if got.is_set():
                return
            abandoned = True
        raise self._busy()

    def _busy(self) -> Unavailable:
        from arayis_cli.unavailable import describe_database

        return Unavailable(
            _("{what} stayed locked by another process ({detail}); retry when it is done").format(
                what=describe_database(self.db_url), detail=_("busy")
            ),
            resource="database",
        )

    def close(self) -> None:
        """Let go of the turn file (waits for a turn under way)."""
        with self._lock:
            self._closed = True
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __del__(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
