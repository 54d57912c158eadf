"""What the hash chain costs: bulk intake, decisions and printing, before and after.

    python benchmarks/chain_cost.py                  # "before" = the code of git rev main
    python benchmarks/chain_cost.py --base-rev 659d5f3 --intake 20000 --decisions 20
    python benchmarks/chain_cost.py --before /tmp/before    # a checkout with its own venv

"Before" runs the same commands with the code of ``--base-rev`` (exported with ``git
archive`` into a temporary folder and put first on PYTHONPATH; the installed packages are
the same) or, with ``--before DIR``, with a checkout and its own ``DIR/.venv`` (made with
``git worktree add DIR REV``, then ``python3 -m venv .venv && .venv/bin/pip install -e .``
in it: the dependencies as that commit declared them); "after" the working tree. Each
case runs alternately before/after, three rounds, and prints medians, so a busy moment
on a shared machine slows both alike; each figure is given by wall time and by the CPU
time of the arayis processes (which a shared machine's load hardly changes: it says what
a free core would do). SQLite only.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from run import fill_sqlite, intake_file  # noqa: E402

ENTRY = "from arayis_cli.cli.app import main; main()"


def export(rev: str, dest: Path) -> Path:
    data = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "arayis_cli"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest


CPU = [0.0]  # CPU seconds (user + system) of every arayis process run so far


def python_of(src: Path) -> str:
    """The interpreter for the code in ``src``: its own virtual environment if it has one
    (a checkout made for the comparison), else this one."""
    own = src / ".venv" / "bin" / "python"
    return str(own) if src != REPO and own.exists() else sys.executable


def imported_from(src: Path) -> str:
    """Where the runs for ``src`` import arayis_cli from (checked before measuring)."""
    probe = "import arayis_cli; print(arayis_cli.__file__)"
    return subprocess.run(
        [python_of(src), "-c", probe],
        env={**os.environ, "PYTHONPATH": str(src)},
        check=True,
        capture_output=True,
        text=True,
        cwd=src,
    ).stdout.strip()


def arayis(src: Path, *args: str, env: dict[str, str]) -> str:
    # Run in ``src``: ``python -c`` puts the current directory first on sys.path, before
    # PYTHONPATH, so from the repository's root every run would import the working tree.
    run_env = {**env, "PYTHONPATH": str(src)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [python_of(src), "-c", ENTRY, *args],
        env=run_env,
        check=True,
        capture_output=True,
        cwd=src,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[0] += (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out.stdout.decode()


def cpu_since(mark: float) -> float:
    return CPU[0] - mark


def intake(src: Path, work: Path, n: int, env: dict[str, str]) -> float:
    db = work / "intake.db"
    url = f"sqlite:///{db}"
    arayis(src, "--db", url, "db", "upgrade", env=env)
    fill_sqlite(db, 0, n)
    csv_path = work / "intake.csv"
    intake_file(csv_path, n)
    start, mark = time.perf_counter(), CPU[0]
    result = json.loads(
        arayis(src, "--db", url, "submit", "--from-file", str(csv_path), "--json", env=env)
    )
    elapsed = time.perf_counter() - start
    assert result["created"] == n, result
    return n / elapsed, n / cpu_since(mark)


def _new_apps(db: Path, n: int, status: str) -> list[int]:
    con = sqlite3.connect(db)
    con.executemany(
        "INSERT INTO application (abonent_code, fin, phone, email, channel, submitted_at, due_on,"
        " status, operator, decided_at, created_by, version) VALUES (?, 'AAAAAAA', "
        "'+994501234567', 'a@example.az', 'egov', '2026-11-20 06:00:00.000000', '2026-11-25', "
        "?, 'bench', NULL, 'bench', 1)",
        ((f"{i:010d}", status) for i in range(1, n + 1)),
    )
    con.commit()
    ids = [row[0] for row in con.execute("SELECT id FROM application ORDER BY id")]
    con.close()
    return ids


def decisions(src: Path, work: Path, n: int, env: dict[str, str]) -> float:
    """Median milliseconds of one decision command (review, then approve with --override
    since the benchmark's applications carry no documents), each its own process."""
    db = work / "decide.db"
    url = f"sqlite:///{db}"
    arayis(src, "--db", url, "db", "upgrade", env=env)
    fill_sqlite(db, 0, n)
    ids = _new_apps(db, n, "new")
    times, cpus = [], []
    for app_id in ids:
        for args in (("review", str(app_id)), ("approve", str(app_id), "--override", "bench")):
            start, mark = time.perf_counter(), CPU[0]
            arayis(src, "--db", url, *args, "--json", env=env)
            times.append(time.perf_counter() - start)
            cpus.append(cpu_since(mark))
    return statistics.median(times) * 1000, statistics.median(cpus) * 1000


def printing(src: Path, work: Path, n: int, env: dict[str, str]) -> float:
    db = work / "print.db"
    url = f"sqlite:///{db}"
    arayis(src, "--db", url, "db", "upgrade", env=env)
    fill_sqlite(db, 0, n)
    con = sqlite3.connect(db)
    con.executemany(
        "INSERT INTO application (abonent_code, fin, phone, email, channel, submitted_at, due_on,"
        " status, operator, decided_at, created_by, version) VALUES (?, 'AAAAAAA', "
        "'+994501234567', 'a@example.az', 'egov', '2026-11-20 06:00:00.000000', '2026-11-25', "
        "'completed', 'bench', '2026-11-21 06:00:00.000000', 'bench', 1)",
        ((f"{i:010d}",) for i in range(1, n + 1)),
    )
    con.commit()
    con.close()
    out = work / "certs"
    out.mkdir()
    start, mark = time.perf_counter(), CPU[0]
    arayis(src, "--db", url, "print", "--all-ready", "--out-dir", str(out), "--json", env=env)
    return n / (time.perf_counter() - start), n / cpu_since(mark)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-rev", default="main")
    parser.add_argument(
        "--before", type=Path, help="a checkout of the base with its own .venv (not --base-rev)"
    )
    parser.add_argument("--intake", type=int, default=20_000)
    parser.add_argument("--decisions", type=int, default=15)
    parser.add_argument("--print", type=int, default=300, dest="prints")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base = args.before.resolve() if args.before else export(args.base_rev, root / "base")
        sources = {"before": base, "after": REPO}
        for label, src in sources.items():
            code = imported_from(src)
            assert Path(code).is_relative_to(src), (label, src, code)
            print(f"{label}: {src} ({python_of(src)}), runs {code}")
        cases = {
            "submit --from-file (rows/s)": lambda s, w, e: intake(s, w, args.intake, e),
            "review/approve (ms per command)": lambda s, w, e: decisions(s, w, args.decisions, e),
            "print --all-ready (certificates/s)": lambda s, w, e: printing(s, w, args.prints, e),
        }
        for name, case in cases.items():
            figures: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
            for round_ in range(args.rounds):
                for label, src in sources.items():
                    work = root / f"{label}-{round_}-{len(figures[label])}-{abs(hash(name))}"
                    work.mkdir()
                    env = {
                        **os.environ,
                        "ARAYIS_HOME": str(work / "home"),
                        "ARAYIS_OPERATOR": "bench",
                        "ARAYIS_LANG": "en",
                    }
                    figures[label].append(case(src, work, env))
            for i, clock in enumerate(("wall", "CPU")):
                before = statistics.median(f[i] for f in figures["before"])
                after = statistics.median(f[i] for f in figures["after"])
                print(
                    f"{name:<38} {clock:<4} before {before:>10,.1f}   after {after:>10,.1f}   "
                    f"after/before {after / before:.2f}",
                    flush=True,
                )
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    main()
