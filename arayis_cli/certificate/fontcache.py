"""Parsed fonts and compiled font subsets, cached per process: arayis' one exception to
fpdf2's public API.

Why. Through the public API each document parses every TrueType face (``add_font``) and,
when written, compiles a subset of it with fontTools; for a certificate that is two thirds
of its cost. Certificates of a batch use the same faces and nearly always the same glyphs,
so this module parses each face once per process and compiles each distinct subset once.

What it relies on in fpdf2 (pinned to 2.8.x in pyproject.toml; :func:`supported` checks the
version and the names, tests/unit/test_pdf_fontcache.py the behaviour):

1. ``FPDF.fonts`` maps a font key (family in lower case + style) to an ``fpdf.fonts.TTFFont``
   whose per-document state is ``i``, ``subset`` (a ``SubsetMap``), ``missing_glyphs``,
   ``biggest_size_pt``, ``desc``, ``_hbfont`` and ``ttfont``; its other attributes derive
   from the font file alone, so a copy of a parsed font is a fresh one.
2. ``FPDF.output`` subsets each TrueType font through the module global ``ftsubset`` of
   ``fpdf.output`` (fontTools.subset): ``Subsetter(options)``, ``.populate(glyphs=...)``,
   ``.subset(font.ttfont)``; then it reads ``font.ttfont.getGlyphID(name)``,
   ``"CFF " in font.ttfont`` and ``font.ttfont.save(stream)``, and calls ``font.close()``.
3. Streams are compressed by ``zlib.compress(contents, level=...)`` through the module
   global ``zlib`` of ``fpdf.syntax``. While a document is written that global is a
   namespace that remembers the compressed form of large streams (the font program and
   its glyph map, the same in nearly every certificate): the same bytes as zlib's, once.
4. ``FPDF.text`` encodes a line through ``TTFFont.encode_text(text)``, which picks each
   character's code in the document's ``SubsetMap``; a document's copy of a font may be
   of a subclass with no slots of its own (:func:`_encoding_once`).

How. A document's copy of a parsed font gets, instead of the shared fontTools object, a
:class:`_SubsetSource` of its own; while that document is written, ``fpdf.output.ftsubset``
is swapped for a namespace whose ``Subsetter`` compiles a :class:`_SubsetSource` from a
*fresh* fontTools ``TTFont`` on a cache miss (and hands any other font to fontTools as
before). The parsed font shared between documents is never given to fontTools, so a later
document with other glyphs ("Ä", "ß", Cyrillic) cannot find it already cut down.

The swap is process-wide while any ``output()`` runs: the first document being written
installs it and the last restores fpdf2's own (a web worker's threads write several at
once; batch printing uses worker processes).

If fpdf2 does not look as expected, :func:`supported` is false and every document goes
through the public API (slower, same PDF); the tests fail loudly so that the pin and this
module are looked at before fpdf2 is upgraded.
"""

from __future__ import annotations

import copy
import io
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

#: The fpdf2 minor version this module was written and tested against (see the pin).
FPDF2_TESTED = (2, 8)

#: The per-document attributes of ``fpdf.fonts.TTFFont`` that :func:`add_font` resets.
FONT_STATE = ("i", "subset", "missing_glyphs", "biggest_size_pt", "desc", "_hbfont", "ttfont")

#: Compiled subsets kept per process (a batch rarely needs more than a handful).
SUBSETS_KEPT = 64


@cache
def supported() -> bool:
    """True if the installed fpdf2 is the one this module knows (version and names)."""
    try:
        import fpdf
        import fpdf.output
        import fpdf.syntax
        from fpdf.fonts import SubsetMap, TTFFont
    except ImportError:  # pragma: no cover - fpdf2 is a dependency
        return False
    version = tuple(int(part) for part in fpdf.FPDF_VERSION.split(".")[:2])
    return (
        version == FPDF2_TESTED
        and hasattr(fpdf.output, "ftsubset")
        and set(FONT_STATE) <= set(TTFFont.__slots__)
        and callable(getattr(SubsetMap, "get_all_glyph_names", None))
        and callable(getattr(getattr(fpdf.syntax, "zlib", None), "compress", None))
    )


@dataclass(frozen=True)
class _Program:
    """One compiled subset: the font program and its glyph ids."""

    data: bytes
    glyph_ids: dict[str, int]


@dataclass(frozen=True)
class _Parsed:
    """A face parsed once per process, never handed to fontTools' subsetter."""

    font: Any  # fpdf.fonts.TTFFont
    tables: frozenset[str]

    def glyph_names(self, text: str) -> frozenset[str]:
        cmap = self.font.cmap
        return frozenset(cmap[ord(ch)] for ch in text if ord(ch) in cmap)


