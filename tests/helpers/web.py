"""The verification service in-process, for tests of its pages and API."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from arayis_cli.web.app import create_app
from arayis_cli.web.config import ServeConfig
from tests.helpers import Cli


def client(cli: Cli, **kw: Any) -> TestClient:
    """A test client of ``arayis serve`` on ``cli``'s database, from a documentation address."""
    config = ServeConfig(db_url=cli.url, record_interval=0.05, **kw)
    return TestClient(create_app(config), client=("198.51.100.7", 40000))
