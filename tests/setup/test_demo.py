"""`ltcgw demo` tells its story through the real daemon: a dispute as 第三十一条 has it (a person's application,
the insured city's review, the residence agency's answer), a payment confirmed by its receipt (到账确认) and a
refund of recovered fees included."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.entrypoints import cli


def test_the_demo_ends_with_every_document_closed_and_the_dispute_answered(tmp_path: Path, capsys) -> None:
    assert cli.main(["demo", "--dir", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    summary = out.split("=== summary", 1)[1]
    assert re.search(r"dispute for an application \(第三十一条\): \d+->\d+ about \w+, ACKNOWLEDGED", summary), summary
    assert re.search(r"the insured city's review: \d+->\d+ about \w+, ACKNOWLEDGED", summary), summary
    assert re.search(r"the answer to the applicant: \d+->\d+ about \w+, ACKNOWLEDGED", summary), summary
    assert re.search(r"payment advice \(第二十六条\): \d+->\d+, ACKNOWLEDGED; 到账确认", summary), summary
    assert re.search(r"refund of recovered fees \(第二十九条\): \d+->\d+, ACKNOWLEDGED", summary), summary
    assert re.search(r"^\s+ACKNOWLEDGED\s+24$", summary, re.M) and re.search(r"^\s+REJECTED\s+2$", summary, re.M)
    assert "WAITING" not in summary and "FAILED " not in summary
    # every delivery receipted: claims, settlements, the dispute, its review and result, the payment, the refund,
    # 48 notices and 48 派单 filings
    assert "125 receipts" in summary
    # the register (issue 12): entitlements flowed, and one double billing was refused by name
    assert "48 notices (第十七条), 48 派单 filings (第十五条)" in summary
    assert re.search(r"from \d+: cross\.double_billing", summary), summary
    seconds = int(re.search(r"summary \((\d+) s\)", out).group(1))
    assert seconds < 60
