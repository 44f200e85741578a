"""A claim (附件3) or a settlement (附件4) as a workbook for the insured city's reviewers (`ltcgw export --xlsx`).

Reviewers sort, filter and sum the persons and amounts in a spreadsheet; the columns follow the forms, with
their Chinese labels. Amounts are numbers shown with two decimals (never text: they must add up), ID numbers
are text (never numbers: a leading zero or the X check character would be lost, and 18 digits exceed what a
spreadsheet's number keeps). Every text from the document is written as text, so a name that starts with
"=" stays a name and never becomes a formula.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from gateway.domain import codes
from gateway.domain.areas import area_name
from gateway.domain.settlement import CityClaim, CitySettlement, ClaimRow, FacilityClaim, SettledRow

AMOUNT_FORMAT = "#,##0.00"
TEXT_FORMAT = "@"
DATE_FORMAT = "yyyy-mm-dd"
_BOLD = Font(bold=True)


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its Chinese header, how to get its value from a row, and its kind."""

    header: str
    value: Callable[[Any], object]
    kind: str = "text"  # "text" | "amount" | "int" | "date"
    width: int = 12


def _coded(table: Mapping[str, str], code: str | None) -> str:
    return table.get(code or "", code or "")


def _service(service_types: Mapping[str, str], code: str | None) -> str:
    return "合计" if code is None else service_types.get(code, f"护理服务类型{code}")


def _statement_columns(service_types: Mapping[str, str]) -> list[Column]:
    """附件2 个人结算单, field by field in the form's order."""
    return [
        Column("流水号", lambda s: s.serial, width=24),
        Column("机构编码", lambda s: s.facility_code),
        Column("定点机构名称", lambda s: s.facility_name, width=24),
        Column("医疗机构等级", lambda s: _coded(codes.FACILITY_LEVELS, s.facility_level)),
        Column("月份", lambda s: s.period, width=9),
        Column("姓名", lambda s: s.name, width=10),
        Column("性别", lambda s: _coded(codes.SEXES, s.sex), width=6),
        Column("证件类型", lambda s: _coded(codes.ID_TYPES, s.id_type), width=18),
        Column("证件号码", lambda s: s.id_number, width=21),
        Column("人员类别", lambda s: _coded(codes.PERSON_CATEGORIES, s.person_category), width=8),
        Column("失能等级", lambda s: _coded(codes.DISABILITY_LEVELS, s.disability_level)),
        Column("参保地", lambda s: area_name(s.insured_city)),
        Column("居住地", lambda s: area_name(s.residence_city)),
        Column("护理服务类型", lambda s: _service(service_types, s.service_type), width=18),
        Column("费用开始日期", lambda s: s.start_date, "date"),
        Column("费用结束日期", lambda s: s.end_date, "date"),
        Column("待遇享受天数", lambda s: s.benefit_days, "int"),
        Column("费用总额", lambda s: s.total_cost, "amount"),
        Column("个人自费金额", lambda s: s.self_paid, "amount"),
        Column("纳入统筹金额", lambda s: s.covered, "amount"),
        Column("统筹支付金额", lambda s: s.fund_paid, "amount"),
        Column("个人自付金额", lambda s: s.co_pay, "amount"),
        Column("个人负担合计", lambda s: s.personal_burden, "amount"),
        Column("制表单位（章）", lambda s: s.prepared_by_unit, width=24),
        Column("制表时间", lambda s: s.prepared_at, "date"),
    ]


