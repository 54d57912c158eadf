"""Formats of the things citizens and scripts type: FIN, phone, email, abonent code, dates.

Every parser returns the normalised value or raises :class:`InvalidInput` with a
message that does not repeat the personal data it refused.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from arayis_cli.errors import InvalidInput
from arayis_cli.i18n import N_, _, gettext

BAKU = ZoneInfo("Asia/Baku")
FIN_RE = re.compile(r"^[A-HJ-NP-Z0-9]{7}$")
CHANNELS = ("egov", "azersu", "office")
GROUPS = ("I", "II", "III")
DOCUMENT_KINDS = ("id-card", "ownership", "power-of-attorney", "other")
#: The document kinds as people name them (translated where shown; JSON keeps the codes).
DOCUMENT_KIND_LABELS = {
    "id-card": N_("identity card"),
    "ownership": N_("ownership document"),
    "power-of-attorney": N_("power of attorney"),
    "other": N_("other document"),
}
MAX_TEXT = 500
#: Nothing this service records happened before this day (docs/input.md).
EARLIEST = date(2000, 1, 1)
#: How far another machine's clock (the portal's) may run ahead of ours.
CLOCK_SKEW = timedelta(minutes=5)
#: Ids (application, message, …) are positive and fit a signed 64-bit column.
ID_MAX = 2**63 - 1


def parse_fin(text: str) -> str:
    """FİN: 7 characters, digits and upper-case Latin letters except I and O."""
    value = str(text).strip().upper()
    if not FIN_RE.match(value):
        raise InvalidInput(
            _("FIN must be 7 characters: digits and Latin capital letters except I and O")
        )
    return value


def parse_phone(text: str) -> str:
    """An Azerbaijani phone number in any usual form, returned in E.164."""
    raw = str(text).strip()
    if not raw or len(raw) > 32:
        raise InvalidInput(_("phone must be an Azerbaijani number, e.g. +994 50 123 45 67"))
    digits = _PHONE_SEPARATORS.sub("", raw)
    if digits.startswith("994") and len(digits) == 12:
        digits = "+" + digits
    verdict = phone_verdict(digits)
    if verdict is None:
        raise InvalidInput(_("phone must be an Azerbaijani number, e.g. +994 50 123 45 67"))
    if not verdict:
        raise InvalidInput(_("phone must be a valid Azerbaijani number, e.g. +994 50 123 45 67"))
    return verdict


_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
#: Already in E.164 form for Azerbaijan, with no leading zero in the national number: what
#: the library's parse makes of it is known without parsing (country code 994, the nine
#: digits as the national number), so only the library's validity check runs.
_AZ_E164 = re.compile(r"\+994[1-9][0-9]{8}")
#: How many distinct values a process remembers the verdict of (a batch file repeats its
#: owners' phones and emails); bounded, so that memory stays flat for a file of any size.
MEMO_SIZE = 8192


@lru_cache(maxsize=MEMO_SIZE)
def phone_verdict(digits: str) -> str | None:
    """phonenumbers' verdict on ``digits`` (stripped of separators): the E.164 form of a
    valid Azerbaijani number, "" for a number that is not a valid Azerbaijani one, None
    for text the library cannot read as a number. Remembered per process."""
    import phonenumbers

    if _AZ_E164.fullmatch(digits):
        number = phonenumbers.PhoneNumber(country_code=994, national_number=int(digits[4:]))
        return digits if phonenumbers.is_valid_number(number) else ""
    return phone_verdict_by_library(digits)


def phone_verdict_by_library(digits: str) -> str | None:
    """:func:`phone_verdict` the long way (parse, check, format): the reference that the
    shortcut for E.164 input is tested against."""
    import phonenumbers

    try:
        number = phonenumbers.parse(digits, "AZ")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 994 or not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_email(text: str) -> str:
    """Email syntax check (no network), returned normalised."""
    raw = str(text).strip()
    if not raw or len(raw) > 254:
        raise InvalidInput(_("email address is not valid"))
    normalised = email_verdict(raw)
    if normalised is None:
        raise InvalidInput(_("email address is not valid"))
    return normalised


#: Top-level domains common in subscribers' addresses. None is a special-use name (such
#: as .test, .local, .invalid, which the library refuses) or all digits.
_COMMON_TLDS = "az|com|net|org|ru|tr|ge|ua|kz|uz|by|de|uk|us|fr|it|info|edu|gov|io|co|me|biz"
#: An address whose verdict and normal form are known without the library: a local part
#: of at most 64 common characters (letters, digits, "_", "+", with single dots or hyphens
#: between them), "@", then a lower-case domain of plain labels (letters and digits, single
#: hyphens inside, at most 63 each) under a common TLD. Such an address is valid and
#: already in normal form; everything else goes to the library.
_PLAIN_EMAIL = re.compile(
    r"(?=[^@]{1,64}@)[A-Za-z0-9_+]+(?:[.-][A-Za-z0-9_+]+)*"
    r"@(?:(?=[a-z0-9-]{1,63}\.)[a-z0-9]+(?:-[a-z0-9]+)*\.)+"
    rf"(?:{_COMMON_TLDS})"
)


@lru_cache(maxsize=MEMO_SIZE)
def email_verdict(raw: str) -> str | None:
    """The normal form of a valid address (``raw`` stripped), None for an invalid one.
    Remembered per process."""
    if len(raw) <= 254 and _PLAIN_EMAIL.fullmatch(raw):
        return raw
    return email_verdict_by_library(raw)


def email_verdict_by_library(raw: str) -> str | None:
    """:func:`email_verdict` by email-validator alone: the reference that the shortcut is
    tested against."""
    from email_validator import EmailNotValidError, validate_email

    try:
        # ASCII local parts only: an internationalised address needs SMTPUTF8, which mail
        # servers may not offer — it would be accepted here and then never delivered.
        result = validate_email(raw, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return None
    return str(result.normalized)


def parse_abonent_code(text: str, *, min_len: int, max_len: int) -> str:
    """Abonent kodu: digits only (spaces and hyphens stripped), leading zeros kept, from
    ``min_len`` to ``max_len`` digits (the caller passes the settings' lengths)."""
    value = re.sub(r"[\s\-]", "", str(text))
    if not value.isascii() or not value.isdigit() or not (min_len <= len(value) <= max_len):
        shown = value if len(value) <= 20 and value.isprintable() else value[:20] + "…"
        raise InvalidInput(
            _("abonent code must be {min_len} to {max_len} digits, got {shown!r}").format(
                min_len=min_len, max_len=max_len, shown=shown
            )
        )
    return value


def parse_channel(text: str | None) -> str:
    value = (text or "egov").strip().lower()
    if value not in CHANNELS:
        raise InvalidInput(
            _("channel must be one of {CHANNELS}").format(CHANNELS=", ".join(CHANNELS))
        )
    return value


def parse_group(text: str) -> str:
    value = str(text).strip().upper()
    if value not in GROUPS:
        raise InvalidInput(_("group must be one of {GROUPS}").format(GROUPS=", ".join(GROUPS)))
    return value


def parse_document_kind(text: str) -> str:
    value = str(text).strip().lower()
    if value not in DOCUMENT_KINDS:
        raise InvalidInput(
            _("document kind must be one of {DOCUMENT_KINDS}").format(
                DOCUMENT_KINDS=", ".join(DOCUMENT_KINDS)
            )
        )
    return value


def clean_text(text: str | None, what: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    """Free text (names, addresses, reasons): no control characters, not blank, bounded."""
    what = gettext(what)  # a msgid (N_) from the caller, or an option name
    value = unicodedata.normalize("NFC", str(text or "")).strip()
    if not value:
        if required:
            raise InvalidInput(_("{what} must not be empty").format(what=what))
        return ""
    if len(value) > limit:
        raise InvalidInput(
            _("{what} is longer than {limit} characters").format(what=what, limit=limit)
        )
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") for ch in value):
        raise InvalidInput(
            _("{what} contains control or invisible formatting characters").format(what=what)
        )
    return value


def parse_external_id(text: str | None) -> str | None:
    if text is None or not str(text).strip():
        return None
    value = str(text).strip()
    if len(value) > 100 or not value.isprintable() or not value.isascii():
        raise InvalidInput(_("external id must be printable ASCII, at most 100 characters"))
    return value


def parse_date(text: str | date, what: str = N_("date")) -> date:
    """ISO ``2026-03-18`` or Azerbaijani ``18.03.2026``."""
    what = gettext(what)  # a msgid (N_) from the caller, or an option name
    if isinstance(text, datetime):
        return text.astimezone(BAKU).date()
    if isinstance(text, date):
        return text
    raw = str(text).strip()
    try:
        if re.fullmatch(r"\d{2}\.\d{2}\.\d{4}", raw):
            return datetime.strptime(raw, "%d.%m.%Y").date()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise InvalidInput(
        _("{what} must be a date like 2026-03-18 or 18.03.2026, got {raw!r}").format(
            what=what, raw=raw[:40]
        )
    )


def parse_datetime(text: str | datetime, what: str = N_("time")) -> datetime:
    """ISO 8601 date-time; without an offset it is Baku time. A bare date means midnight.

    ``what`` (a msgid (N_) from the caller, or an option name) is translated only for a
    refusal: a batch import parses a time per row.
    """
    if isinstance(text, datetime):
        value = text
    else:
        raw = str(text).strip()
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            try:
                d = parse_date(raw, what)
            except InvalidInput:
                raise InvalidInput(
                    _(
                        "{what} must be ISO 8601, e.g. 2026-03-18T14:00:00+04:00, got {raw!r}"
                    ).format(what=gettext(what), raw=raw[:40])
                ) from None
            value = datetime(d.year, d.month, d.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=BAKU)
    if not (2000 <= value.year <= 2100):
        raise InvalidInput(_("{what} is outside 2000–2100").format(what=gettext(what)))
    return value.astimezone(BAKU)


def parse_past_date(text: str | date, what: str, *, today: date) -> date:
    """A day something happened (a payment, a ledger entry): 2000-01-01 … today."""
    what = gettext(what)  # a msgid (N_) from the caller, or an option name
    day = parse_date(text, what)
    if day > today:
        raise InvalidInput(
            _("{what} {day} is in the future").format(what=what, day=day.strftime("%d.%m.%Y"))
        )
    if day < EARLIEST:
        raise InvalidInput(
            _("{what} {day} is before {EARLIEST}").format(
                what=what, day=day.isoformat(), EARLIEST=EARLIEST.isoformat()
            )
        )
    return day


def parse_past_datetime(text: str | datetime, what: str, *, now: datetime) -> datetime:
    """A moment something happened (a registration): from 2000-01-01 up to ``now``.

    Up to :data:`CLOCK_SKEW` ahead of ``now`` is another clock running fast: it is taken
    as ``now``, so that no later decision can precede it.
    """
    value = parse_datetime(text, what)  # ``what``: translated only for a refusal
    if value > now + CLOCK_SKEW:
        raise InvalidInput(
            _("{what} {value} is in the future").format(
                what=gettext(what), value=value.astimezone(BAKU).strftime("%d.%m.%Y %H:%M")
            )
        )
    if value.date() < EARLIEST:
        raise InvalidInput(
            _("{what} {value} is before {EARLIEST}").format(
                what=gettext(what), value=value.isoformat(), EARLIEST=EARLIEST.isoformat()
            )
        )
    return min(value, now.astimezone(BAKU))


def parse_id(text: str | int, what: str = N_("id")) -> int:
    """An id typed by a person: ASCII digits, 1 … 2⁶³−1."""
    return _whole_number(text, what, lowest=1)


def parse_count(text: str | int, what: str) -> int:
    """A count or offset typed by a person: ASCII digits, 0 … 2⁶³−1."""
    return _whole_number(text, what, lowest=0)


def _whole_number(text: str | int, what: str, *, lowest: int) -> int:
    what = gettext(what)  # a msgid (N_) from the caller, or an option name
    raw = str(text).strip()
    # ASCII digits only: int() would also take "1_0", "+1" or Arabic-Indic digits; and
    # the length first, since int() refuses strings of thousands of digits with an error.
    if 0 < len(raw) <= 25 and raw.isascii() and raw.isdigit() and lowest <= int(raw) <= ID_MAX:
        return int(raw)
    shown = raw if len(raw) <= 30 else raw[:30] + "…"
    if raw.isascii() and raw.isdigit() and int(raw[:25]) >= lowest:
        # The column's limit (2**63-1) is the database's business, not the clerk's.
        message = _("{what} {shown!r} is too large: no such number exists")
    elif lowest == 1:
        message = _("{what} must be a whole number from 1 up (1, 2, 3 …), got {shown!r}")
    else:
        message = _("{what} must be a whole number from 0 up (0, 1, 2 …), got {shown!r}")
    raise InvalidInput(message.format(what=what, shown=shown))


# -- masking ---------------------------------------------------------------------------


def mask_fin(fin: str) -> str:
    return f"{fin[:3]}***{fin[-1:]}" if len(fin) >= 4 else "***"


def mask_phone(phone: str) -> str:
    return f"{phone[:6]}*****{phone[-2:]}" if len(phone) >= 9 else "***"


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
