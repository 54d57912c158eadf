"""A clash with what is stored (a unique key, a foreign key) is a conflict, never exit 1."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from arayis_cli.cli.output import _internal
from arayis_cli.errors import ExitCode


def _clash() -> IntegrityError:
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (number TEXT PRIMARY KEY)"))
        conn.execute(text("INSERT INTO t VALUES ('AR-2026-000001-5')"))
        with pytest.raises(IntegrityError) as caught:
            conn.execute(text("INSERT INTO t VALUES ('AR-2026-000001-5')"))
    return caught.value


def test_a_clash_without_a_sqlstate_stays_internal() -> None:
    """SQLite gives no SQLSTATE: nothing is guessed from a message."""
    assert _internal(_clash()).exit_code == ExitCode.INTERNAL


def test_a_postgres_integrity_error_is_a_conflict() -> None:
    """PostgreSQL's class 23 (integrity constraint violation) is exit 5, one line."""
    exc = _clash()

    class Orig(Exception):
        sqlstate = "23505"

    exc.orig = Orig(
        'duplicate key value violates unique constraint "certificate_number_key"\n'
        "DETAIL: Key (number)=(x)"
    )
    err = _internal(exc)
    assert err.exit_code == ExitCode.CONFLICT and err.error == "conflict"
    assert "certificate_number_key" in str(err) and "DETAIL" not in str(err)
