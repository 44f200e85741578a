"""The register of entitlements, and the checks across documents it makes possible (issue 12).

The gateway keeps, from what it carried and nothing else, who is entitled to care where (第十七条 notices,
第十五条 filings) and who was billed for which days (the statements 附件2 of the claims 附件3 it delivered). A
claim is then checked against it: every person entitled for those days in that residence city with that care type
and facility, nobody billed twice for the same days, one care facility and one assistive-device facility per
person and month, no more days than the month has, sex agreeing with the ID number; a settlement (附件4) must
answer a claim the gateway delivered to its sender, repeat its 申请拨付, and name persons of that claim.

Personal data minimised (第三十五条): a person is known by the HMAC-SHA256 of the ID (type and number) under a
key of the configuration, never by the number itself, and never by name. Keys rotate: new entries are made under
the current key, lookups are made under every key, and a row found under an older key is hashed again under the
current one (the ID number is in hand then). The summaries below are what a check needs of a document: plain,
picklable data with hashes, days, care types and facilities, never a name (a pool worker computes them before it
drops a claim's model). No I/O here: the ledger stores the rows, the service decides with these functions.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import hmac
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from gateway.domain import entitlement as ent
from gateway.domain.findings import Finding, Phrase, phrase
from gateway.domain.idnumber import sex_of
from gateway.domain.notes import Note, separator
from gateway.domain.settlement import CityClaim, CitySettlement

# --- keys -----------------------------------------------------------------------------------------------------

MIN_KEY_BYTES = 32
_KEY_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,31})\s+([0-9a-fA-F]+)$")


@dataclass(frozen=True)
class Keyring:
    """The register's HMAC keys by id, in the order of the key file; `current` makes new entries."""

    keys: tuple[tuple[str, bytes], ...]
    current: str

    def __post_init__(self) -> None:
        ids = [key_id for key_id, _ in self.keys]
        if not ids or self.current not in ids or len(set(ids)) != len(ids):
            raise ValueError("a keyring needs distinct key ids and its current key among them")

    def __repr__(self) -> str:  # never the secrets
        return f"Keyring(ids={[k for k, _ in self.keys]}, current={self.current!r})"

    def person(self, id_number: str) -> Person:
        """The person's hashes under every key, the current key's first. The number alone (trimmed, upper case:
        a card reader's x is X) is hashed: a settlement's adjustment names a person by number, without its type."""
        text = id_number.strip().upper().encode()
        ordered = sorted(self.keys, key=lambda item: item[0] != self.current)
        return Person(tuple(hmac.new(secret, text, hashlib.sha256).hexdigest() for _, secret in ordered), self.current)


