"""SIGHUP reloads a running `ltcgw run` (cities added, removed; certificates rotated; an invalid file refused)
without losing work in flight; SIGTERM stops it cleanly with exit status 0."""

from __future__ import annotations

import re
import signal
from pathlib import Path

from adapters.sqlite_ledger import SqliteLedger
from gateway.config import load_config
from gateway.workspace.city_system import CitySystem
from gateway.documents.keys import generate_keys
from gateway.domain.envelope import MessageType
from tests.observability.obs_support import JINAN, PERIOD, YANTAI, ZIBO, Daemon, cli, workspace
from tests.support.exactly_once import Sent, problems
from tests.support.waiting import wait_for


def without_city(text: str, code: str) -> str:
    """The config text without `[cities.CODE]` and `[cities.CODE.transport]`."""
    return re.sub(rf"\n\[cities\.{code}\][\s\S]*?(?=\n\[cities\.(?!{code})|\Z)", "", text)


def test_sighup_applies_a_new_config_and_refuses_a_broken_one(tmp_path: Path) -> None:
    config = workspace(tmp_path, [JINAN, ZIBO, YANTAI])
    full = config.read_text(encoding="utf-8")
    config.write_text(without_city(full, YANTAI), encoding="utf-8")
    assert f"cities.{YANTAI}" not in config.read_text() and f"cities.{ZIBO}" in config.read_text()
    keys = tmp_path / "keys"
    drops = tmp_path / "drops"
    jinan, zibo, yantai = (CitySystem(code, keys, drops / code) for code in (JINAN, ZIBO, YANTAI))
    daemon = Daemon(config)
    try:
        zibo.send(MessageType.A3, JINAN, PERIOD, seed=1)
        wait_for(jinan.deliveries, until=lambda files: len(files) == 1, what="the first delivery")
        yantai.send(MessageType.A3, JINAN, PERIOD, seed=2)  # 烟台 is not served yet: its file waits

        # A city added, with files in flight from another city while the config is swapped.
        in_flight = [zibo.send(MessageType.A3, JINAN, PERIOD, seed=10 + i)[0] for i in range(4)]
        config.write_text(full, encoding="utf-8")
        daemon.signal(signal.SIGHUP)
        wait_for(jinan.deliveries, until=lambda files: len(files) == 6, what="烟台's file and the files in flight")
        assert not list((drops / YANTAI / "outbox").iterdir())
        assert len(zibo.replies("ACK")) == 5 and len(yantai.replies("ACK")) == 1
        assert all(any(h.message_id in p.name for p in jinan.deliveries()) for h in in_flight)

        # A broken config is refused; the running one goes on.
        config.write_text(full.replace('waits = ["1h"]', 'waits = ["soon"]'), encoding="utf-8")
        daemon.signal(signal.SIGHUP)
        wait_for(daemon.output, until=lambda out: "config_refused" in out, what="the refusal")
        zibo.send(MessageType.A3, JINAN, PERIOD, seed=20)
        wait_for(jinan.deliveries, until=lambda files: len(files) == 7, what="a delivery under the old config")

        # 淄博 rotates its key: the pinned PEM holds the old and the new certificate (overlapping validity).
        new_key, new_cert = generate_keys(ZIBO, tmp_path / "new-keys")
        (keys / f"{ZIBO}.crt.pem").write_bytes((keys / f"{ZIBO}.crt.pem").read_bytes() + new_cert.read_bytes())
        config.write_text(full, encoding="utf-8")
        daemon.signal(signal.SIGHUP)
        wait_for(daemon.output, until=lambda out: out.count("reloaded") >= 2, what="the second reload")
        rotated = CitySystem(ZIBO, tmp_path / "new-keys", drops / ZIBO)
        rotated.send(MessageType.A3, JINAN, PERIOD, seed=30)
        zibo.send(MessageType.A3, JINAN, PERIOD, seed=31)  # the old key is still valid: still accepted
        wait_for(jinan.deliveries, until=lambda files: len(files) == 9, what="messages signed with the new and the old key")
        assert not zibo.replies("NACK")

        # A city removed: its worker stops, its drop is left alone.
        config.write_text(without_city(full, YANTAI), encoding="utf-8")
        daemon.signal(signal.SIGHUP)
        wait_for(daemon.output, until=lambda out: out.count("reloaded") >= 3, what="the third reload")
        yantai.send(MessageType.A3, JINAN, PERIOD, seed=40)
        zibo.send(MessageType.A3, JINAN, PERIOD, seed=41)
        wait_for(jinan.deliveries, until=lambda files: len(files) == 10, what="淄博's file after 烟台 left")
        assert len(list((drops / YANTAI / "outbox").iterdir())) == 1
    finally:
        status = daemon.stop()
    assert status == 0
    out = daemon.output()
    assert "stopped" in out and "Traceback" not in out
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith((".part", ".tmp"))]
    assert not leftovers
    assert "config_refused" in cli("status", "-c", str(config)).stdout


def test_sigterm_in_the_middle_of_a_burst_leaves_nothing_half_done(tmp_path: Path) -> None:
    config = workspace(tmp_path, [JINAN, ZIBO])
    drops = tmp_path / "drops"
    jinan, zibo = (CitySystem(code, tmp_path / "keys", drops / code) for code in (JINAN, ZIBO))
    sent = [Sent(*zibo.pack(MessageType.A3, JINAN, PERIOD, seed=100 + i)) for i in range(20)]
    daemon = Daemon(config)
    from gateway.documents.envelope import file_name

    for message in sent:
        zibo.drop_file(file_name(message.header), message.data)
    wait_for(jinan.deliveries, what="the first delivery")
    assert daemon.stop(timeout=60) == 0
    assert "stopped" in daemon.output()
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith((".part", ".tmp"))]
    again = Daemon(config)  # what was left (in the drop, captured, owed) is finished by the next run
    try:
        ledger = SqliteLedger(load_config(config).ledger_path)
        try:
            wait_for(lambda: problems(sent, {JINAN: jinan, ZIBO: zibo}, ledger), until=lambda found: not found,
                     what="the 20 claims delivered and ACKed exactly once")
        finally:
            ledger.close()
    finally:
        assert again.stop() == 0
