"""CPU time of one "Çap et" press in-process (no HTTP): the server's own work per press.

    .venv/bin/python benchmarks/press_cpu.py                  # 50 applications, two presses each
    .venv/bin/python benchmarks/press_cpu.py --profile issue  # cProfile of the first presses

Builds the same register as ``api_load.py`` (completed applications of abonents owing
nothing), warms one press on an application of its own (fonts parsed, statements compiled,
as in a running server), then presses "Çap et" for each application twice
(``services.portal.press_print``): the first press issues, the second hands out the same
certificate. Prints the CPU milliseconds per press of each kind (``time.process_time``,
independent of what else the machine runs) and the wall time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api_load import build_register  # this folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=50, help="(max 200)")
    parser.add_argument("--profile", choices=("issue", "copy"), help="cProfile one kind")
    parser.add_argument(
        "--no-settle", action="store_true", help="skip the worker's gc.freeze() after warm-up"
    )
    parser.add_argument("--top", type=int, default=30, help="profile lines shown")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="arayis-press-bench-"))
    try:
        _env, url, _key, ids = build_register(work, max(2, min(args.applications, 200)) + 1)
        from arayis_cli.config import Settings
        from arayis_cli.db import Engines, WriteTurns
        from arayis_cli.services.portal import press_print
        from arayis_cli.services.printing import Issuer

        engines = Engines()  # the worker's, as in arayis serve
        turns = WriteTurns(url)
        issuer = Issuer.of(Settings.from_env())  # the worker's settings

        def sessions(*, write: bool = True) -> Any:
            return engines.session(url, write=write)

        def press(app_id: int) -> tuple[float, float]:
            cpu, wall = time.process_time(), time.perf_counter()
            pressed = press_print(
                sessions,
                app_id,
                now=datetime.now(UTC),
                actor="api:bench",
                issuer=issuer,
                turns=turns,
            )
            if not pressed.pdf.startswith(b"%PDF"):
                raise SystemExit("not a PDF")
            return time.process_time() - cpu, time.perf_counter() - wall

        import arayis_cli.certificate.pdf as pdf_module

        rendering = [0.0]
        real_render = pdf_module.render

        def timed_render(data: object) -> bytes:
            cpu = time.process_time()
            try:
                return real_render(data)  # type: ignore[arg-type]
            finally:
                rendering[0] += time.process_time() - cpu

        pdf_module.render = timed_render  # type: ignore[assignment]
        held = [0.0]
        real_turn = WriteTurns.__call__

        @contextmanager
        def timed_turn(self: WriteTurns) -> Iterator[None]:
            with real_turn(self):
                start = time.process_time()
                try:
                    yield
                finally:
                    held[0] += time.process_time() - start

        WriteTurns.__call__ = timed_turn  # type: ignore[method-assign,assignment]
        warm, ids = ids[0], ids[1:]
        press(warm)
        press(warm)
        if not args.no_settle:
            from arayis_cli.web.app import settle

            settle()  # as a serve worker does once it is warm (gc.freeze)
        rendering[0] = held[0] = 0.0
        profiler = cProfile.Profile() if args.profile else None
        figures: dict[str, list[tuple[float, float]]] = {"issue": [], "copy": []}
        for kind in ("issue", "copy"):
            if profiler is not None and args.profile == kind:
                profiler.enable()
            figures[kind] = [press(app_id) for app_id in ids]
            if profiler is not None:
                profiler.disable()
        print(f'"Çap et" in-process, {len(ids)} applications, {datetime.now(UTC):%H:%M} UTC')
        for kind, label in (("issue", "first press (issues)"), ("copy", "second press (copy)")):
            cpu = statistics.median(c for c, _w in figures[kind]) * 1000
            wall = statistics.median(w for _c, w in figures[kind]) * 1000
            print(f"  {label:<24} CPU {cpu:6.2f} ms per press (median), wall {wall:6.2f} ms")
        print(f"  of which rendering the PDF: {rendering[0] / len(ids) * 1000:6.2f} ms per issue")
        print(
            f"  CPU holding the write turn (SQLite's one writer, serial across workers): "
            f"{held[0] / len(ids) * 1000:6.2f} ms per subscriber"
        )
        both = sum(c for kind in figures.values() for c, _w in kind) / len(ids) * 1000
        print(f"  per subscriber (both presses): {both:.2f} ms of CPU")
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