def parse_keys(text: str, current: str | None = None) -> Keyring:
    """A key file: one key per line, `ID HEX` (at least 32 bytes of secret as hex), `#` comments; the current
    key is `current` if given, else the last line's (append a line to rotate)."""
    keys: list[tuple[str, bytes]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _KEY_LINE.match(line)
        if match is None or len(match.group(2)) % 2:
            raise ValueError(f"line {number}: write `ID HEX` (an id, then the secret as hex)")
        secret = bytes.fromhex(match.group(2))
        if len(secret) < MIN_KEY_BYTES:
            raise ValueError(f"line {number}: key {match.group(1)} has {len(secret)} bytes, at least {MIN_KEY_BYTES} needed")
        if any(match.group(1) == known for known, _ in keys):
            raise ValueError(f"line {number}: key id {match.group(1)} is used twice")
        keys.append((match.group(1), secret))
    if not keys:
        raise ValueError("no key in the file")
    chosen = current or keys[-1][0]
    if all(chosen != key_id for key_id, _ in keys):
        raise ValueError(f"the current key {chosen!r} is not in the file")
    return Keyring(tuple(keys), chosen)


@dataclass(frozen=True, slots=True)
class Person:
    """A person as the register knows them: HMAC-SHA256 hashes of the ID under every key (the current's first)."""

    hashes: tuple[str, ...]
    key_id: str  # the current key's id

    @property
    def current(self) -> str:
        return self.hashes[0]

    def __contains__(self, hashed: object) -> bool:
        return hashed in self.hashes

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _by_fields(self)


def _by_fields(record: Any) -> tuple[Any, tuple[Any, ...]]:
    """Pickled as a call of its class on its fields: a pool worker's summary of a claim of 100,000 persons is
    unpickled in the daemon while small files wait, in half the time of the dataclass's default state."""
    return type(record), tuple(getattr(record, name) for name in record.__slots__)


# --- modes --------------------------------------------------------------------------------------------------

REFUSE, WARN, OFF = "refuse", "warn", "off"
MODES = (REFUSE, WARN, OFF)
# Each check across documents: its name in `[cities.CODE] cross_checks`, its finding code `cross.<name>`.
CHECKS: Mapping[str, str] = MappingProxyType({
    "entitled": "every person of a claim's statements (附件2) entitled for those days in that residence city",
    "care_type": "the statement's care-service type is the person's agreed or filed one on those days",
    "facility": "the statement's facility is the person's filed care (or assistive-device) facility on those days",
    "double_billing": "nobody billed twice for the same days (within a claim, across claims, across residence cities)",
    "one_facility": "at most one care facility and one assistive-device facility per person and month (第十五条)",
    "month_days": "a person's days in a month no more than the month has",
    "sex": "性别 agrees with the ID number (附件2)",
    "claim_unknown": "a settlement (附件4) answers a claim the gateway delivered to its sender",
    "claimed": "a settlement's 申请拨付金额 equals its claim's",
    "adjustment": "a settlement's per-person deductions name statements and persons of its claim",
})
PREFIX = "cross."


def code(name: str) -> str:
    return PREFIX + name


@dataclass(frozen=True)
class CrossChecks:
    """An insured city's choice for each check: refuse (NACK), warn (delivered, the finding in the ACK's note
    and the transfer log) or off; `default` for the checks not named."""

    default: str = WARN
    by_check: Mapping[str, str] = field(default_factory=dict)

    def mode(self, finding_code: str) -> str:
        return self.by_check.get(finding_code.removeprefix(PREFIX), self.default)


@dataclass(frozen=True)
class RegisterSettings:
    """`[register]` and each insured city's `cross_checks`: what the service needs to keep the register."""

    keyring: Keyring
    modes: Mapping[str, CrossChecks] = field(default_factory=dict)  # by insured city; absent: CrossChecks()
    key_file: str | None = None  # where a pool worker reads the keys again (they are never pickled with a task)

    def checks_of(self, insured: str) -> CrossChecks:
        return self.modes.get(insured, CrossChecks())


def sort_findings(findings: Iterable[Finding], checks: CrossChecks) -> tuple[list[Finding], list[Finding]]:
    """(refused, warned): the findings as the insured city wants them; those it turned off are dropped."""
    refused, warned = [], []
    for finding in findings:
        mode = checks.mode(finding.code)
        if mode == REFUSE:
            refused.append(finding)
        elif mode == WARN:
            warned.append(finding)
    return refused, warned


# --- summaries: what the checks need of a document ------------------------------------------------------------

DEVICE_SERVICE_TYPES = frozenset({"06"})  # 辅助器具租赁: billed by the device facility (第十五条), not the care one


def role_of(service_type: str) -> str:
    return ent.DEVICE if service_type in DEVICE_SERVICE_TYPES else ent.CARE


@dataclass(frozen=True, slots=True)
class Billed:
    """One statement (附件2) of a claim: who (hashed), where, what, which days. No name, no ID number."""

    position: int  # 1-based, as in the claim
    serial: str
    person: Person
    facility: str
    service_type: str
    month: str  # the statement's own 月份 (a late one, 补报, is of an earlier month than its claim)
    start: date
    end: date
    days: int
    late: bool
    sex_agrees: bool

    @property
    def role(self) -> str:
        return role_of(self.service_type)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _by_fields(self)


@dataclass(frozen=True, slots=True)
class ClaimSummary:
    insured: str
    residence: str
    period: str
    serial: str
    claimed: Decimal
    statements: tuple[Billed, ...]
    nil: bool = False


@dataclass(frozen=True, slots=True)
class SettlementSummary:
    insured: str
    residence: str
    period: str
    serial: str
    claim_serial: str
    claimed: Decimal
    adjustments: tuple[tuple[int, str, Person], ...]  # (number, the statement's 流水号, the person)


@dataclass(frozen=True, slots=True)
class ArrangementSummary:
    """A notice (`filing` False) or a filing, as the register keeps it."""

    insured: str
    residence: str
    serial: str
    person: Person
    since: date
    until: date | None  # filings: None
    ended: bool
    service_types: tuple[str, ...]
    care_facility: str | None
    device_facility: str | None
    as_of: date  # from when its care types and facilities apply
    entitlement_serial: str  # a notice: its own serial
    filing: bool = False


Summary = ClaimSummary | SettlementSummary | ArrangementSummary


def summarize(document: Any, keyring: Keyring | None) -> Summary | None:
    """The compact view of a claim, a settlement, a notice or a filing (None for anything else, or without keys)."""
    if keyring is None or document is None:
        return None
    if isinstance(document, CityClaim):
        return ClaimSummary(
            document.insured_city, document.residence_city, document.period, document.serial,
            document.totals.claimed, tuple(_billed(n, s, keyring) for n, s in enumerate(document.statements, 1)),
            bool(getattr(document, "nil", False)),
        )
    if isinstance(document, CitySettlement):
        adjustments = tuple((n, a.statement_serial, keyring.person(a.id_number))
                            for n, a in enumerate(document.adjustments or (), 1))
        return SettlementSummary(document.insured_city, document.residence_city, document.period, document.serial,
                                 document.claim_serial, document.totals.claimed, adjustments)
    if isinstance(document, (ent.EntitlementNotice, ent.ChangeFiling)):
        arranged = ent.arrangement(document)
        as_of = arranged.since
        if isinstance(document, ent.EntitlementNotice) and document.kind == ent.CHANGE:
            as_of = max(document.start_date, document.assessed_at)  # a re-assessment applies from its date
        return ArrangementSummary(
            arranged.insured_city, arranged.residence_city, document.serial,
            keyring.person(arranged.id_number), arranged.since, arranged.until, arranged.ended,
            arranged.service_types, arranged.care_facility, arranged.device_facility, as_of,
            arranged.entitlement_serial, filing=isinstance(document, ent.ChangeFiling),
        )
    return None


def _billed(position: int, s: Any, keyring: Keyring) -> Billed:
    stated = sex_of(s.id_number) if s.id_type == "01" else None
    agrees = stated is None or s.sex not in ("1", "2") or s.sex == stated
    return Billed(position, s.serial, keyring.person(s.id_number), s.facility_code, s.service_type,
                  s.period, s.start_date, s.end_date, s.benefit_days, bool(getattr(s, "late", False)), agrees)


# --- rows: what the ledger keeps ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ArrangementRow:
    """A notice's newest revision (`filing` False) or a filing's, as stored."""

    insured: str
    residence: str
    serial: str
    revision: int
    person: str  # HMAC-SHA256 hex under `key_id`
    key_id: str
    since: date
    until: date | None
    ended: bool
    service_types: tuple[str, ...]
    care_facility: str | None
    device_facility: str | None
    as_of: date
    entitlement_serial: str
    filing: bool = False


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    """A claim (附件3) the gateway passed on, as the register keeps it (newest revision)."""

    insured: str
    residence: str
    period: str
    serial: str
    revision: int
    claimed: Decimal
    nil: bool = False


@dataclass(frozen=True, slots=True)
class BillingRow:
    """One statement of a claim the gateway passed on."""

    insured: str
    residence: str
    claim_period: str
    claim_serial: str
    statement_serial: str
    person: str
    key_id: str
    facility: str
    service_type: str
    month: str
    start: date
    end: date
    days: int
    late: bool

    @property
    def role(self) -> str:
        return role_of(self.service_type)

    @property
    def claim(self) -> tuple[str, str, str, str]:
        return (self.insured, self.residence, self.claim_period, self.claim_serial)


def arrangement_row(summary: ArrangementSummary, revision: int) -> ArrangementRow:
    s = summary
    return ArrangementRow(s.insured, s.residence, s.serial, revision, s.person.current, s.person.key_id, s.since,
                          s.until, s.ended, s.service_types, s.care_facility, s.device_facility, s.as_of,
                          s.entitlement_serial, s.filing)


def claim_rows(summary: ClaimSummary, revision: int) -> tuple[ClaimRecord, list[BillingRow]]:
    s = summary
    return ClaimRecord(s.insured, s.residence, s.period, s.serial, revision, s.claimed, s.nil), [
        BillingRow(s.insured, s.residence, s.period, s.serial, b.serial, b.person.current, b.person.key_id,
                   b.facility, b.service_type, b.month, b.start, b.end, b.days, b.late)
        for b in s.statements
    ]


def persons_of(summary: Summary) -> list[Person]:
    if isinstance(summary, ClaimSummary):
        return [b.person for b in summary.statements]
    if isinstance(summary, SettlementSummary):
        return [p for _, _, p in summary.adjustments]
    return [summary.person]


def stale_hashes(persons: Iterable[Person], found: Iterable[str]) -> list[tuple[str, str, str]]:
    """(old hash, new hash, current key id) for each row found under an older key: to hash again (rotation)."""
    found_set = set(found)
    out = {}
    for person in persons:
        for old in person.hashes[1:]:
            if old in found_set:
                out[old] = (old, person.current, person.key_id)
    return list(out.values())


# --- the checks -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Known:
    """What the register holds about the persons of a claim (under any key)."""

    arrangements: Sequence[ArrangementRow] = ()
    billings: Sequence[BillingRow] = ()


@functools.lru_cache(maxsize=256)
def _month_length(period: str) -> int:
    year, month = (int(x) for x in period.split("-"))
    return calendar.monthrange(year, month)[1]


def _spans(ranges: Iterable[tuple[date, date]]) -> str:
    """'2026-10-01..2026-10-05, 2026-10-09' for runs of days (first, last), adjacent ones joined."""
    spans: list[list[date]] = []
    for first, last in sorted(ranges):
        if spans and first <= spans[-1][1] + timedelta(days=1):
            spans[-1][1] = max(spans[-1][1], last)
        else:
            spans.append([first, last])
    return ", ".join(a.isoformat() if a == b else f"{a.isoformat()}..{b.isoformat()}" for a, b in spans)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)] if end >= start else []


