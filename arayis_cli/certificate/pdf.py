"""One A4 page in Azerbaijani, real text in an embedded DejaVu Sans subset, with a QR code."""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from arayis_cli.formats import fmt_date, fmt_datetime
from arayis_cli.money import money_human

FONT_DIR = Path(__file__).parent / "fonts"
TITLE = "ARAYIŞ"
SUBTITLE = (
    "su təchizatı və tullantı sularının axıdılması xidmətlərindən istifadəyə görə "
    "borcun olmaması haqqında"
)


@dataclass(frozen=True)
class CertificateData:
    organisation: str
    number: str
    issued_at: datetime
    valid_until: date
    application_id: int
    submitted_at: datetime
    abonent_code: str
    group: str
    owner_name: str
    owner_fin_masked: str
    address: str
    balance: Decimal
    operator: str
    verify_url: str
    token: str


FACES = (("", "DejaVuSans-az.ttf"), ("B", "DejaVuSans-Bold-az.ttf"))


def render(data: CertificateData) -> bytes:
    """One certificate as PDF bytes."""
    pdf = _new_document()
    draw_page(pdf, data)
    with _cached_font_subsets():
        return bytes(pdf.output())


def render_pages(pages: list[CertificateData]) -> bytes:
    """Many certificates in one document (a floor for benchmarks: fonts embedded once)."""
    pdf = _new_document()
    for data in pages:
        draw_page(pdf, data)
    with _cached_font_subsets():
        return bytes(pdf.output())


def _new_document() -> Any:
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    for style, filename in FACES:
        if not _reuse_parsed_font(pdf, style, filename):
            pdf.add_font("DejaVu", style, str(FONT_DIR / filename))
            _prime(pdf.fonts.get(f"dejavu{style}"), filename)
    return pdf


# The glyphs every certificate embeds: ASCII, the Azerbaijani letters and the punctuation
# of the page. Text outside it still renders; that certificate just compiles its own subset.
PRIMED = "".join(chr(c) for c in range(0x20, 0x7F)) + "ƏəÇçĞğİıÖöŞşÜü№«»–—‘’“”•…"


def _prime(font: Any, filename: str) -> None:
    """Use the PRIMED glyphs in a fixed order: certificates then embed the same font
    program, which is compiled once per process (see :class:`_CachingSubsetter`)."""
    if font is None or not hasattr(font, "subset"):
        return
    font.ttfont._arayis_source = filename
    for ch in PRIMED:
        font.subset.pick(ord(ch))


_PARSED: dict[str, Any] = {}


def _reuse_parsed_font(pdf: Any, style: str, filename: str) -> bool:
    """Give a new document a copy of a font parsed once per process (parsing both faces
    costs a third of a certificate). Its per-document state is fresh; the parsed font
    program is shared, which is safe because the cached subsetter never changes it."""
    try:
        from fpdf.fonts import SubsetMap, TTFFont

        template = _PARSED.get(filename)
        if template is None:
            from fpdf import FPDF

            scratch = FPDF()
            scratch.add_font("DejaVu", style, str(FONT_DIR / filename))
            template = scratch.fonts[f"dejavu{style}"]
            if not isinstance(template, TTFFont):
                return False
            template.ttfont._arayis_source = filename
            _PARSED[filename] = template
        font = copy.copy(template)
        font.i = len(pdf.fonts) + 1
        font.biggest_size_pt = 0
        font.missing_glyphs = []
        font.subset = SubsetMap(font)
        pdf.fonts[f"dejavu{style}"] = font
        _prime(font, filename)
        return True
    except (ImportError, AttributeError, TypeError):  # fpdf2 changed: parse per document
        pdf.fonts.pop(f"dejavu{style}", None)
        return False


