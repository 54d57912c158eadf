"""The certificate as PDF: A4 pages in Azerbaijani, real text in an embedded Noto Sans subset,
with a QR code to verify it.

The text flows: long names and addresses wrap, and what does not fit continues on another
page (each page carries the certificate number in its footer); the QR block comes after the
text, never under it. A character the embedded font cannot show refuses the print
(:func:`ensure_printable`) instead of leaving a blank in a legal document.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arayis_cli.certificate import fontcache
from arayis_cli.certificate.printable import FACES, FONT_DIR, ensure_printable
from arayis_cli.certificate.printable import missing_characters as missing_characters
from arayis_cli.formats import fmt_date, fmt_datetime
from arayis_cli.money import money_human

if TYPE_CHECKING:
    from collections.abc import Sequence

FAMILY = "NotoSans"
BLACK = (0, 0, 0)
STRONG = (20, 55, 110)  # headings, labels and the validity line
RULE = (40, 90, 160)
TITLE = "ARAYIŞ"
DEMO_MARK = "NÜMUNƏ — etibarsızdır"
DEMO_RED = (200, 30, 30)
SUBTITLE = (
    "su təchizatı və tullantı sularının axıdılması xidmətlərindən istifadəyə görə "
    "borcun olmaması haqqında"
)

# Every certificate's subset starts with these glyphs, in this order: certificates that
# use nothing else embed the same font program, compiled once per process (fontcache).
COMMON = "".join(chr(c) for c in range(0x20, 0x7F)) + "ƏəÇçĞğİıÖöŞşÜü№«»–—‘’“”•…"

# Page geometry, in mm (A4 is 210 × 297).
LEFT, TOP, WIDTH = 20.0, 18.0, 170.0
BOTTOM = 270.0  # no text or QR below this line: the footer lives under it
FOOTER_Y = 278.0
PAGE_END = 290.0  # the footer's last line ends above this
LABEL_W = 48.0  # the label column of the data table
QR_SIZE = 40.0
QR_Y = 222.0  # where the QR block sits when the text leaves room for it
QR_TEXT_X = LEFT + QR_SIZE + 6
SEAL_W = 40.0  # the seal's place, right of the responsible person and the signature


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
    #: The responsible person's display name from the staff register; "" leaves a blank
    #: line for a handwritten name (never a login).
    operator: str
    verify_url: str
    token: str
    operator_title: str = ""
    #: The verification service's address, printed in words under the QR code.
    verify_address: str = ""
    #: A demo sample: marked NÜMUNƏ on every page.
    demo: bool = False


# -- what the font can show ----------------------------------------------------------------


def _printable_fields(data: CertificateData) -> dict[str, str]:
    return {
        "organisation": data.organisation,
        "number": data.number,
        "abonent_code": data.abonent_code,
        "group": data.group,
        "owner_name": data.owner_name,
        "owner_fin": data.owner_fin_masked,
        "address": data.address,
        "operator": f"{data.operator} {data.operator_title}",
        "verify_address": data.verify_address,
    }


# -- documents -----------------------------------------------------------------------------


def render(data: CertificateData) -> bytes:
    """One certificate as PDF bytes."""
    ensure_printable(**_printable_fields(data))
    pdf = _new_document()
    _Certificate(pdf, data).draw()
    return fontcache.output(pdf)


def render_pages(pages: list[CertificateData]) -> bytes:
    """Many certificates in one document (a floor for benchmarks: fonts embedded once)."""
    pdf = _new_document()
    for data in pages:
        ensure_printable(**_printable_fields(data))
        _Certificate(pdf, data).draw()
    return fontcache.output(pdf)


def _new_document() -> Any:
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)  # page breaks are the layout's decision (_Certificate)
    pdf.set_margins(LEFT, TOP, LEFT)
    pdf.set_creator("arayis")
    for style, name in FACES:
        fontcache.add_font(pdf, FAMILY, style, FONT_DIR / name, common=COMMON)
    return pdf


# Widths of words, per font and size: the same words recur on every certificate, and
# fpdf2's get_string_width costs several microseconds a call.
_WIDTHS: dict[tuple[str, float, str], float] = {}
_WIDTHS_KEPT = 50_000


def _width(pdf: Any, word: str) -> float:
    key = (pdf.font_style, pdf.font_size_pt, word)
    width = _WIDTHS.get(key)
    if width is None:
        if len(_WIDTHS) >= _WIDTHS_KEPT:
            _WIDTHS.clear()
        width = _WIDTHS[key] = pdf.get_string_width(word)
    return width


def wrap(pdf: Any, text: str, width: float) -> list[str]:
    """Greedy word wrap in the current font; a word wider than a line is cut where it
    must be. fpdf2's multi_cell measures character by character and costs more than the
    rest of the page together."""
    space = _width(pdf, " ")
    lines: list[str] = []
    current: list[str] = []
    used = 0.0
    for word in text.split():
        w = _width(pdf, word)
        while w > width:  # a long unbroken word: cut it to the line
            if current:
                lines.append(" ".join(current))
                current, used = [], 0.0
            cut = len(word) - 1
            while cut > 1 and _width(pdf, word[:cut]) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
            w = _width(pdf, word)
        if current and used + space + w > width:
            lines.append(" ".join(current))
            current, used = [word], w
        else:
            used += (space if current else 0) + w
            current.append(word)
    if current:
        lines.append(" ".join(current))
    return lines


class _Certificate:
    """Lays one certificate out top to bottom; starts a page where the next line or block
    would cross :data:`BOTTOM`."""

    def __init__(self, pdf: Any, data: CertificateData) -> None:
        self.pdf = pdf
        self.data = data
        self.page = 0  # pages of this certificate so far
        self.y = TOP

    # -- pages

    def _start_page(self) -> None:
        pdf = self.pdf
        if self.page:
            self._footer(continued=True)
        pdf.add_page()
        self.page += 1
        self.y = TOP
        if self.data.demo:
            self._demo_mark()
        if self.page > 1:  # a continuation names what it continues
            self._font(9, strong=True)
            self._line(f"{TITLE} № {self.data.number} (davamı)", LEFT, WIDTH, 5)
            pdf.set_draw_color(*RULE)
            pdf.set_line_width(0.3)
            pdf.line(LEFT, self.y + 1, LEFT + WIDTH, self.y + 1)
            self.y += 5

    def _demo_mark(self) -> None:
        """A sample's mark: a red line at the top of the page and a faint one across it."""
        pdf = self.pdf
        self._font(12)
        pdf.set_text_color(*DEMO_RED)
        self._draw(DEMO_MARK, LEFT, WIDTH, 6.0, 6, "C")
        self._font(44)
        pdf.set_text_color(246, 206, 206)
        with pdf.rotation(35, 105, 160):
            self._draw(DEMO_MARK, 0, 210, 150, 20, "C")
        pdf.set_text_color(*BLACK)

    def _footer(self, *, continued: bool) -> None:
        pdf = self.pdf
        data = self.data
        parts = [data.organisation, data.number, "arayis"]
        if data.demo:
            parts.insert(0, DEMO_MARK)
        if continued or self.page > 1:
            parts.append(f"səhifə {self.page}")
        if continued:
            parts.append("davamı növbəti səhifədə")
        self._font(7)
        pdf.set_text_color(110, 110, 110)
        lines = wrap(pdf, " • ".join(parts), WIDTH)
        first = min(FOOTER_Y, PAGE_END - 3.5 * len(lines))  # a long name still fits, whole
        for i, line in enumerate(lines):
            self._draw(line, LEFT, WIDTH, first + 3.5 * i, 3.5, align="C")
        pdf.set_text_color(0, 0, 0)

    def _room(self, height: float) -> None:
        """Make sure ``height`` mm fit above :data:`BOTTOM`, starting a page if not."""
        if self.y + height > BOTTOM:
            self._start_page()

    # -- text

    def _font(self, size: float, *, strong: bool = False) -> None:
        """One face; emphasis by size and colour (see FACES for why not bold)."""
        self.pdf.set_font(FAMILY, "", size)
        self.pdf.set_text_color(*(STRONG if strong else BLACK))

    def _draw(self, text: str, x: float, w: float, y: float, h: float, align: str = "L") -> None:
        """One line of text in the box (x, y, w, h), vertically centred like fpdf2's cell."""
        pdf = self.pdf
        if align == "C":
            x += (w - self._span(text)) / 2
        elif align == "R":
            x += w - self._span(text)
        pdf.text(x, y + 0.5 * h + 0.3 * pdf.font_size, text)

    def _span(self, text: str) -> float:
        pdf = self.pdf
        words = text.split(" ")
        return sum(_width(pdf, w) for w in words) + _width(pdf, " ") * (len(words) - 1)

    def _line(self, text: str, x: float, w: float, h: float, align: str = "L") -> None:
        self._room(h)
        self._draw(text, x, w, self.y, h, align)
        self.y += h

    def _paragraph(
        self, text: str, h: float, *, x: float = LEFT, w: float = WIDTH, align: str = "L"
    ) -> None:
        for line in wrap(self.pdf, text, w):
            self._line(line, x, w, h, align)

    def _row(self, label: str, value: str, h: float = 6.0) -> None:
        """A label in the left column, its value wrapped in the right one."""
        self._font(10)
        lines = wrap(self.pdf, value, WIDTH - LABEL_W)
        self._room(h)
        self._font(10, strong=True)
        self._draw(label + ":", LEFT, LABEL_W, self.y, h)
        self._font(10)
        for line in lines:
            self._line(line, LEFT + LABEL_W, WIDTH - LABEL_W, h)
        self.y += 1

    # -- the certificate

    def draw(self) -> None:
        pdf = self.pdf
        data = self.data
        pdf.set_title(f"{TITLE} {data.number}")
        pdf.set_author(data.organisation)
        pdf.set_creation_date(data.issued_at)
        pdf.set_subject(f"{TITLE} {SUBTITLE}")
        pdf.set_keywords(f"arayis-token:{data.token}")
        self._start_page()

        self._font(13, strong=True)
        self._paragraph(data.organisation, 7, align="C")
        self._font(9)
        self._line("I qrup (əhali) istehlakçılar üçün elektron xidmət", LEFT, WIDTH, 5, "C")
        pdf.set_draw_color(*RULE)
        pdf.set_line_width(0.6)
        pdf.line(LEFT, self.y + 3, LEFT + WIDTH, self.y + 3)
        self.y += 12

        self._font(22, strong=True)
        self._line(TITLE, LEFT, WIDTH, 11, "C")
        self._font(11)
        self._paragraph(SUBTITLE, 6, align="C")
        self.y += 6

        self._font(11, strong=True)
        self._room(6)
        self._draw(f"№ {data.number}", LEFT, WIDTH / 2, self.y, 6)
        self._draw(f"Tarix: {fmt_datetime(data.issued_at)}", LEFT, WIDTH, self.y, 6, "R")
        self.y += 11

        balance = money_human(data.balance) + (" (artıq ödəniş)" if data.balance < 0 else "")
        for label, value in (
            ("Müraciət", f"№ {data.application_id}, {fmt_datetime(data.submitted_at)}"),
            ("Abonent kodu", data.abonent_code),
            ("İstehlakçı qrupu", f"{data.group} qrup (əhali)"),
            ("Mülkiyyətçi", data.owner_name),
            ("FİN", data.owner_fin_masked),
            ("Obyektin ünvanı", data.address),
            ("Balans", balance),
        ):
            self._row(label, value)
        self.y += 5

        self._font(11)
        self._paragraph(
            f"Təsdiq edilir ki, {data.address} ünvanı üzrə {data.abonent_code} kodlu abonentin "
            f"{fmt_datetime(data.issued_at)} tarixinə su təchizatı və tullantı sularının "
            "axıdılması xidmətlərindən istifadəyə görə borcu yoxdur.",
            6.5,
        )
        self.y += 3
        self._paragraph(
            "Arayış mülkiyyət hüququnun dəyişdirilməsi ilə bağlı təqdim edilmək üçün verilir.",
            6.5,
        )
        self.y += 3
        self._font(11, strong=True)
        self._paragraph(f"Arayış {fmt_date(data.valid_until)} tarixinədək etibarlıdır.", 6.5)
        self.y += 8

        self._signature()

        self._qr_block()
        self._footer(continued=False)

    def _signature(self) -> None:
        """The responsible person (registered name and title, or a blank line for a
        handwritten name), the signature line, and the seal's place (M.Y.) to the right."""
        pdf = self.pdf
        data = self.data
        self._font(10)
        name_w = WIDTH - SEAL_W
        if data.operator:
            who = data.operator + (f", {data.operator_title}" if data.operator_title else "")
            lines = wrap(pdf, f"Məsul şəxs: {who}", name_w)
        else:
            lines = ["Məsul şəxs: ______________________________ (ad, soyad)"]
        self._room(6 * (len(lines) + 2))  # name, signature and seal stay together
        top = self.y
        for line in lines:
            self._line(line, LEFT, name_w, 6)
        self.y += 3
        self._line("İmza: ____________________", LEFT, name_w, 6)
        # The seal's place: a dashed circle with M.Y. in it, right of the name and signature.
        cx, cy, r = LEFT + WIDTH - SEAL_W / 2, top + 6.0, 11.0
        pdf.set_draw_color(150, 150, 150)
        pdf.set_line_width(0.2)
        pdf.set_dash_pattern(dash=1.2, gap=1.2)
        pdf.circle(x=cx, y=cy, radius=r)
        pdf.set_dash_pattern()
        self._font(10, strong=True)
        self._draw("M.Y.", cx - r, 2 * r, cy - 3, 6, "C")
        self.y = max(self.y, cy + r)

    def _qr_block(self) -> None:
        """The QR code and how to verify, after the text: low on the page when there is
        room, otherwise on a page of its own."""
        pdf = self.pdf
        top = max(self.y + 6, QR_Y)
        if top + QR_SIZE > BOTTOM:
            self._start_page()
            top = self.y + 4
        _draw_qr(pdf, self.data.verify_url, x=LEFT, y=top, size=QR_SIZE)
        self.y = top + 4
        text_w = LEFT + WIDTH - QR_TEXT_X
        self._font(9, strong=True)
        self._line("Arayışın həqiqiliyini yoxlayın:", QR_TEXT_X, text_w, 5)
        self._font(8)
        self._paragraph(
            "QR kodu telefonla oxudun və ya arayışın nömrəsini və abonent kodunu yoxlama "
            f"xidmətinə daxil edin: {self.data.number}, abonent kodu {self.data.abonent_code}",
            4.5,
            x=QR_TEXT_X,
            w=text_w,
        )
        self.y = max(self.y, top + QR_SIZE)
        if self.data.verify_address:
            # The address in words under the QR code, for whoever cannot scan it.
            self._font(8)
            self._paragraph(f"Yoxlama ünvanı: {self.data.verify_address}", 4.5, x=LEFT, w=WIDTH)


