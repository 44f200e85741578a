"""A check that waits at a gate: run in a real pool worker (sent by name), so it must live in a module of its own.

The message held is named by LTCGW_TEST_GATE_HOLD (its MessageId, comma-separated for several); the worker
writes `<gate>.started.<id>` when it begins waiting and waits until the file named by LTCGW_TEST_GATE exists.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

from adapters.checker import _check_in_worker


def gated_check(data: bytes, now: datetime):
    gate = Path(os.environ["LTCGW_TEST_GATE"])
    for held in os.environ["LTCGW_TEST_GATE_HOLD"].split(","):
        if f"<MessageId>{held}</MessageId>".encode() in data:
            Path(f"{gate}.started.{held}").touch()
            deadline = time.monotonic() + 60  # never a worker stuck forever if the test fails
            while not gate.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
    return _check_in_worker(data, now)
