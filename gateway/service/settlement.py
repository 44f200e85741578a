"""Settlement use cases over the ledger and the spool: what is due by when, and whether the forms agree.

`ltcgw deadlines` and `ltcgw reconcile` (gateway/entrypoints/settlement.py), the console and the daemon's
deadline alerts ask these functions; they read what the daemon received and checked (the ledger's records, the
spool's bytes) and answer with the domain's items and reconciliations (gateway/domain/deadlines.py,
reconciliation.py). Nothing here prints: output carries statement positions and 流水号, never names or ID numbers.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from pathlib import Path

from gateway.documents.message import NoDocument, open_message
from gateway.domain.calendar import HolidayFileError, WorkingCalendar, parse_holiday_file
from gateway.domain.deadlines import (
    CHINA_TIME,
    DEFAULT_WARN_WORKING_DAYS,
    TRACKED,
    Arrival,
    CityPair,
    Dispute,
    Item,
    all_pairs,
    check_deadlines,
    check_disputes,
)
from gateway.domain.envelope import SENT_BY_RESIDENCE_CITY, Header, MessageType
from gateway.domain.findings import Refused
from gateway.domain.lifecycle import CALLED_OFF, PASSED_CHECKS
from gateway.domain.notes import Note, words
from gateway.domain.reconciliation import Reconciliation, reconcile, reconcile_money
from gateway.domain.register import Keyring
from gateway.domain.settlement import (
    Attachment,
    CityClaim,
    CitySettlement,
    FacilitySettlement,
    PaymentAdvice,
    RecoveryRefund,
)
from gateway.service.ports.ledger import Ledger, MessageRecord
from gateway.service.ports.spool import Spool
from gateway.service.retention import purged_at

# Messages that count as received: passed every check and not replaced by a higher revision (not checked yet
# or refused do not count). A message the receiver declined (DECLINED) did arrive on its day: the decline is a
# dispute matter.
COUNTS_AS_RECEIVED = PASSED_CHECKS - CALLED_OFF  # superseded, or withdrawn (撤销): never the one that arrived
RECONCILED = frozenset({MessageType.A3, MessageType.A4, MessageType.A5})
MONEY = frozenset({MessageType.PAYMENT, MessageType.REFUND})  # of any month: they name the months they pay


class SettlementError(Exception):
    """Something the operator must fix (a holiday file, a document, a purged original): said in one line."""


@dataclass(frozen=True)
class SettlementScope:
    """What the settlement use cases need of the configured gateway (its [settlement] section)."""

    cities: list[str]
    holidays: Path | None = None
    warn_days: int = DEFAULT_WARN_WORKING_DAYS
    pairs: list[CityPair] | None = None  # None: every ordered pair of the cities
    # The one key for persons (Config.person_keyring: [register] key_file): a 第三十一条 applicant is shown by the
    # HMAC of the ID number under its current key, the register's own hash of that person
    persons: Keyring | None = None
    # The register of entitlements is kept ([register] key_file): a month's claim is expected only from the pairs
    # with somebody entitled in it; `silent`: insured cities whose checks across documents are all off (they send
    # no notices, so every pair of theirs is expected).
    register: bool = False
    silent: frozenset[str] = frozenset()
    a5_pairs: frozenset[tuple[str, str]] = frozenset()  # [settlement] a5_pairs: only they owe a facility settlement

    @property
    def expected_pairs(self) -> list[CityPair]:
        return self.pairs if self.pairs is not None else all_pairs(self.cities)


def load_calendar(directory: Path | None) -> WorkingCalendar:
    """The built-in calendar plus every administrator's YYYY.toml in `directory` (missing folder: none)."""
    schedules = []
    if directory is not None and directory.is_dir():
        for path in sorted(directory.glob("*.toml")):
            if not path.stem.isdigit() or len(path.stem) != 4:
                raise SettlementError(f"{path}: a holiday file is named after its year, e.g. 2027.toml")
            try:
                schedules.append(parse_holiday_file(path.read_text(encoding="utf-8"), expected_year=int(path.stem)))
            except HolidayFileError as exc:
                raise SettlementError(f"{path}: {exc}") from None
    return WorkingCalendar(schedules)


