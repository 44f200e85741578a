"""The transfer log's file: JSON lines, rotated by size or time, masked; readable lines on the terminal."""

from __future__ import annotations

import io
import json
import logging.handlers
from pathlib import Path

import pytest

from gateway.observability import transfer_log
from gateway.observability.transfer_log import LogSettings
from gateway.observability.events import TransferLog


@pytest.fixture(autouse=True)
def _restore_log():
    yield
    transfer_log.reset()


def test_json_lines_rotate_by_size_and_the_terminal_reads_as_text(tmp_path: Path) -> None:
    path = tmp_path / "log" / "transfer.jsonl"
    terminal = io.StringIO()
    transfer_log.configure(LogSettings(path=path, max_bytes=4096, backups=2), stream=terminal)
    events = TransferLog()
    for n in range(200):
        events.emit("captured", city="370300", name=f"A3_{n}_张秀英_370302195003041234.xml", size=n, sha256=f"{n:064x}")
    events.alert("city_unreachable", city="370600", error="boom", count=1)
    files = sorted(path.parent.iterdir())
    assert [f.name for f in files] == ["transfer.jsonl", "transfer.jsonl.1", "transfer.jsonl.2"]
    assert all(f.stat().st_size <= 4096 + 512 for f in files)
    lines = [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines()]
    assert all({"event", "level", "timestamp"} <= set(line) for line in lines) and 20 < len(lines) < 201
    newest = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert newest[-1] == {**newest[-1], "event": "alert", "kind": "city_unreachable", "level": "warning"}
    assert all("张秀英" not in json.dumps(line, ensure_ascii=False) and "370302195003041234" not in str(line) for line in lines)
    text = terminal.getvalue()
    assert "captured" in text and "city=370300" in text and not text.lstrip().startswith("{")
    assert "张**" in text and "370302195003041234" not in text


def test_time_rotation_and_a_quiet_terminal(tmp_path: Path) -> None:
    terminal = io.StringIO()
    transfer_log.configure(LogSettings(path=tmp_path / "t.jsonl", rotate="time", when="midnight", backups=7),
                           stream=terminal, quiet=True)
    events = TransferLog()
    handlers = logging.getLogger(transfer_log.LOGGER_NAME).handlers
    assert any(isinstance(h, logging.handlers.TimedRotatingFileHandler) for h in handlers)
    events.emit("routed", id="X1", city="370300")
    events.alert("message_failed", id="X1")
    assert "routed" not in terminal.getvalue() and "message_failed" in terminal.getvalue()
    assert [json.loads(line)["event"] for line in (tmp_path / "t.jsonl").read_text().splitlines()] == ["routed", "alert"]