def _arranged_on(day: date, notice: ArrangementRow, filings: Sequence[ArrangementRow]) -> tuple[tuple[str, ...], dict[str, str | None]]:
    """The care types and the facilities (by role) in force on `day`: the notice, then its filings by date, the
    newest applying (a facility nobody filed stays the last one named)."""
    layers = sorted([notice, *filings], key=lambda r: (r.as_of, r.filing))
    applying = [r for r in layers if r.as_of <= day] or [notice]
    types = applying[-1].service_types
    facilities: dict[str, str | None] = {ent.CARE: None, ent.DEVICE: None}
    for layer in applying:
        if layer.care_facility:
            facilities[ent.CARE] = layer.care_facility
        if layer.filing or layer.device_facility:  # a filing states the whole arrangement: no device is none
            facilities[ent.DEVICE] = layer.device_facility
    return types, facilities


class _ByPerson:
    """Rows by the person's hash: a claim of 100,000 statements looks up each person's rows, never scans them all."""

    def __init__(self, rows: Iterable[Any]) -> None:
        self._rows: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            self._rows[row.person].append(row)

    def of(self, person: Person) -> list[Any]:
        return [row for hashed in person.hashes for row in self._rows.get(hashed, ())]


PER_CODE = 500  # findings made per code: a NACK lists 500 at most; a 100,000-person claim must not build more


