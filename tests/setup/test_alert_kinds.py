"""Every alert the code raises has a meaning (ALERT_KINDS: webhook and console) and a row in the docs' table."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.observability.alerts import ALERT_KINDS

ROOT = Path(__file__).resolve().parents[2]


def test_every_raised_alert_kind_is_known_and_documented() -> None:
    raised = set()
    for folder in ("gateway", "adapters"):
        for path in (ROOT / folder).rglob("*.py"):
            raised |= set(re.findall(r"\balert\(\s*\"([a-z_]+)\"", path.read_text(encoding="utf-8")))
    assert {"console_login_refused", "purge_failed", "message_failed"} <= raised
    assert raised <= set(ALERT_KINDS), raised - set(ALERT_KINDS)
    table = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8").split("### Alerts", 1)[1].split("###", 1)[0]
    documented = set(re.findall(r"`([a-z_]+)`", "\n".join(line.split("|")[1] for line in table.splitlines()
                                                          if line.startswith("| `"))))
    assert set(ALERT_KINDS) <= documented, set(ALERT_KINDS) - documented