@cache
def _font_bytes(path: Path) -> bytes:
    return path.read_bytes()


@cache
def _parsed(path: Path) -> _Parsed:
    from fpdf import FPDF

    scratch = FPDF()
    scratch.add_font("face", "", str(path))
    font = scratch.fonts["face"]
    return _Parsed(font, frozenset(font.ttfont.keys()))


class _SubsetSource:
    """Stands in for one document's fontTools ``TTFont`` inside fpdf2's output: the
    subsetter fills :attr:`program`, and fpdf2 reads glyph ids and the font bytes from it."""

    def __init__(self, path: Path, tables: frozenset[str], common: frozenset[str]) -> None:
        self.path = path
        self.tables = tables
        self.common = common  # glyphs every subset of this face includes
        self.program: _Program | None = None

    def _compiled(self) -> _Program:
        if self.program is None:
            raise _changed(f"wrote {self.path.name} without arayis' font subsetter")
        return self.program

    def __getattr__(self, name: str) -> Any:
        """Anything else fpdf2 or fontTools asks of it means they changed: say so."""
        if name.startswith("__"):
            raise AttributeError(name)
        raise _changed(f"asked a cached font for {name!r}")

    def __contains__(self, tag: str) -> bool:
        return tag in self.tables

    def getGlyphID(self, name: str) -> int:  # fontTools' spelling
        return self._compiled().glyph_ids[name]

    def save(self, stream: Any, *_: Any, **__: Any) -> None:
        stream.write(self._compiled().data)

    def close(self) -> None:
        """Nothing to release: the parsed font stays for the next document."""


def _changed(what: str) -> RuntimeError:
    import fpdf

    return RuntimeError(
        f"fpdf2 {fpdf.FPDF_VERSION} {what}: it no longer works the way "
        "arayis_cli/certificate/fontcache.py assumes"
    )


_SUBSETS: OrderedDict[tuple[Path, frozenset[str], str], _Program] = OrderedDict()
#: Guards the caches of this module (a web worker renders in several threads).
_cache_lock = threading.Lock()
#: Cache hits and misses since the process started (read by the tests and benchmarks).
counts = {"hits": 0, "misses": 0, "assembled": 0}


def _compile(path: Path, glyphs: frozenset[str], options: Any) -> _Program:
    """The subset of ``path`` holding ``glyphs``, compiled from a fresh ``TTFont`` once."""
    key = (path, glyphs, repr(sorted(vars(options).items())))
    with _cache_lock:
        program = _SUBSETS.get(key)
        if program is not None:
            counts["hits"] += 1
            _SUBSETS.move_to_end(key)
            return program
        counts["misses"] += 1
    from fontTools import subset as ftsubset
    from fontTools.ttLib import TTFont

    fresh = TTFont(io.BytesIO(_font_bytes(path)), recalcTimestamp=False)
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(glyphs=glyphs)
    subsetter.subset(fresh)
    out = io.BytesIO()
    fresh.save(out)
    program = _Program(out.getvalue(), {n: i for i, n in enumerate(fresh.getGlyphOrder())})
    with _cache_lock:
        _SUBSETS[key] = program
        while len(_SUBSETS) > SUBSETS_KEPT:
            _SUBSETS.popitem(last=False)
    return program


class _Subsetter:
    """fontTools' ``Subsetter`` as fpdf2's output calls it, caching :class:`_SubsetSource`
    subsets; any other font is subset by fontTools itself, as without this module."""

    def __init__(self, options: Any = None, **kwargs: Any) -> None:
        self.options = options
        self.kwargs = kwargs
        self.glyphs: frozenset[str] = frozenset()
        self.populated: dict[str, Any] = {}

    def populate(self, glyphs: Any = (), **others: Any) -> None:
        self.glyphs = frozenset(glyphs)
        self.populated = others

    def subset(self, font: Any) -> None:
        from fontTools import subset as ftsubset

        if isinstance(font, _SubsetSource) and not self.populated:
            font.program = _compile(font.path, self.glyphs | font.common, self.options)
            return
        real = ftsubset.Subsetter(self.options, **self.kwargs)
        real.populate(glyphs=self.glyphs, **self.populated)
        real.subset(font)


