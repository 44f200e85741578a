"""Printable forms of the entitlement documents (第十条, 第十五条, 第十七条), in the style of the settlement forms.

The procedure gives these steps no form: each is laid out as a plain one a clerk prints, signs and stamps (盖章):
title, 流水号 and the two cities, the person (as on the 个人结算单: the form goes between the two agencies about
that person), what is notified, filed, asked or concluded, and the sign-off line. `render.render_pdf` calls
`render_entitlement` with its form builder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.domain import codes
from gateway.domain import entitlement as ent
from gateway.domain.areas import area_name

if TYPE_CHECKING:
    from gateway.documents.render import _Form

TITLE = "省内异地长期护理保险"
NOTICE_TITLES = {ent.START: "待遇享受通知单", ent.CHANGE: "待遇变更通知单", ent.END: "待遇终止通知单"}
FILING_TITLES = {ent.ASSIGNMENT: "定点服务机构派单备案表", ent.CHANGE: "定点服务机构及护理服务类型变更备案表"}


def render_entitlement(form: _Form, doc: ent.EntitlementDocument, width: float) -> None:
    """Append the form of `doc` to `form`'s story."""
    if isinstance(doc, ent.EntitlementNotice):
        _notice(form, doc, width)
    elif isinstance(doc, ent.ChangeFiling):
        _filing(form, doc, width)
    elif isinstance(doc, ent.AssessmentRequest):
        _request(form, doc, width)
    else:
        _result(form, doc, width)


def _head(form: _Form, doc: ent.EntitlementDocument, width: float) -> None:
    form.pairs([[("流水号", doc.serial), ("月份", doc.period)],
                [("参保地", area_name(doc.insured_city)), ("居住地", area_name(doc.residence_city))]], width)


def _label(table: object, code: str | None) -> str:
    return "" if code is None else table.get(code, code)  # type: ignore[attr-defined]


def _person_rows(doc: ent.EntitlementNotice | ent.AssessmentRequest | ent.AssessmentResult) -> list[list[str]]:
    return [["姓名", doc.name, "性别", _label(codes.SEXES, doc.sex)],
            ["证件类型", _label(codes.ID_TYPES, doc.id_type), "证件号码", doc.id_number]]


def _service_names(form: _Form, types: list[str]) -> str:
    return "、".join(form.service_name(code) for code in types)


def _facilities(form: _Form, facilities: list[ent.Facility], width: float) -> None:
    data: list[list[object]] = [["类别", "机构编码", "机构名称"]]
    data += [[ent.FACILITY_ROLES.get(f.role, f.role), f.code, f.name] for f in facilities]
    form.grid(data, [width * 0.25, width * 0.25, width * 0.5], header_rows=1)


def _notice(form: _Form, doc: ent.EntitlementNotice, width: float) -> None:
    form.title(TITLE + NOTICE_TITLES.get(doc.kind, "待遇享受通知单"))
    _head(form, doc, width)
    quarter = width / 4
    rows = _person_rows(doc) + [
        ["人员类别", _label(codes.PERSON_CATEGORIES, doc.person_category),
         "失能等级", _label(codes.DISABILITY_LEVELS, doc.disability_level)],
        ["评估结论日期", doc.assessed_at.isoformat(), "有效期至", doc.valid_until.isoformat()],
        ["护理服务类型", _service_names(form, doc.service_types), "待遇享受开始日期", doc.start_date.isoformat()],
        ["通知类型", ent.NOTICE_KINDS.get(doc.kind, doc.kind), "待遇享受截止日期", doc.entitled_until.isoformat()],
    ]
    if doc.end is not None:
        rows.append(["终止日期", doc.end.end_date.isoformat(), "终止原因", ent.END_REASONS.get(doc.end.reason,
                                                                                      doc.end.reason)])
    form.grid(rows, [quarter] * 4)
    if doc.end is not None and doc.end.note:
        form.pairs([[("终止说明", doc.end.note)]], width)
    if doc.facilities:
        form.story.append(form.p("参保人员选择的定点服务机构", form.s.text))
        _facilities(form, doc.facilities, width)
    form.pairs([[("经办人", doc.issued_by), ("参保地经办机构（章）", doc.unit), ("通知日期", doc.issued_at.isoformat())]],
               width)
    form.story.append(form.p("注：评估通过后由参保地经办机构与参保人员商定护理服务类型，推送居住地经办机构派单（规程第十七条）",
                             form.s.text))


