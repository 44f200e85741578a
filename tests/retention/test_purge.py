"""Retention end to end: a real exchange (keys, signatures, local drops, SQLite ledger), the clock moved on,
originals purged while the ledger keeps every record; trace, console and CLI say so; open messages keep theirs."""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.config import ConsoleSettings, load_config
from gateway.documents.envelope import file_name
from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import State
from gateway.domain.retention import RetentionPolicy
from gateway.entrypoints import cli
from gateway.service import context
from gateway.service.daemon import Engine
from gateway.service.retention import PURGED, original_purged_at, purge
from gateway.web.app import ConsoleApp
from tests.daemon.conftest import JINAN, PERIOD, ZIBO, Workspace, _template  # noqa: F401  (keys made once)

RETENTION = "\n[retention]\nspool_days = 30\nquarantine_days = 10\noutbox_days = 30\n"


@pytest.fixture
def ws(tmp_path: Path, _template: Path):  # noqa: F811 (the fixture imported above)
    shutil.copytree(_template, tmp_path / "keys")
    ws = Workspace(tmp_path, [JINAN, ZIBO], retry=["10m", "30m"])
    with ws.config_path.open("a") as f:
        f.write(RETENTION)
    ws.config = load_config(ws.config_path)
    yield ws
    ws.gw.ledger.close()
    ws.gw.checker.close()


def _exchange(ws):
    """A claim acknowledged (closed), a claim still waiting for its receipt (open), a broken file (rejected)."""
    zibo, jinan = ws.cities[ZIBO], ws.cities[JINAN]
    closed, closed_bytes = ws.claim(1)
    jinan.answer()
    ws.run()
    open_, _ = zibo.send(MessageType.A3, JINAN, PERIOD, seed=2)
    header, data = zibo.pack(MessageType.A3, JINAN, PERIOD, seed=3)
    zibo.drop_file("broken.xml", data.replace(b"<TotalCost>", b"<TotalCost>1", 1))
    ws.run()
    assert ws.message(closed.message_id).state is State.ACKNOWLEDGED
    assert ws.message(open_.message_id).state is State.DELIVERED
    assert ws.message(header.message_id).state is State.REJECTED
    return closed, closed_bytes, open_, header


def _later(ws, **delta: float) -> None:
    """Move time on: the gateway's clock, and the spool's files as if stored that much earlier."""
    ws.clock.advance(**delta)
    seconds = timedelta(**delta).total_seconds()
    for path in ws.config.spool_dir.glob("*box/*"):
        stat = path.stat()
        os.utime(path, (stat.st_atime - seconds, stat.st_mtime - seconds))


def _spool_files(ws) -> set[str]:
    spool = ws.config.spool_dir
    return {f"{p.parent.name}/{p.name}" for p in (spool / "inbox").iterdir()} | {
        f"outbox/{p.name}" for p in (spool / "outbox").iterdir()}


def _snapshot(ws):
    ledger = ws.gw.ledger
    return [(r.key, r.message_id, r.state, r.sha256, r.findings, [(t.at, t.target, t.cause) for t in ts])
            for r in ledger.messages() for _, ts in ledger.trace(r.message_id)[:1]]


def test_purge_deletes_closed_originals_keeps_open_ones_and_the_ledger(ws) -> None:
    closed, closed_bytes, open_, rejected = _exchange(ws)
    ledger, spool, policy = ws.gw.ledger, ws.gw.spool, ws.config.retention
    before, files_before = _snapshot(ws), _spool_files(ws)

    assert purge(ledger, spool, policy, ws.clock()).purged == []  # nothing old enough yet
    _later(ws, days=11)
    dry = purge(ledger, spool, policy, ws.clock(), dry_run=True)
    assert [p.reason for p in dry.purged] == ["quarantine"]
    assert _spool_files(ws) == files_before and list(ledger.events(PURGED)) == []  # --dry-run changes nothing

    _later(ws, days=20)
    report = purge(ledger, spool, policy, ws.clock())
    purged = {(p.area, p.sha256) for p in report.purged}
    closed_record, open_record = ws.message(closed.message_id), ws.message(open_.message_id)
    receipt = next(r for r in ledger.messages() if r.type == "RECEIPT")
    assert {("inbox", closed_record.sha256), ("inbox", receipt.sha256),
            ("inbox", ws.message(rejected.message_id).sha256)} <= purged
    assert not any(sha == open_record.sha256 for _, sha in purged)
    assert spool.read("inbox", open_record.sha256)  # still owed a receipt: kept
    with pytest.raises(FileNotFoundError):
        spool.read("inbox", closed_record.sha256)
    # the ACKs of the closed claim and the receipt, and the NACK, were written over 30 days ago: gone
    assert {p.reason for p in report.purged} == {"spool", "quarantine", "outbox"}
    assert _snapshot(ws) == before  # rows, digests, states, findings, transitions: intact
    assert ws.message(rejected.message_id).findings  # the findings stay
    events = {d["sha256"]: (at, d) for at, kind, _, d in ledger.events(PURGED)}
    assert set(events) == {sha for _, sha in purged}
    assert events[closed_record.sha256][1]["ids"] == [closed.message_id]
    assert original_purged_at(ledger, spool, closed_record.sha256) == ws.clock()
    assert original_purged_at(ledger, spool, open_record.sha256) is None

    assert purge(ledger, spool, policy, ws.clock()).purged == []  # once only


