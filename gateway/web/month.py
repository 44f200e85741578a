"""A month's deadlines and reconciliation for the console's settlement page: the same use cases as `ltcgw
deadlines` and `ltcgw reconcile` (gateway/service/settlement.py), over the same ledger and spool."""

from __future__ import annotations

from datetime import date, datetime

from gateway.domain.deadlines import CHINA_TIME
from gateway.service import settlement
from gateway.service.ports.ledger import Ledger
from gateway.service.ports.spool import Spool
from gateway.web.queries import MonthSettlement


def month_settlement(ledger: Ledger, spool: Spool, scope: settlement.SettlementScope, period: str,
                     today: date | None = None) -> MonthSettlement:
    """The deadline lines of `period` (documents, disputes, payments' 到账确认) and its reconciliation; what
    cannot be made (a holiday file, a purged original) is said in `problem`, not raised."""
    today = today or datetime.now(CHINA_TIME).date()
    month = MonthSettlement(period)
    records = ledger.messages()
    pairs = scope.expected_pairs
    try:
        calendar = settlement.load_calendar(scope.holidays)
        applications = settlement.dispute_applications(records, spool, scope.persons)  # 第三十一条, by HMAC
        month.deadlines = settlement.deadline_items(records, settlement.arrivals(records), pairs, [period],
                                                    today=today, calendar=calendar, warn_days=scope.warn_days,
                                                    applications=applications)
        documents = settlement.documents_from_ledger(ledger, spool, period)
        reports = settlement.reconcile_documents(documents, period, None, scope.a5_pairs)
        month.reconciliations = [r for r in reports if settlement.CityPair(r.residence, r.insured) in set(pairs)]
    except settlement.SettlementError as exc:
        month.problem = str(exc)
    return month
