"""Printable forms: any attachment (附件1–5) laid out as the official form of the procedure, as PDF bytes (and
a dispute or its answer, which have no official form, as a plain one in the same style).

Clerks print, sign and stamp (盖章) what was exchanged, so the layout follows the seed's forms: title (with the
city name in "_____市"), header fields (机构编码, 流水号, 机构名称, 月份), the table of figures (per insurance
scheme 职工/居民, one column per care-service type and a 合计), the 大写 line, and the sign-off blocks.
The text is real text in an embedded CJK TrueType font (found at run time, see `find_cjk_font`), so the PDF
can be searched and checked.

Personal data: an A2 form shows the person, as the paper form does (it is handed to that person); the lists
printed after an A3 or A4 identify statements by position and 流水号 only.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from gateway.domain import codes
from gateway.domain.areas import area_name
from gateway.domain.reconciliation import CLAIM_FIGURES, SETTLEMENT_FIGURES
from gateway.domain.settlement import (
    Attachment,
    CityClaim,
    CitySettlement,
    ClaimRow,
    Dispute,
    DisputeAnswer,
    DisputeResult,
    Withdrawal,
    DisputeDocument,
    FacilityClaim,
    FacilitySettlement,
    MoneyDocument,
    PaymentAdvice,
    PersonStatement,
    RecoveryRefund,
    SettledRow,
    SignOff,
)
from gateway.domain.amounts import amount_in_words

FONT_NAME = "LtcgwCJK"
FONT_ENV = "LTCGW_CJK_FONT"
# Debian's packages of free CJK TrueType fonts (scripts/test installs fonts-wqy-microhei).
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/arphic/ukai.ttc",
)

CLAIM_ROWS = CLAIM_FIGURES  # 总人次 … 申请拨付金额, in the forms' order
SETTLED_ROWS = CLAIM_FIGURES + SETTLEMENT_FIGURES
SERVICE_NOTE = "注：具体护理服务类型按照各市政策确定的实际类型生成"


class FontMissing(RuntimeError):
    """No CJK TrueType font: the forms would print as empty boxes, so refuse rather than render them."""


def find_cjk_font(candidates: Sequence[str] = FONT_CANDIDATES) -> Path:
    """The font file: $LTCGW_CJK_FONT when set, else the first Debian CJK font installed."""
    chosen = os.environ.get(FONT_ENV)
    paths = [Path(chosen)] if chosen else [Path(c) for c in candidates]
    for path in paths:
        if path.is_file():
            return path
    raise FontMissing(
        f"no CJK TrueType font found (looked for {', '.join(str(p) for p in paths)}): install the Debian "
        f"package fonts-wqy-microhei, or set {FONT_ENV} to a .ttf/.ttc file with Chinese glyphs"
    )


def _register_font() -> None:
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(find_cjk_font()), subfontIndex=0))


@dataclass(frozen=True)
class _Styles:
    title: ParagraphStyle
    text: ParagraphStyle
    cell: ParagraphStyle
    small: ParagraphStyle


def _styles() -> _Styles:
    return _Styles(
        title=ParagraphStyle("title", fontName=FONT_NAME, fontSize=15, leading=21, alignment=TA_CENTER,
                             spaceAfter=4 * mm),
        text=ParagraphStyle("text", fontName=FONT_NAME, fontSize=10, leading=15),
        cell=ParagraphStyle("cell", fontName=FONT_NAME, fontSize=9, leading=12, alignment=TA_CENTER),
        small=ParagraphStyle("small", fontName=FONT_NAME, fontSize=8, leading=10, alignment=TA_CENTER),
    )


def _figure(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return "" if value is None else str(value)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Form:
    """Builds one document's flowables: shared pieces of every form (title, header, tables, sign-off lines)."""

    def __init__(self, service_types: Mapping[str, str]) -> None:
        self.s = _styles()
        self.service_types = service_types
        self.story: list[Flowable] = []

    def p(self, text: str, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(_escape(text), style or self.s.cell)

    def title(self, text: str) -> None:
        self.story.append(self.p(text, self.s.title))

    def pairs(self, rows: Sequence[Sequence[tuple[str, str]]], width: float) -> None:
        """Label：value lines, each line split evenly among its fields, as the forms' header and sign-offs."""
        for row in rows:
            table = Table([[self.p(f"{label}：{value}", self.s.text) for label, value in row]],
                          colWidths=[width / len(row)] * len(row), hAlign="LEFT")
            table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
            self.story.append(table)
        self.story.append(Spacer(1, 2 * mm))

    def grid(self, data: list[list[object]], widths: Sequence[float], spans: Sequence[tuple] = (),
             header_rows: int = 0) -> None:
        cells = [[self.p(c) if isinstance(c, str) else c for c in row] for row in data]
        table = Table(cells, colWidths=list(widths), repeatRows=header_rows)
        style = [("GRID", (0, 0), (-1, -1), 0.6, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
        style += [("SPAN", a, b) for a, b in spans]
        table.setStyle(TableStyle(style))
        self.story.extend([table, Spacer(1, 4 * mm)])

    def service_name(self, code: str | None) -> str:
        if code is None:
            return "合计"
        return self.service_types.get(code, f"护理服务类型{code}")


def _header(form: _Form, code: str, serial: str, name: str, period: str, width: float) -> None:
    form.pairs([[("机构编码", code), ("流水号", serial)], [("机构名称", name), ("月份", period)]], width)


def _scheme_table(form: _Form, category: str, rows: Sequence[ClaimRow | SettledRow], total: ClaimRow | SettledRow,
                  fields: Sequence[tuple[str, str]], width: float, words_per_column: bool) -> None:
    """One page of 附件1/5: 项目 | <scheme> over the care-service columns | 合计."""
    columns = [*rows, total]
    first = 34 * mm
    other = (width - first) / len(columns)
    scheme = codes.PERSON_CATEGORIES.get(category, category)
    data: list[list[object]] = [
        ["项目", scheme, *[""] * (len(columns) - 2), "合计"],
        ["", *[form.service_name(r.service_type) for r in rows], ""],
    ]
    for name, label in fields:
        data.append([label, *[_figure(getattr(r, name)) for r in columns]])
    words_label = "实拨金额（大写）" if fields[-1][0] == "paid" else "申请拨付金额（大写）"
    spans: list[tuple] = [((0, 0), (0, 1)), ((-1, 0), (-1, 1))]
    if len(columns) > 2:
        spans.append(((1, 0), (len(columns) - 1, 0)))
    if words_per_column:
        data.append([words_label, *[Paragraph(_escape(r.claimed_in_words), form.s.small) for r in columns]])
    else:
        data.append([words_label, Paragraph(_escape(total.paid_in_words or ""), form.s.cell),
                     *[""] * (len(columns) - 1)])
        spans.append(((1, len(data) - 1), (-1, len(data) - 1)))
    form.grid(data, [first, *[other] * len(columns)], spans)


def _notes(form: _Form, doc: CitySettlement | FacilitySettlement, width: float) -> None:
    form.pairs([[("审核扣款说明", doc.deduction_note or "")], [("补拨金额说明", doc.supplement_note or "")]], width)


def _facility_form(form: _Form, doc: FacilityClaim | FacilitySettlement, width: float) -> None:
    """附件1 or 附件5: one page per scheme, the same frame; 附件5 adds the settlement rows and its notes."""
    settled = isinstance(doc, FacilitySettlement)
    for index, scheme in enumerate(doc.schemes):
        if index:
            form.story.append(PageBreak())
        form.title(f"定点长护服务机构省内异地长期护理保险费用{'结算单' if settled else '申请单'}")
        _header(form, doc.facility_code, doc.serial, doc.facility_name, doc.period, width)
        _scheme_table(form, scheme.category, scheme.lines, scheme.total, SETTLED_ROWS if settled else CLAIM_ROWS,
                      width, not settled)
        if isinstance(doc, FacilitySettlement):
            _notes(form, doc, width)
            signers = [("费用初审", doc.first_reviewer), ("费用审核", doc.reviewer), ("费用复核", doc.checker)]
        else:
            signers = [("制表人", doc.prepared_by), ("复核人", doc.reviewed_by)]
        form.pairs([signers, [("制表单位（章）", doc.prepared_by_unit), ("制表时间", doc.prepared_at.isoformat())]],
                   width)
        form.story.append(form.p(SERVICE_NOTE, form.s.text))


def _statement(form: _Form, doc: PersonStatement, width: float) -> None:
    form.title("省内异地长期护理保险费用个人结算单")
    level = codes.FACILITY_LEVELS.get(doc.facility_level or "", doc.facility_level or "")
    form.pairs([[("机构编码", doc.facility_code), ("流水号", doc.serial)],
                [("定点机构名称", doc.facility_name), ("医疗机构等级", level)]], width)
    quarter = width / 4
    pairs = [
        ("姓名", doc.name, "性别", codes.SEXES.get(doc.sex, doc.sex)),
        ("证件类型", codes.ID_TYPES.get(doc.id_type, doc.id_type), "证件号码", doc.id_number),
        ("人员类别", codes.PERSON_CATEGORIES.get(doc.person_category, doc.person_category),
         "失能等级", codes.DISABILITY_LEVELS.get(doc.disability_level, doc.disability_level)),
        ("参保地", area_name(doc.insured_city), "居住地", area_name(doc.residence_city)),
        ("护理服务类型", form.service_name(doc.service_type), "费用开始日期", doc.start_date.isoformat()),
        ("费用结束日期", doc.end_date.isoformat(), "待遇享受天数", str(doc.benefit_days)),
    ]
    form.grid([list(row) for row in pairs], [quarter] * 4)
    sixth = width / 6
    amounts = [doc.total_cost, doc.self_paid, doc.covered, doc.fund_paid, doc.co_pay, doc.personal_burden]
    form.grid([["长期护理费用分项情况", "", "", "", "", ""],
               ["费用总额", "个人自费金额", "纳入统筹金额", "统筹支付金额", "个人自付金额", "个人负担合计"],
               [_figure(a) for a in amounts]], [sixth] * 6, spans=[((0, 0), (-1, 0))])
    form.pairs([[("制表单位（章）", doc.prepared_by_unit), ("月份", doc.period),
                 ("制表时间", doc.prepared_at.isoformat())]], width)


def _city_title(city: str, kind: str) -> str:
    name = area_name(city)
    return f"{name if name.endswith('市') else name + '（' + city + '）'}省内异地长期护理保险费用{kind}"


def _city_claim(form: _Form, doc: CityClaim, width: float, *, details: bool) -> None:
    form.title(_city_title(doc.residence_city, "申请单"))
    _header(form, doc.agency_code, doc.serial, doc.agency_name, doc.period, width)
    half = width / 2
    rows = [["参保地", area_name(doc.insured_city)]]
    rows += [[label, _figure(getattr(doc.totals, name))] for name, label in CLAIM_ROWS]
    rows.append(["申请拨付金额（大写）", doc.totals.claimed_in_words])
    form.grid(rows, [half * 0.6, half * 1.4])
    form.pairs([[("初审人", doc.first_reviewer), ("审核人", doc.reviewer), ("复核人", doc.checker)],
                [("制表单位（章）", doc.prepared_by_unit), ("制表时间", doc.prepared_at.isoformat())]], width)
    if not details:
        return
    for facility_claim in doc.facility_claims:
        form.story.append(PageBreak())
        _facility_form(form, facility_claim, width)
    form.story.append(PageBreak())
    form.title(f"附件2 个人结算单清单（{len(doc.statements)} 份）")
    header = ["序号", "流水号", "机构编码", "人员类别", "护理服务类型", "待遇享受天数", "费用总额", "统筹支付金额"]
    data: list[list[object]] = [header]
    for position, s in enumerate(doc.statements, start=1):
        data.append([str(position), s.serial, s.facility_code,
                     codes.PERSON_CATEGORIES.get(s.person_category, s.person_category),
                     form.service_name(s.service_type), str(s.benefit_days), _figure(s.total_cost),
                     _figure(s.fund_paid)])
    form.grid(data, [width * w for w in (0.07, 0.22, 0.16, 0.08, 0.15, 0.10, 0.11, 0.11)], header_rows=1)


def _sign_off_rows(residence: SignOff, insured: SignOff) -> list[list[tuple[str, str]]]:
    return [
        [("居住地费用初审", residence.first_reviewer), ("参保地费用初审", insured.first_reviewer)],
        [("居住地费用审核", residence.reviewer), ("参保地费用审核", insured.reviewer)],
        [("居住地费用复核", residence.checker), ("参保地费用复核", insured.checker)],
        [("居住地医疗保障经办机构（章）", residence.unit), ("参保地医疗保障经办机构（章）", insured.unit)],
    ]


def _city_settlement(form: _Form, doc: CitySettlement, width: float) -> None:
    form.title(_city_title(doc.residence_city, "结算单"))
    _header(form, doc.agency_code, doc.serial, doc.agency_name, doc.period, width)
    t = doc.totals
    label = dict(SETTLED_ROWS)
    values = {name: _figure(getattr(t, name)) for name, _ in SETTLED_ROWS}
    order = ["visits", "days", "total_cost", "self_paid", "covered", "co_pay", "claimed", "deducted",
             "supplemented"]
    cells = [("参保地", area_name(doc.insured_city))] + [(label[n], values[n]) for n in order]
    rows = [[*cells[i], *cells[i + 1]] for i in range(0, len(cells), 2)]
    rows.append(["实拨金额", values["paid"], "", ""])
    rows.append(["实拨金额（大写）", t.paid_in_words or "", "", ""])
    quarter = width / 4
    last = len(rows) - 1
    form.grid(rows, [quarter] * 4, spans=[((1, last - 1), (3, last - 1)), ((1, last), (3, last))])
    _notes(form, doc, width)
    form.pairs([*_sign_off_rows(doc.residence_sign_off, doc.insured_sign_off),
                [("制表时间", doc.prepared_at.isoformat()), ("所结算申请单流水号", doc.claim_serial)]], width)
    if doc.adjustments:
        form.story.append(form.p("审核扣款及补拨明细（按附件2流水号）", form.s.text))
        data: list[list[object]] = [["序号", "附件2流水号", "审核扣款金额", "补拨金额", "说明"]]
        for number, a in enumerate(doc.adjustments, start=1):
            data.append([str(number), a.statement_serial, _figure(a.deducted), _figure(a.supplemented),
                         a.reason])
        form.grid(data, [width * w for w in (0.08, 0.27, 0.17, 0.17, 0.31)], header_rows=1)


# 第三十一条 disputes have no form in the procedure: a plain one in the same style, to print, sign and stamp.
DISPUTE_SUBJECTS = {"amount": "金额", "person": "人员（个人结算单）", "facility": "定点长护服务机构"}
DISPUTE_OUTCOMES = {"accepted": "同意", "rejected": "不同意", "partially_accepted": "部分同意"}


def _dispute(form: _Form, doc: Dispute, width: float) -> None:
    form.title("省内异地长期护理保险费用争议单")
    _dispute_head(form, doc, width)
    quarter = width / 4
    form.grid([
        ["争议单据", f"附件{doc.disputed_type[1:]}（{doc.disputed_type}）", "单据流水号", doc.disputed_serial],
        ["争议事项", DISPUTE_SUBJECTS.get(doc.subject, doc.subject), "机构编码", doc.facility_code or ""],
        ["核定金额", _figure(doc.expected), "单据所列金额", _figure(doc.stated)],
        ["差额", _figure(doc.stated - doc.expected), "", ""],
    ], [quarter] * 4, spans=[((1, 3), (3, 3))])
    form.pairs([[("争议说明", doc.explanation)]], width)
    if doc.statement_serials:
        data: list[list[object]] = [["序号", "涉及个人结算单（附件2）流水号"]]
        data += [[str(n), serial] for n, serial in enumerate(doc.statement_serials, start=1)]
        form.grid(data, [width * 0.15, width * 0.85], header_rows=1)
    app = doc.application
    if app is not None:  # 第三十一条: the person's or facility's application at the residence agency
        who = (f"参保人员（{app.id_type} {app.id_number}）" if app.applicant == "person"
               else f"定点长护服务机构 {app.facility_code} {app.facility_name or ''}")
        form.pairs([[("申请人", who), ("申请日期", app.applied_on.isoformat())]], width)
    form.pairs([[("经办人", doc.raised_by), ("经办机构（章）", doc.unit), ("提出日期", doc.raised_at.isoformat())]],
               width)
    note = ("注：自申请之日起15个工作日内由居住地经办机构反馈结果（规程第三十一条）" if app is not None
            else "注：收到争议之日起15个工作日内答复（规程第三十一条）")
    form.story.append(form.p(note, form.s.text))


def _dispute_result(form: _Form, doc: DisputeResult, width: float) -> None:
    form.title("省内异地长期护理保险费用争议处理结果反馈单")
    _dispute_head(form, doc, width)
    quarter = width / 4
    form.grid([
        ["所反馈争议单流水号", doc.dispute_serial, "处理结果", DISPUTE_OUTCOMES.get(doc.outcome, doc.outcome)],
        ["更正后金额", _figure(doc.corrected_amount), "反馈日期", doc.answered_on.isoformat()],
    ], [quarter] * 4)
    form.pairs([[("反馈说明", doc.explanation)], [("经办人", doc.answered_by), ("经办机构（章）", doc.unit)]], width)
    form.story.append(form.p("注：居住地、参保地经办机构协同审查核实，由居住地经办机构反馈结果（规程第三十一条）", form.s.text))


def _dispute_answer(form: _Form, doc: DisputeAnswer, width: float) -> None:
    form.title("省内异地长期护理保险费用争议答复单")
    _dispute_head(form, doc, width)
    quarter = width / 4
    form.grid([
        ["所答复争议单流水号", doc.dispute_serial, "处理结果", DISPUTE_OUTCOMES.get(doc.outcome, doc.outcome)],
        ["更正后金额", _figure(doc.corrected_amount), "更正单据流水号", doc.correction_serial or ""],
    ], [quarter] * 4)
    form.pairs([[("答复说明", doc.explanation)],
                [("答复人", doc.answered_by), ("经办机构（章）", doc.unit), ("答复日期", doc.answered_at.isoformat())]],
               width)


def _dispute_head(form: _Form, doc: DisputeDocument, width: float) -> None:
    form.pairs([[("流水号", doc.serial), ("月份", doc.period)],
                [("居住地", area_name(doc.residence_city)), ("参保地", area_name(doc.insured_city))]], width)


# 第二十六条 payment and 第二十九条 refund: no form in the procedure either; the same plain style, to sign and stamp.


def _money_head(form: _Form, doc: MoneyDocument, width: float) -> None:
    form.pairs([[("流水号", doc.serial), ("月份", doc.period)],
                [("参保地", area_name(doc.insured_city)), ("居住地", area_name(doc.residence_city))]], width)


def _payment(form: _Form, doc: PaymentAdvice, width: float) -> None:
    form.title("省内异地长期护理保险费用拨付通知单")
    _money_head(form, doc, width)
    quarter = width / 4
    form.grid([
        ["拨付金额", _figure(doc.amount), "拨付日期", doc.value_date.isoformat()],
        ["拨付金额（大写）", amount_in_words(doc.amount), "", ""],
        ["参保地付款凭证号", doc.payer_reference, "居住地收款参考号", doc.payee_reference or ""],
    ], [quarter] * 4, spans=[((1, 1), (3, 1))])
    data: list[list[object]] = [["序号", "所拨付结算单（附件4）流水号", "月份", "拨付金额"]]
    data += [[str(n), ref.serial, ref.period, _figure(ref.amount)] for n, ref in enumerate(doc.settlements, start=1)]
    form.grid(data, [width * w for w in (0.1, 0.5, 0.15, 0.25)], header_rows=1)
    form.pairs([[("说明", doc.note or "")],
                [("经办人", doc.prepared_by), ("经办机构（章）", doc.unit), ("制表时间", doc.prepared_at.isoformat())]],
               width)
    form.story.append(form.p("注：对账确认截止日后15个工作日内拨付（规程第二十六条）；居住地回执即到账确认", form.s.text))


def _refund(form: _Form, doc: RecoveryRefund, width: float) -> None:
    form.title("省内异地长期护理保险追回费用退回单")
    _money_head(form, doc, width)
    form.pairs([[("机构编码", doc.facility_code), ("机构名称", doc.facility_name)]], width)
    data: list[list[object]] = [["序号", "姓名", "证件号码", "月份", "追回金额", "个人结算单流水号"]]
    data += [[str(n), i.name, i.id_number, i.month, _figure(i.amount), i.statement_serial or ""]
             for n, i in enumerate(doc.items, start=1)]
    data.append(["合计", "", "", "", _figure(doc.total), ""])
    last = len(data) - 1
    form.grid(data, [width * w for w in (0.08, 0.14, 0.26, 0.1, 0.14, 0.28)], spans=[((0, last), (3, last))],
              header_rows=1)
    quarter = width / 4
    form.grid([
        ["合计（大写）", amount_in_words(doc.total), "", ""],
        ["退回日期", doc.value_date.isoformat(), "退款凭证号", doc.payer_reference],
        ["所更正结算单（附件4）", "、".join(f"{r.serial}（{r.period}）" for r in doc.settlements), "", ""],
    ], [quarter] * 4, spans=[((1, 0), (3, 0)), ((1, 2), (3, 2))])
    form.pairs([[("追回原因", doc.reason)],
                [("经办人", doc.prepared_by), ("经办机构（章）", doc.unit), ("制表时间", doc.prepared_at.isoformat())]],
               width)
    form.story.append(form.p("注：违规费用追回并退回至参保地医保经办机构（规程第二十九条）", form.s.text))


def _withdrawal(form: _Form, doc: Withdrawal, width: float) -> None:
    """撤销: no form in the procedure; the same plain style, to sign and stamp."""
    form.title("省内异地长期护理保险单据撤销通知单")
    _dispute_head(form, doc, width)
    quarter = width / 4
    form.grid([
        ["撤销单据", f"附件{doc.withdrawn_type[1:]}（{doc.withdrawn_type}）", "单据流水号", doc.withdrawn_serial],
        ["撤销版本", str(doc.withdrawn_revision), "", ""],
    ], [quarter] * 4)
    form.pairs([[("撤销原因", doc.reason)],
                [("经办人", doc.withdrawn_by), ("经办机构（章）", doc.unit), ("撤销日期", doc.withdrawn_at.isoformat())]],
               width)
    form.story.append(form.p("注：仅限对方尚未回执的单据；已回执的单据请以更正版本或争议处理", form.s.text))


def render_pdf(
    document: Attachment | DisputeDocument | MoneyDocument,
    *,
    details: bool = False,
    service_types: Mapping[str, str] = codes.DEFAULT_SERVICE_TYPES,
) -> bytes:
    """The attachment as its official form, PDF bytes. `details`: an A3 is followed by its A1 forms and the
    list of its A2 statements. `service_types`: the residence city's names of its care-service types."""
    _register_font()
    wide = isinstance(document, (FacilityClaim, FacilitySettlement))
    page = landscape(A4) if wide else A4
    margin = 15 * mm
    width = page[0] - 2 * margin
    form = _Form(service_types)
    if isinstance(document, (FacilityClaim, FacilitySettlement)):
        _facility_form(form, document, width)
    elif isinstance(document, PersonStatement):
        _statement(form, document, width)
    elif isinstance(document, CityClaim):
        _city_claim(form, document, width, details=details)
    elif isinstance(document, CitySettlement):
        _city_settlement(form, document, width)
    elif isinstance(document, Dispute):
        _dispute(form, document, width)
    elif isinstance(document, DisputeAnswer):
        _dispute_answer(form, document, width)
    elif isinstance(document, DisputeResult):
        _dispute_result(form, document, width)
    elif isinstance(document, PaymentAdvice):
        _payment(form, document, width)
    elif isinstance(document, RecoveryRefund):
        _refund(form, document, width)
    elif isinstance(document, Withdrawal):
        _withdrawal(form, document, width)
    elif document.type.is_entitlement:  # 第十条, 第十五条, 第十七条
        from gateway.documents.render_entitlement import render_entitlement

        render_entitlement(form, document, width)
    else:
        raise TypeError(f"not an attachment (附件1–5), a dispute or an entitlement document: {type(document).__name__}")
    out = io.BytesIO()
    pdf = SimpleDocTemplate(out, pagesize=page, leftMargin=margin, rightMargin=margin, topMargin=margin,
                            bottomMargin=margin, title=_pdf_title(document), author="ltc-gateway")
    pdf.build(form.story)
    return out.getvalue()


def _pdf_title(document: Attachment | DisputeDocument | MoneyDocument) -> str:
    return f"{document.type.value} {document.serial} {document.period}"
