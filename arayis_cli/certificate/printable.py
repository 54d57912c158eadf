"""The refusal of a print whose text the certificate font cannot show (exit 2, naming each
character). Apart from :mod:`arayis_cli.certificate.pdf` because the certificate's own text
stays Azerbaijani and is not extracted for translation, while this message is the operator's."""

from __future__ import annotations

from arayis_cli.errors import InvalidInput
from arayis_cli.i18n import N_, _, gettext

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
    from arayis_cli.certificate.pdf import missing_characters

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