def read_attachment(data: bytes, *, disputes: bool = False) -> tuple[Header | None, Attachment]:
    """The attachment in a bare document or in a message (gateway/documents/message.py: schema-checked, the
    signature not verified). `disputes`: a dispute, an entitlement document, a payment or a refund is welcome
    too (render). Refused when the schema refuses it."""
    try:
        opened = open_message(data)
    except NoDocument as exc:
        raise SettlementError(str(exc)) from None
    document = opened.document
    if not (document.type.is_attachment
            or (disputes and (document.type.is_dispute or document.type.is_entitlement or document.type.is_money
                              or document.type.is_withdrawal))):
        raise SettlementError(f"a {document.type} is not an attachment (附件1–5)")
    return opened.header, document


def received(records: Sequence[MessageRecord], types: Iterable[MessageType] = TRACKED) -> list[MessageRecord]:
    """The records of `types` (default: those with deadlines) that count as received."""
    tracked = {t.value for t in types}
    return [r for r in records if r.type in tracked and r.state in COUNTS_AS_RECEIVED and r.sender]


def arrivals(records: Sequence[MessageRecord]) -> list[Arrival]:
    """What the ledger says arrived when, for the deadlines."""
    return [Arrival(MessageType(r.type), r.sender, r.receiver, r.period, r.received_at, r.message_id, r.revision or 1)
            for r in received(records)]


@dataclass(frozen=True)
class Application:
    """What the deadlines need of a 第三十一条 application (read from the DISPUTE's body): who, without the ID
    number (a person by the keyed hash of it), and the day of the application at the residence agency."""

    applicant: Note  # "person <first 16 hex of the HMAC>" or "facility <code>"
    applied_on: date


def dispute_applications(records: Sequence[MessageRecord], spool: Spool,
                         persons: Keyring | None) -> dict[str, Application]:
    """The applications of the disputes the gateway passed on, by the DISPUTE's message id. An unreadable or
    purged body is left out (the dispute is then tracked from its arrival, as before)."""
    found = {}
    for record in records:
        if record.type != MessageType.DISPUTE.value or record.state not in PASSED_CHECKS:
            continue
        try:
            _, document = read_attachment(spool.read("inbox", record.sha256), disputes=True)
        except (FileNotFoundError, Refused, SettlementError):
            continue
        app = getattr(document, "application", None)
        if app is None:
            continue
        if app.applicant == "person" and persons:
            who = Note("dispute.person", "person {ref}", ref=persons.person(app.id_number or "").current[:16])
        elif app.applicant == "person":
            who = Note("dispute.person_unknown", "person (no [register] key_file)")
        else:
            who = Note("dispute.facility", "facility {code}", code=app.facility_code)
        found[record.message_id] = Application(who, app.applied_on)
    return found


