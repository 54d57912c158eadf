"""``arayis serve``: uvicorn in front of the app, one or several worker processes."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

from arayis_cli.web.config import ServeConfig


def _check_port(host: str, port: int) -> None:
    """A port in use or an address not on this machine is a clear exit 8 before start-up
    (uvicorn itself would log it and exit 3, which means 'debt' in arayis)."""
    import socket

    from arayis_cli.errors import Unavailable

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Unavailable(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise Unavailable(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def run(
    config: ServeConfig, *, host: str, port: int, workers: int, announce: Callable[[], None]
) -> None:
    import uvicorn

    from arayis_cli.errors import Unavailable

    _check_port(host, port)
    announce()

    common = {
        "host": host,
        "port": port,
        # X-Forwarded-For is read by the app itself, and only from --trusted-proxy.
        "proxy_headers": False,
        "server_header": False,
        "access_log": False,
        "log_level": "warning",
        "timeout_keep_alive": 5,
        "limit_concurrency": 1000,
        # A deadline for each request head and a cap on connections per client address:
        # uvicorn has neither (its keep-alive timer restarts with every byte received).
        "http": "arayis_cli.web.protocol:GuardedHttpToolsProtocol",
        # uvicorn's own header/line limits stay at their defaults; bodies are capped by Guard.
    }
    # Each worker is a fresh process that imports the factory: it reads this variable (the
    # protocol's per-address cap reads the trusted proxies from it, in one process too).
    from arayis_cli.config import hand_to_workers

    hand_to_workers(config.to_json())
    try:
        if workers > 1:
            _run_workers(common, host=host, port=port, workers=workers)
        else:
            from arayis_cli.web.app import create_app

            uvicorn.run(create_app(config), **common)  # type: ignore[arg-type]
    except SystemExit as exc:  # uvicorn exits 1 or 3 when it cannot start or serve
        if exc.code not in (0, None):
            raise Unavailable("the verification service stopped (see the message above)") from None


def _run_workers(common: dict[str, Any], *, host: str, port: int, workers: int) -> None:
    """uvicorn's worker supervisor, each worker listening on a socket of its own.

    ``uvicorn.run(workers=N)`` binds one socket that every worker accepts from, and the
    first worker woken accepts everything pending: 50 connections opened at once landed
    48/2 or 50/0, and since a keep-alive connection stays with the worker that accepted
    it, a portal's connection pool was served by one process, one core. Here each worker
    (and each one the supervisor restarts) binds its own ``SO_REUSEPORT`` socket, and the
    kernel spreads new connections over them by a hash of each one: evenly on average (a
    burst of 50 landed between 21/29 and 25/25; handing connections over to even them out
    measured no better, the two cores being shared).
    """
    from uvicorn import Config
    from uvicorn.supervisors import Multiprocess

    config = Config(
        "arayis_cli.web.app:app_from_environment", factory=True, workers=workers, **common
    )
    with suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[WorkerSocket(host, port)]).run()  # type: ignore[list-item]


class WorkerSocket:
    """Stands in for the listening socket handed to each worker process: unpickled in the
    worker, it becomes a socket of that worker's own, bound with ``SO_REUSEPORT``."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port

    def __reduce__(self) -> tuple[Any, tuple[str, int]]:
        return (reuse_port_socket, (self.host, self.port))


def reuse_port_socket(host: str, port: int) -> Any:
    """A TCP socket bound to ``host:port`` beside the other workers' (``SO_REUSEPORT``)."""
    import socket

    family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.set_inheritable(True)
    return sock
