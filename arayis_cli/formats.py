"""Dates and times the way Azerbaijani documents write them (dd.mm.yyyy, Baku time)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from arayis_cli.validation import BAKU


def fmt_date(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def fmt_datetime(value: datetime) -> str:
    return value.astimezone(BAKU).strftime("%d.%m.%Y %H:%M")


def iso_baku(value: datetime | str | None) -> str | None:
    """ISO 8601 with the Asia/Baku offset, seconds precision.

    ``value`` is an aware datetime, or a time as SQLite stores it (UTC text
    ``YYYY-MM-DD HH:MM:SS[.ffffff]``, read as a plain column by ``list`` so that a million
    rows are not each parsed into a datetime and converted through zoneinfo).
    """
    if isinstance(value, str):  # the common case first: ``list`` calls this 2M times
        hour = _HOURS.get(value[:13])
        if hour is not None and len(value) >= 19 and value[10] == " " and value[19:20] in ".":
            return f"{hour[0]}{value[13:19]}{hour[1]}"
        return _iso_baku_stored(value)
    if value is None:
        return None
    return value.astimezone(BAKU).isoformat(timespec="seconds")


#: Baku local "YYYY-MM-DDTHH" and offset text for each UTC hour seen, valid for every
#: instant of that hour (checked at its first and last second). Baku's offset has always
#: been whole hours (+04:00, +05:00 in summers until 2015) and changed on the hour, so
#: every hour is cached; an hour with a change inside falls back to zoneinfo per value.
_HOURS: dict[str, tuple[str, str] | None] = {}
_HOURS_MAX = 200_000  # ~23 years of distinct hours; cleared beyond that (memory flat)


def _iso_baku_stored(text: str) -> str:
    if len(text) < 19 or text[10] not in " T" or (len(text) > 19 and text[19] != "."):
        return _iso_slow(text)  # not the stored shape (an offset, no seconds…)
    key = text[:13]
    hour = _HOURS.get(key, False)
    if hour is False:
        hour = _hour(key)
        if len(_HOURS) >= _HOURS_MAX:
            _HOURS.clear()
        _HOURS[key] = hour
    if hour is None:
        return _iso_slow(text)
    local_hour, offset = hour  # type: ignore[misc]
    return f"{local_hour}{text[13:19]}{offset}"


def _hour(key: str) -> tuple[str, str] | None:
    try:
        start = datetime.fromisoformat(key + ":00:00").replace(tzinfo=UTC)
    except ValueError:
        return None
    first = start.astimezone(BAKU)
    last = (start + timedelta(seconds=3599)).astimezone(BAKU)
    if first.utcoffset() != last.utcoffset() or first.minute != 0 or first.second != 0:
        return None
    iso = first.isoformat(timespec="seconds")  # YYYY-MM-DDTHH:00:00+04:00
    return iso[:13], iso[19:]


def _iso_slow(text: str) -> str:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:  # SQLite keeps no offset: the text is UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(BAKU).isoformat(timespec="seconds")


def iso_day(value: date | str) -> str:
    """A calendar day as ISO 8601 (SQLite's stored text already is)."""
    return value if isinstance(value, str) else value.isoformat()
