"""The seams of issue 15: events after commit, and the defects found trying the daemon as an operator would."""

from __future__ import annotations

import errno
import shutil
import socket
from dataclasses import replace

import pytest

import gateway.service.daemon as daemon_module
from adapters.sqlite_ledger import SqliteTx
from gateway.bootstrap import Daemon, plan_reload
from gateway.config import load_config
from gateway.documents import safe_xml
from gateway.documents.envelope import body_of, file_name
from gateway.documents.reader import read_document
from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import State
from gateway.workspace.layout import write_workspace
from gateway.service.capture import capture_city
from gateway.service.daemon import CityWorker, Engine, EngineFailure
from gateway.service.process import REDROP_NOTE, process_pending

from .conftest import JINAN, PERIOD, ZIBO


def capture_all(ws, city: str) -> int:
    """Take every file from a city's drop (a local drop needs two looks to call a file stable)."""
    taken = 0
    for _ in range(2):
        taken += capture_city(ws.gw, ws.gw.transports[city]).captured
    return taken


class Recorder:
    """Every event the gateway's transfer log published, as (event, fields); alerts by their kind."""

    def __init__(self, log) -> None:
        self.seen: list[tuple[str, dict]] = []
        log.subscribe(lambda event, fields: self.seen.append((fields.get("kind", event) if event == "alert" else event, fields)))

    def names(self) -> list[str]:
        return [name for name, _ in self.seen]


def test_events_of_a_unit_of_work_that_rolls_back_are_never_published(workspace, monkeypatch) -> None:
    ws = workspace
    events = Recorder(ws.gw.log)
    good, _ = ws.cities[ZIBO].send(MessageType.A3, JINAN, PERIOD, seed=1)
    bad_header, data = ws.cities[ZIBO].pack(MessageType.A3, JINAN, PERIOD, seed=2)
    ws.cities[ZIBO].drop_file(file_name(bad_header), data.replace(b"<TotalCost>", b"<TotalCost>9", 1))
    real = SqliteTx.mark_capture_processed

    def fails(self, key, message_key):  # the last step of a decision: everything before it rolls back
        raise OSError("the ledger's disk went away")

    monkeypatch.setattr(SqliteTx, "mark_capture_processed", fails)
    assert capture_all(ws, ZIBO) == 2
    with pytest.raises(OSError):
        process_pending(ws.gw)
    assert "routed" not in events.names() and "rejected" not in events.names()
    assert "file_quarantined" not in events.names()  # the NACK's alert was inside the rolled-back decision
    assert ws.gw.ledger.messages() == []  # nor did the ledger keep the decision
    monkeypatch.setattr(SqliteTx, "mark_capture_processed", real)
    ws.run()
    assert events.names().count("routed") == 1 and events.names().count("file_quarantined") == 1
    assert ws.message(good.message_id).state is State.DELIVERED
    assert ws.message(bad_header.message_id).state is State.REJECTED


def test_a_failed_message_dropped_again_is_the_senders_resend_request(tmp_path, _template) -> None:
    from .conftest import Workspace

    shutil.copytree(_template, tmp_path / "keys")
    ws = Workspace(tmp_path, [JINAN, ZIBO], retry=["10m"])
    zibo, jinan = ws.cities[ZIBO], ws.cities[JINAN]
    header, data = zibo.send(MessageType.A3, JINAN, PERIOD, seed=3)
    ws.run()
    ws.clock.advance(minutes=11)
    ws.run()
    assert ws.message(header.message_id).state is State.FAILED
    [delivered] = jinan.deliveries()
    delivered.unlink()  # the receiver's system lost it (which is why no receipt came)
    [first_ack] = zibo.replies("ACK")
    zibo.drop_file(file_name(header), data)  # the clerk drops it again
    ws.run()
    record = ws.message(header.message_id)
    assert record.state is State.DELIVERED and record.deliveries == 2
    assert [p.read_bytes() for p in jinan.deliveries()] == [data]  # delivered again, byte for byte
    acks = zibo.replies("ACK")
    assert len(acks) == 2 and first_ack in acks
    [new_ack] = [p for p in acks if p != first_ack]
    ack = read_document(body_of(safe_xml.parse(new_ack.read_bytes()).getroot()))
    assert ack.note == REDROP_NOTE.text("zh-CN")  # answered so: not the old ACK that reads as if nothing went wrong
    trace = ws.gw.ledger.trace(header.message_id)[-1][1]
    assert [t.event for t in trace][-2:] == ["resend_requested", "delivered"]
    jinan.answer()
    ws.run()
    assert ws.message(header.message_id).state is State.ACKNOWLEDGED
    ws.gw.ledger.close()


