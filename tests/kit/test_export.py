"""`ltcgw export FILE --xlsx OUT`: a claim (A3) or a settlement (A4) as a workbook for the insured city's
reviewers, read back with openpyxl: the form's columns with Chinese headers, amounts as numbers with two
decimals, ID numbers and names as text, and files that are not a readable A3/A4 refused without an OUT."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from openpyxl import load_workbook

from gateway.workspace.city_system import CitySystem
from gateway.documents.keys import generate_keys
from gateway.documents.reader import read_document
from gateway.documents.sample import sample_bytes
from gateway.domain.envelope import MessageType
from gateway.entrypoints.cli import main

ZIBO, JINAN, PERIOD = "370300", "370100", "2026-10"
NS = "{urn:ltcgw:settlement:1}"
# 附件2 个人结算单's fields in the form's order (docs/documents.md, "A2 PersonStatement").
STATEMENT_HEADERS = [
    "流水号", "机构编码", "定点机构名称", "医疗机构等级", "月份", "姓名", "性别", "证件类型", "证件号码", "人员类别",
    "失能等级", "参保地", "居住地", "护理服务类型", "费用开始日期", "费用结束日期", "待遇享受天数", "费用总额",
    "个人自费金额", "纳入统筹金额", "统筹支付金额", "个人自付金额", "个人负担合计", "制表单位（章）", "制表时间",
]
STATEMENT_AMOUNTS = {"费用总额": "total_cost", "个人自费金额": "self_paid", "纳入统筹金额": "covered",
                     "统筹支付金额": "fund_paid", "个人自付金额": "co_pay", "个人负担合计": "personal_burden"}
# What a spreadsheet would spoil if these were numbers or formulas.
TRICKY = [("01", "37030219580101002X", "王芳"),      # the X check character
          ("99", "0012345678", "李=强"),              # leading zeros
          ("90", "370302195801010012", "=SUM(A1:A9)")]  # 18 digits: more than a double keeps; a "formula" name


def export(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["export", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def amount(cell) -> Decimal:
    """A cell as written for an amount: a number shown with two decimals."""
    assert cell.data_type == "n" and cell.number_format == "#,##0.00", (cell.coordinate, cell.value)
    return Decimal(str(cell.value)).quantize(Decimal("0.01"))


def text(cell) -> str:
    assert cell.data_type == "s" and cell.number_format == "@", (cell.coordinate, cell.value, cell.data_type)
    return cell.value


@pytest.fixture
def claim(tmp_path: Path) -> Path:
    """A sample A3 of 淄博 to 济南 whose first statements carry the tricky ID numbers and names."""
    root = etree.fromstring(sample_bytes("A3", ZIBO, JINAN, PERIOD, persons=9, seed=4))
    statements = root.findall(f"{NS}PersonStatements/{NS}PersonStatement")
    for statement, (id_type, number, name) in zip(statements, TRICKY):
        statement.find(f"{NS}IdType").text = id_type
        statement.find(f"{NS}IdNumber").text = number
        statement.find(f"{NS}Name").text = name
    path = tmp_path / "a3.xml"
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    return path


def test_a_claim_becomes_the_reviewers_workbook(claim: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "复核.xlsx"
    code, printed, err = export(capsys, str(claim), "--xlsx", str(out))
    assert code == 0, err
    assert "A3" in printed and "9 个人结算单" in printed and "370302" not in printed  # no ID number on the terminal
    document = read_document(etree.fromstring(claim.read_bytes()))
    book = load_workbook(out)
    assert book.sheetnames == ["申请单", "机构申请单", "个人结算单"]

    sheet = book["个人结算单"]
    headers = [c.value for c in sheet[1]]
    assert headers == STATEMENT_HEADERS
    column = {header: index for index, header in enumerate(headers)}
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == len(document.statements) + 1 and rows[-1][0].value == "合计"
    for row, statement in zip(rows, document.statements):
        assert text(row[column["流水号"]]) == statement.serial
        assert text(row[column["证件号码"]]) == statement.id_number
        assert text(row[column["姓名"]]) == statement.name
        for header, field in STATEMENT_AMOUNTS.items():
            assert amount(row[column[header]]) == getattr(statement, field), header
        assert row[column["待遇享受天数"]].value == statement.benefit_days
        assert row[column["费用开始日期"]].value.date() == statement.start_date
    assert [text(r[column["证件号码"]]) for r in rows[:3]] == [number for _, number, _ in TRICKY]
    assert [text(r[column["姓名"]]) for r in rows[:3]] == [name for _, _, name in TRICKY]
    assert text(rows[1][column["证件类型"]]) == "其他身份证件" and text(rows[0][column["性别"]]) in ("男", "女")
    total = rows[-1]
    assert amount(total[column["统筹支付金额"]]) == document.totals.claimed  # Σ 统筹支付 = the claim's 申请拨付
    assert amount(total[column["费用总额"]]) == document.totals.total_cost
    assert total[column["待遇享受天数"]].value == document.totals.days

    head = {row[0].value: row[1] for row in book["申请单"].iter_rows(min_row=2)}
    assert book["申请单"]["A1"].value == "淄博市省内异地长期护理保险费用申请单"
    assert text(head["流水号"]) == document.serial and text(head["参保地"]) == "济南市"
    assert amount(head["申请拨付金额"]) == document.totals.claimed and head["总人次"].value == document.totals.visits

    facility = book["机构申请单"]
    lines = list(facility.iter_rows(min_row=2))
    expected = [(c.serial, s.category, r) for c in document.facility_claims for s in c.schemes for r in [*s.lines, s.total]]
    assert len(lines) == len(expected)
    headers = [c.value for c in facility[1]]
    assert headers[:5] == ["机构编码", "机构名称", "流水号", "人员类别", "护理服务类型"] and headers[-1] == "申请拨付金额（大写）"
    for line, (serial, _, row) in zip(lines, expected):
        assert text(line[2]) == serial and amount(line[headers.index("申请拨付金额")]) == row.claimed
        assert (text(line[4]) == "合计") == (row.service_type is None)


def test_a_settlement_message_becomes_a_workbook(tmp_path: Path, capsys) -> None:
    """An A4 as delivered (signed envelope): the settlement and its per-person deductions and supplements."""
    generate_keys(JINAN, tmp_path / "keys")
    jinan = CitySystem(JINAN, tmp_path / "keys", tmp_path / "drop")
    data = sample_bytes("A4", JINAN, ZIBO, PERIOD, seed=2)
    _, message = jinan.pack(MessageType.A4, ZIBO, PERIOD, document=data)
    (tmp_path / "a4.xml").write_bytes(message)
    code, printed, err = export(capsys, str(tmp_path / "a4.xml"), "--xlsx", str(tmp_path / "a4.xlsx"))
    assert code == 0, err
    document = read_document(etree.fromstring(data))
    assert document.adjustments, "the sample lists adjustments"
    book = load_workbook(tmp_path / "a4.xlsx")
    assert book.sheetnames == ["结算单", "个人扣款补拨"]
    head = {row[0].value: row[1] for row in book["结算单"].iter_rows(min_row=2)}
    for label, field in (("实拨金额", "paid"), ("审核扣款金额", "deducted"), ("补拨金额", "supplemented"),
                         ("申请拨付金额", "claimed")):
        assert amount(head[label]) == getattr(document.totals, field), label
    assert text(head["实拨金额（大写）"]) == document.totals.paid_in_words
    assert text(head["所结算申请单流水号"]) == document.claim_serial
    sheet = book["个人扣款补拨"]
    assert [c.value for c in sheet[1]] == ["个人结算单流水号", "证件号码", "审核扣款金额", "补拨金额", "说明"]
    rows = list(sheet.iter_rows(min_row=2))
    for row, adjustment in zip(rows, document.adjustments):
        assert text(row[0]) == adjustment.statement_serial and text(row[1]) == adjustment.id_number
        assert amount(row[2]) == adjustment.deducted and amount(row[3]) == adjustment.supplemented
    assert rows[-1][0].value == "合计" and amount(rows[-1][2]) == sum(a.deducted for a in document.adjustments)


@pytest.mark.parametrize("content, said", [
    (lambda: sample_bytes("A5", ZIBO, JINAN, PERIOD, seed=1), "A5 is neither a claim (A3, 附件3) nor a settlement"),
    (lambda: b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "xml.doctype"),
    (lambda: sample_bytes("A3", ZIBO, JINAN, PERIOD, seed=1).replace(b"<Period>2026-10</Period>",
                                                                       b"<Period>2026-13</Period>", 1), "xsd."),
    (lambda: b"\xff\xfe<\x00x\x00", "xml.encoding"),
])
def test_what_is_not_a_readable_claim_or_settlement_is_refused(tmp_path: Path, capsys, content, said) -> None:
    (tmp_path / "in.xml").write_bytes(content())
    code, _, err = export(capsys, str(tmp_path / "in.xml"), "--xlsx", str(tmp_path / "out.xlsx"))
    assert code == 2 and said in err and err.startswith("ltcgw export: "), err
    assert not (tmp_path / "out.xlsx").exists()


def test_a_file_over_the_limit_and_an_unwritable_target_are_refused(claim: Path, tmp_path: Path, capsys) -> None:
    code, _, err = export(capsys, str(claim), "--xlsx", str(tmp_path / "out.xlsx"), "--max-bytes", "1000")
    assert code == 2 and "xml.too_large" in err and not (tmp_path / "out.xlsx").exists()
    code, _, err = export(capsys, str(claim), "--xlsx", str(tmp_path / "no" / "such" / "out.xlsx"))
    assert code == 2 and "cannot write" in err
