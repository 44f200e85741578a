"""A month's deadlines and reconciliation for the console's settlement page: what `ltcgw deadlines` and
`ltcgw reconcile` compute (gateway/entrypoints/settlement.py), over the same ledger and spool and the same
domain functions (gateway/domain/deadlines.py, reconciliation.py).

The glue mirrors the command's until the settlement use cases live in gateway/service/settlement.py (the
lead's move); then this module calls them instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from gateway.domain.calendar import HolidayFileError, WorkingCalendar, parse_holiday_file
from gateway.domain.deadlines import CHINA_TIME, TRACKED, Arrival, CityPair, all_pairs, check_deadlines
from gateway.domain.envelope import MessageType
from gateway.domain.findings import Refused
from gateway.domain.lifecycle import PASSED_CHECKS, State
from gateway.domain.reconciliation import reconcile
from gateway.domain.settlement import CityClaim, CitySettlement, FacilitySettlement
from gateway.service.ports.ledger import Ledger
from gateway.service.ports.spool import Spool
from gateway.web.queries import MonthSettlement

COUNTS_AS_RECEIVED = PASSED_CHECKS - {State.SUPERSEDED}  # as gateway/entrypoints/settlement.py
RECONCILED = frozenset({MessageType.A3.value, MessageType.A4.value, MessageType.A5.value})


@dataclass(frozen=True)
class SettlementSettings:
    cities: tuple[str, ...]
    pairs: tuple[CityPair, ...] | None  # None: every ordered pair
    holidays: Path | None
    warn_days: int


def load_calendar(directory: Path | None) -> WorkingCalendar:
    schedules = []
    if directory is not None and directory.is_dir():
        for path in sorted(directory.glob("[0-9][0-9][0-9][0-9].toml")):
            try:
                schedules.append(parse_holiday_file(path.read_text(encoding="utf-8"), expected_year=int(path.stem)))
            except HolidayFileError:
                continue  # `ltcgw deadlines` and `config check` say what is wrong with it
    return WorkingCalendar(schedules)


def month_settlement(ledger: Ledger, spool: Spool, settings: SettlementSettings, period: str,
                     today: date | None = None) -> MonthSettlement:
    today = today or datetime.now(CHINA_TIME).date()
    pairs = list(settings.pairs) if settings.pairs is not None else all_pairs(settings.cities)
    records = ledger.messages()
    tracked = {t.value for t in TRACKED}
    received = [r for r in records if r.type in tracked and r.state in COUNTS_AS_RECEIVED and r.sender]
    arrivals = [Arrival(MessageType(r.type), r.sender, r.receiver, r.period, r.received_at, r.message_id,
                        r.revision or 1) for r in received]
    items = check_deadlines(pairs, [period], arrivals, today=today, calendar=load_calendar(settings.holidays),
                            warn_days=settings.warn_days)
    month = MonthSettlement(period, items)
    try:
        month.reconciliations = _reconcile(spool, [r for r in records if r.period == period], period, pairs)
    except LookupError as exc:
        month.problem = str(exc)
    return month


def _reconcile(spool: Spool, records: Sequence, period: str, pairs: list[CityPair]) -> list:
    from gateway.documents import safe_xml, schema
    from gateway.documents.envelope import body_of, read_header
    from gateway.documents.reader import read_document

    latest: dict[tuple, object] = {}
    for r in records:
        if r.type in RECONCILED and r.state in COUNTS_AS_RECEIVED and r.sender:
            kept = latest.get(r.document_key)
            if kept is None or (r.revision or 0) > (kept.revision or 0):  # type: ignore[attr-defined]
                latest[r.document_key] = r
    claims, settlements, facility = [], [], []
    for r in latest.values():
        try:
            root = safe_xml.parse(spool.read("inbox", r.sha256)).getroot()  # type: ignore[attr-defined]
        except FileNotFoundError:
            raise LookupError(f"{r.message_id}: the original is no longer in the spool (retention): "  # type: ignore[attr-defined]
                              "reconcile that month with `ltcgw reconcile --files`") from None
        header, body = read_header(root), body_of(root)
        if body is None or schema.validate(body):
            continue
        try:
            document = read_document(body)
        except Refused:
            continue
        if isinstance(document, CityClaim):
            claims.append(document)
        elif isinstance(document, CitySettlement):
            settlements.append(document)
        elif isinstance(document, FacilitySettlement):
            facility.append((header.sender, document))
    wanted = set(pairs)
    return [r for r in reconcile(claims, settlements, facility) if CityPair(r.residence, r.insured) in wanted]
