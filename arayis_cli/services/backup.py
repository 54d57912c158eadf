"""db backup: a consistent copy of the embedded SQLite store, taken while others work.

SQLite's online backup API copies the database page by page inside one read
transaction: under WAL, writers keep committing meanwhile and the copy is the store as
it was when the backup began. The copy is written beside the target under a hidden name,
checked, made a self-contained single file (journal mode DELETE), fsynced, and only then
linked to the target name, which fails if that name exists: a backup never overwrites
anything, and a half-written copy is never left under the name asked for.

PostgreSQL has its own tools for this (``pg_dump``, continuous archiving); arayis does
not imitate them.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arayis_cli.errors import InvalidInput, NotFound
from arayis_cli.i18n import _

if TYPE_CHECKING:
    from arayis_cli.db import Engines


@dataclass
class BackupResult:
    path: Path
    source: Path
    size: int
    check: Any  # dbcheck.CheckReport of the copy

    def as_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "source": str(self.source),
            "bytes": self.size,
            "check": self.check.as_json(),
        }


def source_file(db_url: str) -> Path:
    """The SQLite file behind ``db_url``; refuses PostgreSQL with the tools to use instead."""
    from arayis_cli.unavailable import sqlite_path

    if not db_url.startswith("sqlite"):
        raise InvalidInput(
            _(
                "db backup copies the embedded SQLite store; for PostgreSQL use its own tools: "
                "pg_dump -Fc for a copy, continuous WAL archiving for point-in-time recovery (see "
                "README, Backups)"
            )
        )
    path = sqlite_path(db_url)
    if path is None:
        raise InvalidInput(_("db backup needs a SQLite database file (sqlite:///path.db)"))
    if not path.is_file():
        raise NotFound(_("no database file at {path}").format(path=path))
    return path


def backup(db_url: str, target: Path, *, now: datetime, engines: Engines) -> BackupResult:
    """Copy the store to ``target`` (which must not exist) and ``db check`` the copy, with
    the caller's ``engines`` (the run's: the copy's engine is closed before it returns)."""
    source = source_file(db_url)
    engines.ensure_schema(db_url)  # the copy is of a store at this arayis's schema, untouched later
    target = target.expanduser()
    if target.exists() or target.is_symlink():
        raise InvalidInput(
            _("{target} already exists; a backup never overwrites a file").format(target=target)
        )
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidInput(_("folder {folder} does not exist").format(folder=folder))
    if target.resolve() == source.resolve():
        raise InvalidInput(_("the backup must go to another file than the database itself"))
    partial = folder / f".{target.name}.partial-{os.getpid()}"
    try:
        # Owner-only from the first byte: the copy holds the same personal data.
        os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError as exc:
        _unavailable_or_invalid(exc, f"cannot write in {folder}")
    try:
        _copy(source, partial)
        report = _check(partial, now=now, engines=engines)
        _finish(partial)
        try:
            os.link(partial, target)  # fails if the name was taken meanwhile: never overwrite
        except FileExistsError:
            raise InvalidInput(
                _("{target} already exists; a backup never overwrites a file").format(target=target)
            ) from None
        except OSError as exc:
            _unavailable_or_invalid(exc, f"cannot create {target}")
        _fsync_dir(folder)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(path=target, source=source, size=target.stat().st_size, check=report)


def _copy(source: Path, dest: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)
    try:
        dst = sqlite3.connect(dest)
        try:
            # One step (pages=-1): one read transaction, so the copy is one consistent
            # moment of the store; under WAL, writers are not blocked meanwhile.
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _check(copy: Path, *, now: datetime, engines: Engines) -> Any:
    from arayis_cli.services.dbcheck import check

    url = f"sqlite:///{copy}"
    try:
        with engines.session(url, write=False) as session:
            return check(session, now=now)
    finally:
        engines.forget(url)


def _finish(copy: Path) -> None:
    """A single self-contained file (no -wal/-shm beside it), on disk."""
    conn = sqlite3.connect(copy)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
    finally:
        conn.close()
    fd = os.open(copy, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unavailable_or_invalid(exc: OSError, what: str) -> None:
    from arayis_cli.unavailable import classify

    err = classify(exc)
    if err is not None:
        raise err from None
    raise InvalidInput(f"{what}: {exc.strerror}") from None