def test_trace_and_console_say_the_original_was_purged(ws, monkeypatch, capsys) -> None:
    closed, _, open_, _ = _exchange(ws)
    capsys.readouterr()  # the exchange's log
    _later(ws, days=31)
    later = ws.clock()
    monkeypatch.setattr(context, "utc_now", lambda: later)  # what `ltcgw purge` takes as now
    assert cli.main(["purge", "-c", str(ws.config_path), "--dry-run", "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["dry_run"] and {p["reason"] for p in dry["purged"]} == {"spool", "quarantine", "outbox"}
    assert original_purged_at(ws.gw.ledger, ws.gw.spool, ws.message(closed.message_id).sha256) is None
    assert cli.main(["purge", "-c", str(ws.config_path)]) == 0
    out = capsys.readouterr().out
    assert f"purged {len(dry['purged'])} file(s)" in out

    assert cli.main(["trace", "-c", str(ws.config_path), closed.message_id]) == 0
    out = capsys.readouterr().out
    assert f"original purged on {later.date().isoformat()}" in out and "ACKNOWLEDGED" in out
    assert cli.main(["trace", "-c", str(ws.config_path), open_.message_id]) == 0
    assert "purged" not in capsys.readouterr().out
    assert cli.main(["trace", "-c", str(ws.config_path), closed.message_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["purged_at"].startswith(later.date().isoformat())

    from gateway.web.accounts import Account, Role, hash_password, write_accounts

    users = ws.root / "console.users"
    write_accounts(users, {"otto": Account("otto", Role.OPERATOR, hash_password("a long password", cost=4))})
    app = ConsoleApp(ws.gw.ledger, ws.gw.spool, ws.gw.log, policy=ws.config.retry, cities={JINAN: "济南", ZIBO: "淄博"},
                     settings=ConsoleSettings(enabled=True, users_file=users, language="en"))
    http = app.flask.test_client()
    csrf = lambda: re.search(r'name="csrf" value="(\w+)"', http.get("/login").get_data(as_text=True)).group(1)  # noqa: E731
    assert http.post("/login", data={"csrf": csrf(), "name": "otto", "password": "a long password"}).status_code == 303
    sha = ws.message(closed.message_id).sha256
    page = http.get(f"/message/{sha}").get_data(as_text=True)
    assert f"purged on {later.date().isoformat()}" in page and 'id="download"' not in page
    response = http.post(f"/message/{sha}/original", data={"csrf": csrf(), "reason": "the auditor asks"})
    assert response.status_code == 410 and f"purged on {later.date().isoformat()}" in response.get_data(as_text=True)
    page = http.get(f"/message/{ws.message(open_.message_id).sha256}").get_data(as_text=True)
    assert 'id="download"' in page and "purged on" not in page


def test_the_same_bytes_dropped_again_after_the_purge_are_kept_and_answered_without_a_crash(ws) -> None:
    closed, closed_bytes, _, _ = _exchange(ws)
    _later(ws, days=31)
    purge(ws.gw.ledger, ws.gw.spool, ws.config.retention, ws.clock())
    zibo = ws.cities[ZIBO]
    acks = {p.name for p in zibo.replies("ACK")}
    zibo.drop_file(file_name(closed), closed_bytes)
    totals = ws.run()
    assert totals["duplicates"] == 1
    sha = ws.message(closed.message_id).sha256
    assert ws.gw.spool.read("inbox", sha) == closed_bytes  # stored again: no longer purged
    assert original_purged_at(ws.gw.ledger, ws.gw.spool, sha) is None
    assert {p.name for p in zibo.replies("ACK")} == acks  # its ACK was purged: nothing to replay
    # stored again just now (as if while the purge decided): kept; an hour on, the duplicate is answered: purged
    assert purge(ws.gw.ledger, ws.gw.spool, ws.config.retention, ws.clock()).kept == 1
    assert ws.gw.spool.read("inbox", sha) == closed_bytes
    _later(ws, hours=2)
    assert sha in {p.sha256 for p in purge(ws.gw.ledger, ws.gw.spool, ws.config.retention, ws.clock()).purged}
    assert original_purged_at(ws.gw.ledger, ws.gw.spool, sha) == ws.clock()


def test_the_daemon_purges_at_start_and_then_hourly(ws) -> None:
    closed, _, open_, _ = _exchange(ws)
    engine = Engine(ws.gw, rescan_seconds=5, retention=ws.config.retention)
    engine.step()  # at start: nothing old enough
    assert list(ws.gw.ledger.events(PURGED)) == []
    assert engine.purger.next_at == ws.clock() + timedelta(hours=1)
    _later(ws, days=31)
    engine.step()
    shas = {d["sha256"] for _, _, _, d in ws.gw.ledger.events(PURGED)}
    assert ws.message(closed.message_id).sha256 in shas and ws.message(open_.message_id).sha256 not in shas
    _later(ws, minutes=59)
    assert engine.purger.maybe_run(ws.clock()) is None  # within the hour: not read again
    _later(ws, minutes=2)
    assert engine.purger.maybe_run(ws.clock()) is not None
    assert Engine(ws.gw, retention=load_config(ws.config_path).retention).purger is not None
    assert Engine(ws.gw).purger is None  # no [retention]: no purge


def test_a_reload_applies_a_changed_retention(ws) -> None:
    from gateway.bootstrap import Daemon

    daemon = Daemon(replace(ws.config, retention=RetentionPolicy()), gw=ws.gw)
    assert daemon.engine.purger is None
    daemon.apply(ws.config)
    assert daemon.engine.purger is not None and daemon.engine.purger.policy.spool_days == 30
    daemon.apply(replace(ws.config, retention=RetentionPolicy()))
    assert daemon.engine.purger is None