def ledger_disputes(records: Sequence, applications: Mapping[str, Application] | None = None) -> list[tuple[Dispute, Note]]:
    """Each DISPUTE the gateway passed on, with a note saying who raised it about what: raised when its first
    revision arrived, answered when the first DISPUTE_ANSWER to any of its revisions arrived (received_at).
    Its city pair is the disputed document's, read off that message's type and direction. A 第三十一条
    application (`applications`, by message id) counts from the day of the application, is answered by the
    residence agency's DISPUTE_RESULT, and its DISPUTE_ANSWER is the insured city's review."""
    applications = applications or {}
    passed = [r for r in records if r.state in PASSED_CHECKS]
    by_id = {r.message_id: r for r in passed}
    answered: dict[str, datetime] = {}
    results: dict[str, datetime] = {}
    for r in passed:
        if r.type == MessageType.DISPUTE_ANSWER.value and r.reply_to:
            answered[r.reply_to] = min(answered.get(r.reply_to, r.received_at), r.received_at)
        if r.type == MessageType.DISPUTE_RESULT.value and r.reply_to:
            results[r.reply_to] = min(results.get(r.reply_to, r.received_at), r.received_at)
    revisions: dict[tuple, list] = {}
    for r in passed:
        if r.type == MessageType.DISPUTE.value:
            revisions.setdefault(r.document_key, []).append(r)
    out = []
    for group in revisions.values():
        first = min(group, key=lambda r: r.received_at)
        disputed = by_id.get(first.reply_to)
        if disputed is None or disputed.type not in {t.value for t in SENT_BY_RESIDENCE_CITY}:
            continue  # routing admits no such dispute; an old ledger row is not worth a guess
        kind = MessageType(disputed.type)
        residence = disputed.sender if SENT_BY_RESIDENCE_CITY[kind] else disputed.receiver
        insured = disputed.receiver if residence == disputed.sender else disputed.sender
        answers = [answered[r.message_id] for r in group if r.message_id in answered]
        application = next((applications[r.message_id] for r in group if r.message_id in applications), None)
        if application is not None:  # 第三十一条: the residence agency answers the applicant
            ends = [results[r.message_id] for r in group if r.message_id in results]
            dispute = Dispute(first.message_id, CityPair(residence, insured), first.period, first.received_at,
                              min(ends) if ends else None, application.applied_on,
                              min(answers) if answers else None)
            review = (words("{city} reviewed {day}", city=first.receiver, day=_china(min(answers))) if answers
                      else words("{city}'s review pending", city=first.receiver))
            out.append((dispute, Note(
                "dispute.application", "{applicant} applied {day} at {residence} about {kind} {serial} (dispute "
                "{dispute}); {review}; {residence} answers the applicant", applicant=application.applicant,
                day=application.applied_on.isoformat(), residence=first.sender, kind=kind.value,
                serial=disputed.serial, dispute=first.serial, review=review)))
            continue
        dispute = Dispute(first.message_id, CityPair(residence, insured), first.period, first.received_at,
                          min(answers) if answers else None)
        out.append((dispute, Note("dispute.raised", "{sender} disputes {kind} {serial} (dispute {dispute}); "
                                  "{receiver} answers", sender=first.sender, kind=kind.value, serial=disputed.serial,
                                  dispute=first.serial, receiver=first.receiver)))
    return out


def _china(moment: datetime) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(CHINA_TIME).date().isoformat()


def dispute_items(records: Sequence, periods: Sequence[str], pairs: Sequence[CityPair], *, today: date,
                  calendar: WorkingCalendar, warn_days: int,
                  applications: Mapping[str, Application] | None = None) -> list[Item]:
    """The deadline lines of the disputes between expected pairs: those of the periods asked for, and every
    one still unanswered whatever its month (an open dispute is never out of view)."""
    wanted, expected = set(periods), set(pairs)
    chosen = [(d, note) for d, note in ledger_disputes(records, applications)
              if d.pair in expected and (d.period in wanted or d.answered is None)]
    items = check_disputes([d for d, _ in chosen], today=today, calendar=calendar, warn_days=warn_days)
    return [replace(item, notes=(note, *item.notes)) for item, (_, note) in zip(items, chosen)]


def latest_revisions(records: Iterable) -> list:
    latest: dict[tuple, object] = {}
    for record in records:
        kept = latest.get(record.document_key)
        if kept is None or (record.revision or 0) > (kept.revision or 0):  # type: ignore[attr-defined]
            latest[record.document_key] = record
    return list(latest.values())


def deadline_items(records: Sequence[MessageRecord], arrived: Sequence[Arrival], pairs: Sequence[CityPair],
                   periods: Sequence[str], *, today: date, calendar: WorkingCalendar, warn_days: int,
                   applications: Mapping[str, Application] | None = None,
                   by_period: Mapping[str, Sequence[CityPair]] | None = None,
                   nil: Iterable[tuple[CityPair, str]] = ()) -> list[Item]:
    """Every deadline line of `periods` between `pairs`: the documents, the disputes, and the payments'
    confirmation of arrival (到账确认). `by_period`: the pairs a claim is expected from in each month (the register's
    active pairs, gateway/service/register.py); `nil`: (pair, month) of nil claims, which owe no settlement."""
    items = check_deadlines(by_period if by_period is not None else pairs, periods, arrived, today=today,
                            calendar=calendar, warn_days=warn_days, nil=nil)
    items += dispute_items(records, periods, pairs, today=today, calendar=calendar, warn_days=warn_days,
                           applications=applications)
    return with_confirmation(items, records)


