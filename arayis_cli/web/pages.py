"""The pages a notary sees: plain HTML, no script, readable on a phone, Azerbaijani first.

Everything shown is escaped; nothing personal is shown (no name, FIN, phone, email or
amount: the verdict carries none). The style sheet is served from /static/ so that the
Content-Security-Policy needs no inline style.
"""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arayis_cli.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, translations
from arayis_cli.services.verification import reason_text

if TYPE_CHECKING:
    from arayis_cli.services.verification import Verdict

#: Every text of the pages, by key: English msgids, translated through the catalogue
#: (locale/az/LC_MESSAGES/arayis.po) into the language the request asks for.
TEXTS: dict[str, str] = {
    "title": N_("Certificate verification"),
    "valid": N_("The certificate is valid"),
    "valid_note": N_("This certificate is in the register, unaltered and in force."),
    "invalid": N_("The certificate is NOT valid"),
    "why": N_("Reason"),
    "number": N_("Certificate number"),
    "issued": N_("Issued on"),
    "until": N_("Validity"),
    "until_value": N_("until {date}"),
    "abonent": N_("Abonent code"),
    "organisation": N_("Organisation"),
    "revoked_at": N_("Revoked on"),
    "domain_head": N_("Check the address"),
    "domain": N_(
        "Make sure the browser's address bar shows the official address {domain}. "
        "A forged certificate's QR code can lead to a look-alike site."
    ),
    "form_head": N_("Check a certificate"),
    "form_intro": N_(
        "Type the certificate number and the abonent code printed on it, or upload its PDF file."
    ),
    "form_number": N_("Certificate number (e.g. AR-2026-000123-4)"),
    "form_abonent": N_("Abonent code printed on the certificate"),
    "form_pdf": N_("or the certificate's PDF file"),
    "form_submit": N_("Check"),
    "again": N_("Check another certificate"),
    "bad_token": N_("This link is not a certificate verification link."),
    "bad_number": N_("A certificate number looks like AR-2026-000123-4."),
    "bad_check_digit": N_(
        "The last digit (the check digit) does not match: the number was mistyped. "
        "Check the number on the certificate again."
    ),
    "need_abonent": N_(
        "A number alone is not enough: type the abonent code printed on the certificate too."
    ),
    "bad_abonent": N_("An abonent code is made of digits only."),
    "superseded_by": N_("Newer certificate"),
    "nothing": N_("Type a certificate number or choose a PDF file."),
    "rate_limited": N_("Too many requests: please try again in a moment."),
    "too_large": N_("The file is too large: a certificate PDF is smaller than 2 MB."),
    "not_found": N_("No such page."),
    "unavailable": N_("The verification service is briefly unavailable: try again shortly."),
    "error": N_("Error"),
}
#: The link to the other language names it in that language (not a translation).
OTHER_LANGUAGE = {"az": "English", "en": "Azərbaycanca"}


def language_of(query_lang: str | None, accept_language: str | None) -> str:
    """The language a request asks for: ``?lang=`` if it names one we have, else the first
    of ``Accept-Language`` we have (by q-value), else Azerbaijani."""
    if query_lang in LANGUAGES:
        return query_lang
    wanted: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "")[:500].split(",")):
        tag, _sep, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and q > 0:
            wanted.append((-q, i, primary))
    return min(wanted)[2] if wanted else DEFAULT_LANGUAGE


def texts(lang: str) -> dict[str, str]:
    """Every text of the pages in ``lang``: a translation object per language, so that
    concurrent requests in different languages never share a switch."""
    catalogue = translations(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)
    return {key: catalogue.gettext(message) for key, message in TEXTS.items()}


STYLE = (Path(__file__).parent / "verify.css").read_text(encoding="utf-8")


def text(lang: str, key: str) -> str:
    return texts(lang)[key]


def _page(lang: str, title: str, body: str, *, other_lang_href: str, org: str = "") -> str:
    t = texts(lang)
    return (
        f'<!doctype html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{escape(title)}</title>\n"
        '<link rel="stylesheet" href="/static/verify.css">\n</head>\n<body>\n'
        f"<header>{f'<p>{escape(org)}</p>' if org else ''}<h1>{escape(t['title'])}</h1></header>\n"
        f"<main>\n{body}\n</main>\n"
        f'<footer><a href="{escape(other_lang_href)}" hreflang="{"az" if lang == "en" else "en"}">'
        f"{escape(OTHER_LANGUAGE[lang])}</a></footer>\n</body>\n</html>\n"
    )


