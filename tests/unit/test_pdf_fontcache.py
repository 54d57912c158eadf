"""The font cache, arayis' one exception to fpdf2's public API: these tests fail loudly when
fpdf2 no longer works the way certificate/fontcache.py assumes (read its docstring)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from arayis_cli.certificate import fontcache
from arayis_cli.certificate.pdf import FACES, FONT_DIR, render
from tests.helpers.pdf import BASE, modules_covered, text_of

REPO = Path(__file__).resolve().parents[2]


def test_the_installed_fpdf2_is_the_one_the_cache_was_written_for() -> None:
    import fpdf

    assert fontcache.supported(), (
        f"fpdf2 {fpdf.FPDF_VERSION} no longer matches certificate/fontcache.py: every "
        "certificate now takes the slow public path; update the cache and its pin together"
    )
    major, minor = fontcache.FPDF2_TESTED
    assert fpdf.FPDF_VERSION.startswith(f"{major}.{minor}.")
    # the pin keeps the next minor version out until it has been checked
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    (spec,) = [d for d in deps if re.match(r"fpdf2\b", d)]
    assert f"<{major}.{minor + 1}" in spec.replace(" ", ""), spec


def test_every_face_goes_through_the_cache_and_the_shared_font_is_never_cut() -> None:
    from fontTools.ttLib import TTFont

    render(BASE)
    fontcache._TEMPLATES.clear()  # the next document goes through fpdf2's output()
    before = dict(fontcache.counts)
    render(replace(BASE, number="AR-2026-000002-8"))
    # fpdf2 still subsets through the module global this cache swaps, once per face
    assert fontcache.counts["hits"] + fontcache.counts["misses"] - (
        before["hits"] + before["misses"]
    ) == len(FACES)
    assert fontcache.counts["hits"] - before["hits"] == len(FACES)  # same glyphs: no compile
    before = dict(fontcache.counts)
    render(replace(BASE, number="AR-2026-000003-1"))  # its shape is known now: assembled
    assert fontcache.counts == {**before, "assembled": before["assembled"] + 1}
    render(replace(BASE, address="Гасанов Әли, Straße Ä ß ₼"))
    for _, name in FACES:
        parsed = fontcache._parsed(FONT_DIR / name).font
        # the parsed font documents share is the real fontTools object, whole
        assert isinstance(parsed.ttfont, TTFont)
        whole = TTFont(FONT_DIR / name, lazy=True)
        assert parsed.ttfont.getGlyphOrder() == whole.getGlyphOrder()


def test_a_document_never_written_through_the_cache_says_so() -> None:
    from fpdf import FPDF

    pdf = FPDF()
    fontcache.add_font(pdf, "Noto", "", FONT_DIR / FACES[0][1])
    pdf.add_page()
    pdf.set_font("Noto", "", 12)
    pdf.cell(text="Bakı")
    with pytest.raises(RuntimeError, match="no longer works the way"):
        pdf.output()  # fpdf2's own output, as if the swapped global were no longer read


def test_the_public_path_gives_the_same_certificate_text(monkeypatch) -> None:
    data = replace(BASE, owner_name="Гасанов Әли Ҹаһангир оғлу", address="Bakı, 12,50 ₼")
    cached = render(data)
    monkeypatch.setattr(fontcache, "supported", lambda: False)
    public = render(data)
    assert text_of(public) == text_of(cached)


def test_the_public_path_draws_the_same_qr_modules(monkeypatch) -> None:
    """With fpdf2's public API only, the QR code is still one path filled once (no seams
    between rows), a rectangle per run of dark modules: every dark module of the symbol
    once, no light one."""
    from pypdf import PdfReader

    from arayis_cli.certificate.qr import matrix

    monkeypatch.setattr(fontcache, "supported", lambda: False)
    page = PdfReader(BytesIO(render(BASE))).pages[0]
    content = page.get_contents().get_data().decode("latin-1")
    rectangle = r"(-?[\d.]+) (-?[\d.]+) (-?[\d.]+) (-?[\d.]+) re"
    paths = re.findall(r" 0 g ((?:[\d. ]+ m [\d. -]+ re )+)f Q", content)
    assert len(paths) == 1  # one path, one fill
    drawn = [tuple(map(float, found)) for found in re.findall(rectangle, paths[0])]
    module = min(h for *_xyw, h in drawn)  # every rectangle is one module high (mm)
    left, top = min(x for x, *_ in drawn), min(y for _x, y, *_ in drawn)  # the finder's corner
    rects = [
        (
            round((x - left) / module),
            round((y - top) / module),
            round(w / module),
            round(h / module),
        )
        for x, y, w, h in drawn
    ]
    symbol = matrix(BASE.verify_url)
    assert modules_covered(rects, symbol) == [list(row) for row in symbol]


def test_other_fonts_are_subset_by_fonttools_as_before() -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("Plain", "", str(FONT_DIR / FACES[0][1]))  # fpdf2's public API
    pdf.add_page()
    pdf.set_font("Plain", "", 12)
    pdf.cell(text="Gülnarə Ä ß")
    pdf.set_font("helvetica", "", 12)
    pdf.cell(text="core font")
    from pypdf import PdfReader

    out = fontcache.output(pdf)
    assert "Gülnarə Ä ß" in PdfReader(BytesIO(out)).pages[0].extract_text()


def test_distinct_glyph_sets_are_kept_up_to_a_bound(monkeypatch) -> None:
    monkeypatch.setattr(fontcache, "SUBSETS_KEPT", 2)
    for letter in "ЖЩЮ":
        text = text_of(render(replace(BASE, owner_name=f"Əli {letter}")))
        assert f"Əli {letter}" in text
    assert len(fontcache._SUBSETS) <= 2


def test_threads_rendering_at_once_get_the_same_pdf_and_fpdf2_back_as_it_was() -> None:
    """A web worker renders in several threads at once: each document is the one a lone
    render gives, and when the last is written fpdf2's own subsetter and zlib are back."""
    import sys
    import threading
    import zlib

    import fpdf.output
    import fpdf.syntax
    from fontTools import subset as ftsubset

    pages = [replace(BASE, number=f"AR-2026-{n:06d}-0", owner_name=f"Əli {n}") for n in range(8)]
    alone = [render(page) for page in pages]
    got: dict[int, list[bytes]] = {n: [] for n in range(len(pages))}
    errors: list[BaseException] = []
    start = threading.Barrier(len(pages))

    def worker(n: int) -> None:
        start.wait()
        try:
            for _ in range(4):
                got[n].append(render(pages[n]))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(len(pages))]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads take turns often, as under a web server's load
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    assert not errors, errors
    assert all(set(got[n]) == {alone[n]} for n in got)
    assert fpdf.output.ftsubset is ftsubset
    assert fpdf.syntax.zlib is zlib


