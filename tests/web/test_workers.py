"""``arayis serve --workers 2``: connections opened at once are spread over the workers
(each listens on a socket of its own), and a killed worker is replaced and listens too."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Cli
from tests.helpers.web import healthy, server_process

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


def _healthy(port: int) -> bool:
    return healthy(f"http://127.0.0.1:{port}")


@pytest.fixture
def workers(loaded: Cli) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    with server_process(loaded.url, "--workers", "2", ready=_both_listen) as (base, proc):
        yield int(base.rsplit(":", 1)[1]), proc


def _both_listen(port: int) -> bool:
    return _listening(port) >= 2


def _listening(port: int) -> int:
    """Sockets listening on the loopback TCP ``port``: one per worker that is up."""
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(int(f[1].split(":")[1], 16) == port and f[3] == "0A" for f in rows)


def _holders(port: int) -> Counter[int]:
    """Established server-side connections on ``port`` per process id (from /proc)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01":  # ESTABLISHED
            inodes.add(fields[9])
    held: Counter[int] = Counter()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = [os.readlink(fd) for fd in (entry / "fd").iterdir()]
        except OSError:
            continue
        held[int(entry.name)] += sum(
            link[8:-1] in inodes for link in links if link.startswith("socket:[")
        )
    return +held


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _spread(port: int, n: int = 40) -> Counter[int]:
    conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    try:
        time.sleep(0.5)
        return _holders(port)
    finally:
        for c in conns:
            c.close()


def test_connections_opened_at_once_are_spread_over_the_workers(
    workers: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, proc = workers
    held = _spread(port)
    assert sum(held.values()) == 40
    assert len(held) == 2 and min(held.values()) >= 5, held  # uvicorn's own: 40/0, 38/2
    assert set(held) <= set(_children(proc.pid))


def test_a_killed_worker_is_replaced_and_listens_beside_the_other(
    workers: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, _proc = workers
    victim = max(_spread(port).items(), key=lambda item: item[1])[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while True:
        held = _spread(port) if _listening(port) == 2 else Counter()
        if len(held) == 2 and victim not in held and min(held.values()) >= 5:
            break
        assert time.monotonic() < deadline, f"no replacement listening: {held}"
        time.sleep(0.5)
    assert _healthy(port)
