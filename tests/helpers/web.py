"""The verification service for tests: in-process (a Starlette test client) for its pages
and API, or as a real ``arayis serve`` process on a free loopback port for tests that need
sockets (a browser, idle connections, the portal client example)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from starlette.testclient import TestClient

from arayis_cli.web.app import create_app
from arayis_cli.web.config import ServeConfig
from tests.helpers import Cli
from tests.helpers.email import free_port

# Tries with a new port when another process took the free one before the server bound it.
_PORT_TRIES = 3


def client(cli: Cli, **kw: Any) -> TestClient:
    """A test client of ``arayis serve`` on ``cli``'s database, from a documentation address."""
    config = ServeConfig(db_url=cli.url, record_interval=0.05, **kw)
    return TestClient(create_app(config), client=("198.51.100.7", 40000))


def healthy(base: str, *, timeout: float = 1) -> bool:
    """Whether the server at ``base`` answers ``/healthz`` with 200 within ``timeout``."""
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=timeout) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@contextmanager
def served(
    db_url: str, *args: str, verify_here: bool = False, timeout: float = 60
) -> Iterator[str]:
    """``arayis serve [args]`` on ``db_url`` as a process, on a free port of 127.0.0.1:
    its base address (``http://127.0.0.1:PORT``); see :func:`server_process`."""
    with server_process(db_url, *args, verify_here=verify_here, timeout=timeout) as (base, _):
        yield base


@contextmanager
def server_process(
    db_url: str,
    *args: str,
    verify_here: bool = False,
    ready: Callable[[int], bool] | None = None,
    timeout: float = 60,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``arayis serve [args]`` on ``db_url`` as a process, on a free port of 127.0.0.1.

    Yields the base address (``http://127.0.0.1:PORT``) and the process once ``/healthz``
    answers (and ``ready(port)`` holds, when given); the process inherits this process's
    environment (set ``ARAYIS_*`` before entering), with ``ARAYIS_VERIFY_URL`` set to its
    own ``/verify/`` when ``verify_here``. At the end it is terminated, and killed if it
    has not stopped within 20 s. Its output goes to a file (a pipe nobody reads would block
    a chatty server), shown if it fails to start.
    """
    env = {**os.environ, "ARAYIS_DATABASE_URL": db_url}
    with tempfile.TemporaryFile() as log:
        for attempt in range(_PORT_TRIES):
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            if verify_here:
                env["ARAYIS_VERIFY_URL"] = f"{base}/verify/"
            proc = subprocess.Popen(
                [sys.executable, "-m", "arayis_cli", "serve", "--port", str(port), *args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                deadline = time.monotonic() + timeout
                while not (healthy(base) and (ready is None or ready(port))):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                else:
                    yield base, proc
                    return
                log.seek(0)
                output = log.read().decode(errors="replace")
                if "address already in use" in output.lower() and attempt + 1 < _PORT_TRIES:
                    continue
                pytest.fail(f"arayis serve did not start: {output[-2000:]}")
            finally:
                _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
