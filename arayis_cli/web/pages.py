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

from arayis_cli.services.verification import REASON_TEXT

if TYPE_CHECKING:
    from arayis_cli.services.verification import Verdict

TEXTS: dict[str, dict[str, str]] = {
    "az": {
        "title": "Arayışın yoxlanması",
        "valid": "Arayış etibarlıdır",
        "valid_note": "Bu arayış reyestrdədir, dəyişdirilməyib və qüvvədədir.",
        "invalid": "Arayış etibarsızdır",
        "why": "Səbəb",
        "number": "Arayışın nömrəsi",
        "issued": "Verilmə tarixi",
        "until": "Etibarlılıq müddəti",
        "until_value": "{date} tarixinədək",
        "abonent": "Abonent kodu",
        "organisation": "Təşkilat",
        "revoked_at": "Ləğv edilmə tarixi",
        "domain_head": "Diqqət: ünvanı yoxlayın",
        "domain": "Brauzerin ünvan sətrində rəsmi ünvanın {domain} olduğuna əmin olun. "
        "Saxta arayışdakı QR kod oxşar adlı başqa sayta apara bilər.",
        "form_head": "Arayışı yoxlayın",
        "form_intro": "Arayışın nömrəsini və arayışdakı abonent kodunu yazın, "
        "və ya PDF faylını yükləyin.",
        "form_number": "Arayışın nömrəsi (məsələn, AR-2026-000123-4)",
        "form_abonent": "Arayışda yazılmış abonent kodu",
        "form_pdf": "və ya arayışın PDF faylı",
        "form_submit": "Yoxla",
        "again": "Başqa arayışı yoxlayın",
        "other_lang": "English",
        "bad_token": "Bu keçid arayışın yoxlama keçidi deyil.",
        "bad_number": "Arayışın nömrəsi AR-2026-000123-4 şəklində olmalıdır.",
        "bad_check_digit": "Nömrənin son rəqəmi (yoxlama rəqəmi) uyğun gəlmir: nömrə səhv "
        "yazılıb. Arayışdakı nömrəni bir daha yoxlayın.",
        "need_abonent": "Yalnız nömrə kifayət deyil: arayışda yazılmış abonent kodunu da yazın.",
        "bad_abonent": "Abonent kodu yalnız rəqəmlərdən ibarət olmalıdır.",
        "superseded_by": "Yeni arayış",
        "nothing": "Arayışın nömrəsini yazın və ya PDF faylını seçin.",
        "rate_limited": "Çox sayda sorğu: bir az sonra yenidən cəhd edin.",
        "too_large": "Fayl çox böyükdür: arayışın PDF faylı 2 MB-dan kiçikdir.",
        "not_found": "Belə səhifə yoxdur.",
        "unavailable": "Yoxlama xidməti müvəqqəti işləmir: bir az sonra yenidən cəhd edin.",
        "error": "Xəta",
    },
    "en": {
        "title": "Certificate verification",
        "valid": "The certificate is valid",
        "valid_note": "This certificate is in the register, unaltered and in force.",
        "invalid": "The certificate is NOT valid",
        "why": "Reason",
        "number": "Certificate number",
        "issued": "Issued",
        "until": "Validity",
        "until_value": "until {date}",
        "abonent": "Abonent code",
        "organisation": "Organisation",
        "revoked_at": "Revoked on",
        "domain_head": "Check the address",
        "domain": "Make sure the browser's address bar shows the official address {domain}. "
        "A forged certificate's QR code can lead to a look-alike site.",
        "form_head": "Check a certificate",
        "form_intro": "Type the certificate number and the abonent code printed on it, "
        "or upload its PDF file.",
        "form_number": "Certificate number (e.g. AR-2026-000123-4)",
        "form_abonent": "Abonent code printed on the certificate",
        "form_pdf": "or the certificate's PDF file",
        "form_submit": "Check",
        "again": "Check another certificate",
        "other_lang": "Azərbaycanca",
        "bad_token": "This link is not a certificate verification link.",
        "bad_number": "A certificate number looks like AR-2026-000123-4.",
        "bad_check_digit": "The last digit (the check digit) does not match: the number "
        "was mistyped. Check the number on the certificate again.",
        "need_abonent": "A number alone is not enough: type the abonent code printed on "
        "the certificate too.",
        "bad_abonent": "An abonent code is made of digits only.",
        "superseded_by": "Newer certificate",
        "nothing": "Type a certificate number or choose a PDF file.",
        "rate_limited": "Too many requests: please try again in a moment.",
        "too_large": "The file is too large: a certificate PDF is smaller than 2 MB.",
        "not_found": "No such page.",
        "unavailable": "The verification service is briefly unavailable: try again shortly.",
        "error": "Error",
    },
}

STYLE = (Path(__file__).parent / "verify.css").read_text(encoding="utf-8")


def text(lang: str, key: str) -> str:
    return TEXTS.get(lang, TEXTS["az"])[key]


def _page(lang: str, title: str, body: str, *, other_lang_href: str, org: str = "") -> str:
    t = TEXTS[lang]
    return (
        f'<!doctype html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{escape(title)}</title>\n"
        '<link rel="stylesheet" href="/static/verify.css">\n</head>\n<body>\n'
        f"<header>{f'<p>{escape(org)}</p>' if org else ''}<h1>{escape(t['title'])}</h1></header>\n"
        f"<main>\n{body}\n</main>\n"
        f'<footer><a href="{escape(other_lang_href)}" hreflang="{"az" if lang == "en" else "en"}">'
        f"{escape(t['other_lang'])}</a></footer>\n</body>\n</html>\n"
    )


def _domain_note(lang: str, domain: str) -> str:
    t = TEXTS[lang]
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
    t = TEXTS[lang]
    if verdict.valid:
        head = f"✓ {t['valid']}"
        note = escape(t["valid_note"])
        css = "valid"
    else:
        head = f"✗ {t['invalid']}"
        reason = REASON_TEXT[lang].get(verdict.reason or "", verdict.reason or "")
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
    t = TEXTS[lang]
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
    t = TEXTS.get(lang, TEXTS["az"])
    lang = lang if lang in TEXTS else "az"
    body = (
        f'<section class="verdict invalid" role="alert"><h2>{escape(t["error"])}</h2>'
        f"<p>{escape(message)}</p></section>"
        f'<p><a href="/verify?lang={lang}">{escape(t["again"])}</a></p>'
    )
    return _page(lang, t["error"], body, other_lang_href=_switch(lang, path))
