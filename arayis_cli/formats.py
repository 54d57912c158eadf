"""Dates and times the way Azerbaijani documents write them (dd.mm.yyyy, Baku time)."""

from __future__ import annotations

from datetime import date, datetime

from arayis_cli.validation import BAKU


def fmt_date(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def fmt_datetime(value: datetime) -> str:
    return value.astimezone(BAKU).strftime("%d.%m.%Y %H:%M")


def iso_baku(value: datetime | None) -> str | None:
    """ISO 8601 with the Asia/Baku offset, seconds precision."""
    if value is None:
        return None
    return value.astimezone(BAKU).isoformat(timespec="seconds")
