"""``arayis serve`` outlasts idle clients: a deadline for the request head and a cap on
connections per client address (arayis_cli/web/protocol.py), tested on a real server.

The loopback range plays several clients: idle sockets come from 127.0.0.2, a slow one
from 127.0.0.3, and the client that must still be answered from 127.0.0.1.
"""

from __future__ import annotations

import inspect
import resource
import socket
import time
import urllib.request
from collections.abc import Iterator

import pytest

from arayis_cli.web import protocol
from tests.helpers import Cli
from tests.helpers.web import healthy, served

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

IDLE = 1200


def test_the_uvicorn_internals_relied_on_are_still_there(db_url: str) -> None:
    """Fails loudly when a uvicorn release moves what the subclass overrides or reads."""
    import uvicorn
    from uvicorn.config import Config
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    major, minor = (int(x) for x in uvicorn.__version__.split(".")[:2])
    assert (0, 30) <= (major, minor) < (0, 56), "pinned in pyproject.toml: check protocol.py"
    for hook in ("connection_made", "connection_lost", "on_headers_complete"):
        assert callable(getattr(HttpToolsProtocol, hook, None)), hook
    source = inspect.getsource(HttpToolsProtocol)
    for attribute in ("self.transport", "self.client", "self.loop", "self.cycle"):
        assert attribute in source, attribute
    assert "def on_response_complete" in source and "response_complete" in source
    config = Config(app=lambda *a: None, http="arayis_cli.web.protocol:GuardedHttpToolsProtocol")
    config.load()
    assert config.http_protocol_class is protocol.GuardedHttpToolsProtocol


@pytest.fixture
def server(loaded: Cli) -> Iterator[int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 4 * IDLE)
    if soft < want:  # the idle sockets here and, inherited, the server's side of them
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    try:
        with served(loaded.url, "--burst", "200") as base:
            yield int(base.rsplit(":", 1)[1])
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _healthy(port: int, *, timeout: float) -> bool:
    return healthy(f"http://127.0.0.1:{port}", timeout=timeout)


def _idle(port: int, source: str, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind((source, 0))
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
    return socks


def test_healthz_and_verify_answer_beside_1200_idle_connections(server: int) -> None:
    socks = _idle(server, "127.0.0.2", IDLE)
    try:
        time.sleep(0.5)  # the server has accepted (and refused beyond the cap) by now
        started = time.monotonic()
        assert _healthy(server, timeout=1)
        assert time.monotonic() - started < 1.0
        url = f"http://127.0.0.1:{server}/verify"
        with urllib.request.urlopen(url, timeout=1) as r:
            assert r.status == 200
        # The idle sockets beyond the cap were closed by the server at once.
        closed = 0
        for s in socks:
            try:
                closed += s.recv(1) == b""
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
        assert closed >= IDLE - protocol.MAX_PER_ADDRESS
    finally:
        for s in socks:
            s.close()


def test_a_slow_client_is_cut_off_at_the_deadline(server: int) -> None:
    """One byte a second: uvicorn alone would wait for ever; the head deadline ends it."""
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: slow\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server), source_address=("127.0.0.3", 0)) as s:
        started = time.monotonic()
        s.settimeout(1.0)
        cut = None
        for byte in head:
            try:
                s.sendall(bytes([byte]))
                if s.recv(1024) == b"":
                    cut = time.monotonic() - started
                    break
            except TimeoutError:
                continue
            except OSError:
                cut = time.monotonic() - started
                break
        assert cut is not None, "the slow client was answered or kept"
        assert protocol.HEAD_DEADLINE - 0.5 <= cut <= protocol.HEAD_DEADLINE + 2.0
    assert _healthy(server, timeout=1)


def test_an_answered_client_keeps_its_connection(server: int) -> None:
    """A request head that arrives in time is answered on the same kept-alive connection."""
    with socket.create_connection(("127.0.0.1", server), source_address=("127.0.0.4", 0)) as s:
        s.settimeout(2)
        for _ in range(2):
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while not answer.endswith(b"}"):
                answer += s.recv(4096)
            assert answer.startswith(b"HTTP/1.1 200")