def test_a_full_spool_still_writes_what_is_owed_and_alerts_once(workspace, monkeypatch) -> None:
    ws = workspace
    zibo = ws.cities[ZIBO]
    first, _ = zibo.send(MessageType.A3, JINAN, PERIOD, seed=4)
    engine = Engine(ws.gw, rescan_seconds=0.2)
    engine.claim()
    assert capture_all(ws, ZIBO) == 1
    process_pending(ws.gw)  # decided: its ACK is owed to 淄博, stored in the spool
    events = Recorder(ws.gw.log)

    def no_space(fill, max_bytes=None):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ws.gw.spool, "receive", no_space)
    second, _ = zibo.send(MessageType.A3, JINAN, PERIOD, seed=5)
    worker = CityWorker(ws.gw, ZIBO, engine, rescan_seconds=5)
    worker.look()  # the second file seen once: not yet stable
    for _ in range(3):
        assert worker.look() <= 1.0  # looked at again soon, not backed off towards 5 minutes
    assert [p.name for p in zibo.replies("ACK")] == [f"ACK_{first.message_id}.xml"]  # written though full
    assert [p.name for p in zibo.outbox.iterdir()] == [file_name(second)]  # waits in the drop, not lost
    assert events.names().count("spool_full") == 1 and "city_worker_error" not in events.names()
    monkeypatch.undo()
    worker.look()
    worker.look()
    assert not list(zibo.outbox.iterdir()) and "spool_recovered" in events.names()
    engine.stop()


def test_a_failing_engine_backs_off_and_alerts_once_per_cause(workspace, monkeypatch) -> None:
    ws = workspace
    events = Recorder(ws.gw.log)
    failure = EngineFailure()
    waits = [failure.failed(ws.gw.log, RuntimeError("database is locked")) for _ in range(8)]
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
    failure.failed(ws.gw.log, OSError("disk I/O error"))  # another cause: alerted too
    failure.succeeded(ws.gw.log)
    failure.failed(ws.gw.log, RuntimeError("database is locked"))  # after recovery: news again
    assert events.names() == ["engine_error", "engine_error", "engine_recovered", "engine_error"]

    monkeypatch.setattr(daemon_module, "ENGINE_BACKOFF_MAX", 0.01)
    engine = Engine(ws.gw, rescan_seconds=0.01)
    steps = {"n": 0}

    def step() -> None:
        steps["n"] += 1
        if steps["n"] >= 30:
            engine.stopping.set()
        raise RuntimeError("the ledger is gone")

    monkeypatch.setattr(engine, "step", step)
    engine.run_forever()
    assert steps["n"] == 30 and events.names().count("engine_error") == 4  # 3 above, 1 for 30 failed steps


def test_a_reload_reports_and_applies_every_changed_city_setting(tmp_path, _template) -> None:
    shutil.copytree(_template, tmp_path / "keys")
    config = load_config(write_workspace(tmp_path, [JINAN, ZIBO]))
    renamed = replace(config, cities={**config.cities, ZIBO: replace(config.cities[ZIBO], name="淄博市医保局",
                                                                     service_types=frozenset({"01"}))})
    report = plan_reload(config, renamed)
    assert (report.changed, report.restarted, report.added, report.removed) == ([ZIBO], [], [], [])
    moved = replace(config, cities={**config.cities, JINAN: replace(
        config.cities[JINAN], transport=replace(config.cities[JINAN].transport, options={"drop": str(tmp_path / "x")}))})
    assert plan_reload(config, moved).restarted == [JINAN]

    console = replace(config, console=replace(config.console, enabled=True, port=0))
    daemon = Daemon(console)
    daemon.start()
    try:
        assert daemon.console is not None
        daemon.apply(replace(renamed, console=console.console))
        page = _logged_in_get(daemon.console.url, "/cities", config.console.users_file)
        assert "淄博市医保局" in page  # the console names cities as configured now, without a restart
    finally:
        daemon.close()
        daemon.engine.stop()
        daemon.gw.ledger.close()


