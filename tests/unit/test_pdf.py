"""The certificate renderer: glyphs, batches in one process, layout."""

from __future__ import annotations

from dataclasses import replace
from io import BytesIO

import pytest

from arayis_cli.certificate.pdf import CertificateData, render
from arayis_cli.formats import fmt_date
from tests.helpers.pdf import BASE, modules_covered, text_of


def test_batch_in_one_process_with_a_glyph_the_first_did_not_need() -> None:
    # The first certificate fills the per-process subset cache; the second needs glyphs
    # outside it. Today: MissingGlyphsSubsettingError from fontTools.
    render(BASE)
    later = replace(BASE, number="AR-2026-000002-8", address="Berliner Straße 5, Ärztehaus")
    assert "Berliner Straße 5, Ärztehaus" in text_of(render(later))
    # and the first kind still renders after the second (the shared font was not altered)
    assert "Xocalı prospekti 134" in text_of(render(BASE))


# -- what the font shows, and what it refuses ----------------------------------------------

AZERBAIJANI_CYRILLIC = "ӘәҸҹҒғҺһӨөҮүЈј"


def test_the_font_covers_what_bakus_registries_hold() -> None:
    from arayis_cli.certificate.pdf import missing_characters

    wanted = "".join(
        chr(c)
        for lo, hi in (
            (0x20, 0x7E),  # Basic Latin
            (0xA0, 0xFF),  # Latin-1 Supplement
            (0x100, 0x17F),  # Latin Extended-A
            (0x180, 0x24F),  # Latin Extended-B
            (0x400, 0x4FF),  # Cyrillic
        )
        for c in range(lo, hi + 1)
    )
    punctuation = "–—‘’‚“”„•…‰‹›№€₽₺₸"
    assert missing_characters(wanted + AZERBAIJANI_CYRILLIC + "₼ƏəİıĞğŞş" + punctuation) == []


def test_missing_characters_are_named_once_each() -> None:
    from arayis_cli.certificate.pdf import missing_characters

    assert missing_characters("Bakı 😀 中 😀\u00a0\u2003ok") == ["U+1F600 '😀'", "U+4E2D '中'"]


def test_render_refuses_a_character_it_cannot_show() -> None:
    from arayis_cli.errors import ExitCode, InvalidInput

    with pytest.raises(InvalidInput) as refused:
        render(replace(BASE, owner_name="Ali 😀", address="Bakı, 中山路 5"))
    assert refused.value.exit_code == ExitCode.INVALID_INPUT
    message = refused.value.message
    assert "U+1F600 '😀' in the owner name" in message
    assert "U+4E2D '中', U+5C71 '山'" in message and "in the address" in message
    assert refused.value.extra["characters"] == ["U+1F600", "U+4E2D", "U+5C71", "U+8DEF"]


def test_cyrillic_and_the_manat_sign_are_printed_not_dropped(caplog) -> None:
    owner = "Гасанов Әли Ҹаһангир оғлу"
    address = "Bakı, Nizami küç. 5 — icarə 12,50 ₼, Ünvan Ä ß"
    with caplog.at_level("WARNING"):
        text = text_of(render(replace(BASE, owner_name=owner, address=address)))
    assert owner in text and address in text
    assert not [r for r in caplog.records if "missing" in r.getMessage()]


# -- layout: nothing overlaps, the QR scans ------------------------------------------------

ADDRESS_200 = ("Bakı şəhəri, Xətai rayonu, Xocalı prospekti 134, mənzil 86, " * 4)[:200]
ADDRESS_500 = ("Bakı şəhəri, Nərimanov rayonu, Ağa Neymətulla küçəsi 22, mənzil 56; " * 9)[:500]
OWNER_100 = ("Süleymanova-Həsənzadə Gülnarə Əbülfəz qızı " * 3)[:100]
LAYOUTS = {
    "short": BASE,
    "address 200": replace(BASE, address=ADDRESS_200),
    "address 500": replace(BASE, address=ADDRESS_500),
    "owner 100, address 500": replace(BASE, owner_name=OWNER_100, address=ADDRESS_500),
    "one unbroken word": replace(BASE, address="Ə" * 240, owner_name="X" * 100),
    "long organisation and operator": replace(
        BASE,
        organisation=("Azərbaycan Su Təchizatı və Kanalizasiya Açıq Səhmdar Cəmiyyəti " * 3),
        operator="leyla.aliyeva.bas.mutexessis.xetai.rayonu" * 2,
    ),
}

Box = tuple[float, float, float, float]  # left, bottom, right, top in PDF points


def _overlap(a: Box, b: Box, slack: float = 0.0) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > -slack and min(a[3], b[3]) - max(a[1], b[1]) > -slack


def _pages(pdf: bytes) -> list[tuple[list[Box], list[tuple[str, Box]], tuple[float, float]]]:
    """Per page: its text line boxes, the QR codes found on it (text, box), its size."""
    import pypdfium2 as pdfium
    import zxingcpp

    scale = 3
    pages = []
    doc = pdfium.PdfDocument(pdf)
    for page in doc:
        width, height = page.get_size()
        text = page.get_textpage()
        lines = [tuple(text.get_rect(i)) for i in range(text.count_rects())]
        codes = []
        for found in zxingcpp.read_barcodes(page.render(scale=scale).to_pil()):
            p = found.position
            xs = [c.x / scale for c in (p.top_left, p.top_right, p.bottom_left, p.bottom_right)]
            ys = [c.y / scale for c in (p.top_left, p.top_right, p.bottom_left, p.bottom_right)]
            codes.append((found.text, (min(xs), height - max(ys), max(xs), height - min(ys))))
        pages.append((lines, codes, (width, height)))
    doc.close()
    return pages


