"""Environment failures, told apart from bugs (exit 8, docs/exit-codes.md).

A database that cannot be reached or is lost mid-command, a full or read-only disk, a
damaged database file: none of these is bad input and none is a bug. :func:`classify` is
the one place that recognises them among driver and OS errors and turns each into an
:class:`~arayis_cli.errors.Unavailable` whose one line names the resource and what to do.
Anything it does not recognise stays what it was (a bug is still exit 1).

Nothing heavy is imported here: a driver's error can only reach us once the driver is
loaded, so its classes are looked up in ``sys.modules`` instead of imported.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from arayis_cli.errors import Unavailable
from arayis_cli.i18n import _

# SQLite primary result codes (https://sqlite.org/rescode.html); extended codes keep
# the primary one in their low byte.
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26

_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


def classify(exc: BaseException, *, db_url: str | None = None) -> Unavailable | None:
    """The :class:`Unavailable` that ``exc`` (or an error it wraps) amounts to, or None."""
    if isinstance(exc, Unavailable):
        return exc
    for err in _chain(exc):
        found = _sqlite(err, db_url) or _postgres(err, db_url) or _os(err)
        if found is not None:
            # People read the reason in their language; the driver's own (English) words
            # stay available to support staff in the JSON error object.
            found.extra.setdefault("detail", _first_line(err))
            return found
    return _sqlalchemy(exc, db_url)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, the driver error SQLAlchemy wraps, and their causes, each once."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        err = todo.pop(0)
        if id(err) in seen:
            continue
        seen.add(id(err))
        yield err
        for nxt in (getattr(err, "orig", None), err.__cause__, err.__context__):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


def describe_database(db_url: str | None) -> str:
    """How to name the database to a person: the file, or host/port/database (no password)."""
    if not db_url:
        return _("the database")
    path = sqlite_path(db_url)
    if path is not None:
        return _("the database file {path}").format(path=path)
    try:
        from sqlalchemy.engine import make_url

        url = make_url(db_url)
    except Exception:  # an unparsable URL is reported elsewhere; name it generically
        return _("the database")
    where = f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"
    return _("the PostgreSQL database {where}").format(where=where)


def sqlite_path(db_url: str) -> Path | None:
    """The file behind a ``sqlite:///`` URL (None for PostgreSQL, memory or URI forms)."""
    prefix = "sqlite:///"
    if not db_url.startswith(prefix):
        return None
    rest = db_url[len(prefix) :].split("?", 1)[0]
    if not rest or rest == ":memory:" or rest.startswith("file:"):
        return None
    return Path(rest).expanduser()


def _read_only(path: Path | None) -> bool:
    """Is the database file (or the folder its journal files go to) not writable?"""
    if path is None:
        return False
    folder = path.parent if path.parent.exists() else None
    try:
        if folder is not None and os.statvfs(folder).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    if path.exists() and not os.access(path, os.W_OK):
        return True
    return folder is not None and not os.access(folder, os.W_OK | os.X_OK)


def _sqlite(err: BaseException, db_url: str | None) -> Unavailable | None:
    sqlite3 = sys.modules.get("sqlite3")
    if sqlite3 is None or not isinstance(err, sqlite3.Error):
        return None
    code = getattr(err, "sqlite_errorcode", None)
    if code is None:
        return None
    primary = code & 0xFF
    what = describe_database(db_url)
    path = sqlite_path(db_url) if db_url else None
    detail = _sqlite_reason(primary)
    if primary == SQLITE_FULL or (primary in (SQLITE_IOERR, SQLITE_CANTOPEN) and _disk_full(path)):
        return Unavailable(
            _(
                "disk full: cannot write {what} ({detail}); the change in progress was rolled "
                "back — free space on that disk, then retry"
            ).format(what=what, detail=detail),
            resource="disk",
        )
    if primary == SQLITE_READONLY or (
        primary in (SQLITE_CANTOPEN, SQLITE_IOERR) and _read_only(path)
    ):
        return Unavailable(
            _(
                "{what} is read-only ({detail}): arayis needs to write the file and its folder "
                "(journal files); make them writable for this user or point --db at a writable "
                "copy"
            ).format(what=what, detail=detail),
            resource="database",
        )
    if primary == SQLITE_CANTOPEN:
        return Unavailable(
            _(
                "cannot open {what} ({detail}); check that the path and its folder exist and are "
                "readable, then retry"
            ).format(what=what, detail=detail),
            resource="database",
        )
    if primary == SQLITE_IOERR:
        return Unavailable(
            _("disk I/O error on {what} ({detail}); check the disk, then retry").format(
                what=what, detail=detail
            ),
            resource="disk",
        )
    if primary in (SQLITE_BUSY, SQLITE_LOCKED):
        return Unavailable(
            _("{what} stayed locked by another process ({detail}); retry when it is done").format(
                what=what, detail=detail
            ),
            resource="database",
        )
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return Unavailable(
            _(
                "{what} is damaged or not an arayis database ({detail}); restore it from a backup "
                "(arayis db backup, see README)"
            ).format(what=what, detail=detail),
            resource="database",
        )
    return None


def _sqlite_reason(primary: int) -> str:
    """SQLite's result code in the operator's language (its own text is English)."""
    reasons = {
        SQLITE_BUSY: _("busy"),
        SQLITE_LOCKED: _("locked"),
        SQLITE_READONLY: _("read-only"),
        SQLITE_IOERR: _("input/output error"),
        SQLITE_CORRUPT: _("damaged"),
        SQLITE_FULL: _("no space left"),
        SQLITE_CANTOPEN: _("cannot be opened"),
        SQLITE_NOTADB: _("not a database file"),
    }
    return reasons.get(primary, _("SQLite error {code}").format(code=primary))


