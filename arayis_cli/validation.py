"""Formats of the things citizens and scripts type: FIN, phone, email, abonent code, dates.

Every parser returns the normalised value or raises :class:`InvalidInput` with a
message that does not repeat the personal data it refused.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
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
    import phonenumbers

    raw = str(text).strip()
    if not raw or len(raw) > 32:
        raise InvalidInput(_("phone must be an Azerbaijani number, e.g. +994 50 123 45 67"))
    digits = re.sub(r"[\s\-().]", "", raw)
    if digits.startswith("994") and len(digits) == 12:
        digits = "+" + digits
    try:
        number = phonenumbers.parse(digits, "AZ")
    except phonenumbers.NumberParseException:
        raise InvalidInput(
            _("phone must be an Azerbaijani number, e.g. +994 50 123 45 67")
        ) from None
    if number.country_code != 994 or not phonenumbers.is_valid_number(number):
        raise InvalidInput(_("phone must be a valid Azerbaijani number, e.g. +994 50 123 45 67"))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_email(text: str) -> str:
    """Email syntax check (no network), returned normalised."""
    from email_validator import EmailNotValidError, validate_email

    raw = str(text).strip()
    if not raw or len(raw) > 254:
        raise InvalidInput(_("email address is not valid"))
    try:
        # ASCII local parts only: an internationalised address needs SMTPUTF8, which mail
        # servers may not offer — it would be accepted here and then never delivered.
        result = validate_email(raw, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        raise InvalidInput(_("email address is not valid")) from None
    return result.normalized


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
    """ISO 8601 date-time; without an offset it is Baku time. A bare date means midnight."""
    what = gettext(what)  # a msgid (N_) from the caller, or an option name
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
                    ).format(what=what, raw=raw[:40])
                ) from None
            value = datetime(d.year, d.month, d.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=BAKU)
    if not (2000 <= value.year <= 2100):
        raise InvalidInput(_("{what} is outside 2000–2100").format(what=what))
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
    what = gettext(what)  # a msgid (N_) from the caller, or an option name
    value = parse_datetime(text, what)
    if value > now + CLOCK_SKEW:
        raise InvalidInput(
            _("{what} {value} is in the future").format(
                what=what, value=value.astimezone(BAKU).strftime("%d.%m.%Y %H:%M")
            )
        )
    if value.date() < EARLIEST:
        raise InvalidInput(
            _("{what} {value} is before {EARLIEST}").format(
                what=what, value=value.isoformat(), EARLIEST=EARLIEST.isoformat()
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
