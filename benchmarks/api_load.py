"""Load on the portal API (/api/v1) of ``arayis serve --workers 2`` on loopback.

    .venv/bin/python benchmarks/api_load.py                 # 8 s of GETs, 50 presses
    .venv/bin/python benchmarks/api_load.py --seconds 3 --subscribers 50

Builds its own SQLite register (50 abonents with nothing owed, each with a completed
application, and an API key; ``--pg ADMIN_URL`` or ``ARAYIS_BENCH_POSTGRES_URL``: in a new
database on that PostgreSQL server instead), then:
- ``GET /api/v1/applications/{id}`` from keep-alive clients (raw asyncio sockets, so the
  client costs little CPU): requests/s, p50/p99; target ≥ 1,500 req/s with p99 ≤ 20 ms;
- "Çap et" (``POST /api/v1/applications/{id}/print``) by 50 subscribers at once, each
  pressing twice (the second press gives the same certificate): p50/p99 of the first and
  of the second presses; target p99 ≤ 250 ms; and that no application got two
  certificates.

The load generator shares the 2 cores with the server, and so does anything else running;
the load average is printed before each run. Traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from server import free_port, serve, tree_cpu  # this folder

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data"
MAX_REQUESTS = 200_000
FIN_LETTERS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
#: The benchmark measures the server, not its per-client rate limit.
API_UNLIMITED = ("--api-rate-limit", "100000000", "--api-burst", "100000000")


def build_register(
    work: Path, subscribers: int, pg: str | None = None
) -> tuple[dict[str, str], str, str, list[int]]:
    """A fresh register: ``subscribers`` completed applications of abonents owing nothing
    (SQLite in ``work``; with ``pg``, a new database on that PostgreSQL server, signed with
    an office key made by ``keys init``)."""
    url = f"sqlite:///{work / 'api.db'}" if pg is None else new_pg_database(pg)
    env = {
        **os.environ,
        "ARAYIS_HOME": str(work / "home"),
        "ARAYIS_DATABASE_URL": url,
        "ARAYIS_OPERATOR": "bench",
        "ARAYIS_LANG": "en",
    }
    if pg is not None:
        env["ARAYIS_SIGNING_KEY"] = str(work / "office-key.pem")
    env.pop("ARAYIS_NOW", None)
    os.environ.update({k: v for k, v in env.items() if k.startswith("ARAYIS_")})
    from typer.testing import CliRunner

    from arayis_cli.cli.app import app

    runner = CliRunner()

    def run(*args: str) -> object:
        result = runner.invoke(app, ["--db", url, *args, "--json"])
        if result.exit_code != 0:
            raise SystemExit(f"arayis {' '.join(args)}: {result.stderr or result.stdout}")
        return json.loads(result.stdout) if result.stdout.strip() else None

    rows = ["code,group,owner_name,owner_fin,address"]
    for n in range(subscribers):
        fin = "".join(FIN_LETTERS[(n * 7 + i * 13) % len(FIN_LETTERS)] for i in range(6)) + "7"
        rows.append(f"{9_000_000_000 + n:010d},I,Abonent {n} Test oğlu,{fin},Bakı {n}")
    (work / "abonents.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    if pg is not None:
        run("keys", "init")
    run("abonent", "import", str(work / "abonents.csv"))
    ids = []
    for line in rows[1:]:
        code, _group, _name, fin, _addr = line.split(",")
        created = run(
            *("submit", "--abonent", code, "--fin", fin, "--phone", "050 123 45 67"),
            *("--email", "bench@example.az", "--external-id", f"bench-{code}"),
        )
        app_id = str(created["id"])  # type: ignore[index]
        run("review", app_id)
        run("approve", app_id, "--override", "Sənədlər kağızda")
        ids.append(int(app_id))
    key = run("api-key", "create", "egov", "--scope", "submit,status,print")["key"]  # type: ignore[index]
    from arayis_cli import db as arayis_db

    arayis_db.dispose_all()
    return env, url, str(key), ids


def new_pg_database(server: str) -> str:
    """A new, empty database on the PostgreSQL server ``server`` names (an admin URL)."""
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    name = f"arayis_api_bench_{uuid.uuid4().hex[:8]}"
    base = make_url(server).set(drivername="postgresql")
    with psycopg.connect(base.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name, drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def drop_pg_database(server: str, url: str) -> None:
    """Drop the database :func:`new_pg_database` made (the server stays as it was)."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    base = make_url(server).set(drivername="postgresql")
    with psycopg.connect(base.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def certificates_per_application(url: str) -> dict[int, int]:
    query = "SELECT application_id, count(*) FROM certificate GROUP BY application_id"
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
            return dict(con.execute(query).fetchall())
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as conn:
        return dict(conn.execute(query).fetchall())


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length)
    return int(head[9:12]), body


def request(method: str, path: str, port: int, key: str) -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Length: 0\r\n\r\n"
    ).encode()