def add_font(pdf: Any, family: str, style: str, path: Path, *, common: str = "") -> None:
    """Register the face ``path`` as ``family``/``style`` on ``pdf`` (an ``FPDF``).

    ``common``: characters whose glyphs every embedded subset of this face holds, used or
    not, so that documents using only them embed the same (cached) font program.
    """
    if not supported():
        pdf.add_font(family, style, str(path))
        return

    parsed = _parsed(path)
    font = copy.copy(parsed.font)
    font.i = len(pdf.fonts) + 1
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.desc = copy.copy(parsed.font.desc)  # the output gives it an object id
    font._hbfont = None
    font.ttfont = _SubsetSource(path, parsed.tables, _common_glyphs(path, common))
    font.subset = _picked_map(font, path, common)
    if common:
        font.__class__ = _encoding_once(path, common)
    pdf.fonts[f"{family.lower()}{style}"] = font


#: A face's glyph-to-code map with the common alphabet picked, per (face, alphabet): the
#: state ``SubsetMap`` reaches after picking it, copied into each document's new map.
_PICKED: dict[tuple[Path, str], tuple[int, list[int], dict[Any, int]]] = {}


def _picked_map(font: Any, path: Path, common: str) -> Any:
    """A new ``SubsetMap`` for ``font`` holding the codes of ``common`` first, in this order
    — the same map in every document. The picking (a glyph looked up per letter, ≈ 0.15 ms a
    document) is done once per face; each document gets a copy of the state it left."""
    from fpdf.fonts import SubsetMap

    state = _PICKED.get((path, common))
    if state is None:
        fresh = SubsetMap(font)
        for ch in common:
            fresh.pick(ord(ch))
        state = (fresh._next, list(fresh._reserved), dict(fresh._char_id_per_glyph))
        _PICKED[(path, common)] = state
    picked = SubsetMap.__new__(SubsetMap)
    picked.font = font
    picked._next = state[0]
    picked._reserved = list(state[1])
    picked._char_id_per_glyph = dict(state[2])
    return picked


#: Encoded lines kept per face (a certificate has ≈ 30, most of them the same on every one).
ENCODED_KEPT = 1024


@cache
def _encoding_once(path: Path, common: str) -> type:
    """The class of a document's copy of the face ``path``: ``TTFFont`` whose
    ``encode_text`` remembers its answer for text written only in ``common``.

    fpdf2 encodes every line anew, a glyph looked up per character (≈ 0.4 ms of a
    certificate's 2 ms of drawing). A line of the common alphabet is encoded the same in
    every document: those codes are picked first, in this order, in each document's map
    (:func:`_picked_map`), so the picking it would do changes nothing; lines with any other
    character are encoded by fpdf2 as before (their codes depend on the document).

    A line is remembered the second time it is encoded: the certificate's own wording
    (labels, headings, the fixed sentences) from the second certificate on, while a
    subscriber's name or address, seen once, is not kept (only its hash, until the next
    clearing)."""
    from fpdf.fonts import TTFFont

    face = _parsed(path).font
    if face.is_symbol:  # fpdf2 maps a symbol font's text first: left to it
        return TTFFont
    alphabet = frozenset(ch for ch in common if ord(ch) in face.cmap)  # the face draws them
    encoded: dict[str, str] = {}
    seen: set[int] = set()  # hashes of lines encoded once

    class EncodedOnce(TTFFont):  # type: ignore[misc]
        __slots__ = ()
        remembered = encoded  # for the tests

        def encode_text(self, text: str) -> str:
            done = encoded.get(text)
            if done is None:
                done = super().encode_text(text)
                if alphabet.issuperset(text):
                    if len(encoded) >= ENCODED_KEPT:
                        encoded.clear()
                    if len(seen) >= 8 * ENCODED_KEPT:  # lines seen once: the wording stays
                        seen.clear()
                    key = hash(text)
                    if key in seen:
                        encoded[text] = done
                    else:
                        seen.add(key)
            return done

    return EncodedOnce


@cache
def _common_glyphs(path: Path, common: str) -> frozenset[str]:
    return _parsed(path).glyph_names(common)


#: Streams at least this long have their compressed form remembered (font programs and
#: glyph maps: tens of kilobytes; a certificate's page is smaller).
COMPRESSED_MIN = 16 * 1024
#: Compressed streams kept per process.
COMPRESSED_KEPT = 16
_COMPRESSED: OrderedDict[tuple[bytes, int], bytes] = OrderedDict()


def _compress(data: bytes, level: int = -1) -> bytes:
    """``zlib.compress``, remembered for large streams (the same output, computed once)."""
    import zlib

    if len(data) < COMPRESSED_MIN:
        return zlib.compress(data, level=level)
    key = (bytes(data), level)
    with _cache_lock:
        done = _COMPRESSED.get(key)
        if done is not None:
            _COMPRESSED.move_to_end(key)
            return done
    done = zlib.compress(data, level=level)
    with _cache_lock:
        _COMPRESSED[key] = done
        while len(_COMPRESSED) > COMPRESSED_KEPT:
            _COMPRESSED.popitem(last=False)
    return done


