"""Test databases: server URLs, whole-database snapshots and the one-query digest.

The digest is what the ``unchanged`` fixture compares: every row of every table (and, on
SQLite, the schema itself) folded into one query's answer, so a refused command that
changed any row of any table is seen, at the cost of one round trip.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

PG_URL = os.environ.get("ARAYIS_TEST_POSTGRES_URL")


def edit_behind(url: str, *statements: str) -> None:
    """Statements run behind the tool's back, past every trigger and foreign key (SQLite:
    foreign keys off; PostgreSQL: ``session_replication_role = replica``), as a hand edit."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
            else:
                conn.exec_driver_sql("SET session_replication_role = replica")
            for sql in statements:
                conn.execute(text(sql))
    finally:
        engine.dispose()


def admin_url() -> str:
    """The test server's maintenance database, as a plain libpq URL (for psycopg)."""
    from sqlalchemy.engine import make_url

    assert PG_URL
    return make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)


def database_url(name: str) -> str:
    """The SQLAlchemy URL of database ``name`` on the test server."""
    from sqlalchemy.engine import make_url

    assert PG_URL
    url = make_url(PG_URL).set(database=name, drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def libpq(url: str) -> str:
    """A SQLAlchemy ``postgresql+psycopg://`` URL as psycopg takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def sqlite_path(url: str) -> str:
    assert url.startswith("sqlite:///"), url
    return url[len("sqlite:///") :]


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, as Python values (slow: reflects the schema)."""
    from sqlalchemy import MetaData, create_engine, select

    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return {
                name: sorted(
                    (tuple(map(repr, row)) for row in conn.execute(select(table))), key=str
                )
                for name, table in sorted(meta.tables.items())
            }
    finally:
        engine.dispose()


# PostgreSQL: one query over the catalogue; each table's rows, sorted by their text, go
# through query_to_xml and md5. Tables a command creates are seen too (the list is read at
# query time), and so are dropped ones.
PG_DIGEST = """
SELECT c.relname,
       md5(query_to_xml(format('SELECT * FROM %I.%I AS t ORDER BY t::text',
                               n.nspname, c.relname), true, false, '')::text)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()
ORDER BY 1
"""


def _sqlite_digest_query(conn: sqlite3.Connection) -> str:
    """One query: the schema (sqlite_master) and each table's rows as sorted text."""
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name"
        )
    ]
    parts = [
        "SELECT 'sqlite_master', (SELECT group_concat(r, char(10)) FROM (SELECT"
        " quote(type) || ',' || quote(name) || ',' || quote(sql) AS r FROM sqlite_master"
        " ORDER BY r))"
    ]
    for table in tables:
        columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
        row = " || ',' || ".join(f'quote("{c}")' for c in columns) or "''"
        parts.append(
            f"SELECT '{table}', (SELECT group_concat(r, char(10)) FROM"
            f' (SELECT {row} AS r FROM "{table}" ORDER BY r))'
        )
    return " UNION ALL ".join(parts)


class Digest:
    """``Digest(url)()``: one query's fingerprint of every row of every table of ``url``.

    On SQLite the query is written once from the tables present when the object is made;
    the schema (sqlite_master) is part of it, so a table created or dropped later still
    changes the answer.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = url.startswith("postgresql")
        self.query = PG_DIGEST
        if not self.postgres:
            conn = sqlite3.connect(sqlite_path(url))
            try:
                self.query = _sqlite_digest_query(conn)
            finally:
                conn.close()

    def __call__(self) -> list[tuple[Any, ...]]:
        if self.postgres:
            import psycopg

            with psycopg.connect(libpq(self.url)) as conn:
                return list(conn.execute(self.query).fetchall())
        conn = sqlite3.connect(sqlite_path(self.url))
        try:
            return list(conn.execute(self.query).fetchall())
        finally:
            conn.close()


def copy_database(url: str, dest: str) -> str:
    """A copy of the database at ``url`` as it is now, named ``dest`` (a file path on
    SQLite, a database name on PostgreSQL, made with ``CREATE DATABASE … TEMPLATE``);
    its URL. Nothing may be connected to ``url`` (``arayis_cli.db.dispose_all()`` first)."""
    import shutil

    if url.startswith("postgresql"):
        import psycopg
        from sqlalchemy.engine import make_url

        source = make_url(url).database
        with psycopg.connect(admin_url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dest}" TEMPLATE "{source}"')
        return database_url(dest)
    conn = sqlite3.connect(sqlite_path(url))
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the file is the whole database
    finally:
        conn.close()
    shutil.copy2(sqlite_path(url), dest)  # its mode too (0600)
    return f"sqlite:///{dest}"


def drop_copy(url: str) -> None:
    """Remove a PostgreSQL copy made by :func:`copy_database` (a file goes with tmp_path)."""
    if url.startswith("postgresql"):
        import psycopg
        from sqlalchemy.engine import make_url

        with psycopg.connect(admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
