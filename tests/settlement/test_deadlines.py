"""Deadlines per city pair and month: the procedure's dates, and a simulated year between four cities."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest

from gateway.domain.calendar import WorkingCalendar, parse_holiday_file
from gateway.domain.deadlines import (
    CHINA_TIME,
    Arrival,
    CityPair,
    Status,
    all_pairs,
    check_deadlines,
    dispute_answer_due,
    schedule,
    shift_period,
)
from gateway.domain.envelope import MessageType

CALENDAR = WorkingCalendar()
CITIES = ("370100", "370200", "370300", "370600")  # 济南 青岛 淄博 烟台


def test_national_day_month_defers_the_settlement() -> None:
    dates = schedule("2026-08", CALENDAR)
    assert dates.facility_fees == date(2026, 9, 15)
    assert dates.claim == date(2026, 9, 30)
    assert dates.settlement == date(2026, 10, 8)  # 10-05 is inside 国庆
    # 15 working days after 10-08: 10-09, 10-10 (调休 Saturday), 10-12..16, 10-19..23, 10-26..28
    assert dates.payment == date(2026, 10, 28)


def test_qingming_defers_february_and_december_claim_ends_the_year() -> None:
    assert schedule("2026-02", CALENDAR).settlement == date(2026, 4, 7)
    assert schedule("2026-02", CALENDAR).claim == date(2026, 3, 31)
    assert schedule("2025-12", CALENDAR).claim == date(2026, 1, 31)
    assert schedule("2026-01", CALENDAR).claim == date(2026, 2, 28)


def test_months_whose_dates_fall_in_2027_need_the_administrators_file(text_2027: str) -> None:
    unknown = schedule("2026-11", CALENDAR)
    assert (unknown.claim, unknown.settlement, unknown.payment) == (date(2026, 12, 31), None, None)
    assert unknown.unknown.code == "calendar.unknown_year" and "config/holidays/2027.toml" in unknown.unknown.message
    extended = WorkingCalendar([parse_holiday_file(text_2027)])
    assert schedule("2026-11", extended).settlement == date(2027, 1, 5)
    assert schedule("2026-11", extended).claim == date(2026, 12, 31)
    claim = Arrival(MessageType.A3, "370100", "370200", "2026-11", _at_china(date(2026, 12, 30)), "c1")
    items = check_deadlines([CityPair("370100", "370200")], ["2026-11"], [claim], today=date(2026, 12, 31),
                            calendar=CALENDAR)
    # the claim, due at month end, needs no working day: tracked; the A4 and the payment say what is missing
    assert [(i.what, i.status) for i in items] == [
        ("facility_fees", Status.INFO), ("A3", Status.ON_TIME), ("A4", Status.NO_CALENDAR),
        ("PAYMENT", Status.NO_CALENDAR)]
    assert all("config/holidays/2027.toml" in i.note for i in items[2:])
    assert [n.code for i in items[2:] for n in i.notes] == ["calendar.unknown_year"] * 2
    assert items[2].note_text("zh-CN").startswith("缺少 2027 年的工作日历：请添加 config/holidays/2027.toml，写入当年法定节假日")
    assert items[2].note_text("en") == items[2].note.startswith("no working-day calendar for 2027") * items[2].note
    [missing_claim] = [i for i in check_deadlines([CityPair("370100", "370200")], ["2026-11"], [],
                                                  today=date(2027, 1, 2), calendar=CALENDAR) if i.what == "A3"]
    assert (missing_claim.status, missing_claim.due) == (Status.MISSING, date(2026, 12, 31))


def test_dispute_answer_within_15_working_days() -> None:
    assert dispute_answer_due(date(2026, 9, 28), CALENDAR) == date(2026, 10, 23)


def _at_china(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA_TIME)


def _year_of_traffic(periods: list[str]) -> tuple[list[Arrival], dict[tuple[str, str, str, str], Status]]:
    """Every pair sends everything on its due day, except the exceptions, whose expected status is returned."""
    arrivals: list[Arrival] = []
    exceptions: dict[tuple[str, str, str, str], Status] = {}
    for period in periods:
        dates = schedule(period, CALENDAR)
        for pair in all_pairs(CITIES):
            key = (str(pair), period)
            for kind in (MessageType.A3, MessageType.A4, MessageType.PAYMENT):
                when = _at_china(dates.due(kind.value))
                if key == ("370200->370100", "2026-08") and kind is MessageType.A4:
                    # 23:30 in China on the deferred due day is on time, though it is 15:30 UTC
                    when = datetime(2026, 10, 8, 15, 30, tzinfo=timezone.utc)
                if key == ("370300->370100", "2026-08") and kind is MessageType.A4:
                    when = datetime(2026, 10, 8, 16, 30, tzinfo=timezone.utc)  # 00:30 on 10-09 in China: late
                    exceptions[(*key, "A4")] = Status.LATE
                if key == ("370600->370300", "2026-03") and kind is MessageType.A3:
                    exceptions[(*key, "A3")] = Status.MISSING
                    continue
                if key == ("370100->370600", "2026-07") and kind is MessageType.A3:
                    when = _at_china(date(2026, 9, 2))  # after 08-31, the due date
                    exceptions[(*key, "A3")] = Status.LATE
                if key == ("370200->370600", "2026-05") and kind is MessageType.PAYMENT:
                    when = _at_china(dates.payment + timedelta(days=3))  # the money came three days late
                    exceptions[(*key, "PAYMENT")] = Status.LATE
                if key == ("370600->370200", "2026-04") and kind is MessageType.PAYMENT:
                    exceptions[(*key, "PAYMENT")] = Status.MISSING
                    continue
                sender, receiver = (pair.residence, pair.insured) if kind is MessageType.A3 else (
                    pair.insured, pair.residence)
                arrivals.append(Arrival(kind, sender, receiver, period, when, message_id=f"{key}{kind}"))
    return arrivals, exceptions


def test_simulated_year_between_four_cities() -> None:
    periods = [shift_period("2025-10", n) for n in range(12)]  # 2025-10 .. 2026-09
    arrivals, exceptions = _year_of_traffic(periods)
    today = date(2026, 10, 20)
    # what is due after today has not come yet: it must show as pending (or due soon)
    future = {(str(a.pair), a.period, a.type.value) for a in arrivals if a.arrival_day > today}
    arrivals = [a for a in arrivals if a.arrival_day <= today]
    assert future  # September's claims and settlements, August's payments
    items = check_deadlines(all_pairs(CITIES), periods, arrivals, today=today, calendar=CALENDAR)
    documents = [i for i in items if i.what in ("A3", "A4", "PAYMENT")]
    assert len(documents) == 12 * 12 * 3
    for item in documents:
        expected = exceptions.get((str(item.pair), item.period, item.what))
        if expected is not None:
            assert item.status is expected, item
        elif (str(item.pair), item.period, item.what) in future:
            assert item.status in (Status.PENDING, Status.DUE_SOON), item
            assert item.working_days_left == CALENDAR.working_days_between(today, item.due)
            assert (item.status is Status.DUE_SOON) == (item.working_days_left <= 3)
        else:
            assert item.status is Status.ON_TIME, item
    # 2025-12: A4 due 2026-02-05; its payment's 15 working days cross the Spring Festival (02-15..02-23 off,
    # Saturdays 02-14 and 02-28 worked): 02-06, 09..13, 14, 24..27, 28, 03-02..04: due 2026-03-04
    spring = [i for i in documents if i.period == "2025-12" and i.what == "PAYMENT"]
    assert {i.due for i in spring} == {date(2026, 3, 4)} and {i.status for i in spring} == {Status.ON_TIME}
    national_day = [i for i in documents if i.period == "2026-08" and i.what == "A4"]
    assert {i.due for i in national_day} == {date(2026, 10, 8)}
    assert Counter(i.status for i in national_day) == Counter({Status.ON_TIME: 11, Status.LATE: 1})
    milestones = [i for i in items if i.status is Status.INFO]
    assert len(milestones) == 12 * 12  # the facilities' cut-off; the payment is a tracked document now


def test_warning_window_in_working_days() -> None:
    pair = CityPair("370100", "370200")
    # A4 of 2026-08 due 2026-10-08; on 2026-09-30 only 1 working day (10-08) is left: due soon
    items = check_deadlines([pair], ["2026-08"], [], today=date(2026, 9, 30), calendar=CALENDAR, warn_days=1)
    a4 = next(i for i in items if i.what == "A4")
    assert (a4.status, a4.working_days_left) == (Status.DUE_SOON, 1)
    a3 = next(i for i in items if i.what == "A3")
    assert (a3.status, a3.working_days_left) == (Status.DUE_SOON, 0)
    items = check_deadlines([pair], ["2026-08"], [], today=date(2026, 9, 20), calendar=CALENDAR, warn_days=1)
    assert next(i for i in items if i.what == "A4").status is Status.PENDING
    items = check_deadlines([pair], ["2026-08"], [], today=date(2026, 10, 9), calendar=CALENDAR)
    assert next(i for i in items if i.what == "A4").status is Status.MISSING


def test_first_revision_decides_and_unexpected_pairs_are_listed() -> None:
    pair = CityPair("370100", "370200")
    first = Arrival(MessageType.A3, "370100", "370200", "2026-08", _at_china(date(2026, 9, 29)), "m1", 1)
    second = Arrival(MessageType.A3, "370100", "370200", "2026-08", _at_china(date(2026, 10, 9)), "m2", 2)
    stray = Arrival(MessageType.A4, "370500", "370100", "2026-08", _at_china(date(2026, 10, 8)), "m3")
    items = check_deadlines([pair], ["2026-08"], [second, first, stray], today=date(2026, 10, 9),
                            calendar=CALENDAR)
    a3 = next(i for i in items if i.what == "A3")
    assert (a3.status, a3.message_id, a3.revisions) == (Status.ON_TIME, "m1", 2)
    unexpected = [i for i in items if i.status is Status.UNEXPECTED]
    assert [(str(i.pair), i.what) for i in unexpected] == [("370100->370500", "A4")]


def test_shift_period_across_years() -> None:
    assert shift_period("2026-11", 2) == "2027-01"
    assert shift_period("2026-01", -1) == "2025-12"
    with pytest.raises(ValueError):
        shift_period("2026-13", 1)


def test_disputes_are_answered_within_15_working_days() -> None:
    from gateway.domain.deadlines import Dispute, check_disputes

    pair = CityPair("370300", "370100")
    raised = datetime(2026, 9, 28, 9, tzinfo=CHINA_TIME)  # answer due 2026-10-23 (国庆 in between)
    disputes = [
        Dispute("d1", pair, "2026-08", raised, answered=datetime(2026, 10, 23, 17, tzinfo=CHINA_TIME)),
        Dispute("d2", pair, "2026-08", raised, answered=datetime(2026, 10, 26, 9, tzinfo=CHINA_TIME)),
        Dispute("d3", pair, "2026-08", raised),
        Dispute("d4", pair, "2026-08", datetime(2026, 10, 20, 9, tzinfo=CHINA_TIME)),
        Dispute("d5", pair, "2026-11", datetime(2026, 12, 20, 9, tzinfo=CHINA_TIME)),
    ]
    items = {i.message_id: i for i in check_disputes(disputes, today=date(2026, 10, 27), calendar=CALENDAR)}
    assert {i.due for k, i in items.items() if k in ("d1", "d2", "d3")} == {date(2026, 10, 23)}
    assert [items[k].status for k in ("d1", "d2", "d3", "d4", "d5")] == [
        Status.ON_TIME, Status.LATE, Status.MISSING, Status.PENDING, Status.NO_CALENDAR]
    assert items["d4"].due == date(2026, 11, 10) and items["d4"].working_days_left == 10


def test_next_years_calendar_is_asked_for_from_1_october(text_2027: str) -> None:
    from gateway.domain.deadlines import calendar_missing

    assert calendar_missing(date(2026, 9, 30), CALENDAR) is None  # not asked for yet
    asked = calendar_missing(date(2026, 10, 1), CALENDAR)
    assert (asked.year, asked.since, asked.due, asked.status) == (2027, date(2026, 10, 1), date(2026, 12, 1),
                                                                  Status.PENDING)
    assert "config/holidays/2027.toml" in asked.note and asked.file == "config/holidays/2027.toml"
    soon = calendar_missing(date(2026, 11, 27), CALENDAR)  # 11-30 and 12-01 are left
    assert (soon.status, soon.working_days_left) == (Status.DUE_SOON, 2)
    assert calendar_missing(date(2026, 12, 2), CALENDAR).status is Status.MISSING
    known = WorkingCalendar([parse_holiday_file(text_2027)])
    assert calendar_missing(date(2026, 12, 2), known) is None  # the administrator added the year
