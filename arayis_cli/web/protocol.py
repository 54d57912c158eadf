"""uvicorn's HTTP protocol with two limits it lacks: a deadline for a request head and a
bounded number of open connections per client address.

uvicorn resets its keep-alive timer with every byte received and counts every open
connection against one global ``limit_concurrency``: one client holding many idle (or
one-byte-a-second) connections made the service answer 503 to everybody. Here:

- a connection must deliver a complete request head within :data:`HEAD_DEADLINE` seconds
  of being opened (and, kept alive, of the previous answer), or it is closed;
- one client address holds at most :data:`MAX_PER_ADDRESS` connections; more are closed
  at once. The service's trusted proxies (``--trusted-proxy``) are exempt: every client
  behind them shares their address.

This subclasses uvicorn's httptools protocol and relies on its hooks ``connection_made``,
``connection_lost``, ``on_headers_complete``, ``on_response_complete`` and attributes
``transport``, ``client``, ``loop``: the uvicorn version is pinned with an upper bound and
``tests/web/test_protocol.py`` fails loudly if they move.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEAD_DEADLINE = 5.0
MAX_PER_ADDRESS = 64

_open: dict[str, int] = {}  # client address → connections open now (this worker process)
_exempt: list[Any] | None = None


def _exempt_networks() -> list[Any]:
    """The trusted proxies of ``arayis serve`` (handed to every worker), read once."""
    global _exempt
    if _exempt is None:
        from arayis_cli.config import handed_to_worker

        nets = []
        raw = handed_to_worker()
        if raw:
            from arayis_cli.web.config import ServeConfig

            for value in ServeConfig.from_json(raw).trusted_proxies:
                nets.append(ipaddress.ip_network(value, strict=False))
        _exempt = nets
    return _exempt


def _counted(address: str | None) -> bool:
    if address is None:  # a Unix socket: no peer address to count
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return not any(ip in net for net in _exempt_networks())


class GuardedHttpToolsProtocol(HttpToolsProtocol):  # type: ignore[misc]
    """uvicorn's httptools protocol with a request-head deadline and a per-address cap."""

    head_deadline: float = HEAD_DEADLINE
    max_per_address: int = MAX_PER_ADDRESS

    _address: str | None = None
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else None
        if address is not None and _counted(address):
            if _open.get(address, 0) >= self.max_per_address:
                transport.abort()  # no answer: answering would cost what the cap saves
                return
            _open[address] = _open.get(address, 0) + 1
            self._address = address
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        address, self._address = self._address, None
        if address is not None:
            left = _open.get(address, 1) - 1
            if left > 0:
                _open[address] = left
            else:
                _open.pop(address, None)
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        idle = self.cycle is None or self.cycle.response_complete  # no pipelined request
        if idle and not self.transport.is_closing():
            self._arm()  # kept alive: the next request head has the same deadline

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.head_deadline, self._too_slow)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _too_slow(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def open_connections() -> dict[str, int]:
    """Connections open now per counted client address (for tests and diagnostics)."""
    return dict(_open)