def _pg_reason(err: BaseException, state: str) -> str:
    """Why the PostgreSQL server refused or failed, in the operator's language: the
    driver's text is English, so the common cases are recognised by their words."""
    text = str(err).lower()
    for words, reason in (
        (("connection refused",), _("the connection was refused (is the server running?)")),
        (("password authentication failed", "no password supplied"), _("login refused")),
        (("role", "does not exist"), _("no such login")),
        (("could not translate host name", "name or service not known"), _("unknown host")),
        (("timeout", "timed out"), _("no answer in time")),
        (("no pg_hba.conf entry",), _("this client is not allowed by the server")),
        (("too many clients", "too many connections"), _("too many connections")),
        (("does not exist",), _("it does not exist")),
        (("ssl",), _("the TLS connection failed")),
    ):
        if words == ("role", "does not exist"):
            if all(w in text for w in words):
                return reason
            continue
        if any(w in text for w in words):
            return reason
    if state in _PG_SHUTDOWN:
        return _("the server is shutting down or starting up")
    if _lost(err):
        return _("the connection was closed")
    return _("SQLSTATE {state}").format(state=state) if state else _("connection error")


def _disk_full(path: Path | None) -> bool:
    if path is None:
        return False
    import shutil

    try:
        return shutil.disk_usage(path.parent).free < 64 * 1024
    except OSError:
        return False


# PostgreSQL SQLSTATE classes and codes (https://www.postgresql.org/docs/current/errcodes-appendix.html)
_PG_SHUTDOWN = {"57P01", "57P02", "57P03"}  # admin/crash shutdown, cannot connect now


def _postgres(err: BaseException, db_url: str | None) -> Unavailable | None:
    psycopg = sys.modules.get("psycopg")
    if psycopg is None or not isinstance(err, psycopg.Error):
        return None
    what = describe_database(db_url)
    state = getattr(err, "sqlstate", None) or ""
    detail = _pg_reason(err, state)
    if state == "53100":
        return Unavailable(
            _("disk full on the server of {what} ({detail}); free space there, then retry").format(
                what=what, detail=detail
            ),
            resource="disk",
        )
    if state == "25006":
        return Unavailable(
            _("{what} is read-only ({detail}); point arayis at the primary server").format(
                what=what, detail=detail
            ),
            resource="database",
        )
    if state == "3D000":
        return Unavailable(
            _(
                "{what} does not exist ({detail}); create it (createdb), run `arayis db upgrade`, "
                "then retry"
            ).format(what=what, detail=detail),
            resource="database",
        )
    if (
        state in _PG_SHUTDOWN
        or state.startswith("08")
        or (not state and isinstance(err, psycopg.OperationalError))
    ):
        if _lost(err):
            return Unavailable(
                _(
                    "lost the connection to {what} mid-command ({detail}); what was committed "
                    "before is kept, the rest was rolled back — retry when the server is back"
                ).format(what=what, detail=detail),
                resource="database",
            )
        return Unavailable(
            _(
                "cannot connect to {what} ({detail}); check that the server runs and is reachable "
                "and the URL's user and password, then retry"
            ).format(what=what, detail=detail),
            resource="database",
        )
    if state.startswith(("53", "58")):
        return Unavailable(
            _("the server of {what} is out of resources ({detail}); retry later").format(
                what=what, detail=detail
            ),
            resource="database",
        )
    return None


def _lost(err: BaseException) -> bool:
    """A connection that broke while in use, as opposed to one never made."""
    state = getattr(err, "sqlstate", None) or ""
    if state in ("57P01", "57P02"):
        return True
    text = str(err).lower()
    return any(
        s in text
        for s in (
            "server closed the connection",
            "consuming input failed",
            "connection is lost",
            "connection already closed",
            "terminating connection",
            "eof detected",
            "sending query failed",
        )
    )


def _os(err: BaseException) -> Unavailable | None:
    if not isinstance(err, OSError) or err.errno is None:
        return None
    where = f" {err.filename}" if err.filename else ""
    if err.errno in _DISK_FULL:
        return Unavailable(
            _("disk full: cannot write{where}; free space on that disk, then retry").format(
                where=where
            ),
            resource="disk",
        )
    if err.errno == errno.EROFS:
        return Unavailable(
            _(
                "read-only file system: cannot write{where}; remount it writable or choose "
                "another place, then retry"
            ).format(where=where),
            resource="disk",
        )
    if err.errno == errno.EIO:
        return Unavailable(
            _("disk I/O error on{value}; check the disk, then retry").format(
                value=where or " " + _("the disk")
            ),
            resource="disk",
        )
    return None


def _sqlalchemy(exc: BaseException, db_url: str | None) -> Unavailable | None:
    """SQLAlchemy's own view, when the driver error itself said nothing we know."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is None:
        return None
    what = describe_database(db_url)
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return Unavailable(
            _(
                "lost the connection to {what} mid-command; what was committed before is kept, "
                "the rest was rolled back — retry when it is back"
            ).format(what=what),
            resource="database",
        )
    if isinstance(exc, sa_exc.TimeoutError):  # the connection pool waited in vain
        return Unavailable(
            _("no free connection to {what}; retry later").format(what=what), resource="database"
        )
    return None
