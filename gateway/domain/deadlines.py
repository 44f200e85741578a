"""What is due by when, per city pair and service month (规程 第二十四–二十六条, 第三十一条), and what arrived.

For service month M:
- facilities submit M's fees (附件1/2) to the residence city by the 15th of M+1 (later ones fall into the next
  cycle): a cut-off inside the residence city, shown for information;
- the residence city (居住地) sends its claim A3 to each insured city by the end of M+1;
- the insured city (参保地) sends its settlement A4 by the 5th of M+2, the 对账确认截止日, deferred to the next
  working day when that is not one (遇节假日顺延);
- the insured city pays within 15 working days after that deadline and says so with a PAYMENT advice (拨付通知),
  which the residence city's receipt confirms (到账确认).
附件5 is the residence city's settlement with its own facility (第二十五条, 第二十七条): no inter-city deadline.
A dispute (第三十一条) is answered within 15 working days of being raised.

A date that needs no working day (the claim, due at month end) is known whatever the calendar; a date that needs
a year nobody has declared yet is NO_CALENDAR on its own line, naming the file to add (`Schedule.unknown`).

Pure: arrivals come in as values (from the ledger, or from files), the calendar is passed in, "today" too.
"""

from __future__ import annotations

import calendar as gregorian
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum

from gateway.domain.calendar import UnknownYear, WorkingCalendar
from gateway.domain.envelope import SENT_BY_RESIDENCE_CITY, MessageType
from gateway.domain.notes import Note, joined

CHINA_TIME = timezone(timedelta(hours=8), "CST")  # no daylight saving in China: a fixed offset is exact
FACILITY_CUTOFF_DAY = 15  # 第二十四条: 每月15日前
SETTLEMENT_DUE_DAY = 5  # 第二十五条: 次月5日 (the month after the claim's month)
PAYMENT_WORKING_DAYS = 15  # 第二十六条
DISPUTE_WORKING_DAYS = 15  # 第三十一条
DEFAULT_WARN_WORKING_DAYS = 3


