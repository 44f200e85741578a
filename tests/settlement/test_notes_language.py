"""The deadline notes are codes with values, said in the reader's language (issue 14): Chinese for the clerks by
default, English on request, and the same code whatever the language."""

from __future__ import annotations

from datetime import date, datetime, timezone
from types import SimpleNamespace

from gateway.domain.calendar import WorkingCalendar
from gateway.domain.deadlines import Arrival, CityPair, Status, calendar_missing, check_deadlines
from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import State
from gateway.service.settlement import with_confirmation

CALENDAR = WorkingCalendar()
PAIR = CityPair("370300", "370100")


def _items(today: date, arrivals=(), nil=()):
    return {i.what: i for i in check_deadlines([PAIR], ["2026-08"], arrivals, today=today, calendar=CALENDAR,
                                               nil=nil)}


def test_late_and_overdue_lines_in_each_language() -> None:
    late = Arrival(MessageType.A3, "370300", "370100", "2026-08", datetime(2026, 10, 3, 2, tzinfo=timezone.utc), "m1")
    items = _items(date(2026, 11, 1), [late])
    assert items["A3"].status is Status.LATE and [n.code for n in items["A3"].notes] == ["deadline.late"]
    assert items["A3"].note_text("zh-CN") == "逾期 3 个自然日"
    assert items["A3"].note_text("en") == items["A3"].note == "3 calendar day(s) late"
    assert items["A4"].status is Status.MISSING
    assert items["A4"].note_text("zh-CN") == f"自 {items['A4'].due.isoformat()} 起逾期未到"
    assert items["A4"].note_text("en") == f"overdue since {items['A4'].due.isoformat()}"
    assert items["facility_fees"].note_text("zh-CN") == "定点机构向居住地经办机构申报费用的截止日（第二十四条）"
    as_json = items["A4"].as_dict()
    assert as_json["note"] == items["A4"].note and as_json["notes"][0]["code"] == "deadline.overdue"
    assert as_json["notes"][0]["params"] == {"due": items["A4"].due.isoformat()}
    assert items["A4"].as_dict("zh-CN")["note"] == items["A4"].note_text("zh-CN")


def test_a_nil_claim_and_the_payments_confirmation_in_each_language() -> None:
    claim = Arrival(MessageType.A3, "370300", "370100", "2026-08", datetime(2026, 9, 3, tzinfo=timezone.utc), "m1")
    items = _items(date(2026, 9, 10), [claim], nil=[(PAIR, "2026-08")])
    assert items["A4"].note_text("zh-CN") == "零申报：本月无费用，无需结算、无需拨付"
    paid = Arrival(MessageType.PAYMENT, "370100", "370300", "2026-08", datetime(2026, 10, 9, tzinfo=timezone.utc),
                   "p1")
    items = list(check_deadlines([PAIR], ["2026-08"], [claim, paid], today=date(2026, 10, 20), calendar=CALENDAR))
    records = [SimpleNamespace(type="PAYMENT", state=State.ACKNOWLEDGED, message_id="p1")]
    [payment] = [i for i in with_confirmation(items, records) if i.what == "PAYMENT"]
    assert [n.code for n in payment.notes] == ["payment.confirmed"]
    assert payment.note_text("zh-CN") == "到账确认：居住地回执已确认收到拨付款"
    assert payment.note_text("en") == "到账确认: the residence city's receipt accepted the payment"
    records = [SimpleNamespace(type="PAYMENT", state=State.DECLINED, message_id="p1")]
    [payment] = [i for i in with_confirmation(items, records) if i.what == "PAYMENT"]
    assert payment.note_text("zh-CN") == "居住地回执拒绝：款项未到账"


def test_next_years_calendar_in_each_language() -> None:
    missing = calendar_missing(date(2026, 10, 12), WorkingCalendar())
    assert missing is not None and missing.said.code == "calendar.next_year_missing"
    assert missing.said.text("zh-CN") == ("尚无 2027 年的工作日历：国务院公布后，请添加 config/holidays/2027.toml，写入当年"
                                          "法定节假日和调休工作日（自 2026-10-01 起待补）")
    assert missing.as_dict()["note"] == missing.note and missing.note.startswith("no working-day calendar for 2027")


def test_the_moneys_sources_in_each_language() -> None:
    from decimal import Decimal

    from gateway.domain.reconciliation import MoneyLine

    line = MoneyLine(Decimal("100.00"), Decimal("0.00"), Decimal("0.00"), Decimal("100.00"))
    assert line.sources() == {"paid": "none", "refunded": "none", "outstanding": "实拨 100.00 - paid 0.00"}
    assert line.sources("zh-CN") == {"paid": "无", "refunded": "无", "outstanding": "实拨 100.00 − 已拨付 0.00"}
    assert line.as_dict()["sources"] == line.sources()  # JSON: English, as before
