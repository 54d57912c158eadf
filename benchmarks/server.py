"""``arayis serve`` for the load benchmarks: a free loopback port, the server started and
waited for, and the CPU time its processes used (from /proc)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(env: dict[str, str], port: int, workers: int, *options: str) -> subprocess.Popen[bytes]:
    """``arayis serve --port PORT --workers N OPTIONS…``, returned once ``/healthz`` answers
    (at most 60 s; otherwise it is killed and its stderr shown)."""
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "arayis_cli", "serve", "--port", str(port)),
            *("--workers", str(workers), *options),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                pass
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
            continue
        # One worker answers first; the others may still be starting (each listens on a
        # socket of its own): a burst now would all go to the first.
        while listening(port) < workers and time.monotonic() < deadline:
            time.sleep(0.1)
        return proc
    proc.kill()
    raise SystemExit(
        f"arayis serve did not start: {proc.stderr.read().decode() if proc.stderr else ''}"
    )


def listening(port: int) -> int:
    """How many sockets listen on the loopback TCP ``port`` (from /proc/net/tcp)."""
    found = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":  # LISTEN
            found += 1
    return found


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and all its descendants (from /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    family, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in family:
                family.add(child)
                frontier.append(child)
    return sum(times.get(p, 0.0) for p in family)