class Status(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"  # due date passed, nothing arrived
    DUE_SOON = "due_soon"  # not arrived, due within the warning window
    PENDING = "pending"  # not arrived, not due yet
    UNEXPECTED = "unexpected"  # arrived for a pair nobody expects
    INFO = "info"  # a milestone the gateway cannot observe (facility cut-off, payment)
    NO_CALENDAR = "no_calendar"  # the due date falls in a year no calendar covers


@dataclass(frozen=True, slots=True)
class CityPair:
    """Who claims from whom: the residence city (居住地) claims from the insured city (参保地)."""

    residence: str
    insured: str

    def __str__(self) -> str:
        return f"{self.residence}->{self.insured}"


@dataclass(frozen=True, slots=True)
class Arrival:
    """A document the gateway received: from the ledger's header fields, or from a message file."""

    type: MessageType
    sender: str
    receiver: str
    period: str
    arrived: datetime  # aware; a naive time is taken as UTC (how the ledger stores times)
    message_id: str | None = None
    revision: int = 1

    @property
    def pair(self) -> CityPair:
        if SENT_BY_RESIDENCE_CITY[self.type]:
            return CityPair(residence=self.sender, insured=self.receiver)
        return CityPair(residence=self.receiver, insured=self.sender)

    @property
    def arrival_day(self) -> date:
        return _china_day(self.arrived)


@dataclass(frozen=True, slots=True)
class Item:
    """One line of the deadline report: a document (or milestone) of a pair and month, and where it stands."""

    pair: CityPair
    period: str
    what: str  # "A3", "A4", "PAYMENT", "dispute", or the milestone "facility_fees"
    due: date | None
    status: Status
    arrived: date | None = None
    message_id: str | None = None  # the first arrival: the one that counts for being on time
    revisions: int = 0
    working_days_left: int | None = None
    notes: tuple[Note, ...] = ()  # what a clerk reads beside the status: codes and values (gateway.domain.notes)

    @property
    def note(self) -> str:
        """The notes in English (logs, alerts)."""
        return joined(self.notes)

    def note_text(self, lang: str, mask: Callable[[str], str] | None = None) -> str:
        """The notes in `lang`; `mask` masks their values (a page), never our words."""
        return joined(self.notes, lang, mask)

    def as_dict(self, lang: str | None = None) -> dict[str, object]:
        """As `ltcgw deadlines --json` writes it: "note" in `lang` (English without one), "notes" with each
        note's stable code and values."""
        return {
            "residence": self.pair.residence,
            "insured": self.pair.insured,
            "period": self.period,
            "what": self.what,
            "due": self.due.isoformat() if self.due else None,
            "status": self.status.value,
            "arrived": self.arrived.isoformat() if self.arrived else None,
            "message_id": self.message_id,
            "revisions": self.revisions,
            "working_days_left": self.working_days_left,
            "note": joined(self.notes, lang),
            "notes": [n.as_dict(lang) for n in self.notes],
        }


@dataclass(frozen=True, slots=True)
class Schedule:
    """The procedure's dates for one service month. The A4 and payment dates need working days: None when their
    year is not covered yet, `unknown` then saying which file to add."""

    period: str
    facility_fees: date
    claim: date  # A3: the month's last day, no working day needed
    settlement: date | None  # A4, deferred over holidays
    payment: date | None  # PAYMENT: 15 working days after the A4's date
    unknown: Note | None = None

    def due(self, what: str) -> date | None:
        return {"facility_fees": self.facility_fees, "A3": self.claim, "A4": self.settlement,
                "PAYMENT": self.payment}[what]


def parse_period(period: str) -> tuple[int, int]:
    """YYYY-MM to (year, month), refusing anything else."""
    try:
        year_text, month_text = period.split("-")
        year, month = int(year_text), int(month_text)
    except ValueError:
        raise ValueError(f"period {period!r} is not YYYY-MM") from None
    if len(year_text) != 4 or len(month_text) != 2 or not 1 <= month <= 12:
        raise ValueError(f"period {period!r} is not YYYY-MM")
    return year, month


def shift_period(period: str, months: int) -> str:
    year, month = parse_period(period)
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _month_day(period: str, day: int | None) -> date:
    year, month = parse_period(period)
    return date(year, month, day or gregorian.monthrange(year, month)[1])


def schedule(period: str, calendar: WorkingCalendar) -> Schedule:
    """The dates of service month `period`; those that need a year nobody covers are None (see `unknown`)."""
    next_month, month_after = shift_period(period, 1), shift_period(period, 2)
    settlement = payment = None
    unknown = None
    try:
        settlement = calendar.next_working_day(_month_day(month_after, SETTLEMENT_DUE_DAY))
        payment = calendar.add_working_days(settlement, PAYMENT_WORKING_DAYS)
    except UnknownYear as exc:
        unknown = unknown_year(exc)
    return Schedule(period, _month_day(next_month, FACILITY_CUTOFF_DAY), _month_day(next_month, None), settlement,
                    payment, unknown)


def dispute_answer_due(raised: date, calendar: WorkingCalendar) -> date:
    """第三十一条: the city that received a dispute answers it within 15 working days."""
    return calendar.add_working_days(raised, DISPUTE_WORKING_DAYS)


def _china_day(moment: datetime) -> date:
    """The day in China: a deadline is a Chinese calendar day, whatever the server's zone (naive = UTC)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(CHINA_TIME).date()


def _status_item(
    pair: CityPair, period: str, what: str, due: date, arrived: date | None, today: date,
    calendar: WorkingCalendar, warn_days: int, *, message_id: str | None = None, revisions: int = 0,
) -> Item:
    if arrived is not None:
        late = arrived > due
        return Item(pair, period, what, due, Status.LATE if late else Status.ON_TIME, arrived=arrived,
                    message_id=message_id, revisions=revisions,
                    notes=(Note("deadline.late", "{days} calendar day(s) late", days=(arrived - due).days),)
                    if late else ())
    if today > due:
        return Item(pair, period, what, due, Status.MISSING, message_id=message_id,
                    notes=(Note("deadline.overdue", "overdue since {due}", due=due.isoformat()),))
    left = calendar.working_days_between(today, due)
    return Item(pair, period, what, due, Status.DUE_SOON if left <= warn_days else Status.PENDING,
                message_id=message_id, working_days_left=left)


def _document_item(
    pair: CityPair, period: str, what: str, due: date, arrivals: Sequence[Arrival], today: date,
    calendar: WorkingCalendar, warn_days: int,
) -> Item:
    if not arrivals:
        return _status_item(pair, period, what, due, None, today, calendar, warn_days)
    first = min(arrivals, key=lambda a: a.arrived)
    return _status_item(pair, period, what, due, first.arrival_day, today, calendar, warn_days,
                        message_id=first.message_id, revisions=len({a.revision for a in arrivals}))


@dataclass
class _Grouped:
    by_key: dict[tuple[CityPair, str, str], list[Arrival]] = field(default_factory=dict)

    def add(self, arrival: Arrival) -> None:
        self.by_key.setdefault((arrival.pair, arrival.period, arrival.type.value), []).append(arrival)


def _unknown_item(pair: CityPair, period: str, what: str, due: date | None, found: Sequence[Arrival],
                  note: Note) -> Item:
    """NO_CALENDAR: the line stays in view, with what arrived, and names the holiday file to add."""
    first = min(found, key=lambda a: a.arrived) if found else None
    return Item(pair, period, what, due, Status.NO_CALENDAR, arrived=first.arrival_day if first else None,
                message_id=first.message_id if first else None, revisions=len({a.revision for a in found}),
                notes=(note,))


TRACKED = (MessageType.A3, MessageType.A4, MessageType.PAYMENT)  # A5: the residence city's own business


NIL_NOTE = Note("deadline.nil_claim", "零申报 (nil claim): no fees this month, nothing to settle or pay")
FACILITY_CUTOFF_NOTE = Note("deadline.facility_cutoff", "facilities' fees cut-off at the residence city (第二十四条)")


def unknown_year(exc: UnknownYear) -> Note:
    """A year nobody declared: the holiday file to add (the exception's English text, as a note)."""
    return Note("calendar.unknown_year", "no working-day calendar for {year}: add {file} with that year's official "
                "holidays and make-up working days (调休) (administrator-provided years: {known}; built-in: "
                "{built_in})", year=exc.year, file=f"config/holidays/{exc.year}.toml", known=exc.known_text,
                built_in=exc.built_in)


def check_deadlines(
    pairs: Iterable[CityPair] | Mapping[str, Iterable[CityPair]],
    periods: Iterable[str],
    arrivals: Iterable[Arrival],
    *,
    today: date,
    calendar: WorkingCalendar,
    warn_days: int = DEFAULT_WARN_WORKING_DAYS,
    nil: Iterable[tuple[CityPair, str]] = (),
) -> list[Item]:
    """Every expected document of every pair and month, with its due date and status, plus milestones and
    arrivals nobody expected. A date that needs an unknown year is a NO_CALENDAR line naming the file to add;
    the month's other lines are tracked as usual. `pairs` may differ by month (a mapping period -> pairs: those
    with somebody entitled, from the register); a pair whose claim of a month was nil (`nil`: (pair, period))
    owes no settlement nor payment for it."""
    wanted = list(dict.fromkeys(periods))
    by_period = ({period: list(dict.fromkeys(pairs.get(period, ()))) for period in wanted}
                 if isinstance(pairs, Mapping) else None)
    expected = list(dict.fromkeys(pairs)) if by_period is None else list(dict.fromkeys(
        p for period in wanted for p in by_period[period]))
    nil_claims = set(nil)
    grouped = _Grouped()
    for arrival in arrivals:
        if arrival.period in wanted and arrival.type in TRACKED:
            grouped.add(arrival)
    items: list[Item] = []
    for period in wanted:
        dates = schedule(period, calendar)
        for pair in expected if by_period is None else by_period[period]:
            items.append(Item(pair, period, "facility_fees", dates.facility_fees, Status.INFO,
                              notes=(FACILITY_CUTOFF_NOTE,)))
            for kind in TRACKED:
                found = grouped.by_key.get((pair, period, kind.value), [])
                if kind is not MessageType.A3 and (pair, period) in nil_claims and not found:
                    items.append(Item(pair, period, kind.value, None, Status.INFO, notes=(NIL_NOTE,)))
                    continue
                due = dates.due(kind.value)
                if due is None:
                    items.append(_unknown_item(pair, period, kind.value, None, found, dates.unknown))  # type: ignore[arg-type]
                    continue
                try:
                    items.append(_document_item(pair, period, kind.value, due, found, today, calendar, warn_days))
                except UnknownYear as exc:  # counting the working days left reached an unknown year
                    items.append(_unknown_item(pair, period, kind.value, due, found, unknown_year(exc)))
    for (pair, period, kind), found in grouped.by_key.items():
        if pair not in (set(expected) if by_period is None else set(by_period[period])):
            first = min(found, key=lambda a: a.arrived)
            items.append(Item(pair, period, kind, None, Status.UNEXPECTED, arrived=first.arrival_day,
                              message_id=first.message_id, revisions=len({a.revision for a in found}),
                              notes=(Note("deadline.unexpected_pair", "no such city pair is expected"),)))
    return items


def all_pairs(cities: Iterable[str]) -> list[CityPair]:
    """Every ordered pair of distinct cities: each may have insured persons living in each other one."""
    codes = sorted(set(cities))
    return [CityPair(residence, insured) for residence in codes for insured in codes if residence != insured]


@dataclass(frozen=True, slots=True)
class Dispute:
    """第三十一条: an objection about a month's settlement between two cities, and its answer if any.

    Built from the ledger's DISPUTE and DISPUTE_ANSWER messages (gateway/entrypoints/settlement.py,
    `ledger_disputes`); the deadline logic does not depend on how they travel."""

    dispute_id: str
    pair: CityPair
    period: str
    raised: datetime  # when the disputed city received it (aware; naive = UTC)
    answered: datetime | None = None  # when its answer went out (an application: the residence agency's result)
    applied_on: date | None = None  # 第三十一条: the application at the residence agency: the 15 days count from it
    reviewed: datetime | None = None  # an application: when the insured city's review (DISPUTE_ANSWER) arrived


def check_disputes(
    disputes: Iterable[Dispute], *, today: date, calendar: WorkingCalendar,
    warn_days: int = DEFAULT_WARN_WORKING_DAYS,
) -> list[Item]:
    """Each dispute's answer: due 15 working days after it was raised (第三十一条: after the application at the
    residence agency, when a person or facility applied); answered on time, late, or not yet."""
    items = []
    for dispute in disputes:
        raised = dispute.applied_on or _china_day(dispute.raised)
        try:
            due = dispute_answer_due(raised, calendar)
        except UnknownYear as exc:
            items.append(Item(dispute.pair, dispute.period, "dispute", None, Status.NO_CALENDAR,
                              message_id=dispute.dispute_id, notes=(unknown_year(exc),)))
            continue
        answered = _china_day(dispute.answered) if dispute.answered else None
        items.append(_status_item(dispute.pair, dispute.period, "dispute", due, answered, today, calendar,
                                  warn_days, message_id=dispute.dispute_id))
    return items


# --- next year's calendar ------------------------------------------------------------------------------------

NEXT_YEAR_ASKED_FROM = (10, 1)  # from 1 October the next year's holidays are asked for (published Oct–Dec)
NEXT_YEAR_NEEDED_BY = (12, 1)  # a count of 15 working days from early December may end in January


@dataclass(frozen=True, slots=True)
class CalendarMissing:
    """Next year's official holidays are not known yet, from 1 October on: the `calendar_missing` alert is
    raisable until an administrator adds the year's file. Due 1 December: payments and dispute answers counted
    from then may fall into the new year (and the A4 of November falls in January)."""

    year: int
    since: date  # 1 October of the year before
    due: date
    status: Status  # PENDING, DUE_SOON, or MISSING once `due` has passed
    working_days_left: int | None

    @property
    def file(self) -> str:
        return f"config/holidays/{self.year}.toml"

    @property
    def said(self) -> Note:
        return Note("calendar.next_year_missing", "no working-day calendar for {year} yet: add {file} with that "
                    "year's official holidays and make-up working days (调休) once the State Council publishes them "
                    "(asked for since {since})", year=self.year, file=self.file, since=self.since.isoformat())

    @property
    def note(self) -> str:
        return self.said.message

    def as_dict(self, lang: str | None = None) -> dict[str, object]:
        return {"year": self.year, "file": self.file, "since": self.since.isoformat(), "due": self.due.isoformat(),
                "status": self.status.value, "working_days_left": self.working_days_left,
                "note": self.said.text(lang) if lang else self.note, "code": self.said.code}


def calendar_missing(today: date, calendar: WorkingCalendar,
                     warn_days: int = DEFAULT_WARN_WORKING_DAYS) -> CalendarMissing | None:
    """The decision behind the `calendar_missing` alert and its `ltcgw deadlines` line: from 1 October, next year
    when no calendar covers it yet; None before 1 October or once the year is known."""
    year = today.year + 1
    since = date(today.year, *NEXT_YEAR_ASKED_FROM)
    if today < since or year in calendar.years:
        return None
    due = date(today.year, *NEXT_YEAR_NEEDED_BY)
    if today > due:
        return CalendarMissing(year, since, due, Status.MISSING, None)
    try:
        left: int | None = calendar.working_days_between(today, due)
    except UnknownYear:  # this year unknown too: the NO_CALENDAR lines say so
        left = None
    if left is None:
        return CalendarMissing(year, since, due, Status.PENDING, None)
    return CalendarMissing(year, since, due, Status.DUE_SOON if left <= warn_days else Status.PENDING, left)
