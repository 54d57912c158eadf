"""Which ``arayis serve`` worker holds each keep-alive connection of a burst of clients.

    .venv/bin/python benchmarks/worker_spread.py                 # 50 connections, 3 trials
    .venv/bin/python benchmarks/worker_spread.py --connections 16 --workers 2

Starts ``arayis serve --workers N`` on a fresh register, opens ``--connections`` loopback
connections at once (as a portal's connection pool does), and counts the established
connections per worker process (``ss -tnp``). Every request on a keep-alive connection is
served by the worker that accepted it, so an uneven spread leaves cores idle under a burst.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from api_load import API_UNLIMITED, build_register  # this folder
from server import free_port, serve


async def spread(port: int, connections: int) -> list[int]:
    """Connections per worker (largest first), with ``connections`` open at once."""
    opened = await asyncio.gather(
        *(asyncio.open_connection("127.0.0.1", port) for _ in range(connections))
    )
    await asyncio.sleep(0.5)
    listing = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for _reader, writer in opened:
        writer.close()
    return sorted(Counter(re.findall(r"pid=(\d+)", listing)).values(), reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=50, help="(max 200)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trials", type=int, default=3, help="(max 10)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="arayis-spread-bench-"))
    try:
        env, _url, _key, _ids = build_register(work, 1)
        for trial in range(1, min(args.trials, 10) + 1):
            port = free_port()
            proc = serve(env, port, args.workers, *API_UNLIMITED)
            try:
                time.sleep(0.5)
                counts = asyncio.run(spread(port, max(1, min(args.connections, 200))))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            shown = " / ".join(str(n) for n in counts + [0] * (args.workers - len(counts)))
            print(f"trial {trial}: connections per worker {shown}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