def _filing(form: _Form, doc: ent.ChangeFiling, width: float) -> None:
    form.title(TITLE + FILING_TITLES.get(doc.kind, "变更备案表"))
    _head(form, doc, width)
    quarter = width / 4
    rows = [
        ["姓名", doc.name, "证件类型", _label(codes.ID_TYPES, doc.id_type)],
        ["证件号码", doc.id_number, "待遇享受通知流水号", doc.entitlement_serial],
        ["生效日期", doc.effective_from.isoformat(), "备案类型", ent.FILING_KINDS.get(doc.kind, doc.kind)],
        ["护理服务类型", _service_names(form, doc.service_types), "", ""],
    ]
    form.grid(rows, [quarter] * 4, spans=[((1, 3), (3, 3))])
    _facilities(form, doc.facilities, width)
    form.pairs([[("变更原因", doc.reason or "")],
                [("经办人", doc.filed_by), ("居住地经办机构（章）", doc.unit), ("备案日期", doc.filed_at.isoformat())]],
               width)
    form.story.append(form.p("注：可选择1家定点长护服务机构，有需求的可同时选择1家定点辅助器具租赁机构；变更应提前报参保地经办机构备案"
                             "（规程第十五条）", form.s.text))


def _request(form: _Form, doc: ent.AssessmentRequest, width: float) -> None:
    form.title(TITLE + "失能等级委托评估函")
    _head(form, doc, width)
    quarter = width / 4
    rows = _person_rows(doc) + [
        ["人员类别", _label(codes.PERSON_CATEGORIES, doc.person_category),
         "评估类型", ent.REQUEST_REASONS.get(doc.reason, doc.reason)],
        ["联系电话", doc.phone or "", "", ""],
        ["居住地址", doc.address or "", "", ""],
    ]
    form.grid(rows, [quarter] * 4, spans=[((1, n), (3, n)) for n in (len(rows) - 2, len(rows) - 1)])
    form.pairs([[("备注", doc.note or "")],
                [("经办人", doc.requested_by), ("参保地经办机构（章）", doc.unit), ("委托日期", doc.requested_at.isoformat())]],
               width)
    form.story.append(form.p("注：经参保地与居住地经办机构协商，委托居住地经办机构开展失能等级评估（规程第十条）", form.s.text))


def _result(form: _Form, doc: ent.AssessmentResult, width: float) -> None:
    form.title(TITLE + "失能等级委托评估结果反馈单")
    _head(form, doc, width)
    quarter = width / 4
    rows = _person_rows(doc) + [
        ["失能等级", _label(codes.DISABILITY_LEVELS, doc.disability_level), "委托评估函流水号", doc.request_serial],
        ["评估结论日期", doc.assessed_at.isoformat(), "有效期至", doc.valid_until.isoformat()],
        ["评估方式", ent.ASSESSMENT_METHODS.get(doc.method, doc.method), "评估机构", doc.assessment_org],
    ]
    form.grid(rows, [quarter] * 4)
    data: list[list[object]] = [["序号", "评估专家", "评估人员编号"]]
    data += [[str(n), a.name, a.code or ""] for n, a in enumerate(doc.assessors, start=1)]
    form.grid(data, [width * 0.15, width * 0.45, width * 0.4], header_rows=1)
    form.pairs([[("评估意见", doc.conclusion or "")],
                [("经办人", doc.reported_by), ("居住地经办机构（章）", doc.unit), ("反馈日期", doc.reported_at.isoformat())]],
               width)
    form.story.append(form.p("注：评估结论应经过至少2名评估专家的评估确认，有效期一般不超过2年（规程第十条）", form.s.text))
