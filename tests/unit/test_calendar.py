"""Working days in the Azerbaijani calendar, and the 3-working-day deadline."""

from __future__ import annotations

from datetime import date

import pytest

from arayis_cli.calendar import WorkingCalendar, parse_override
from arayis_cli.errors import InvalidInput


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar()


def test_novruz_and_ramazan_2026_are_rest_days(cal: WorkingCalendar) -> None:
    for day in [20, 21, 22, 23, 24, 25, 26, 27, 30]:
        assert not cal.is_working_day(date(2026, 3, day)), day
    assert cal.is_working_day(date(2026, 3, 19))
    assert cal.is_working_day(date(2026, 3, 31))


def test_deadline_across_novruz(cal: WorkingCalendar) -> None:
    # Registered Thursday 19 March: 20–30 March are rest days, so 31 Mar, 1 Apr, 2 Apr.
    assert cal.nth_working_day_after(date(2026, 3, 19), 3) == date(2026, 4, 2)
    # Registered during the holidays: counting starts on the first working day after.
    assert cal.nth_working_day_after(date(2026, 3, 22), 3) == date(2026, 4, 2)


def test_november_2026(cal: WorkingCalendar) -> None:
    # 8 Nov (Victory Day) is a Sunday, observed Tuesday 10 Nov; 9 Nov is Flag Day.
    assert not cal.is_working_day(date(2026, 11, 9))
    assert not cal.is_working_day(date(2026, 11, 10))
    # 12 and 17 Nov are commemorative days that stay working days.
    assert cal.is_working_day(date(2026, 11, 12))
    assert cal.is_working_day(date(2026, 11, 17))
    # Friday 6 Nov → 11, 12, 13 Nov.
    assert cal.nth_working_day_after(date(2026, 11, 6), 3) == date(2026, 11, 13)
    # Wednesday 25 Nov → 26, 27 Nov, Monday 30 Nov.
    assert cal.nth_working_day_after(date(2026, 11, 25), 3) == date(2026, 11, 30)


def test_weekend_registration(cal: WorkingCalendar) -> None:
    assert cal.nth_working_day_after(date(2026, 11, 28), 3) == date(2026, 12, 2)


def test_override_adds_rest_days_and_working_saturdays() -> None:
    rest, work = parse_override(
        "# Cabinet decision\n2026-12-30 rest  # bridge day\n2026-12-26 work\n\n"
    )
    cal = WorkingCalendar(extra_rest=rest, extra_work=work)
    assert not cal.is_working_day(date(2026, 12, 30))
    assert cal.is_working_day(date(2026, 12, 26))
    # Thursday 24 Dec → Fri 25, Sat 26 (working), Mon 28.
    assert cal.nth_working_day_after(date(2026, 12, 24), 3) == date(2026, 12, 28)


@pytest.mark.parametrize("text", ["2026-13-01 rest", "2026-12-01", "2026-12-01 holiday"])
def test_override_refuses_bad_lines(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_override(text)


def test_working_days_between(cal: WorkingCalendar) -> None:
    assert cal.working_days_between(date(2026, 11, 25), date(2026, 11, 25)) == 0
    assert cal.working_days_between(date(2026, 11, 25), date(2026, 11, 30)) == 3
