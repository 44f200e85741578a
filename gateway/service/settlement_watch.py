"""The daemon's eye on the settlement calendar: what an operator must hear without running `ltcgw deadlines`.

At start and once per China day the watch asks the same deadline lines `ltcgw deadlines` prints (the ledger's
arrivals against the calendar of the administrator's holiday files, read again each time so a newly added
YYYY.toml counts at once) and raises:
- `payment_due_soon` / `payment_late`: a payment advice (第二十六条) due within the warning days, overdue without
  an advice (cause `missing`), or arrived after its day (cause `late`);
- `dispute_due_soon` / `dispute_overdue`: the answer to a dispute (第三十一条);
- `calendar_missing`: from 1 October while next year's official holidays are missing
  (gateway.domain.deadlines.calendar_missing).
Each item is alerted once (per status): what was alerted is recorded in the ledger (events of kind
`settlement_alerted`), so a restart does not raise it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from gateway.domain.calendar import WorkingCalendar
from gateway.domain.deadlines import CHINA_TIME, Item, Status, calendar_missing, shift_period
from gateway.service.ports.events import EventLog
from gateway.service.ports.ledger import EVERYTHING, Ledger
from gateway.service.ports.spool import Spool
from gateway.service.register import expected_by_register
from gateway.service.settlement import SettlementScope, arrivals, deadline_items, dispute_applications

RECORDED = "settlement_alerted"  # ledger event kind: the items already alerted (detail {"ref": key})
OPEN_CYCLES = 4  # service months looked at: M-4 … M-1 (a payment of M falls due in M+2 or M+3)

# (what, status) -> alert kind
_KINDS = {
    ("PAYMENT", Status.DUE_SOON): "payment_due_soon",
    ("PAYMENT", Status.MISSING): "payment_late",
    ("PAYMENT", Status.LATE): "payment_late",
    ("dispute", Status.DUE_SOON): "dispute_due_soon",
    ("dispute", Status.MISSING): "dispute_overdue",
}


@dataclass(frozen=True, slots=True)
class Raised:
    kind: str
    ref: str  # the item's key: what makes it once only
    fields: dict[str, object]


def china_day(now: datetime) -> date:
    return now.astimezone(CHINA_TIME).date()


def decide(items: list[Item], today: date, calendar: WorkingCalendar, warn_days: int) -> list[Raised]:
    """Pure: the alerts the deadline lines and the calendar call for today (before the once-only filter)."""
    raised = []
    for item in items:
        kind = _KINDS.get((item.what, item.status))
        if kind is None:
            continue
        ident = item.message_id if item.what == "dispute" else ""
        ref = f"{item.what} {item.pair} {item.period} {ident} {item.status.value}".replace("  ", " ")
        insured_pays = item.what == "PAYMENT"
        raised.append(Raised(kind, ref, {
            "ref": ref, "period": item.period, "cause": item.status.value,
            "sender": item.pair.insured if insured_pays else None,
            "receiver": item.pair.residence if insured_pays else None,
            "id": item.message_id, "days": item.working_days_left,
            "reason": f"due {item.due.isoformat() if item.due else '?'}; {item.note}".rstrip("; "),
        }))
    missing = calendar_missing(today, calendar, warn_days)
    if missing is not None:
        ref = f"calendar {missing.year} {missing.status.value}"
        raised.append(Raised("calendar_missing", ref, {
            "ref": ref, "file": missing.file, "cause": missing.status.value, "days": missing.working_days_left,
            "reason": missing.note, "due": missing.due.isoformat(), "year": missing.year}))
    return raised


class SettlementWatch:
    """Checked by the engine between two steps: at its first step, then when the China day changes."""

    def __init__(self, ledger: Ledger, spool: Spool, log: EventLog, scope: SettlementScope,
                 calendar: Callable[[], WorkingCalendar], clock: Callable[[], datetime]) -> None:
        self.ledger, self.spool, self.log, self.scope, self.calendar, self.clock = ledger, spool, log, scope, calendar, clock
        self.checked: date | None = None
        self._alerted: set[str] = set()

    def maybe_run(self) -> list[Raised]:
        today = china_day(self.clock())
        if today == self.checked:
            return []
        return self.run(today)

    def run(self, today: date) -> list[Raised]:
        """Alert what is new today; returns what was raised."""
        # Asked afresh each day: another instance on the same ledger may have alerted an item already.
        self._alerted = {str(detail.get("ref")) for _, _, _, detail in self.ledger.events(RECORDED)}
        calendar = self.calendar()
        records = self.ledger.messages()
        current = f"{today.year:04d}-{today.month:02d}"
        periods = [shift_period(current, -n) for n in range(OPEN_CYCLES, 0, -1)]
        applications = dispute_applications(records, self.spool, self.scope.persons)  # 第三十一条
        arrived = arrivals(records)
        pairs = self.scope.expected_pairs
        # As `ltcgw deadlines`: with the register, only the pairs with somebody entitled owe a month's documents.
        by_period, nil = (expected_by_register(self.ledger, pairs, periods, arrived, self.scope.silent)
                          if self.scope.register else (None, []))
        items = deadline_items(records, arrived, pairs, periods, today=today, calendar=calendar,
                               warn_days=self.scope.warn_days, applications=applications, by_period=by_period, nil=nil)
        new = [r for r in decide(items, today, calendar, self.scope.warn_days) if r.ref not in self._alerted]
        if new:
            now = self.clock()
            # Asked again where it is recorded: the unit runs alone (EVERYTHING), so of two instances checking
            # the same day, the second finds the first's records and alerts nothing twice.
            with self.ledger.unit_of_work(EVERYTHING) as tx:
                self._alerted = {str(detail.get("ref")) for _, _, _, detail in self.ledger.events(RECORDED)}
                new = [r for r in new if r.ref not in self._alerted]
                for raised in new:
                    tx.record_event(now, RECORDED, None, {"ref": raised.ref, "kind": raised.kind})
            for raised in new:
                self._alerted.add(raised.ref)
                self.log.alert(raised.kind, **raised.fields)
        self.checked = today
        return new