# -- QR ------------------------------------------------------------------------------------


#: Small integers as text, for the QR code's path (a list index is quicker than formatting).
_DIGITS = [str(i) for i in range(256)]


def qr_path(matrix: Sequence[bytes | bytearray]) -> str:
    """The dark modules as path rectangles in module units, one per run of dark modules
    along a row: ``column row width 1 re``, a line each, row by row.

    Each row split at its light modules (a C loop) leaves its runs. Merging identical runs
    of the rows below (a fifth fewer rectangles, ≈ 220 bytes less per certificate) cost
    ≈ 0.4 ms more per certificate than it saved."""
    digits = _DIGITS
    lines: list[str] = []
    for r, row in enumerate(matrix):
        at = f" {r} "
        x = 0
        for piece in row.split(b"\0"):
            n = len(piece)
            if n:
                lines.append(digits[x] + at + digits[n] + " 1 re")
            x += n + 1
    return "\n".join(lines)


def _draw_qr(pdf: Any, content: str, *, x: float, y: float, size: float) -> None:
    """The QR code as filled vector rectangles (crisp at any zoom, no image)."""
    from fpdf.enums import PathPaintRule

    from arayis_cli.certificate.qr import matrix

    # A fixed mask pattern: choosing the "best" of eight costs more than the rest of the
    # page, and any mask reads fine at this size. segno's symbol, encoded faster (qr.py).
    modules = matrix(content)
    border = 2
    module = size / (len(modules) + 2 * border)
    left, top = x + border * module, y + border * module
    pdf.set_fill_color(0, 0, 0)
    path = qr_path(modules)
    if not fontcache.supported():  # an fpdf2 this module does not know: its public API,
        # with the same rectangles in one path filled once (no seams between rows)
        with pdf.new_path(paint_rule=PathPaintRule.FILL_NONZERO) as shape:
            shape.style.fill_color = "#000000"
            shape.style.stroke_color = None
            for rect in path.splitlines():
                col, row, w = map(int, rect.split()[:3])
                shape.rectangle(left + col * module, top + row * module, w * module, module)
        return
    # One path in module units (a transformation puts module (0, 0) at the symbol's top
    # left corner, a unit per module, rows downwards), filled once: the rectangles meet
    # exactly, with no seams between separately filled ones and no coordinates rounded
    # apart, and a third of the bytes of one "x y w h re f" in points per rectangle.
    # Several hundred rect() calls cost more than the rest of the page's text.
    k, unit = pdf.k, module * pdf.k
    pdf._out(f"q {unit:.4f} 0 0 {-unit:.4f} {left * k:.2f} {(pdf.h - top) * k:.2f} cm")
    pdf._out(path + "\nf Q")