#: Documents being written now (threads of a web worker write several at once): the
#: swapped globals are installed by the first and restored by the last.
_writing = 0
_writing_lock = threading.Lock()
_originals: dict[str, Any] = {}


@contextmanager
def _cached_subsets() -> Iterator[None]:
    global _writing
    import fpdf.output as fpdf_output
    import fpdf.syntax as fpdf_syntax
    from fontTools import subset as ftsubset

    with _writing_lock:
        if _writing == 0:
            _originals["ftsubset"] = fpdf_output.ftsubset
            _originals["zlib"] = fpdf_syntax.zlib
            fpdf_output.ftsubset = SimpleNamespace(  # type: ignore[assignment]
                Options=ftsubset.Options, Subsetter=_Subsetter
            )
            fpdf_syntax.zlib = SimpleNamespace(compress=_compress)  # type: ignore[assignment]
        _writing += 1
    try:
        yield
    finally:
        with _writing_lock:
            _writing -= 1
            if _writing == 0:
                fpdf_output.ftsubset = _originals["ftsubset"]
                fpdf_syntax.zlib = _originals["zlib"]


def output(pdf: Any) -> bytes:
    """The document as PDF bytes, its fonts subset through the cache.

    A document shaped like one written before (see :func:`_shape`) is assembled from that
    one's objects, only its pages' content and its information dictionary written anew:
    the very bytes fpdf2 would write (tests/unit/test_pdf_fontcache.py compares them).
    """
    try:
        if not supported():
            return bytes(pdf.output())
        shape = _shape(pdf)
        if shape is not None:
            with _cache_lock:
                template = _TEMPLATES.get(shape)
            if template is not None:
                counts["assembled"] += 1
                return _assemble(pdf, template)
        with _cached_subsets():
            data = bytes(pdf.output())
        if shape is not None:
            _learn(pdf, shape, data)
        return data
    finally:
        forget_subset_maps()


def forget_subset_maps() -> None:
    """Let go of the written documents' glyph maps.

    fpdf2 (2.8) caches ``SubsetMap.pick`` and ``SubsetMap.get_glyph`` with
    ``functools.cache``, whose keys hold the map: every document's map, and the copy of the
    font it refers to, stayed for the life of the process — about 46 KB a certificate, so a
    server or a batch print grew by 45 MB per thousand certificates. Nothing in those caches
    serves another document (each key names its own map), so they are emptied once a
    document is written; a document being drawn meanwhile in another thread only computes
    its entries again (the codes live in its map, not in the cache).
    """
    from fpdf.fonts import SubsetMap

    for method in (SubsetMap.pick, SubsetMap.get_glyph):
        clear = getattr(method, "cache_clear", None)
        if clear is not None:
            clear()


# -- documents assembled from precompiled parts -------------------------------------------
#
# fpdf2 writes, for a document: the header, the pages root, the catalog, each page and its
# content stream, the font objects (the Type0 font, its CID font with the W array, the
# ToUnicode map, the descriptor, the CIDToGIDMap and the font program), the resources, the
# information dictionary, the cross-reference table and the trailer. For documents of the
# same shape — page count and size, fonts with the very same glyph-to-code map, the same
# resources per page — every object but the pages' content streams and the information
# dictionary is the same, byte for byte; those are most of fpdf2's work in ``output()``.
# The first document of a shape goes through fpdf2 and its objects are kept; the next ones
# are assembled from them. Certificates pre-assign the codes of their whole alphabet
# (``add_font(..., common=...)``), so every certificate written only in it has the shape of
# the first one with as many pages.

#: Shapes remembered per process.
TEMPLATES_KEPT = 16


@dataclass(frozen=True)
class _Template:
    header: bytes
    #: Object id -> its bytes as fpdf2 wrote them (None for the ones written anew).
    objects: tuple[bytes | None, ...]
    contents: tuple[int, ...]  # the pages' content stream ids, in page order
    info: int
    root: int


_TEMPLATES: OrderedDict[tuple[Any, ...], _Template] = OrderedDict()


