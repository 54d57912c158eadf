"""The refusal of a print whose text the certificate font cannot show (exit 2, naming each
character). Apart from :mod:`arayis_cli.certificate.pdf` because the certificate's own text
stays Azerbaijani and is not extracted for translation, while this message is the operator's.
The font files live here too, so that the renderer imports this module and never the other
way round."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from arayis_cli.errors import InvalidInput
from arayis_cli.i18n import N_, _, gettext

FONT_DIR = Path(__file__).parent / "fonts"
# One face only: each embedded face costs a third of a certificate's rendering time (fpdf2
# writes seven PDF objects and a 128 KB glyph map per TrueType font), so headings are set
# apart by size and colour rather than by a bold face.
FACES = (("", "NotoSans-Regular-arayis.ttf"),)


@cache
def _coverage() -> frozenset[int]:
    """The characters both faces can show."""
    from fontTools.ttLib import TTFont

    maps = [set(TTFont(FONT_DIR / name, lazy=True).getBestCmap()) for _, name in FACES]
    return frozenset(set.intersection(*maps))


def missing_characters(text: str) -> list[str]:
    """The characters of ``text`` the certificate font cannot show, each once, as
    ``U+1F600 '😀'``. Whitespace is never missing: lines are re-spaced when laid out."""
    covered = _coverage()
    missing: dict[str, None] = {}
    for ch in text:
        if ord(ch) not in covered and not ch.isspace():
            missing.setdefault(ch, None)
    return [f"U+{ord(ch):04X} '{ch}'" for ch in missing]


#: The certificate's fields as people name them in a refusal.
FIELD_NAMES = {
    "organisation": N_("organisation"),
    "number": N_("certificate number"),
    "abonent_code": N_("abonent code"),
    "group": N_("group"),
    "owner_name": N_("owner name"),
    "owner_fin": N_("FIN"),
    "address": N_("address"),
    "operator": N_("operator"),
}


def ensure_printable(*, stored: bool = False, **fields: str) -> None:
    """Refuse (:class:`InvalidInput`, exit 2) if any field holds a character the
    certificate font cannot show: called before anything is allocated or written.
    ``stored``: the data is being recorded (abonent add/import), not printed yet."""
    if all(value.isascii() for value in fields.values()):
        return  # the font covers ASCII: no need to read it
    found = {name: chars for name, value in fields.items() if (chars := missing_characters(value))}
    if found:
        where = "; ".join(
            _("{characters} in the {field}").format(
                characters=", ".join(chars), field=gettext(FIELD_NAMES[name])
            )
            for name, chars in found.items()
        )
        template = (
            _(
                "the certificate font has no {where}: a certificate could never be printed "
                "with it; write the text without those characters"
            )
            if stored
            else _(
                "cannot print: the certificate font has no {where}; correct the data, "
                "then print again"
            )
        )
        raise InvalidInput(
            template.format(where=where),
            characters=sorted({c.split(" ")[0] for chars in found.values() for c in chars}),
        )