class _Findings(list):
    """The findings of one claim, at most PER_CODE of each code (each code found is still there to decide on)."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = defaultdict(int)

    def add(self, code: str, template: str, /, **params: Any) -> None:
        self.counts[code] += 1
        if self.counts[code] <= PER_CODE:
            self.append(Finding(code, template, **params))

    def skip(self, code: str) -> bool:
        """Whether a finding of `code` is past PER_CODE: then counted only, its words never built (a claim of
        100,000 unentitled persons would otherwise phrase 100,000 findings to keep 500)."""
        if self.counts[code] < PER_CODE:
            return False
        self.counts[code] += 1
        return True


def check_claim(claim: ClaimSummary, known: Known) -> list[Finding]:
    """Every finding of the checks across documents for a claim, given what the register knows of its persons."""
    out = _Findings()
    pair = (claim.insured, claim.residence)
    notices = _ByPerson(r for r in known.arrangements if not r.filing and (r.insured, r.residence) == pair)
    filings = _ByPerson(r for r in known.arrangements if r.filing and (r.insured, r.residence) == pair)
    others = _ByPerson(b for b in known.billings if b.claim != (claim.insured, claim.residence, claim.period,
                                                                 claim.serial) and b.insured == claim.insured)
    for b in claim.statements:
        if not b.sex_agrees:
            out.add("cross.sex", "{who}: Sex 性别 does not agree with the ID number (its 17th digit: odd 男, "
                               "even 女)", who=_statement(b.position, b.serial))
        _entitled(out, b, notices.of(b.person), filings.of(b.person))
    _double_billing(out, claim, others)
    _per_month(out, claim, others, notices, filings)
    return list(out)


def _statement(position: int, serial: str) -> Phrase:
    return phrase("statement {n} (serial {serial})", n=position, serial=serial)


def _entitled(out: _Findings, b: Billed, notices: Sequence[ArrangementRow],
              filings: Sequence[ArrangementRow]) -> None:
    """Runs of days (first, last), never day by day: a claim of 100,000 statements is judged in about a second."""
    uncovered: list[tuple[date, date]] = []
    wrong_type: list[tuple[date, date]] = []
    wrong_facility: list[tuple[date, date]] = []
    if not notices:
        uncovered = [(b.start, b.end)]
    # The arrangement changes only where a notice or filing begins or ends: judged once per run of equal days.
    changes = {b.start} | {d for n in notices for d in (n.since, n.until and n.until + timedelta(days=1)) if d} | {
        f.as_of for f in filings} | {n.as_of for n in notices}
    runs = sorted(d for d in changes if b.start <= d <= b.end) if notices else []
    for i, first in enumerate(runs):
        days = [(first, (runs[i + 1] - timedelta(days=1)) if i + 1 < len(runs) else b.end)]
        covering = [n for n in notices if n.since <= first and (n.until is None or first <= n.until)]
        if not covering:
            uncovered += days
            continue
        notice = max(covering, key=lambda n: n.since)
        types, facilities = _arranged_on(first, notice, [f for f in filings if f.entitlement_serial == notice.serial])
        if b.service_type not in types:
            wrong_type += days
        # Either filed facility may bill (a care facility may rent devices too); none filed yet: not judged.
        filed = {code for code in facilities.values() if code}
        if filed and b.facility not in filed:
            wrong_facility += days
    uncovered = [] if uncovered and out.skip("cross.entitled") else uncovered
    wrong_type = [] if wrong_type and out.skip("cross.care_type") else wrong_type
    wrong_facility = [] if wrong_facility and out.skip("cross.facility") else wrong_facility
    who = _statement(b.position, b.serial) if uncovered or wrong_type or wrong_facility else None
    if uncovered:
        out.add("cross.entitled", "{who}: no entitlement notified to this residence city (待遇享受通知, "
                           "第十七条) covers {days}: the person is not entitled on those days", who=who,
                           days=_spans(uncovered))
    if wrong_type:
        out.add("cross.care_type", "{who}: care-service type {type} is not the person's agreed or filed one "
                           "on {days} (第十五条, 第十七条)", who=who, type=b.service_type, days=_spans(wrong_type))
    if wrong_facility:
        out.add("cross.facility", "{who}: facility {facility} is not a facility filed for the person "
                           "(定点长护服务机构 or 定点辅助器具租赁机构) on {days} (第十五条: fees at another facility are "
                           "not paid)", who=who, facility=b.facility, days=_spans(wrong_facility))


def _overlap(a_start: date, a_end: date, b_start: date, b_end: date) -> tuple[date, date] | None:
    start, end = max(a_start, b_start), min(a_end, b_end)
    return (start, end) if start <= end else None


def _double_billing(out: _Findings, claim: ClaimSummary, others: _ByPerson) -> None:
    by_person: dict[tuple[str, str], list[Billed]] = defaultdict(list)
    for b in claim.statements:
        by_person[(b.person.current, b.role)].append(b)
    for group in by_person.values():
        group.sort(key=lambda b: (b.start, b.position))
        for i, later in enumerate(group):
            for earlier in group[:i]:
                both = _overlap(earlier.start, earlier.end, later.start, later.end)
                if both:
                    out.add("cross.double_billing", "{who}: the person is billed for {days} by {other} of "
                                       "this claim too", who=_statement(later.position, later.serial),
                                       days=_spans([both]), other=_statement(earlier.position, earlier.serial))
                    break
    for b in claim.statements:
        for row in others.of(b.person):
            if row.role != b.role:
                continue
            both = _overlap(row.start, row.end, b.start, b.end)
            if not both:
                continue
            where = (phrase("claim {claim} of {month} (statement {serial})", claim=row.claim_serial,
                            month=row.claim_period, serial=row.statement_serial)
                     if row.residence == claim.residence else phrase("a claim of another residence city to this insured city"))
            out.add("cross.double_billing", "{who}: the person is billed for {days} already, by {where}",
                               who=_statement(b.position, b.serial), days=_spans([both]), where=where)
            break


def _per_month(out: _Findings, claim: ClaimSummary, others: _ByPerson, notices: _ByPerson,
               filings: _ByPerson) -> None:
    groups: dict[tuple[str, str, str], list[Billed]] = defaultdict(list)
    for b in claim.statements:
        groups[(b.person.current, b.role, b.month)].append(b)
    for (_, role, month), group in groups.items():
        person = group[0].person
        earlier = [r for r in others.of(person) if r.role == role and r.month == month]
        facilities = {b.facility for b in group} | {r.facility for r in earlier}
        if len(facilities) > 1 and not facilities <= _filed_facilities(role, month, notices.of(person),
                                                                       filings.of(person)):
            first = min(group, key=lambda b: b.position)
            out.add("cross.one_facility", "{who}: the person is billed by {count} facilities ({role}) in "
                               "{month}, one is allowed unless a change was filed (第十五条)",
                               who=_statement(first.position, first.serial), count=len(facilities),
                               role=ent.FACILITY_ROLES[role], month=month)
        days = sum(b.days for b in group) + sum(r.days for r in earlier)
        if days > _month_length(month):
            first = min(group, key=lambda b: b.position)
            out.add("cross.month_days", "{who}: the person is billed {days} days ({role}) in {month}, which "
                               "has {length}", who=_statement(first.position, first.serial), days=days,
                               role=ent.FACILITY_ROLES[role], month=month, length=_month_length(month))


def _filed_facilities(role: str, month: str, notices: Sequence[ArrangementRow],
                      filings: Sequence[ArrangementRow]) -> set[str]:
    """The facilities of `role` filed for the person (their notices and filings) on some day of `month`."""
    year, number = (int(x) for x in month.split("-"))
    found: set[str] = set()
    for notice in notices:
        for day in _days(date(year, number, 1), date(year, number, _month_length(month))):
            if notice.since <= day and (notice.until is None or day <= notice.until):
                facility = _arranged_on(day, notice, [f for f in filings if f.entitlement_serial == notice.serial])[1][role]
                if facility:
                    found.add(facility)
    return found


def check_settlement(settlement: SettlementSummary, claim: ClaimRecord | None,
                     billings: Sequence[BillingRow]) -> list[Finding]:
    """A settlement (附件4) against the claim the gateway delivered to its sender (None: no such claim)."""
    s = settlement
    if claim is None:
        return [Finding("cross.claim_unknown", "ClaimSerial {serial}: the gateway delivered no claim (附件3) of "
                        "{month} with this 流水号 from {residence} to {insured}", serial=s.claim_serial,
                        month=s.period, residence=s.residence, insured=s.insured)]
    out = _Findings()
    if s.claimed != claim.claimed:
        out.add("cross.claimed", "Totals: Claimed 申请拨付金额 {claimed} is not claim {serial}'s "
                           "{expected}", claimed=s.claimed, serial=claim.serial, expected=claim.claimed)
    by_serial = {b.statement_serial: b for b in billings}
    for number, serial, person in s.adjustments:
        row = by_serial.get(serial)
        if row is None:
            out.add("cross.adjustment", "adjustment {n}: claim {claim} has no statement with serial "
                               "{serial}", n=number, claim=claim.serial, serial=serial)
        elif row.person not in person:
            out.add("cross.adjustment", "adjustment {n}: its ID number is not the one of statement "
                               "{serial} of claim {claim}", n=number, serial=serial, claim=claim.serial)
    return list(out)


def active_pairs(arrangements: Iterable[ArrangementRow], period: str) -> set[tuple[str, str]]:
    """(residence, insured) pairs with a person entitled on some day of `period`: the pairs a claim is expected
    from that month."""
    year, month = (int(x) for x in period.split("-"))
    first, last = date(year, month, 1), date(year, month, _month_length(period))
    return {(r.residence, r.insured) for r in arrangements
            if not r.filing and r.since <= last and (r.until is None or r.until >= first)}


# --- the ACK's note for what was delivered with warnings ------------------------------------------------------

NOTE_LIMIT = 1000  # replies.xsd Note


def warning_note(warned: Sequence[Finding], lang: str, limit: int = NOTE_LIMIT) -> str:
    """The ACK's note for a document delivered with warnings, all of it in the receiving city's language `lang`:
    every code, then as many findings (code: message) as fit."""
    codes = ", ".join(sorted({f.code for f in warned}))
    note = Note("ack.warned", "checks across documents warned (delivered): {codes}", codes=codes).text(lang)
    for finding in warned:
        more = f"{separator(lang)}{finding.code}: {finding.text(lang)}"
        if len(note) + len(more) > limit:
            break
        note += more
    return note[:limit]
