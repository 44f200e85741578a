"""`ltcgw demo` tells its story through the real daemon, a dispute (第三十一条) and its answer included."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.entrypoints import cli


def test_the_demo_ends_with_every_document_closed_and_the_dispute_answered(tmp_path: Path, capsys) -> None:
    assert cli.main(["demo", "--dir", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    summary = out.split("=== summary", 1)[1]
    assert re.search(r"dispute \(第三十一条\): \d+->\d+ about \w+, ACKNOWLEDGED", summary), summary
    assert re.search(r"its answer: \d+->\d+ about \w+, ACKNOWLEDGED", summary), summary
    assert re.search(r"^\s+ACKNOWLEDGED\s+24$", summary, re.M) and re.search(r"^\s+REJECTED\s+2$", summary, re.M)
    assert "WAITING" not in summary and "FAILED " not in summary
    # every delivery receipted: the claims, settlements, the dispute and its answer, 48 notices and 48 派单 filings
    assert "122 receipts" in summary
    # the register (issue 12): entitlements flowed, and one double billing was refused by name
    assert "48 notices (第十七条), 48 派单 filings (第十五条)" in summary
    assert re.search(r"from \d+: cross\.double_billing", summary), summary
    seconds = int(re.search(r"summary \((\d+) s\)", out).group(1))
    assert seconds < 60
