"""Fault tests' tools: counting rows, a generated population, a small tmpfs."""

from __future__ import annotations

import contextlib
import csv
import os
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ALPH = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def count(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def write_population(folder: Path, n: int, *, seed: int = 7) -> tuple[Path, Path]:
    """n group-I abonents and one application each (external ids make re-runs idempotent)."""
    rng = random.Random(seed)
    abonents, apps = folder / "abonents.csv", folder / "apps.csv"
    with (
        abonents.open("w", newline="", encoding="utf-8") as a,
        apps.open("w", newline="", encoding="utf-8") as b,
    ):
        wa, wb = csv.writer(a), csv.writer(b)
        wa.writerow(["code", "group", "owner_name", "owner_fin", "address"])
        wb.writerow(["abonent", "fin", "phone", "email", "channel", "external_id", "submitted_at"])
        for i in range(1, n + 1):
            fin = "".join(rng.choice(ALPH) for _ in range(7))
            wa.writerow([f"{i:010d}", "I", f"Abonent {i}", fin, f"Bakı, küçə {i}"])
            wb.writerow([f"{i:010d}", fin, "0501234567", f"u{i}@example.az", "egov", f"F-{i}", ""])
    return abonents, apps


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