def draw_page(pdf: Any, data: CertificateData) -> None:
    pdf.set_creator("arayis")
    pdf.set_title(f"{TITLE} {data.number}")
    pdf.set_author(data.organisation)
    pdf.set_creation_date(data.issued_at)
    pdf.set_subject(f"{TITLE} {SUBTITLE}")
    pdf.set_keywords(f"arayis-token:{data.token}")
    pdf.set_auto_page_break(False)
    pdf.set_margins(20, 18, 20)
    pdf.add_page()
    width = pdf.epw

    pdf.set_font("DejaVu", "B", 13)
    pdf.cell(width, 7, data.organisation, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    pdf.cell(
        width,
        5,
        "I qrup (əhali) istehlakçılar üçün elektron xidmət",
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_draw_color(40, 90, 160)
    pdf.set_line_width(0.6)
    pdf.line(20, pdf.get_y() + 3, 20 + width, pdf.get_y() + 3)
    pdf.ln(12)

    pdf.set_font("DejaVu", "B", 22)
    pdf.cell(width, 11, TITLE, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 11)
    _paragraph(pdf, width, 6, SUBTITLE, align="C")
    pdf.ln(6)

    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(width / 2, 6, f"№ {data.number}", new_x="RIGHT", new_y="TOP")
    pdf.cell(
        width / 2,
        6,
        f"Tarix: {fmt_datetime(data.issued_at)}",
        align="R",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(5)

    rows = [
        ("Müraciət", f"№ {data.application_id}, {fmt_datetime(data.submitted_at)}"),
        ("Abonent kodu", data.abonent_code),
        ("İstehlakçı qrupu", f"{data.group} qrup (əhali)"),
        ("Mülkiyyətçi", data.owner_name),
        ("FİN", data.owner_fin_masked),
        ("Obyektin ünvanı", data.address),
        ("Balans", money_human(data.balance) + (" (artıq ödəniş)" if data.balance < 0 else "")),
    ]
    label_w = 48
    for label, value in rows:
        pdf.set_font("DejaVu", "B", 10)
        y = pdf.get_y()
        pdf.cell(label_w, 7, label + ":", new_x="RIGHT", new_y="TOP")
        pdf.set_font("DejaVu", "", 10)
        _paragraph(pdf, width - label_w, 7, value, x=pdf.l_margin + label_w)
        pdf.set_y(max(pdf.get_y(), y + 7))
    pdf.ln(6)

    pdf.set_font("DejaVu", "", 11)
    statement = (
        f"Təsdiq edilir ki, {data.address} ünvanı üzrə {data.abonent_code} kodlu abonentin "
        f"{fmt_datetime(data.issued_at)} tarixinə su təchizatı və tullantı sularının axıdılması "
        "xidmətlərindən istifadəyə görə borcu yoxdur."
    )
    _paragraph(pdf, width, 6.5, statement)
    pdf.ln(3)
    _paragraph(
        pdf,
        width,
        6.5,
        "Arayış mülkiyyət hüququnun dəyişdirilməsi ilə bağlı təqdim edilmək üçün verilir.",
    )
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 11)
    _paragraph(pdf, width, 6.5, f"Arayış {fmt_date(data.valid_until)} tarixinədək etibarlıdır.")
    pdf.ln(10)
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(width, 6, f"Məsul şəxs (operator): {data.operator}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(width, 6, "İmza: ____________________", new_x="LMARGIN", new_y="NEXT")

    _draw_qr(pdf, data.verify_url, x=20, y=222, size=40)
    pdf.set_xy(66, 226)
    pdf.set_font("DejaVu", "B", 9)
    pdf.cell(0, 5, "Arayışın həqiqiliyini yoxlayın:", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(66)
    pdf.set_font("DejaVu", "", 8)
    _paragraph(
        pdf,
        width - 46,
        4.5,
        "QR kodu telefonla oxudun və ya arayışın nömrəsini yoxlama xidmətinə daxil edin: "
        f"{data.number}",
        x=66,
    )
    pdf.set_y(275)
    pdf.set_font("DejaVu", "", 7)
    pdf.set_text_color(110, 110, 110)
    pdf.cell(
        width,
        4,
        f"{data.organisation} • {data.number} • arayis",
        align="C",
    )
    pdf.set_text_color(0, 0, 0)


def _paragraph(
    pdf: Any, width: float, height: float, text: str, *, align: str = "L", x: float | None = None
) -> None:
    """Greedy word wrap with one cell per line: fpdf2's multi_cell measures character by
    character and costs more than the rest of the page together."""
    left = pdf.l_margin if x is None else x
    widths = getattr(pdf.current_font, "cw", None)
    if widths is not None:  # the font's advance widths: same figures, a fraction of the cost
        scale = pdf.font_size / 1000

        def measure(word: str) -> float:
            return sum(widths[ord(ch)] for ch in word) * scale

    else:  # pragma: no cover
        measure = pdf.get_string_width
    space = measure(" ")
    lines: list[str] = []
    current: list[str] = []
    used = 0.0
    for word in text.split():
        w = measure(word)
        if current and used + space + w > width:
            lines.append(" ".join(current))
            current, used = [word], w
        else:
            used += (space if current else 0) + w
            current.append(word)
    if current:
        lines.append(" ".join(current))
    for line in lines:
        pdf.set_x(left)
        pdf.cell(width, height, line, align=align, new_x="LMARGIN", new_y="NEXT")


_DARK_RUN = re.compile(rb"\x01+")


def _draw_qr(pdf: Any, content: str, *, x: float, y: float, size: float) -> None:
    """The QR code as vector rectangles in one path (crisp at any zoom, no image)."""
    import segno

    # A fixed mask pattern: choosing the "best" of eight costs more than the rest of the
    # page, and any mask reads fine at this size.
    qr = segno.make(content, error="m", micro=False, mask=0)
    border = 2
    module = size / (len(qr.matrix) + 2 * border)
    runs = [
        (
            x + (border + m.start()) * module,
            y + (border + r) * module,
            (m.end() - m.start()) * module,
        )
        for r, row in enumerate(qr.matrix)
        for m in _DARK_RUN.finditer(bytes(row))
    ]
    if hasattr(pdf, "_out") and hasattr(pdf, "k") and hasattr(pdf, "h"):
        k, page_h = pdf.k, pdf.h
        ops = " ".join(
            f"{rx * k:.2f} {(page_h - ry) * k:.2f} {rw * k:.2f} {-module * k:.2f} re"
            for rx, ry, rw in runs
        )
        pdf._out(f"q 0 g {ops} f Q")
    else:  # pragma: no cover - older fpdf2 without the private writer
        pdf.set_fill_color(0, 0, 0)
        for rx, ry, rw in runs:
            pdf.rect(rx, ry, rw, module, style="F")


_SUBSETS: dict[tuple[str, frozenset[str]], tuple[bytes, dict[str, int]]] = {}


class _CachingSubsetter:
    """Stands in for fontTools' Subsetter inside fpdf2's output for our prepared fonts:
    the same font and glyph set always give the same subset, so it is compiled once per
    process instead of once per certificate (the bulk of the rendering time)."""

    def __init__(self, options: Any) -> None:
        self.options = options
        self.glyphs: frozenset[str] = frozenset()

    def populate(self, glyphs: Any = (), **_: Any) -> None:
        self.glyphs = frozenset(glyphs)

    def subset(self, font: Any) -> None:
        from fontTools import subset as ftsubset

        source = getattr(font, "_arayis_source", None)
        key = (source or "", self.glyphs)
        hit = _SUBSETS.get(key) if source else None
        if hit is None:
            real = ftsubset.Subsetter(self.options)
            real.populate(glyphs=self.glyphs)
            real.subset(font)
            if not source:
                return
            buffer = io.BytesIO()
            font.save(buffer)
            hit = (buffer.getvalue(), {n: font.getGlyphID(n) for n in font.getGlyphOrder()})
            _SUBSETS[key] = hit
        program, glyph_ids = hit
        font.getGlyphID = glyph_ids.__getitem__
        font.save = lambda out, *_a, **_k: out.write(program)


@contextmanager
def _cached_font_subsets() -> Iterator[None]:
    """Let fpdf2's output use :class:`_CachingSubsetter` while one document is written."""
    import fpdf.output as fpdf_output
    from fontTools import subset as ftsubset

    original = getattr(fpdf_output, "ftsubset", None)
    if original is None:  # a future fpdf2 arranged things differently: no cache, same PDF
        yield
        return
    fpdf_output.ftsubset = SimpleNamespace(  # type: ignore[assignment]
        Options=ftsubset.Options, Subsetter=_CachingSubsetter
    )
    try:
        yield
    finally:
        fpdf_output.ftsubset = original
