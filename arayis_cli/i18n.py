"""Messages for people through one gettext catalogue (README: Translations;
docs/developing.md: adding a message).

msgids are English; ``locale/az/LC_MESSAGES/arayis.po`` translates every one of them and
is the default language. English needs no catalogue: a missing translation *is* the
English msgid (stdlib ``NullTranslations``), so nobody writes English twice.

Usage, everywhere in the package::

    from arayis_cli.i18n import _, ngettext
    raise NotFound(_("application {id} not found").format(id=app_id))

Translation happens when the message is made (at raise time in services), in the language
in force then: ``--lang`` for this invocation if given, else ``ARAYIS_LANG``, else ``az``.
The language of one invocation (or one web request) lives in a context variable set by
:func:`speaking` around it, never in a module global: the next invocation in the same
process (an in-process test, the demo) starts from the setting again.
Strings that must exist before the language is known (labels of codes in module-level
tables) are marked with :func:`N_` and translated where they are shown (:func:`label`).

Cheap: only the standard library; the ``.mo`` file is read the first time a message is
needed, and once per process per language.

Emails and the certificate PDF do not come through here: they stay Azerbaijani whatever
the operator's language (what subscribers receive).
"""

from __future__ import annotations

import gettext as _gettext
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

DOMAIN = "arayis"
LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE = "az"
#: The languages of the operator's messages, and the variable that picks one.
LANGUAGES = ("az", "en")
ENV_LANG = "ARAYIS_LANG"

#: The catalogues, loaded once per process (immutable: harmless to share).
_loaded: dict[str, _gettext.NullTranslations] = {}
#: The language of one invocation (``--lang``) or one web request (``Accept-Language``);
#: None: ``ARAYIS_LANG`` decides.
_language: ContextVar[str | None] = ContextVar("arayis_language", default=None)


def language() -> str:
    """The language messages are made in now: ``az`` or ``en``."""
    asked = _language.get()
    if asked is not None:
        return asked
    return language_setting()


def language_setting() -> str:
    """The language of messages: ``ARAYIS_LANG``, or ``az`` when unset or bad.

    Read here, apart from the settings (and leniently): a refusal of a bad variable is
    itself a message that needs the language, and must not re-enter the settings (which
    check ``ARAYIS_LANG`` strictly).
    """
    raw = (os.environ.get(ENV_LANG) or "").strip().lower()
    return raw if raw in LANGUAGES else DEFAULT_LANGUAGE


@contextmanager
def speaking(lang: str | None) -> Iterator[None]:
    """Messages made inside the block are in ``lang`` (None: ``ARAYIS_LANG`` decides): one
    invocation's ``--lang``, or one web request's language (other requests served at the
    same time by other threads keep theirs). Afterwards the language is what it was."""
    token = _language.set(lang.lower() if lang else None)
    try:
        yield
    finally:
        _language.reset(token)


def translations(lang: str | None = None) -> _gettext.NullTranslations:
    """The catalogue of ``lang`` (default: the current language), loaded once."""
    lang = lang or language()
    found = _loaded.get(lang)
    if found is None:
        if lang == "en":
            # The msgids are the English text.
            found = _gettext.NullTranslations()
        else:
            found = _gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)
        _loaded[lang] = found
    return found


def _(message: str) -> str:
    """``message`` (an English msgid) in the current language."""
    return translations().gettext(message)


def gettext(message: str) -> str:
    return translations().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message for the number ``n`` (Plural-Forms of the catalogue)."""
    return translations().ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (module-level tables)."""
    return message


def label(message: str) -> str:
    """A string marked with :func:`N_`, translated now (alias of :func:`_` for readers)."""
    return translations().gettext(message)


def az(message: str) -> str:
    """``message`` in Azerbaijani whatever the operator's language (what subscribers see)."""
    return translations("az").gettext(message)