def _shape(pdf: Any) -> tuple[Any, ...] | None:
    """What the constant objects of ``pdf``'s output depend on, or None when it is not a
    document this module assembles (anything beyond pages of text and drawings in
    :func:`add_font` fonts)."""
    from fpdf import FPDF

    if (
        pdf.buffer
        or not pdf.pages
        or type(pdf).footer is not FPDF.footer
        or pdf.toc_placeholder
        or pdf._security_handler is not None
        or pdf._compliance
        or pdf._sign_key
        or pdf.embedded_files
        or pdf.viewer_preferences
        or pdf.xmp_metadata
    ):
        return None
    fonts = []
    for font in sorted(pdf.fonts.values(), key=lambda f: f.i):
        source = getattr(font, "ttfont", None)
        if not isinstance(source, _SubsetSource) or font.missing_glyphs:
            return None
        codes = tuple((glyph.glyph_name, code) for glyph, code in font.subset.items() if glyph)
        fonts.append((font.i, font.fontkey, source.path, codes))
    pages = []
    for page in pdf.pages.values():
        if page.get_text_substitutions() or page.annots:
            return None
        pages.append(page.dimensions())
    catalog = pdf._resource_catalog
    resources = tuple(
        sorted(
            (number, str(kind), tuple(sorted(getattr(r, "i", r) for r in used)))
            for (number, kind), used in catalog.resources_per_page.items()
        )
    )
    if any(catalog.resources.values()):  # images, graphics states, patterns: not here
        return None
    return (pdf.pdf_version, pdf.compress, tuple(pages), tuple(fonts), resources)


def _learn(pdf: Any, shape: tuple[Any, ...], data: bytes) -> None:
    """Keep the constant objects of a document fpdf2 has just written."""
    import re

    found = re.search(rb"\nstartxref\n(\d+)\n%%EOF\n?$", data)
    info = re.search(rb"\n/Info (\d+) 0 R\n", data[-400:])
    root = re.search(rb"\n/Root (\d+) 0 R\n", data[-400:])
    if found is None or info is None or root is None:
        return
    startxref = int(found.group(1))
    table = data[startxref:].split(b"\n")
    count = int(table[1].split()[1])
    offsets = [int(line[:10]) for line in table[3 : 2 + count]] + [startxref]
    contents = tuple(page.contents.id for page in pdf.pages.values())
    variable = {*contents, int(info.group(1))}
    objects: list[bytes | None] = [None]
    for obj_id in range(1, count):
        chunk = data[offsets[obj_id - 1] : offsets[obj_id]]
        objects.append(None if obj_id in variable else chunk)
    template = _Template(
        data[: offsets[0]], tuple(objects), contents, int(info.group(1)), int(root.group(1))
    )
    with _cache_lock:
        _TEMPLATES[shape] = template
        while len(_TEMPLATES) > TEMPLATES_KEPT:
            _TEMPLATES.popitem(last=False)


def _assemble(pdf: Any, template: _Template) -> bytes:
    """``pdf`` written as fpdf2 would, from ``template``'s objects and its own pages."""
    from fpdf.output import PDFInfo
    from fpdf.syntax import PDFContentStream, PDFDate

    pages = list(pdf.pages.values())
    written: dict[int, Any] = {}
    for obj_id, page in zip(template.contents, pages, strict=True):
        stream = PDFContentStream(contents=page.contents, compress=pdf.compress)
        stream.id = obj_id
        written[obj_id] = stream
    info = PDFInfo(
        title=pdf.title,
        subject=getattr(pdf, "subject", None),
        author=getattr(pdf, "author", None),
        keywords=getattr(pdf, "keywords", None),
        creator=getattr(pdf, "creator", None),
        producer=getattr(pdf, "producer", None),
        creation_date=PDFDate(pdf.creation_date, with_tz=True, encrypt=True),
    )
    info.id = template.info
    written[template.info] = info
    buffer = bytearray(template.header)
    offsets = []
    for obj_id in range(1, len(template.objects)):
        offsets.append(len(buffer))
        chunk = template.objects[obj_id]
        if chunk is None:
            text = written[obj_id].serialize()
            chunk = (text if isinstance(text, bytes) else text.encode("latin1")) + b"\n"
        buffer += chunk
    startxref = len(buffer)
    lines = ["xref", f"0 {len(template.objects)}", "0000000000 65535 f "]
    lines += [f"{offset:010} 00000 n " for offset in offsets]
    file_id = pdf.file_id()
    if file_id == -1:
        file_id = pdf._default_file_id(buffer)
    lines += ["trailer", "<<", f"/Size {len(template.objects)}", f"/Root {template.root} 0 R"]
    lines.append(f"/Info {template.info} 0 R")
    if file_id is not None:
        lines.append(f"/ID [{file_id}]")
    lines += [">>", "startxref", str(startxref), "%%EOF"]
    buffer += ("\n".join(lines) + "\n").encode("latin1")
    pdf.buffer = buffer
    return bytes(buffer)