def _text_box(pdf: bytes, needle: str) -> Box:
    """The box (PDF points) of the first text line holding ``needle``."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        text = doc[0].get_textpage()
        for i in range(text.count_rects()):
            box = tuple(text.get_rect(i))
            if needle in text.get_text_bounded(*box):
                return box  # type: ignore[return-value]
    finally:
        doc.close()
    raise AssertionError(f"{needle!r} not on the page")


@pytest.mark.parametrize(
    "data",
    [
        replace(BASE, operator="Məmmədova Leyla Arif qızı", operator_title="baş mütəxəssis"),
        replace(BASE, operator=""),
    ],
    ids=["registered name", "blank for a handwritten name"],
)
def test_name_seal_and_address_where_a_notary_expects_them(data: CertificateData) -> None:
    data = replace(data, verify_address="https://arayis.azersu.az/verify")
    pdf = render(data)
    text = text_of(pdf)
    if data.operator:
        assert "Məsul şəxs: Məmmədova Leyla Arif qızı, baş mütəxəssis" in text
    else:
        assert "Məsul şəxs: ______" in text and "(ad, soyad)" in text
    assert "leyla" not in text.replace("Leyla", "")  # never a login
    [(_, [(_, qr)], _)] = _pages(pdf)
    name = _text_box(pdf, "Məsul şəxs")
    signature = _text_box(pdf, "İmza")
    seal = _text_box(pdf, "M.Y.")
    address = _text_box(pdf, "Yoxlama ünvanı: https://arayis.azersu.az/verify")
    # The signature under the name; the seal to their right, at their height.
    assert signature[3] <= name[1] and seal[0] > max(name[2], signature[2])
    assert seal[1] < name[3] and seal[3] > signature[1]
    # The address in words right under the QR code, starting at its left edge.
    assert address[3] <= qr[1] and qr[1] - address[3] < 20 and abs(address[0] - qr[0]) < 12


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_nothing_overlaps_and_the_qr_scans(name: str) -> None:
    data = LAYOUTS[name]
    pdf = render(data)
    pages = _pages(pdf)
    codes = [code for _, found, _ in pages for code in found]
    assert [text for text, _ in codes] == [data.verify_url]  # exactly one QR, and it reads
    quiet = 2 * 40 / 61 * 72 / 25.4  # the 2-module quiet zone, in points
    for lines, found, (width, height) in pages:
        for i, line in enumerate(lines):
            assert line[0] >= 0 and line[2] <= width and line[1] >= 0 and line[3] <= height
            for _, qr in found:
                assert not _overlap(line, qr, slack=quiet), (name, line, qr)
            for other in lines[i + 1 :]:
                assert not _overlap(line, other), (name, line, other)
        for _, qr in found:
            assert qr[1] > 60 and qr[3] < height - 40  # clear of the footer and the top edge
    text = text_of(pdf)
    if " " in data.address:  # wrapped at spaces: the whole address reads back in order
        assert data.address in text and data.owner_name in text
    assert f"{fmt_date(data.valid_until)} tarixinədək etibarlıdır" in text


def test_a_long_certificate_continues_on_a_numbered_page() -> None:
    pdf = render(LAYOUTS["owner 100, address 500"])
    from pypdf import PdfReader

    pages = [" ".join(p.extract_text().split()) for p in PdfReader(BytesIO(pdf)).pages]
    assert len(pages) == 2
    assert "səhifə 1 • davamı növbəti səhifədə" in pages[0]
    assert "ARAYIŞ № AR-2026-000001-5 (davamı)" in pages[1] and "səhifə 2" in pages[1]
    single = " ".join(text_of(render(BASE)).split())
    assert "səhifə" not in single and "AR-2026-000001-5 • arayis" in single


def test_the_qr_code_is_one_vector_path_of_its_modules() -> None:
    """The QR code is drawn as vectors (crisp at any zoom, no image): one path of
    rectangles in module units, filled once (no seams between separately filled
    rectangles), covering every dark module of the symbol once and no light one."""
    import re

    from pypdf import PdfReader

    from arayis_cli.certificate.qr import matrix

    page = PdfReader(BytesIO(render(BASE))).pages[0]
    content = page.get_contents().get_data().decode("latin-1")
    assert "/XObject" not in page["/Resources"] and " BI " not in content
    paths = re.findall(r" cm\n((?:\d+ \d+ \d+ \d+ re\n)+)f Q", content)
    assert len(paths) == 1  # one path, one fill
    rects = [tuple(map(int, line.split()[:4])) for line in paths[0].splitlines()]
    symbol = matrix(BASE.verify_url)
    assert modules_covered(rects, symbol) == [list(row) for row in symbol]


@pytest.mark.parametrize("version", range(1, 41))
def test_the_qr_path_covers_the_dark_modules_of_every_version(version: int) -> None:
    """Every symbol size (segno's rows are bytearrays), and rows all light, all dark, or
    dark at either end."""
    import segno

    from arayis_cli.certificate.pdf import qr_path

    symbol = segno.make(f"v{version}", version=version, error="l", mask=0).matrix
    width = len(symbol)
    made_up = [bytes(width), bytes([1]) * width, bytes([1] + [0] * (width - 2) + [1])]
    for rows in (symbol, [bytes(row) for row in symbol], made_up):
        rects = [tuple(map(int, line.split()[:4])) for line in qr_path(rows).splitlines()]
        assert all(line.endswith(" 1 re") for line in qr_path(rows).splitlines())
        assert modules_covered(rects, rows) == [list(row) for row in rows]
