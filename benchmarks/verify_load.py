"""Load on the verification service: GET /verify/{token} on loopback, concurrent clients.

    .venv/bin/python benchmarks/verify_load.py               # 1 and 2 workers, 8 s each
    .venv/bin/python benchmarks/verify_load.py --seconds 3 --clients 8

Builds its own SQLite register (one certificate printed through the CLI), then:
- the floor: ``verify`` in-process, one read transaction per verification, as the service
  does it (no HTTP);
- ``arayis serve --workers 1`` and ``--workers 2`` driven by keep-alive clients from this
  process (raw asyncio sockets, so the client costs little CPU), bounded in time and in
  requests; prints requests/s and p50/p99 latency, and checks that every answered request
  was recorded in the verification log.

Target (issue 16): ≥ 500 verifications/s with p99 ≤ 50 ms on the 2-core machine. The load
generator shares those 2 cores with the server, and so does anything else running.
Traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from server import free_port, serve, tree_cpu  # this folder

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data"
DOCS = SAMPLE / "documents"
MAX_REQUESTS = 200_000  # per run, whatever the duration


def arayis(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "arayis_cli", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


def build_register(work: Path) -> tuple[dict[str, str], str, str]:
    """A fresh SQLite register with one printed certificate; returns env, url and token."""
    import json

    db = work / "verify.db"
    url = f"sqlite:///{db}"
    env = {
        **os.environ,
        "ARAYIS_HOME": str(work / "home"),
        "ARAYIS_DATABASE_URL": url,
        "ARAYIS_OPERATOR": "bench",
    }
    env.pop("ARAYIS_NOW", None)
    arayis(env, "abonent", "import", str(SAMPLE / "abonents.csv"))
    arayis(env, "ledger", "import", str(SAMPLE / "ledger.csv"))
    app = json.loads(
        arayis(
            env,
            "submit",
            "--abonent",
            "0011276516",
            "--fin",
            "6HV4DVC",
            "--phone",
            "050 123 45 67",
            "--email",
            "bench@example.az",
            "--json",
        )
    )["id"]
    arayis(env, "attach", str(app), str(DOCS / "sexsiyyet_vesiqesi.jpg"), "--kind", "id-card")
    arayis(env, "attach", str(app), str(DOCS / "mulkiyyet_cixarisi.pdf"), "--kind", "ownership")
    arayis(env, "review", str(app))
    arayis(env, "approve", str(app))
    printed = json.loads(arayis(env, "print", str(app), "--out", str(work / "cert.pdf"), "--json"))
    from arayis_cli.certificate.signing import token_in_pdf

    token = token_in_pdf(Path(printed["path"]).read_bytes())
    if token is None:
        raise SystemExit("the printed certificate carries no token")
    return env, url, token


def floor(env: dict[str, str], url: str, token: str, n: int) -> float:
    """In-process verifications per second (the service's work without HTTP)."""
    os.environ.update({k: v for k, v in env.items() if k.startswith("ARAYIS_")})
    from arayis_cli.certificate.signing import parse_token
    from arayis_cli.db import session_scope
    from arayis_cli.services.verification import Evidence, verify

    evidence = Evidence(token=parse_token(token))

    def once() -> None:
        with session_scope(url, write=False) as session:
            verdict = verify(session, evidence, now=datetime.now(UTC))
        if not verdict.valid:
            raise SystemExit(f"benchmark certificate not valid: {verdict.reason}")

    for _ in range(200):
        once()
    start = time.perf_counter()
    for _ in range(n):
        once()
    return n / (time.perf_counter() - start)


async def client(
    port: int, request: bytes, until: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until and len(latencies) < MAX_REQUESTS:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(int(head[9:12]))
    finally:
        writer.close()


async def drive(
    port: int, path: str, clients: int, seconds: float
) -> tuple[list[float], list[int], float]:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/html\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    errors: list[int] = []
    start = time.perf_counter()
    until = start + seconds
    await asyncio.gather(*(client(port, request, until, latencies, errors) for _ in range(clients)))
    return latencies, errors, time.perf_counter() - start


def logged(db: str) -> int:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT count(*) FROM certificate_verification").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per run (max 60)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent connections (max 64)")
    parser.add_argument("--workers", default="1,2", help="worker counts to try")
    args = parser.parse_args()
    seconds = min(args.seconds, 60.0)
    clients = max(1, min(args.clients, 64))
    work = Path(tempfile.mkdtemp(prefix="arayis-verify-bench-"))
    try:
        env, url, token = build_register(work)
        db = url.removeprefix("sqlite:///")
        load = os.getloadavg()[0]
        print(
            f"verification service load — {platform.node()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
            f"load average before: {load:.2f}"
        )
        rate = floor(env, url, token, 3000)
        print(
            f"{'floor: verify in-process (read transaction + signature)':<58} "
            f"{rate:,.0f} verifications/s ({1e6 / rate:,.0f} µs each)"
        )
        for workers in [int(w) for w in args.workers.split(",")]:
            port = free_port()
            before = logged(db)
            proc = serve(env, port, workers, "--rate-limit", "100000000", "--burst", "100000000")
            try:
                warmed = len(asyncio.run(drive(port, f"/verify/{token}", clients, 1.0))[0])
                server_cpu = tree_cpu(proc.pid)
                client_cpu = time.process_time()
                latencies, errors, elapsed = asyncio.run(
                    drive(port, f"/verify/{token}", clients, seconds)
                )
                server_cpu = tree_cpu(proc.pid) - server_cpu
                client_cpu = time.process_time() - client_cpu
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            answered = len(latencies)
            rps = answered / elapsed
            ordered = sorted(latencies)
            p50 = statistics.median(ordered) * 1000
            p99 = ordered[int(0.99 * (answered - 1))] * 1000
            met = "MET" if rps >= 500 and p99 <= 50 else "NOT MET"
            print(
                f"{f'GET /verify/{{token}}, {workers} worker(s), {clients} clients':<58} "
                f"{rps:,.0f} req/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms   "
                f"{met} (target ≥ 500/s, p99 ≤ 50 ms)"
            )
            per_request = server_cpu / answered * 1e6
            print(
                f"{'  CPU per request: server (all workers) / load client':<58} "
                f"{per_request:,.0f} µs / {client_cpu / answered * 1e6:,.0f} µs "
                f"→ {2e6 / per_request:,.0f} req/s on 2 free cores (server alone)"
            )
            recorded = logged(db) - before
            print(
                f"{'  recorded in the verification log (with warm-up)':<58} "
                f"{recorded:,} of {answered + warmed:,}; non-200 answers: {len(errors)}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
