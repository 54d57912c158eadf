"""The certificate renderer: glyphs, batches in one process, layout."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from zoneinfo import ZoneInfo

from arayis_cli.certificate.pdf import CertificateData, render

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
)


def text_of(pdf: bytes) -> str:
    """Every page's extracted text, whitespace collapsed."""
    from pypdf import PdfReader

    reader = PdfReader(BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_batch_in_one_process_with_a_glyph_the_first_did_not_need() -> None:
    # The first certificate fills the per-process subset cache; the second needs glyphs
    # outside it. Today: MissingGlyphsSubsettingError from fontTools.
    render(BASE)
    later = replace(BASE, number="AR-2026-000002-8", address="Berliner Straße 5, Ärztehaus")
    assert "Berliner Straße 5, Ärztehaus" in text_of(render(later))
    # and the first kind still renders after the second (the shared font was not altered)
    assert "Xocalı prospekti 134" in text_of(render(BASE))
