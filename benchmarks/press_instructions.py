"""Instructions one "Çap et" subscriber costs (both presses), counted by valgrind.

    .venv/bin/python benchmarks/press_instructions.py            # both presses, per subscriber
    .venv/bin/python benchmarks/press_instructions.py --render   # one certificate drawn

Time on a shared VM swings by a quarter from one minute to the next (``press_cpu.py``
gave 7.2 and 9.8 ms for the same code a minute apart); the number of instructions a press
executes does not. So a change to the press path is judged here: valgrind's cachegrind
counts the instructions of a run pressing ``--small`` subscribers and of one pressing
``--large``, and the difference divided by the difference in subscribers is what one more
subscriber costs (Python's start-up, the imports and the warm-up cancel out). Every run has
``PYTHONHASHSEED=0`` (hash randomisation moves the count by about 1 %); two runs of the same
code then agree within about 0.1 %.

Each run presses on a copy of one register built beforehand (the same as ``api_load.py``
and ``press_cpu.py``: completed applications of abonents owing nothing), in-process
(``services.portal.press_print``, no HTTP), at a fixed moment; the first application is
pressed twice first (fonts parsed, statements compiled, then ``gc.freeze``, as in a running
worker: the same in both runs, so it cancels out). It measures the ``arayis_cli`` of the
checkout it is in (named in its output), whatever the virtualenv has installed. Needs
``valgrind`` on the PATH; a run takes about a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: The runs' environment: the same string hashes in every run (see the docstring), and the
#: arayis_cli of this checkout first on the path.
FIXED = {"PYTHONHASHSEED": "0", "PYTHONPATH": os.pathsep.join([str(REPO), str(HERE)])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--render", action="store_true", help="count one certificate drawn")
    parser.add_argument("--small", type=int, default=5, help="subscribers in the first run")
    parser.add_argument("--large", type=int, default=25, help="subscribers in the second run")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--register", help=argparse.SUPPRESS)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # temporary folders removed
    if args.child is not None:
        child(args.child, Path(args.register), render_only=args.render)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("press_instructions: valgrind is not installed (apt install valgrind)")
    if not 0 < args.small < args.large:
        raise SystemExit("press_instructions: --small must be above 0 and below --large")
    work = Path(tempfile.mkdtemp(prefix="arayis-press-instructions-"))
    try:
        register = work / "register"
        register.mkdir()
        built = subprocess.run(
            [sys.executable, __file__, "--child", "0", "--register", str(register)],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **FIXED, "ARAYIS_BENCH_BUILD": str(args.large + 1)},
        )
        if built.returncode != 0:
            raise SystemExit(f"press_instructions: building the register failed\n{built.stderr}")
        small = count(register, args.small, render=args.render)
        large = count(register, args.large, render=args.render)
        what = "one certificate drawn" if args.render else "one subscriber, both presses"
        per = (large - small) / (args.large - args.small) / 1e6
        print(
            f'"Çap et" in instructions (valgrind, Python {sys.version.split()[0]}, '
            f"arayis_cli of {REPO} at {revision()})"
        )
        print(f"  {what}: {per:.2f} M instructions")
        print(
            f"  (runs of {args.small} and {args.large}: "
            f"{small / 1e6:,.0f} M and {large / 1e6:,.0f} M instructions)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def revision() -> str:
    """The checkout's commit (and ``+changes`` when its files differ from it)."""
    git = ["git", "-C", str(REPO)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        return "an unknown revision"
    dirty = subprocess.run([*git, "diff", "--quiet", "HEAD"], capture_output=True).returncode
    return head.stdout.strip() + ("+changes" if dirty else "")


def count(register: Path, n: int, *, render: bool) -> int:
    """Instructions of one child run pressing ``n`` subscribers (or drawing ``n``)."""
    command = [
        *("valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"),
        *(sys.executable, __file__, "--child", str(n), "--register", str(register)),
        *(["--render"] if render else []),
    ]
    run = subprocess.run(
        command, capture_output=True, text=True, check=False, env={**os.environ, **FIXED}
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", run.stderr)
    if run.returncode != 0 or found is None:
        raise SystemExit(f"press_instructions: the counted run failed\n{run.stderr[-3000:]}")
    return int(found.group(1).replace(",", ""))


def child(n: int, register: Path, *, render_only: bool) -> None:
    """Build the register (``n`` = 0), or press ``n`` subscribers twice on a copy of it."""
    build = os.environ.get("ARAYIS_BENCH_BUILD")
    if n == 0 and build:
        from api_load import build_register  # this folder (on the path: FIXED)

        env, url, _key, ids = build_register(register, int(build))
        meta = {"env": {k: v for k, v in env.items() if k.startswith("ARAYIS_")}, "ids": ids}
        (register / "meta.json").write_text(json.dumps({**meta, "url": url}))
        return
    meta = json.loads((register / "meta.json").read_text())
    work = Path(tempfile.mkdtemp(prefix="arayis-press-run-"))
    try:
        copy = work / "register"
        shutil.copytree(register, copy)
        os.environ.update({k: v.replace(str(register), str(copy)) for k, v in meta["env"].items()})
        url = meta["url"].replace(str(register), str(copy))
        press_or_draw(url, meta["ids"], n, render_only=render_only)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def press_or_draw(url: str, ids: list[int], n: int, *, render_only: bool) -> None:
    from datetime import UTC, datetime
    from typing import Any

    from arayis_cli.config import Settings
    from arayis_cli.db import Engines, WriteTurns
    from arayis_cli.services.portal import press_print
    from arayis_cli.services.printing import Issuer
    from arayis_cli.web.app import settle

    engines = Engines()  # the worker's, as in arayis serve
    turns = WriteTurns(url)
    issuer = Issuer.of(Settings.from_env())
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a fixed moment: the same work every run

    def sessions(*, write: bool = True) -> Any:
        return engines.session(url, write=write)

    def press(app_id: int) -> Any:
        return press_print(sessions, app_id, now=at, actor="api:bench", issuer=issuer, turns=turns)

    import arayis_cli.certificate.pdf as pdf_module

    drawn: list[Any] = []
    real_render = pdf_module.render

    def keeping(data: Any) -> bytes:
        drawn.append(data)
        return real_render(data)

    pdf_module.render = keeping  # type: ignore[assignment]
    press(ids[0])
    press(ids[0])
    pdf_module.render = real_render  # type: ignore[assignment]
    settle()  # as a serve worker does once it is warm (gc.freeze)
    if render_only:  # the first press's certificate, with n other numbers (other QR codes)
        from dataclasses import replace

        base = drawn[0]
        for k in range(n):
            number = f"{base.number[:-8]}{k + 2:06d}{base.number[-2:]}"
            real_render(replace(base, number=number, verify_url=base.verify_url + f"{k:04d}"))
        return
    for app_id in ids[1 : 1 + n]:
        press(app_id)
        press(app_id)
    engines.dispose()


if __name__ == "__main__":
    main()