_CLAIM_FIGURES = [
    Column("总人次", lambda r: r.visits, "int"),
    Column("总天数", lambda r: r.days, "int"),
    Column("费用总额", lambda r: r.total_cost, "amount"),
    Column("个人自费金额", lambda r: r.self_paid, "amount"),
    Column("纳入统筹金额", lambda r: r.covered, "amount"),
    Column("个人自付金额", lambda r: r.co_pay, "amount"),
    Column("申请拨付金额", lambda r: r.claimed, "amount"),
]
_SETTLED_FIGURES = _CLAIM_FIGURES + [
    Column("审核扣款金额", lambda r: r.deducted, "amount"),
    Column("补拨金额", lambda r: r.supplemented, "amount"),
    Column("实拨金额", lambda r: r.paid, "amount"),
]
_ADJUSTMENT_COLUMNS = [
    Column("个人结算单流水号", lambda a: a.statement_serial, width=24),
    Column("证件号码", lambda a: a.id_number, width=21),
    Column("审核扣款金额", lambda a: a.deducted, "amount"),
    Column("补拨金额", lambda a: a.supplemented, "amount"),
    Column("说明", lambda a: a.reason, width=40),
]


@dataclass(frozen=True, slots=True)
class _FacilityLine:
    claim: FacilityClaim
    category: str  # 人员类别 of the page
    row: ClaimRow


def _facility_columns(service_types: Mapping[str, str]) -> list[Column]:
    def figure(column: Column) -> Column:
        return Column(column.header, lambda line: column.value(line.row), column.kind)

    return [
        Column("机构编码", lambda line: line.claim.facility_code),
        Column("机构名称", lambda line: line.claim.facility_name, width=24),
        Column("流水号", lambda line: line.claim.serial, width=24),
        Column("人员类别", lambda line: _coded(codes.PERSON_CATEGORIES, line.category), width=8),
        Column("护理服务类型", lambda line: _service(service_types, line.row.service_type), width=18),
        *[figure(c) for c in _CLAIM_FIGURES],
        Column("申请拨付金额（大写）", lambda line: line.row.claimed_in_words, width=30),
    ]


def workbook_bytes(document: CityClaim | CitySettlement,
                   service_types: Mapping[str, str] = codes.DEFAULT_SERVICE_TYPES) -> bytes:
    """The .xlsx of an A3 (申请单, 机构申请单, 个人结算单) or an A4 (结算单, 个人扣款补拨 when listed)."""
    book = Workbook()
    book.remove(book.active)
    if isinstance(document, CityClaim):
        _claim(book, document, service_types)
    elif isinstance(document, CitySettlement):
        _settlement(book, document)
    else:
        raise ValueError(f"a {document.type.value} is not a claim (A3) or a settlement (A4)")
    book.properties.title = f"{document.type.value} {document.serial} {document.period}"
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _claim(book: Workbook, doc: CityClaim, service_types: Mapping[str, str]) -> None:
    head = [
        ("机构编码", doc.agency_code), ("机构名称", doc.agency_name), ("流水号", doc.serial), ("月份", doc.period),
        ("居住地", area_name(doc.residence_city)), ("参保地", area_name(doc.insured_city)),
        *_figures(_CLAIM_FIGURES, doc.totals), ("申请拨付金额（大写）", doc.totals.claimed_in_words),
        ("初审人", doc.first_reviewer), ("审核人", doc.reviewer), ("复核人", doc.checker),
        ("制表单位（章）", doc.prepared_by_unit), ("制表时间", doc.prepared_at),
    ]
    _pairs(book.create_sheet("申请单"), _city_title(doc.residence_city, "申请单"), head)
    # 附件1: one line per facility, scheme (page) and care-service type (column), each page's 合计 after its lines
    lines = [_FacilityLine(claim, scheme.category, row) for claim in doc.facility_claims
             for scheme in claim.schemes for row in [*scheme.lines, scheme.total]]
    _table(book.create_sheet("机构申请单"), _facility_columns(service_types), lines)
    _table(book.create_sheet("个人结算单"), _statement_columns(service_types), doc.statements, total=True)


