"""`ltcgw deadlines`, `reconcile`, `render`: against a real gateway (real keys, signatures, SQLite ledger,
spool), and over files given directly."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.documents.sample import sample_document
from gateway.documents.writer import to_bytes
from gateway.domain.deadlines import CHINA_TIME
from gateway.entrypoints.cli import main
from tests.support.postgres import postgres_server  # noqa: F401  (the session's server, shared)

RESIDENCE, INSURED, OTHER = "370300", "370100", "370600"  # 淄博 claims from 济南; 烟台 sends nothing


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_sample(folder: Path, kind: str, sender: str, receiver: str, period: str, seed: int = 5) -> Path:
    path = folder / f"{kind}-{sender}-{period}.xml"
    path.write_bytes(to_bytes(sample_document(kind, sender, receiver, period, persons=2, seed=seed)))
    return path


def routed_month(root: Path, ledger_url: str | None = None) -> Path:
    """A gateway of three cities that received and routed one month of 淄博→济南 traffic (signed A3, A4, A5),
    on the embedded SQLite ledger and spool folder, or on PostgreSQL with the spool in the database."""
    assert main(["init", str(root), "--cities", f"{INSURED},{RESIDENCE},{OTHER}"]) == 0
    if ledger_url:
        config = root / "gateway.toml"
        text = config.read_text(encoding="utf-8")
        assert '[ledger]\npath = "ledger.sqlite3"' in text
        config.write_text(text.replace('[ledger]\npath = "ledger.sqlite3"', f'[ledger]\nurl = "{ledger_url}"'),
                          encoding="utf-8")
    config = root / "gateway.toml"  # 淄博 sends its A5s on to 济南, for information (附件5 is no inter-city duty)
    config.write_text(config.read_text(encoding="utf-8") + f'\n[settlement]\na5_pairs = ["{RESIDENCE}->{INSURED}"]\n',
                      encoding="utf-8")
    keys, docs = root / "keys", root.parent
    for kind, sender, receiver in (("A3", RESIDENCE, INSURED), ("A4", INSURED, RESIDENCE), ("A5", RESIDENCE, INSURED)):
        document = write_sample(docs, kind, sender, receiver, "2026-01")
        assert main(["pack", "--type", kind, "--sender", sender, "--receiver", receiver, "--period", "2026-01",
                     "--key", str(keys / f"{sender}.key.pem"), "--cert", str(keys / f"{sender}.crt.pem"),
                     "-o", str(root / "drops" / sender / "outbox" / f"{kind}.xml"), str(document)]) == 0
    assert main(["run", "-c", str(root / "gateway.toml"), "--once", "--quiet"]) == 0
    if ledger_url:  # the commands must read the bytes from the database, not a folder
        assert not list(root.glob("spool/inbox/*"))
    return root


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def gateway(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    url = request.getfixturevalue("postgres_server").new_database() if request.param == "postgres" else None
    return routed_month(tmp_path_factory.mktemp("gw") / "ws", url)


def test_deadlines_from_the_ledger(gateway: Path, capsys: pytest.CaptureFixture[str]) -> None:
    today = datetime.now(CHINA_TIME).date().isoformat()
    code, out, err = run(capsys, "deadlines", "-c", str(gateway / "gateway.toml"), "--period", "2026-01",
                         "--today", today, "--json")
    assert code == 0, err
    report = json.loads(out)
    documents = {(i["residence"], i["insured"], i["what"]): i for i in report["items"]}
    # 3 cities, 6 ordered pairs; the register (issue 12) knows nobody entitled, so only the pair that claimed is
    # expected: A3, A4, PAYMENT and the facilities' cut-off (A5: no deadline)
    assert len(report["items"]) == 1 * 4
    assert not any(i["what"] == "A5" for i in report["items"])
    for kind, due in (("A3", "2026-02-28"), ("A4", "2026-03-05"), ("PAYMENT", "2026-03-26")):
        item = documents[(RESIDENCE, INSURED, kind)]
        arrived = None if kind == "PAYMENT" else today
        assert (item["due"], item["status"], item["arrived"]) == (due, "missing" if arrived is None else "late",
                                                                   arrived)
        assert (OTHER, INSURED, kind) not in documents and (INSURED, RESIDENCE, kind) not in documents


def test_reconcile_from_the_ledger_and_spool(gateway: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    table = tmp_path / "month.csv"
    code, out, err = run(capsys, "reconcile", "-c", str(gateway / "gateway.toml"), "--period", "2026-01",
                         "--csv", str(table))
    assert code == 0, err
    assert f"{RESIDENCE}->{INSURED}" in out and "balanced" in out
    with table.open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    paid = next(r for r in rows if r["where"] == "实拨金额")
    assert paid["settlement"] == paid["facility_settlements"] and Decimal(paid["settlement"]) > 0
    code, out, _ = run(capsys, "reconcile", "-c", str(gateway / "gateway.toml"), "--period", "2026-01",
                       "--pair", f"{OTHER},{INSURED}")
    assert code == 0 and "nothing to reconcile" in out


def test_reconcile_files_lists_differences_without_personal_data(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    claim = sample_document("A3", RESIDENCE, INSURED, "2026-08", persons=4, seed=9)
    settlement = sample_document("A4", INSURED, RESIDENCE, "2026-08", persons=4, seed=9)
    settlement.totals.claimed += Decimal("1.00")
    (tmp_path / "a3.xml").write_bytes(to_bytes(claim))
    (tmp_path / "a4.xml").write_bytes(to_bytes(settlement))
    table = tmp_path / "r.csv"
    code, out, err = run(capsys, "reconcile", "--period", "2026-08", "--files", str(tmp_path / "a3.xml"),
                         str(tmp_path / "a4.xml"), "--csv", str(table), "--json")
    assert code == 1, err
    report = json.loads(out)
    codes = {d["code"] for r in report for d in r["differences"]}
    assert {"reconcile.claim_figure", "reconcile.paid_identity"} <= codes
    written = table.read_text(encoding="utf-8-sig")
    assert "reconcile.claim_figure" in written
    for statement in claim.statements:
        for text in (out, written):
            assert statement.id_number not in text and statement.name not in text


def test_reconcile_says_its_differences_in_the_readers_language(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    claim = sample_document("A3", RESIDENCE, INSURED, "2026-08", persons=3, seed=4)
    settlement = sample_document("A4", INSURED, RESIDENCE, "2026-08", persons=3, seed=4)
    settlement.totals.claimed += Decimal("1.00")
    (tmp_path / "a3.xml").write_bytes(to_bytes(claim))
    (tmp_path / "a4.xml").write_bytes(to_bytes(settlement))
    files = ("--files", str(tmp_path / "a3.xml"), str(tmp_path / "a4.xml"))
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    code, out, _ = run(capsys, "reconcile", "--period", "2026-08", *files)
    assert code == 1
    assert (f"! reconcile.claim_figure: 附件4 {settlement.serial} 与 附件3 {claim.serial}：申请拨付金额: "
            in out) and "结算的申请拨付金额与申请不一致" in out
    assert "实拨金额不等于 申请拨付 − 审核扣款 + 补拨" in out and "does not repeat" not in out
    code, out, _ = run(capsys, "reconcile", "--period", "2026-08", "--json", *files)
    [difference] = [d for r in json.loads(out) for d in r["differences"] if d["code"] == "reconcile.claim_figure"]
    assert difference["message"] == "the settlement does not repeat the claim's 申请拨付金额"  # JSON: English + code
    assert difference["params"] == {"label": "申请拨付金额"}
    monkeypatch.setenv("LANGUAGE", "en")
    code, out, _ = run(capsys, "reconcile", "--period", "2026-08", *files)
    assert (f"! reconcile.claim_figure: A4 {settlement.serial} vs A3 {claim.serial}: 申请拨付金额: " in out
            and "the settlement does not repeat the claim's 申请拨付金额" in out and "结算的" not in out)


def test_render_a_signed_message_and_a_bare_document(gateway: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    delivered = sorted((gateway / "drops" / INSURED / "inbox").glob("*A3*"))
    assert delivered, "the A3 was delivered to the insured city's inbox"
    target = tmp_path / "a3.pdf"
    code, out, err = run(capsys, "render", str(delivered[0]), "-o", str(target), "--details")
    assert code == 0, err
    text = subprocess.run(["pdftotext", str(target), "-"], check=True, capture_output=True, text=True).stdout
    assert "淄博市省内异地长期护理保险费用申请单" in re.sub(r"\s+", "", text)
    bare = write_sample(tmp_path, "A5", RESIDENCE, INSURED, "2026-08")
    code, out, err = run(capsys, "render", str(bare))
    assert code == 0, err
    assert bare.with_suffix(".pdf").read_bytes().startswith(b"%PDF")


def test_render_refuses_what_is_not_an_attachment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')
    code, _, err = run(capsys, "render", str(bad))
    assert code == 2 and "xml.doctype" in err
    code, _, err = run(capsys, "render", str(tmp_path / "absent.xml"))
    assert code == 2 and "absent.xml" in err


def test_unknown_year_needs_the_administrators_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    holidays_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    claim = write_sample(tmp_path, "A3", RESIDENCE, INSURED, "2026-11")
    code, _, err = run(capsys, "deadlines", "--period", "2026-11", "--today", "2026-11-25", "--cities",
                       f"{RESIDENCE},{INSURED}", "--holidays", str(tmp_path / "none"), "--files", str(claim))
    assert code == 2 and "deadlines 需要报文" in err  # the CLI's own error, in Chinese too
    code, out, err = run(capsys, "deadlines", "--period", "2026-11", "--today", "2026-11-25", "--cities",
                         f"{RESIDENCE},{INSURED}", "--holidays", str(tmp_path / "none"), "--json", "--files")
    assert code == 2 and "config/holidays/2027.toml" in err
    report = json.loads(out)
    # the month stays in view: the claim (due at month end) is tracked, A4 and PAYMENT name the missing year
    assert {(i["what"], i["status"]) for i in report["items"]} == {
        ("facility_fees", "info"), ("A3", "pending"), ("A4", "no_calendar"), ("PAYMENT", "no_calendar")}
    assert report["calendar_missing"]["year"] == 2027 and report["calendar_missing"]["due"] == "2026-12-01"
    # JSON is for machines: the English note as before, and each note's stable code and values
    assert report["calendar_missing"]["code"] == "calendar.next_year_missing"
    a4 = next(i for i in report["items"] if i["what"] == "A4")
    assert a4["note"].startswith("no working-day calendar for 2027: add config/holidays/2027.toml")
    assert [(n["code"], n["params"]["year"]) for n in a4["notes"]] == [("calendar.unknown_year", "2027")]
    code, out, err = run(capsys, "deadlines", "--period", "2026-11", "--today", "2026-11-25", "--cities",
                         f"{RESIDENCE},{INSURED}", "--holidays", str(tmp_path / "none"), "--files")
    # said to a person in their language: Chinese by default ...
    assert "2027     calendar" in out and "请添加 config/holidays/2027.toml" in out and "add config/" not in out
    assert "缺少 2027 年的工作日历：请添加 config/holidays/2027.toml" in err
    assert "定点机构向居住地经办机构申报费用的截止日（第二十四条）" in out
    monkeypatch.setenv("LANGUAGE", "en")  # ... English on request
    code, out, err = run(capsys, "deadlines", "--period", "2026-11", "--today", "2026-11-25", "--cities",
                         f"{RESIDENCE},{INSURED}", "--holidays", str(tmp_path / "none"), "--files")
    assert "add config/holidays/2027.toml" in out and "请添加" not in out + err
    assert "facilities' fees cut-off at the residence city (第二十四条)" in out
    code, out, err = run(capsys, "deadlines", "--period", "2026-11", "--today", "2026-11-25", "--cities",
                         f"{RESIDENCE},{INSURED}", "--holidays", str(holidays_dir), "--json", "--files")
    assert code == 0, err
    a4 = next(i for i in json.loads(out)["items"] if i["what"] == "A4")
    assert (a4["due"], a4["status"]) == ("2027-01-05", "pending")
    assert json.loads(out)["calendar_missing"] is None  # 2027 is known now


def test_bad_holiday_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "2027.toml").write_text("year = 2028\n", encoding="utf-8")
    code, _, err = run(capsys, "deadlines", "--period", "2026-08", "--today", "2026-11-25", "--cities",
                       f"{RESIDENCE},{INSURED}", "--holidays", str(tmp_path), "--files")
    assert code == 2 and "2027.toml" in err and "declares year = 2028" in err


def test_deadlines_over_message_files_use_the_file_time(gateway: Path, capsys: pytest.CaptureFixture[str]) -> None:
    delivered = sorted((gateway / "drops" / INSURED / "inbox").glob("*A3*"))[0]
    on_due_day = datetime(2026, 2, 28, 23, 0, tzinfo=CHINA_TIME).timestamp()  # the A3's last day, late evening
    os.utime(delivered, (on_due_day, on_due_day))
    code, out, err = run(capsys, "deadlines", "--period", "2026-01", "--today", "2026-03-02", "--cities",
                         f"{RESIDENCE},{INSURED}", "--json", "--files", str(delivered))
    assert code == 0, err
    items = {(i["residence"], i["what"]): i for i in json.loads(out)["items"]}
    assert (items[(RESIDENCE, "A3")]["status"], items[(RESIDENCE, "A3")]["arrived"]) == ("on_time", "2026-02-28")
    assert items[(RESIDENCE, "A4")]["status"] == "due_soon"  # 2026-03-05: 3 working days after 03-02
    assert items[(INSURED, "A3")]["status"] == "missing"


def test_national_day_month_of_four_cities_reconciles_from_files(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from settlement_month import build_month

    from gateway.domain.deadlines import all_pairs

    cities = (INSURED, "370200", RESIDENCE, OTHER)
    files = []
    for n, pair in enumerate(all_pairs(cities)):
        month = build_month(pair.residence, pair.insured, "2026-08", seed=n)
        if n == 5:  # one insured city deducted 0.01 more than its adjustments say
            month.settlement.totals.deducted += Decimal("0.01")
            month.settlement.totals.paid -= Decimal("0.01")
        for number, document in enumerate([month.claim, month.settlement, *month.facility_settlements]):
            path = tmp_path / f"{n:02d}-{number}.xml"
            path.write_bytes(to_bytes(document))
            files.append(str(path))
    code, out, err = run(capsys, "reconcile", "--period", "2026-08", "--json", "--files", *files)
    assert code == 1, err
    reports = json.loads(out)
    assert len(reports) == 12
    unbalanced = [(r["residence"], r["insured"]) for r in reports if not r["balanced"]]
    odd = all_pairs(cities)[5]
    assert unbalanced == [(odd.residence, odd.insured)]
    codes = {d["code"] for r in reports for d in r["differences"]}
    assert codes == {"reconcile.adjustment_sum", "reconcile.facility_sum"}


def test_reconcile_names_a_message_whose_original_is_gone_instead_of_failing(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    root = routed_month(tmp_path / "ws")
    originals = list(root.glob("spool/inbox/*"))
    assert originals
    for path in originals:  # as retention (or a lost disk) leaves it: the ledger remembers, the bytes are gone
        path.unlink()
    code, out, err = run(capsys, "reconcile", "-c", str(root / "gateway.toml"), "--period", "2026-01")
    assert code == 2
    assert "is missing from the spool" in err and "--files" in err and "Traceback" not in err