async def get_load(
    port: int, key: str, ids: list[int], clients: int, seconds: float
) -> tuple[list[float], list[int], float]:
    latencies: list[float] = []
    errors: list[int] = []
    start = time.perf_counter()
    until = start + seconds

    async def one(n: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        path = f"/api/v1/applications/{ids[n % len(ids)]}"
        req = request("GET", path, port, key)
        try:
            while time.perf_counter() < until and len(latencies) < MAX_REQUESTS:
                t = time.perf_counter()
                status, _body = await exchange(reader, writer, req)
                latencies.append(time.perf_counter() - t)
                if status != 200:
                    errors.append(status)
        finally:
            writer.close()

    await asyncio.gather(*(one(n) for n in range(clients)))
    return latencies, errors, time.perf_counter() - start


async def presses(
    port: int, key: str, ids: list[int]
) -> tuple[list[float], list[float], list[int], dict[int, set[bytes]]]:
    """Every subscriber presses "Çap et" at the same moment, then once more."""
    first: list[float] = []
    second: list[float] = []
    errors: list[int] = []
    pdfs: dict[int, set[bytes]] = {}
    gate = asyncio.Event()

    async def subscriber(app_id: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        req = request("POST", f"/api/v1/applications/{app_id}/print", port, key)
        try:
            await gate.wait()
            for bucket in (first, second):
                t = time.perf_counter()
                status, body = await exchange(reader, writer, req)
                bucket.append(time.perf_counter() - t)
                if status != 200:
                    errors.append(status)
                pdfs.setdefault(app_id, set()).add(body)
        finally:
            writer.close()

    tasks = [asyncio.create_task(subscriber(app_id)) for app_id in ids]
    await asyncio.sleep(0.5)  # every connection open
    gate.set()
    await asyncio.gather(*tasks)
    return first, second, errors, pdfs


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered) * 1000, ordered[int(0.99 * (len(ordered) - 1))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="GET run (max 60)")
    parser.add_argument("--clients", type=int, default=16, help="GET connections (max 64)")
    parser.add_argument("--subscribers", type=int, default=50, help="presses at once (max 200)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--pg",
        default=os.environ.get("ARAYIS_BENCH_POSTGRES_URL"),
        help="a PostgreSQL server's admin URL: the register in a new database there",
    )
    args = parser.parse_args()
    seconds = min(args.seconds, 60.0)
    clients = max(1, min(args.clients, 64))
    work = Path(tempfile.mkdtemp(prefix="arayis-api-bench-"))
    url = ""
    try:
        env, url, key, ids = build_register(work, max(1, min(args.subscribers, 200)), args.pg)
        print(
            f"portal API load — {platform.node()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
            f"{args.workers} worker(s), {'PostgreSQL' if args.pg else 'SQLite'}"
        )
        port = free_port()
        proc = serve(env, port, args.workers, *API_UNLIMITED)
        try:
            asyncio.run(get_load(port, key, ids, clients, 1.0))  # warm-up
            print(f"load average before GETs: {os.getloadavg()[0]:.2f}")
            server_cpu = tree_cpu(proc.pid)
            latencies, errors, elapsed = asyncio.run(get_load(port, key, ids, clients, seconds))
            server_cpu = tree_cpu(proc.pid) - server_cpu
            rps = len(latencies) / elapsed
            p50, p99 = percentiles(latencies)
            met = "MET" if rps >= 1500 and p99 <= 20 else "NOT MET"
            print(
                f"GET /api/v1/applications/{{id}}, {clients} clients: {rps:,.0f} req/s, "
                f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, non-200: {len(errors)}   "
                f"{met} (target ≥ 1,500/s, p99 ≤ 20 ms)"
            )
            per_request = server_cpu / len(latencies) * 1e6
            print(
                f"  server CPU per request (all workers): {per_request:,.0f} µs → "
                f"{2e6 / per_request:,.0f} req/s on 2 free cores (server alone)"
            )
            print(f"load average before presses: {os.getloadavg()[0]:.2f}")
            wal = Path(url.removeprefix("sqlite:///") + "-wal")
            if url.startswith("sqlite") and wal.exists():
                print(f"SQLite write-ahead log before presses: {wal.stat().st_size:,} bytes")
            server_cpu = tree_cpu(proc.pid)
            client_cpu = time.process_time()
            first, second, errors, pdfs = asyncio.run(presses(port, key, ids))
            client_cpu = time.process_time() - client_cpu
            press_cpu = (tree_cpu(proc.pid) - server_cpu) / len(ids)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        everything = first + second
        p50, p99 = percentiles(everything)
        f50, f99 = percentiles(first)
        s50, s99 = percentiles(second)
        met = "MET" if p99 <= 250 else "NOT MET"
        print(
            f'"Çap et", {len(ids)} subscribers at once, twice each: p50 {p50:.0f} ms, '
            f"p99 {p99:.0f} ms   {met} (target p99 ≤ 250 ms)"
        )
        print(
            f"  first press (issues) p50 {f50:.0f} ms, p99 {f99:.0f} ms; second press "
            f"(the same certificate) p50 {s50:.0f} ms, p99 {s99:.0f} ms; non-200: {len(errors)}"
        )
        print(
            f"  server CPU per subscriber (issue + copy): {press_cpu * 1000:.1f} ms → "
            f"{len(ids)} subscribers need {press_cpu * len(ids) / 2:.2f} s of 2 free cores; "
            f"the load generator's own CPU for the burst: {client_cpu * 1000:.0f} ms"
        )
        counts = certificates_per_application(url)
        twice = [a for a, n in counts.items() if n > 1]
        same = all(len(bodies) == 1 for bodies in pdfs.values())
        print(
            f"  certificates: {sum(counts.values())} for {len(ids)} applications; issued twice: "
            f"{len(twice)}; both presses gave the same bytes: {'yes' if same else 'NO'}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if args.pg and url.startswith("postgresql"):
            drop_pg_database(args.pg, url)


if __name__ == "__main__":
    main()