def _settlement(book: Workbook, doc: CitySettlement) -> None:
    r, i = doc.residence_sign_off, doc.insured_sign_off
    head = [
        ("机构编码", doc.agency_code), ("机构名称", doc.agency_name), ("流水号", doc.serial), ("月份", doc.period),
        ("所结算申请单流水号", doc.claim_serial),
        ("参保地", area_name(doc.insured_city)), ("居住地", area_name(doc.residence_city)),
        *_figures(_SETTLED_FIGURES, doc.totals), ("实拨金额（大写）", doc.totals.paid_in_words or ""),
        ("审核扣款说明", doc.deduction_note or ""), ("补拨金额说明", doc.supplement_note or ""),
        ("居住地费用初审", r.first_reviewer), ("居住地费用审核", r.reviewer), ("居住地费用复核", r.checker),
        ("居住地医疗保障经办机构（章）", r.unit),
        ("参保地费用初审", i.first_reviewer), ("参保地费用审核", i.reviewer), ("参保地费用复核", i.checker),
        ("参保地医疗保障经办机构（章）", i.unit),
        ("制表时间", doc.prepared_at),
    ]
    _pairs(book.create_sheet("结算单"), _city_title(doc.insured_city, "结算单"), head)
    if doc.adjustments is not None:
        _table(book.create_sheet("个人扣款补拨"), _ADJUSTMENT_COLUMNS, doc.adjustments, total=True)


def _city_title(city: str, kind: str) -> str:
    name = area_name(city)
    return f"{name if name.endswith('市') else name + '（' + city + '）'}省内异地长期护理保险费用{kind}"


@dataclass(frozen=True, slots=True)
class _Typed:
    """A value with its column kind, for the label/value sheets."""

    value: object
    kind: str


def _figures(columns: Sequence[Column], row: ClaimRow | SettledRow) -> list[tuple[str, object]]:
    return [(c.header, _Typed(c.value(row), c.kind)) for c in columns]


def _pairs(sheet: Worksheet, title: str, rows: Sequence[tuple[str, object]]) -> None:
    """The form's head and totals as label | value lines, under the form's title."""
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=13)
    for number, (label, value) in enumerate(rows, start=2):
        _put(sheet.cell(number, 1), label, "text").font = _BOLD
        if isinstance(value, _Typed):
            _put(sheet.cell(number, 2), value.value, value.kind)
        else:
            _put(sheet.cell(number, 2), value, "date" if isinstance(value, date) else "text")
    sheet.column_dimensions["A"].width = 30
    sheet.column_dimensions["B"].width = 40


def _table(sheet: Worksheet, columns: Sequence[Column], rows: Sequence[Any], *, total: bool = False) -> None:
    """One row per item under a header row (frozen, filterable); `total`: a 合计 row of the amounts below."""
    for number, column in enumerate(columns, start=1):
        cell = _put(sheet.cell(1, number), column.header, "text")
        cell.font, cell.alignment = _BOLD, Alignment(horizontal="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(number)].width = column.width
    for line, row in enumerate(rows, start=2):
        for number, column in enumerate(columns, start=1):
            _put(sheet.cell(line, number), column.value(row), column.kind)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(len(rows), 1) + 1}"
    if total and rows:
        line = len(rows) + 2
        _put(sheet.cell(line, 1), "合计", "text").font = _BOLD
        for number, column in enumerate(columns, start=1):
            if column.kind in ("amount", "int") and number > 1:
                summed = sum((column.value(r) for r in rows), Decimal(0) if column.kind == "amount" else 0)
                _put(sheet.cell(line, number), summed, column.kind).font = _BOLD


def _put(cell: Any, value: object, kind: str) -> Any:
    if kind == "amount":
        cell.value, cell.number_format = value, AMOUNT_FORMAT  # Decimal: written as its digits
    elif kind in ("int", "date"):
        cell.value = value
        if kind == "date":
            cell.number_format = DATE_FORMAT
    elif value is not None and value != "":  # an absent optional field stays an empty cell
        cell.value = str(value)
        cell.data_type, cell.number_format = "s", TEXT_FORMAT  # never a formula, never a number
    return cell

