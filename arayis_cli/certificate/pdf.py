"""One A4 page in Azerbaijani, real text in an embedded DejaVu Sans subset, with a QR code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

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


def render(data: CertificateData) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_creator("arayis")
    pdf.set_title(f"{TITLE} {data.number}")
    pdf.set_author(data.organisation)
    pdf.set_creation_date(data.issued_at)
    pdf.set_subject(f"{TITLE} {SUBTITLE}")
    pdf.set_keywords(f"arayis-token:{data.token}")
    pdf.set_auto_page_break(False)
    pdf.set_margins(20, 18, 20)
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans-az.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold-az.ttf"))
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
    pdf.multi_cell(width, 6, SUBTITLE, align="C", new_x="LMARGIN", new_y="NEXT")
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
        pdf.multi_cell(width - label_w, 7, value, new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(max(pdf.get_y(), y + 7))
    pdf.ln(6)

    pdf.set_font("DejaVu", "", 11)
    statement = (
        f"Təsdiq edilir ki, {data.address} ünvanı üzrə {data.abonent_code} kodlu abonentin "
        f"{fmt_datetime(data.issued_at)} tarixinə su təchizatı və tullantı sularının axıdılması "
        "xidmətlərindən istifadəyə görə borcu yoxdur."
    )
    pdf.multi_cell(width, 6.5, statement, align="J", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.multi_cell(
        width,
        6.5,
        "Arayış mülkiyyət hüququnun dəyişdirilməsi ilə bağlı təqdim edilmək üçün verilir.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 11)
    pdf.multi_cell(
        width,
        6.5,
        f"Arayış {fmt_date(data.valid_until)} tarixinədək etibarlıdır.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
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
    pdf.multi_cell(
        width - 46,
        4.5,
        f"QR kodu telefonla oxudun və ya arayışın nömrəsini yoxlama xidmətinə daxil edin: "
        f"{data.number}",
        new_x="LMARGIN",
        new_y="NEXT",
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
    return bytes(pdf.output())


def _draw_qr(pdf: object, content: str, *, x: float, y: float, size: float) -> None:
    """The QR code as vector rectangles (crisp at any zoom, no image to embed)."""
    import segno

    qr = segno.make(content, error="m", micro=False)
    matrix = list(qr.matrix_iter(scale=1, border=2))
    module = size / len(matrix)
    pdf.set_fill_color(0, 0, 0)  # type: ignore[attr-defined]
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                pdf.rect(  # type: ignore[attr-defined]
                    x + start * module, y + r * module, (c - start) * module, module, style="F"
                )
            else:
                c += 1
