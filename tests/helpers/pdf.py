"""A sample certificate's data, the text of a rendered PDF, and the QR modules it covers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from zoneinfo import ZoneInfo

from arayis_cli.certificate.pdf import CertificateData

BAKU = ZoneInfo("Asia/Baku")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BAKU)
BASE = CertificateData(
    organisation='"Azərsu" ASC',
    number="AR-2026-000001-5",
    issued_at=NOW,
    valid_until=date(2026, 12, 25),
    application_id=1,
    submitted_at=NOW,
    abonent_code="0011276516",
    group="I",
    owner_name="Süleymanov Zaur Ağa oğlu",
    owner_fin_masked="6HV***C",
    address="Bakı şəhəri, Xətai rayonu, Xocalı prospekti 134, mənzil 86",
    balance=Decimal("0.00"),
    operator="leyla",
    verify_url="https://arayis.azersu.az/verify/AR-2026-000001-5.1795613996.20261225."
    "0011276516.70639cb946edd8d2.KINKXbAbSg6k57KkyBswTfkgbV_K84x8tdN4it3WZVycUM4bxvnoAqxiuc"
    "mI7UMaZs94XVns3wcTPf4DJklGDA",
    token="x",
    verify_address="https://arayis.azersu.az/verify",
)


def text_of(pdf: bytes) -> str:
    """Every page's extracted text, whitespace collapsed."""
    from pypdf import PdfReader

    reader = PdfReader(BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def modules_covered(
    rects: Iterable[tuple[int, int, int, int]], symbol: Sequence[bytes | bytearray]
) -> list[list[int]]:
    """How many of ``rects`` (column, row, width, height, in modules) cover each module of
    the QR ``symbol``: the symbol itself (0/1) when every dark module is covered once and
    no light one."""
    covered = [[0] * len(row) for row in symbol]
    for col, row, width, height in rects:
        for r in range(row, row + height):
            for c in range(col, col + width):
                covered[r][c] += 1
    return covered
