"""Alembic environment: always run with a connection handed over by arayis_cli.db."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import arayis_cli.models  # noqa: F401  (registers the tables)

target_metadata = SQLModel.metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # plain `alembic` CLI use, e.g. autogenerate during development
        from arayis_cli.config import Settings, default_database_url
        from arayis_cli.db import get_engine

        url = context.config.get_main_option("sqlalchemy.url") or default_database_url(
            Settings.from_env()
        )
        with get_engine(url).begin() as conn:
            _configure_and_run(conn)
    else:
        _configure_and_run(connection)


def _configure_and_run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