# 第二十六条: the residence city's receipt of a payment advice is its 到账确认 (ledger state of the advice).
_CONFIRMATION = {
    "ACKNOWLEDGED": Note("payment.confirmed", "到账确认: the residence city's receipt accepted the payment"),
    "DECLINED": Note("payment.declined", "the residence city's receipt declined it: the money has not arrived (未到账)"),
}


def with_confirmation(items: list[Item], records: Sequence) -> list[Item]:
    states = {r.message_id: r.state.value for r in records if r.type == MessageType.PAYMENT.value}
    out = []
    for item in items:
        said = _CONFIRMATION.get(states.get(item.message_id or "", "")) if item.what == MessageType.PAYMENT.value else None
        out.append(replace(item, notes=(*item.notes, said)) if said is not None else item)
    return out


def documents_from_ledger(ledger: Ledger, spool: Spool, period: str) -> list[tuple[Header | None, Attachment]]:
    """The latest revision of every claim, settlement and facility settlement of `period` the ledger received,
    read from the spool (a folder, or the database's table with several instances)."""
    documents = []
    records = latest_revisions(received(ledger.messages(period=period), RECONCILED))
    records += latest_revisions(received(ledger.messages(), MONEY))  # a payment may be filed under a later month
    for record in records:
        try:
            documents.append(read_attachment(spool.read("inbox", record.sha256), disputes=True))
        except FileNotFoundError:
            when = purged_at(ledger, record.sha256)
            raise SettlementError(
                f"message {record.message_id} ({record.type} {record.sender}->{record.receiver}): its original "
                + (f"was purged on {when.date().isoformat()} (retention)" if when else "is missing from the spool")
                + "; reconcile that period from the cities' copies with --files"
            ) from None
        except Refused as refused:
            codes = ", ".join(sorted({f.code for f in refused.findings}))
            raise SettlementError(f"message {record.message_id}: its spooled bytes are not readable ({codes})") from None
    return documents


def reconcile_documents(documents: Sequence[tuple[Header | None, Attachment]], period: str,
                         pair: CityPair | None,
                         a5_pairs: Collection[tuple[str, str]] | None = None) -> list[Reconciliation]:
    """`a5_pairs`: the pairs whose A5 is carried (the configuration's); None (files alone): every pair."""
    claims = [d for _, d in documents if isinstance(d, CityClaim) and d.period == period]
    settlements = [d for _, d in documents if isinstance(d, CitySettlement) and d.period == period]
    residence_of_settlement = {(s.insured_city, s.serial): s.residence_city for s in settlements}
    facility_settlements = []
    for header, document in documents:
        if not isinstance(document, FacilitySettlement) or document.period != period:
            continue
        # A5 names no residence city: the message's sender is it; a bare A5 takes its A4's, else --pair's.
        residence = (header.sender if header else
                     residence_of_settlement.get((document.insured_city, document.settlement_serial))
                     or (pair.residence if pair else None))
        if residence is None:
            raise SettlementError(f"A5 {document.serial}: no residence city (give its A4, or --pair)")
        facility_settlements.append((residence, document))
    reports = reconcile(claims, settlements, facility_settlements, a5_pairs)
    reports = reconcile_money(reports, claims, settlements,  # 第二十六条, 第二十九条: the money of the month
                              [d for _, d in documents if isinstance(d, PaymentAdvice)],
                              [d for _, d in documents if isinstance(d, RecoveryRefund)], period)
    if pair is not None:
        reports = [r for r in reports if (r.residence, r.insured) == (pair.residence, pair.insured)]
    return reports