def _domain_note(lang: str, domain: str) -> str:
    t = texts(lang)
    note = escape(t["domain"]).replace("{domain}", f"<strong>{escape(domain)}</strong>")
    return (
        '<aside class="domain" aria-labelledby="domain-head">'
        f'<h2 id="domain-head">{escape(t["domain_head"])}</h2><p>{note}</p></aside>'
    )


def _switch(lang: str, path: str) -> str:
    return f"{path}?lang={'az' if lang == 'en' else 'en'}"


def _when(iso: Any, with_time: bool) -> str:
    if not isinstance(iso, str):
        return ""
    if with_time:
        return datetime.fromisoformat(iso).strftime("%d.%m.%Y %H:%M")
    return date.fromisoformat(iso[:10]).strftime("%d.%m.%Y")


def verdict_page(lang: str, verdict: Verdict, *, path: str, organisation: str, domain: str) -> str:
    t = texts(lang)
    if verdict.valid:
        head = f"✓ {t['valid']}"
        note = escape(t["valid_note"])
        css = "valid"
    else:
        head = f"✗ {t['invalid']}"
        reason = reason_text(verdict.reason or "", lang)
        note = f"{escape(t['why'])}: {escape(reason[:1].upper() + reason[1:])}."
        css = "invalid"
    rows: list[tuple[str, str]] = []
    if verdict.certificate_number:
        rows.append((t["number"], verdict.certificate_number))
    details = verdict.details
    if details.get("issued_at"):
        rows.append((t["issued"], _when(details["issued_at"], True)))
    if details.get("valid_until"):
        until = _when(details["valid_until"], False)
        rows.append((t["until"], t["until_value"].replace("{date}", until)))
    if details.get("revoked_at"):
        rows.append((t["revoked_at"], _when(details["revoked_at"], False)))
    if details.get("superseded_by"):
        rows.append((t["superseded_by"], str(details["superseded_by"])))
    if details.get("abonent_code"):
        rows.append((t["abonent"], str(details["abonent_code"])))
    if details:
        rows.append((t["organisation"], organisation))
    facts = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    body = (
        f'<section class="verdict {css}" aria-labelledby="verdict-head" role="status">'
        f'<h2 id="verdict-head">{escape(head)}</h2><p>{note}</p></section>\n'
        + (f"<dl>{facts}</dl>\n" if facts else "")
        + _domain_note(lang, domain)
        + f'\n<p><a href="/verify?lang={lang}">{escape(t["again"])}</a></p>'
    )
    return _page(
        lang, f"{head} — {t['title']}", body, other_lang_href=_switch(lang, path), org=organisation
    )


def form_page(lang: str, *, organisation: str, domain: str, error: str | None = None) -> str:
    t = texts(lang)
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = (
        f"<h2>{escape(t['form_head'])}</h2>{problem}"
        f'<form method="post" action="/verify?lang={lang}" enctype="multipart/form-data">'
        f"<p>{escape(t['form_intro'])}</p>"
        f'<label for="number">{escape(t["form_number"])}</label>'
        '<input type="text" id="number" name="number" autocomplete="off" spellcheck="false" '
        'maxlength="40" inputmode="text" autocapitalize="characters">'
        f'<label for="abonent">{escape(t["form_abonent"])}</label>'
        '<input type="text" id="abonent" name="abonent" autocomplete="off" spellcheck="false" '
        'maxlength="20" inputmode="numeric">'
        f'<label for="pdf">{escape(t["form_pdf"])}</label>'
        '<input type="file" id="pdf" name="pdf" accept="application/pdf,.pdf">'
        f'<button type="submit">{escape(t["form_submit"])}</button></form>\n'
        + _domain_note(lang, domain)
    )
    return _page(lang, t["title"], body, other_lang_href=_switch(lang, "/verify"), org=organisation)


def error_page(lang: str, message: str, *, path: str = "/verify") -> str:
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    t = texts(lang)
    body = (
        f'<section class="verdict invalid" role="alert"><h2>{escape(t["error"])}</h2>'
        f"<p>{escape(message)}</p></section>"
        f'<p><a href="/verify?lang={lang}">{escape(t["again"])}</a></p>'
    )
    return _page(lang, t["error"], body, other_lang_href=_switch(lang, path))
