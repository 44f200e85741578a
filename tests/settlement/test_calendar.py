"""Working days: the facts of DOMAIN.md/MEASURED.md, and the administrator's file for a year the library lacks."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.domain.calendar import (
    LIBRARY_YEARS,
    HolidayFileError,
    UnknownYear,
    WorkingCalendar,
    parse_holiday_file,
)


def test_library_covers_2004_to_2026() -> None:
    assert LIBRARY_YEARS.start == 2004
    assert LIBRARY_YEARS.stop - 1 >= 2026


def test_national_day_and_qingming_defer_to_next_working_day() -> None:
    calendar = WorkingCalendar()
    assert calendar.next_working_day(date(2026, 10, 5)) == date(2026, 10, 8)
    assert calendar.next_working_day(date(2026, 4, 5)) == date(2026, 4, 7)
    assert calendar.next_working_day(date(2026, 10, 9)) == date(2026, 10, 9)


def test_make_up_working_saturdays_of_2026() -> None:
    calendar = WorkingCalendar()
    for day in (date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 9, 20)):
        assert calendar.is_working_day(day), day
    assert calendar.is_working_day(date(2026, 10, 10))  # a Saturday, 调休
    assert not calendar.is_working_day(date(2026, 10, 11))  # the Sunday after it
    assert not calendar.is_working_day(date(2026, 10, 1))


def test_add_working_days_counts_after_the_day_and_skips_holidays() -> None:
    calendar = WorkingCalendar()
    # 2026-09-30 (Wed): Oct 1–7 off, so +1 → Oct 8 (Thu), +3 → Oct 10 (the working Saturday), +4 → Oct 12
    assert calendar.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert calendar.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert calendar.add_working_days(date(2026, 9, 30), 4) == date(2026, 10, 12)
    assert calendar.add_working_days(date(2026, 6, 1), 0) == date(2026, 6, 1)
    with pytest.raises(ValueError):
        calendar.add_working_days(date(2026, 6, 1), -1)


def test_year_nobody_covers_is_an_error_naming_the_file() -> None:
    calendar = WorkingCalendar()
    with pytest.raises(UnknownYear) as caught:
        calendar.add_working_days(date(2026, 12, 20), 15)
    assert caught.value.year == 2027
    assert "config/holidays/2027.toml" in str(caught.value)
    with pytest.raises(UnknownYear, match="2003"):
        calendar.is_working_day(date(2003, 12, 31))


def test_administrators_file_extends_the_calendar(text_2027: str) -> None:
    calendar = WorkingCalendar([parse_holiday_file(text_2027, expected_year=2027)])
    # 2026-12-20 (Sun): Dec 21..31 = 9 working days; Jan 1 off; Jan 4–8 = 5 more (14); Jan 11 is the 15th
    assert calendar.add_working_days(date(2026, 12, 20), 15) == date(2027, 1, 11)
    assert calendar.is_working_day(date(2027, 1, 31))  # a Sunday worked
    assert not calendar.is_working_day(date(2027, 2, 8))  # Monday inside 春节
    assert calendar.next_working_day(date(2027, 2, 6)) == date(2027, 2, 15)  # Sat 13, Sun 14 are weekend
    assert 2027 in calendar.years and 2026 in calendar.years


def test_administrators_file_overrides_the_library_for_its_year() -> None:
    text = 'year = 2026\n[[holiday]]\nname = "test"\nstart = 2026-06-01\n'
    calendar = WorkingCalendar([parse_holiday_file(text)])
    assert not calendar.is_working_day(date(2026, 6, 1))
    assert not calendar.is_working_day(date(2026, 10, 10))  # the file knows no 调休: a plain Saturday


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("year = 2027\nworking_weekends = [2027-01-04]", "weekday"),
        ("year = 2027\nworking_weekends = [2026-01-03]", "not in 2027"),
        ('year = 2027\n[[holiday]]\nname = "x"\nstart = 2027-02-10\nend = 2027-02-01', "start <= end"),
        ("holidays = []", "year"),
        ("year = 2027\nworking_weekends = [2027-02-06]\n[[holiday]]\nstart = 2027-02-06", "both"),
        ("year = [", "TOML"),
    ],
)
def test_bad_holiday_files_are_refused(text: str, problem: str) -> None:
    with pytest.raises(HolidayFileError, match=problem):
        parse_holiday_file(text)


def test_file_for_the_wrong_year_is_refused(text_2027: str) -> None:
    with pytest.raises(HolidayFileError, match="declares year = 2027"):
        parse_holiday_file(text_2027, expected_year=2028)