def test_large_streams_are_compressed_once_to_the_same_bytes() -> None:
    import zlib

    data = bytes(range(256)) * 200  # 51 KB: over the size remembered
    assert fontcache._compress(data, -1) == zlib.compress(data, level=-1)
    assert fontcache._compress(data, -1) is fontcache._compress(bytearray(data), -1)
    small = b"x" * 100
    assert fontcache._compress(small, 9) == zlib.compress(small, level=9)


def _through_fpdf2(data) -> bytes:
    """The certificate as fpdf2's own output() writes it (fonts through the cache)."""
    from arayis_cli.certificate.pdf import _Certificate, _new_document

    pdf = _new_document()
    _Certificate(pdf, data).draw()
    with fontcache._cached_subsets():
        return bytes(pdf.output())


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"number": "AR-2026-000777-1", "owner_name": "Əliyeva Gülşən Çingiz qızı"},
        {"address": "Bakı şəhəri, Xətai rayonu " * 40},  # two pages
        {"owner_name": "Müller Jürgen Äß"},  # letters beyond the certificate alphabet
        {"demo": True},
    ],
)
def test_assembled_documents_are_the_bytes_fpdf2_writes(changes) -> None:
    data = replace(BASE, **changes)
    render(data)  # the first of its shape may teach the cache
    before = fontcache.counts["assembled"]
    again = replace(data, number="AR-2026-004242-7", token="y", issued_at=BASE.submitted_at)
    assembled = render(again)
    assert fontcache.counts["assembled"] == before + 1
    assert assembled == _through_fpdf2(again)
    assert "AR-2026-004242-7" in text_of(assembled)
    assert text_of(assembled) == text_of(_through_fpdf2(again))


def test_documents_in_the_certificate_alphabet_share_one_shape() -> None:
    render(BASE)
    fontcache._TEMPLATES.clear()
    render(replace(BASE, owner_name="Hüseynov Şahin Ğ."))
    render(replace(BASE, owner_name="Qəmbərova Çiçək", address="Gəncə, Nizami küçəsi 1"))
    assert len(fontcache._TEMPLATES) == 1


def test_a_documents_map_is_the_one_picking_the_alphabet_makes() -> None:
    """Each document's glyph map starts as a copy of the state picking the certificate
    alphabet leaves (picked once per face): the same codes, the same next free code, its
    own dictionaries (a letter beyond the alphabet in one document is not in the next)."""
    from fpdf.fonts import SubsetMap

    from arayis_cli.certificate.pdf import COMMON, _new_document

    first, second = _new_document(), _new_document()
    font = first.fonts[next(iter(first.fonts))]
    fresh = SubsetMap(font)
    for ch in COMMON:
        fresh.pick(ord(ch))
    for pdf in (first, second):
        copied = pdf.fonts[next(iter(pdf.fonts))].subset
        assert copied._char_id_per_glyph == fresh._char_id_per_glyph
        assert (copied._next, copied._reserved) == (fresh._next, fresh._reserved)
    first.fonts[next(iter(first.fonts))].subset.pick(ord("Ä"))
    assert len(second.fonts[next(iter(second.fonts))].subset) == len(fresh)
    assert second.fonts[next(iter(second.fonts))].subset.font is not font


def test_lines_in_the_alphabet_are_encoded_once_to_the_same_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A line written only in the certificate alphabet is encoded once per face and reused
    (fpdf2 looks up a glyph per character each time): the same bytes as encoding it anew,
    also around a line with letters beyond the alphabet, whose codes depend on the document."""
    from fpdf.fonts import TTFFont

    from arayis_cli.certificate.pdf import COMMON

    beyond = replace(BASE, owner_name="Müller Jürgen Äß", address="Bakı, 12,50 ₼")
    once = replace(BASE, owner_name="Qəmbərova Çiçək Rauf qızı")
    render(BASE)
    render(once)
    remembered = render(beyond)
    lines = type(_face()).remembered
    assert type(_face()) is not TTFFont
    assert "Mülkiyyətçi:" in lines and "Müller Jürgen Äß" not in lines
    assert all(set(line) <= set(COMMON) for line in lines)  # only the alphabet's lines
    assert once.owner_name not in lines  # a subscriber's name, seen once, is not kept
    monkeypatch.setattr(fontcache, "_encoding_once", lambda path, common: TTFFont)
    assert type(_face()) is TTFFont
    assert render(beyond) == remembered


def _face() -> Any:
    from arayis_cli.certificate.pdf import _new_document

    fonts = _new_document().fonts
    return fonts[next(iter(fonts))]
