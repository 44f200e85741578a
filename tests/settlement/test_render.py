"""Printable forms: every attachment renders as its form; the PDF's text carries titles, labels, amounts, 大写."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from settlement_month import build_month

from gateway.documents import render
from gateway.documents.render import FontMissing, find_cjk_font, render_pdf

MONTH = build_month("370300", "370100", "2026-08")  # 淄博 claims from 济南


def pdf_text(data: bytes, tmp_path: Path) -> str:
    """The PDF's text with the layout's spaces and line breaks removed (a cell may wrap)."""
    path = tmp_path / "form.pdf"
    path.write_bytes(data)
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return re.sub(r"\s+", "", text)


def pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", data))


def test_facility_claim_form(tmp_path: Path) -> None:
    a1 = MONTH.claim.facility_claims[0]
    data = render_pdf(a1)
    assert data.startswith(b"%PDF") and pages(data) == len(a1.schemes)
    text = pdf_text(data, tmp_path)
    assert "定点长护服务机构省内异地长期护理保险费用申请单" in text
    for label in ("机构编码：" + a1.facility_code, "流水号：" + a1.serial, "月份：2026-08", "总人次", "总天数",
                  "申请拨付金额（大写）", "制表人：张制表", "复核人：李复核", "制表单位（章）", "制表时间：2026-09-20",
                  "职工", "居民", "合计", "居家护理"):
        assert label in text, label
    for scheme in a1.schemes:
        assert f"{scheme.total.claimed:.2f}" in text
        assert scheme.total.claimed_in_words in text
        for row in scheme.lines:
            assert row.claimed_in_words in text


def test_person_statement_form(tmp_path: Path) -> None:
    a2 = MONTH.claim.statements[0]
    text = pdf_text(render_pdf(a2), tmp_path)
    assert "省内异地长期护理保险费用个人结算单" in text
    for label in ("姓名", a2.name, "证件号码", a2.id_number, "失能等级", "重度失能Ⅰ级", "参保地济南市",
                  "居住地淄博市", "长期护理费用分项情况", "统筹支付金额", f"{a2.fund_paid:.2f}",
                  f"{a2.personal_burden:.2f}", "医疗机构等级：二级"):
        assert label in text, label


def test_city_claim_form_with_its_details_and_no_personal_data_in_the_list(tmp_path: Path) -> None:
    claim = MONTH.claim
    summary = render_pdf(claim)
    assert pages(summary) == 1
    text = pdf_text(summary, tmp_path)
    assert "淄博市省内异地长期护理保险费用申请单" in text
    for label in ("参保地济南市", "申请拨付金额（大写）" + claim.totals.claimed_in_words, f"{claim.totals.claimed:.2f}",
                  "初审人：王初审", "审核人：赵审核", "复核人：钱复核", "机构名称：" + claim.agency_name):
        assert label in text, label
    detailed = render_pdf(claim, details=True)
    assert pages(detailed) > 1 + len(claim.facility_claims)
    text = pdf_text(detailed, tmp_path)
    assert text.count("定点长护服务机构省内异地长期护理保险费用申请单") == sum(len(f.schemes) for f in claim.facility_claims)
    assert f"个人结算单清单（{len(claim.statements)}份）" in text
    for statement in claim.statements:
        assert statement.serial in text
        assert statement.name not in text and statement.id_number not in text


def test_city_settlement_form(tmp_path: Path) -> None:
    settlement = MONTH.settlement
    text = pdf_text(render_pdf(settlement), tmp_path)
    assert "淄博市省内异地长期护理保险费用结算单" in text
    t = settlement.totals
    for label in ("审核扣款金额", f"{t.deducted:.2f}", "补拨金额", f"{t.supplemented:.2f}", "实拨金额", f"{t.paid:.2f}",
                  "实拨金额（大写）" + t.paid_in_words, "审核扣款说明：详见明细", "居住地费用初审：甲", "参保地费用复核：己",
                  "居住地医疗保障经办机构（章）", "参保地医疗保障经办机构（章）", "制表时间：2026-09-20"):
        assert label in text, label
    for adjustment in settlement.adjustments:
        assert adjustment.statement_serial in text and adjustment.id_number not in text


def test_facility_settlement_form(tmp_path: Path) -> None:
    a5 = MONTH.facility_settlements[0]
    data = render_pdf(a5)
    assert pages(data) == len(a5.schemes)
    text = pdf_text(data, tmp_path)
    assert "定点长护服务机构省内异地长期护理保险费用结算单" in text
    for scheme in a5.schemes:
        assert "实拨金额（大写）" + scheme.total.paid_in_words in text
        for row in [*scheme.lines, scheme.total]:
            assert f"{row.paid:.2f}" in text and f"{row.deducted:.2f}" in text
    for label in ("费用初审：甲", "费用审核：乙", "费用复核：丙", "补拨金额说明"):
        assert label in text, label


def test_configured_names_of_care_service_types(tmp_path: Path) -> None:
    a1 = MONTH.claim.facility_claims[0]
    text = pdf_text(render_pdf(a1, service_types={"01": "上门护理"}), tmp_path)
    assert "上门护理" in text and "居家护理" not in text
    assert "护理服务类型02" in text and "护理服务类型03" in text


def test_missing_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(render.FONT_ENV, str(tmp_path / "none.ttf"))
    with pytest.raises(FontMissing, match="fonts-wqy-microhei"):
        find_cjk_font()
    monkeypatch.delenv(render.FONT_ENV)
    with pytest.raises(FontMissing, match="fonts-wqy-microhei"):
        find_cjk_font([str(tmp_path / "absent.ttc")])
    assert find_cjk_font().is_file()
