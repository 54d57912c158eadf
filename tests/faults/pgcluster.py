"""A throwaway PostgreSQL cluster owned by one test module, so a test may stop it
(``pg_ctl -m immediate``, as a crash or a pulled plug would) without touching the shared one.

The server refuses to run as root: initdb and pg_ctl run as the ``postgres`` OS user
(as .ci/run does). Tests skip with the reason when that is impossible.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self) -> None:
        pg_bin = _pg_bin()
        if pg_bin is None or not (pg_bin / "pg_ctl").exists():
            pytest.skip("no PostgreSQL server binaries (apt-get install postgresql)")
        if os.geteuid() != 0:
            pytest.skip("starting a throwaway PostgreSQL cluster needs root (runuser postgres)")
        if subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
            pytest.skip("no 'postgres' OS user to run the throwaway cluster as")
        self.bin = pg_bin
        self.dir = Path(tempfile.mkdtemp(prefix="arayis-faults-pg-"))
        shutil.chown(self.dir, "postgres")
        self.port = _free_port()
        self._pg("initdb", "--no-sync", "-A", "trust", "-U", "postgres", "-D", str(self.data))
        self.start()

    @property
    def data(self) -> Path:
        return self.dir / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _pg(self, tool: str, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / tool), *args],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off"
        self._pg(
            "pg_ctl", "-w", "-D", str(self.data), "-l", str(self.dir / "log"), "-o", opts, "start"
        )

    def stop(self) -> None:
        """Like a crash: no checkpoint, every connection cut."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
