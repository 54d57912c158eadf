"""Drawing certificates does not keep what it drew: a server or a batch print issues
thousands in one process."""

from __future__ import annotations

import gc
import tracemalloc


def test_certificates_drawn_leave_nothing_behind() -> None:
    from arayis_cli.certificate.pdf import render
    from arayis_cli.services.printing import _sample
    from tests.helpers import issuer

    data = _sample(issuer())
    for _ in range(20):  # fonts parsed, shapes learnt, caches filled
        render(data)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(200):
            render(data)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # fpdf2's caches kept every document's glyph map: ≈ 46 KB a certificate, 9 MB here.
    assert grown < 1_000_000, f"{grown:,} bytes kept by 200 certificates"