def test_a_taken_console_port_is_alerted_and_the_exchange_goes_on(tmp_path, _template) -> None:
    shutil.copytree(_template, tmp_path / "keys")
    config = load_config(write_workspace(tmp_path, [JINAN, ZIBO]))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        daemon = Daemon(replace(config, console=replace(config.console, enabled=True, port=port)))
        events = Recorder(daemon.gw.log)
        daemon.start()
        try:
            assert daemon.console is None
            assert "console_unavailable" in events.names()
        finally:
            daemon.close()
            daemon.engine.stop()
            daemon.gw.ledger.close()


def test_a_second_instance_is_refused_before_it_writes_anything(tmp_path, _template, capsys) -> None:
    from gateway.entrypoints.cli import main

    shutil.copytree(_template, tmp_path / "keys")
    path = write_workspace(tmp_path, [JINAN, ZIBO])
    path.write_text(path.read_text(encoding="utf-8") + "\n[console]\nenabled = true\nport = 0\n", encoding="utf-8")
    config = load_config(path)
    first = Daemon(config)
    first.start()
    try:
        before = list(first.gw.ledger.events())
        leftover = config.spool_dir / "inbox" / ".in-left.tmp"  # the running instance's file being written
        leftover.write_bytes(b"half")
        assert main(["run", "-c", str(path)]) == 2
        assert "another" in capsys.readouterr().err.lower()
        assert main(["run", "--once", "-c", str(path)]) == 2  # `run --once` from cron beside it: the same
        assert "another" in capsys.readouterr().err.lower()
        assert list(first.gw.ledger.events()) == before  # no alert, no event written by the refused one
        assert leftover.exists()  # and it cleaned nothing of the running instance's spool
    finally:
        first.close()
        first.engine.stop()
        first.gw.ledger.close()


def _logged_in_get(url: str, path: str, users) -> str:
    """A page behind the console's login (an operator written to the accounts file first)."""
    import http.cookiejar
    import re
    from urllib.parse import urlencode
    from urllib.request import HTTPCookieProcessor, build_opener

    from gateway.web.accounts import Account, Role, hash_password, write_accounts

    write_accounts(users, {"otto": Account("otto", Role.OPERATOR, hash_password("a long password", cost=4))})
    opener = build_opener(HTTPCookieProcessor(http.cookiejar.CookieJar()))
    csrf = re.search(r'name="csrf" value="(\w+)"', opener.open(url + "/login", timeout=10).read().decode()).group(1)
    opener.open(url + "/login", urlencode({"csrf": csrf, "name": "otto", "password": "a long password"}).encode(),
                timeout=10).read()
    with opener.open(url + path, timeout=10) as response:
        return response.read().decode("utf-8")


def test_config_check_connect_tries_a_local_drop_through_the_transport_port(tmp_path, _template, capsys) -> None:
    from gateway.entrypoints.cli import main

    shutil.copytree(_template, tmp_path / "keys")
    path = write_workspace(tmp_path, [JINAN, ZIBO])
    (tmp_path / "drops" / ZIBO / "outbox" / "waiting.xml").write_bytes(b"<x/>")
    assert main(["config", "check", "--connect", "-c", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{ZIBO} " in out and "local drop" in out and "OK" in out
    from gateway.bootstrap import build_transport

    transport = build_transport(JINAN, load_config(path).cities[JINAN].transport)
    shutil.rmtree(tmp_path / "drops" / JINAN / "outbox")  # a drop gone after the config was checked
    report = transport.check_connection()
    assert not report.ok and report.problems
