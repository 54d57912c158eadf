"""Working days (iş günləri) in the Azerbaijani calendar.

The `holidays` package (country AZ, public category) knows the public holidays, the
weekend carry-overs and the Cabinet's day swaps it has been told about. An optional
override file adds what it lacks: one ``YYYY-MM-DD rest|work [comment]`` per line,
``#`` starts a comment. Its path is ``ARAYIS_CALENDAR_OVERRIDE``, or
``calendar-override.txt`` in the data directory when that file exists.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from arayis_cli.errors import InvalidInput
from arayis_cli.i18n import _


class WorkingCalendar:
    def __init__(self, *, extra_rest: set[date] | None = None, extra_work: set[date] | None = None):
        self._holidays: Any = None
        self._years: set[int] = set()
        self.extra_rest = extra_rest or set()
        self.extra_work = extra_work or set()

    def _ensure_year(self, year: int) -> None:
        # Build with explicit years (neighbours included, for carry-overs across New Year):
        # populating years one by one later gets the observed-day rules wrong.
        if year not in self._years:
            import holidays

            self._years |= {year - 1, year, year + 1}
            self._holidays = holidays.country_holidays(
                "AZ", years=range(min(self._years), max(self._years) + 1)
            )

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_work:
            return True
        if day in self.extra_rest:
            return False
        self._ensure_year(day.year)
        return bool(self._holidays.is_working_day(day))

    def nth_working_day_after(self, day: date, n: int) -> date:
        """The n-th working day strictly after ``day`` (n ≥ 1)."""
        current = day
        remaining = n
        while remaining:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: 0 when decided the same day."""
        if end <= start:
            return 0
        return sum(
            self.is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1)
        )


def parse_override(text: str, source: str = "override file") -> tuple[set[date], set[date]]:
    rest: set[date] = set()
    work: set[date] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        parts = content.split()
        try:
            day = date.fromisoformat(parts[0])
            kind = parts[1].lower()
        except (ValueError, IndexError):
            raise InvalidInput(
                _("{source} line {number}: expected 'YYYY-MM-DD rest|work'").format(
                    source=source, number=number
                )
            ) from None
        if kind == "rest":
            rest.add(day)
        elif kind == "work":
            work.add(day)
        else:
            raise InvalidInput(
                _("{source} line {number}: kind must be 'rest' or 'work'").format(
                    source=source, number=number
                )
            )
    return rest, work


@lru_cache(maxsize=4)
def _calendar_for(path: str | None) -> WorkingCalendar:
    if path is None:
        return WorkingCalendar()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(
            _("cannot read calendar override file: {exc_strerror}").format(
                exc_strerror=exc.strerror
            )
        ) from None
    rest, work = parse_override(text, source=Path(path).name)
    return WorkingCalendar(extra_rest=rest, extra_work=work)


def calendar(override: Path | None = None) -> WorkingCalendar:
    """The calendar with the extra rest days and working Saturdays of the ``override`` file
    (the run's :meth:`~arayis_cli.config.Settings.calendar_file`): built once per file and
    process (holidays are costly to build)."""
    return _calendar_for(str(override) if override else None)
