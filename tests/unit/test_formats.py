"""ISO times in Baku from SQLite's stored text: the per-hour cache agrees with zoneinfo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from arayis_cli import formats
from arayis_cli.validation import BAKU


def _zoneinfo(at: datetime) -> str:
    return at.astimezone(BAKU).isoformat(timespec="seconds")


def test_stored_text_agrees_with_zoneinfo_across_the_summer_time_years() -> None:
    # Baku kept summer time (+05:00) until 2015 and is +04:00 since: every hour of
    # 2014–2016, at its first and last second, in the stored shape SQLite writes.
    at = datetime(2014, 1, 1, tzinfo=UTC)
    while at.year < 2017:
        for moment in (at, at + timedelta(minutes=59, seconds=59, microseconds=999_999)):
            stored = moment.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
            assert formats.iso_baku(stored) == _zoneinfo(moment), stored
        at += timedelta(hours=1)
    summer = formats.iso_baku("2015-07-01 12:00:00.000000")
    assert summer == "2015-07-01T17:00:00+05:00"
    assert formats.iso_baku("2026-11-25 06:00:00.500000") == "2026-11-25T10:00:00+04:00"


def test_other_shapes_of_stored_text() -> None:
    moment = datetime(2026, 3, 29, 23, 30, 5, tzinfo=UTC)
    expected = _zoneinfo(moment)
    for text in (
        "2026-03-29 23:30:05",
        "2026-03-29T23:30:05",
        "2026-03-29T23:30:05.25",
        "2026-03-29 23:30:05+00:00",
        "2026-03-30T03:30:05+04:00",
        "2026-03-29T23:30:05Z",
    ):
        assert formats.iso_baku(text) == expected, text
    assert formats.iso_baku(moment) == expected
    assert formats.iso_baku(None) is None


def test_the_hour_cache_stays_bounded(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(formats, "_HOURS_MAX", 10)
    formats._HOURS.clear()
    at = datetime(2020, 1, 1, tzinfo=UTC)
    for hour in range(50):
        moment = at + timedelta(hours=hour)
        stored = moment.replace(tzinfo=None).isoformat(sep=" ")
        assert formats.iso_baku(stored) == _zoneinfo(moment)
    assert len(formats._HOURS) <= 10
