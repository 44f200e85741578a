"""China's working days (工作日), for the procedure's deadlines: official holidays and the weekend days made
working days (调休) included.

The State Council publishes each year's schedule late in the year before, so no library knows the future:
chinesecalendar covers 2004 up to its release, and an administrator adds a later (or corrected) year as a
TOML file (config/holidays/YYYY.toml, parsed here by `parse_holiday_file`). A question about a year that
neither covers raises `UnknownYear` naming the file to add: a deadline computed on a guessed calendar would
be silently wrong by days around 春节 and 国庆.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar


class UnknownYear(LookupError):
    """Nobody told us this year's holidays: the administrator must add config/holidays/<year>.toml."""

    def __init__(self, year: int, known: Iterable[int] = ()) -> None:
        self.year = year
        self.known_text = ", ".join(str(y) for y in sorted(known)) or "-"
        self.built_in = f"{LIBRARY_YEARS.start}–{LIBRARY_YEARS.stop - 1}"
        super().__init__(  # the same words as deadlines.unknown_year's note (said in the reader's language)
            f"no working-day calendar for {year}: add config/holidays/{year}.toml with that year's official "
            f"holidays and make-up working days (调休) (administrator-provided years: {self.known_text}; "
            f"built-in: {self.built_in})"
        )


class HolidayFileError(ValueError):
    """An administrator's holiday file that cannot be trusted (bad dates, wrong year, contradictions)."""


@dataclass(frozen=True, slots=True)
class YearSchedule:
    """One year as the administrator declared it: days off on weekdays and weekend days worked."""

    year: int
    holidays: frozenset[date]  # official days off (weekends inside a holiday may be listed or not)
    working_weekends: frozenset[date]  # 调休: Saturdays/Sundays that are working days

    def is_working_day(self, day: date) -> bool:
        if day in self.working_weekends:
            return True
        return day.weekday() < 5 and day not in self.holidays


def _library_years() -> range:
    # chinesecalendar knows the years its data file has; probe rather than hard-code, so an upgrade extends it.
    first, last = 2004, 2004
    while True:
        try:
            chinese_calendar.is_workday(date(last + 1, 6, 1))
        except NotImplementedError:
            return range(first, last + 1)
        last += 1


LIBRARY_YEARS = _library_years()


class WorkingCalendar:
    """Working days from the administrator's years first (they may correct the library), then the library."""

    def __init__(self, schedules: Mapping[int, YearSchedule] | Iterable[YearSchedule] = ()) -> None:
        items = schedules.values() if isinstance(schedules, Mapping) else schedules
        self._schedules = {s.year: s for s in items}

    @property
    def years(self) -> frozenset[int]:
        """Every year this calendar can answer for."""
        return frozenset(LIBRARY_YEARS) | frozenset(self._schedules)

    def is_working_day(self, day: date) -> bool:
        schedule = self._schedules.get(day.year)
        if schedule is not None:
            return schedule.is_working_day(day)
        if day.year in LIBRARY_YEARS:
            return bool(chinese_calendar.is_workday(day))
        raise UnknownYear(day.year, self._schedules)

    def next_working_day(self, day: date) -> date:
        """The day itself when it is a working day, else the first working day after it (顺延)."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, count: int) -> date:
        """The `count`-th working day after `day` (`day` itself not counted): "within N working days after"."""
        if count < 0:
            raise ValueError("count of working days must not be negative")
        while count:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how many working days are left from `start` until `end`."""
        if end <= start:
            return 0
        days, day = 0, start
        while day < end:
            day += timedelta(days=1)
            days += self.is_working_day(day)
        return days


def parse_holiday_file(text: str, *, expected_year: int | None = None) -> YearSchedule:
    """Read an administrator's year file (TOML); see config/holidays/README.md for the format.

    year = 2027
    working_weekends = [2027-02-20, ...]       # 调休 make-up working days
    [[holiday]]
    name = "春节"
    start = 2027-02-06
    end = 2027-02-12                            # inclusive; omit for a one-day holiday
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise HolidayFileError(f"not valid TOML: {exc}") from exc
    year = data.get("year")
    if not isinstance(year, int):
        raise HolidayFileError("missing `year = YYYY`")
    if expected_year is not None and year != expected_year:
        raise HolidayFileError(f"file for {expected_year} declares year = {year}")
    holidays: set[date] = set()
    for entry in data.get("holiday", []):
        start, end = entry.get("start"), entry.get("end", entry.get("start"))
        if not isinstance(start, date) or not isinstance(end, date) or end < start:
            raise HolidayFileError(f"holiday {entry.get('name', '?')!r}: start/end must be dates, start <= end")
        day = start
        while day <= end:
            holidays.add(day)
            day += timedelta(days=1)
    working = data.get("working_weekends", [])
    if not isinstance(working, list) or not all(isinstance(d, date) for d in working):
        raise HolidayFileError("working_weekends must be a list of dates")
    for day in [*holidays, *working]:
        if day.year != year:
            raise HolidayFileError(f"{day.isoformat()} is not in {year}")
    for day in working:
        if day.weekday() < 5:
            raise HolidayFileError(f"{day.isoformat()} is a weekday: only weekend days can be made working days")
        if day in holidays:
            raise HolidayFileError(f"{day.isoformat()} is both a holiday and a working day")
    return YearSchedule(year, frozenset(holidays), frozenset(working))
