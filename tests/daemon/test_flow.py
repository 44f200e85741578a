"""With a pool (workers=2) checks flow: a long check holds back neither the decision nor the delivery of small
claims dropped after it, and a large file never takes the last worker."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import adapters.checker
import gateway.service.process
from gateway.config import load_config
from gateway.workspace.city_system import CitySystem
from gateway.documents.check import check_message
from gateway.domain.envelope import MessageType
from gateway.workspace.layout import write_workspace

from tests.support.exactly_once import Sent, problems
from tests.support.waiting import wait_for

from .conftest import JINAN, PERIOD, ZIBO, running_daemon
from .gate import gated_check


def test_a_held_large_check_does_not_hold_back_small_claims(tmp_path: Path, _template: Path, monkeypatch) -> None:
    shutil.copytree(_template, tmp_path / "keys")
    config = load_config(write_workspace(tmp_path, [JINAN, ZIBO], workers=2, rescan_seconds=0.2))
    zibo = CitySystem(ZIBO, tmp_path / "keys", tmp_path / "drops" / ZIBO)
    jinan = CitySystem(JINAN, tmp_path / "keys", tmp_path / "drops" / JINAN)
    large = [zibo.pack(MessageType.A3, JINAN, PERIOD, seed=70 + i, persons=120, message_id=f"SLOW-{i}") for i in (1, 2)]
    small = [zibo.pack(MessageType.A3, JINAN, PERIOD, seed=80 + i, persons=2) for i in range(3)]
    threshold = max(len(data) for _, data in small)
    assert threshold < min(len(data) for _, data in large)
    gate = tmp_path / "gate"
    monkeypatch.setenv("LTCGW_TEST_GATE", str(gate))
    monkeypatch.setenv("LTCGW_TEST_GATE_HOLD", "SLOW-1,SLOW-2")
    monkeypatch.setattr(gateway.service.process, "LARGE_BYTES", threshold)  # both SLOW claims count as large
    monkeypatch.setattr(adapters.checker, "_check_in_worker", gated_check)  # the pool's task, taken at build
    started = [Path(f"{gate}.started.SLOW-{i}") for i in (1, 2)]

    with running_daemon(config, rescan_seconds=0.2) as gw:
        assert gw.checker.task is gated_check and gw.checker.workers == 2
        for header, data in large:
            zibo.drop_file(f"{header.message_id}.xml", data)
        wait_for(started[0].exists, seconds=30, what="the first large claim in a pool worker")
        for header, data in small:
            zibo.drop_file(f"{header.message_id}.xml", data)
        wait_for(jinan.deliveries, until=lambda files: len(files) >= len(small), seconds=30,
                 what=f"the {len(small)} small claims delivered while the large one is held")
        # Decided and delivered (with their ACKs) while the large claim is still held in its worker.
        assert sorted(p.read_bytes() for p in jinan.deliveries()) == sorted(data for _, data in small)
        wait_for(lambda: zibo.replies("ACK"), until=lambda acks: len(acks) >= len(small), seconds=10,
                 what=f"the {len(small)} small claims' ACKs")
        assert [p.name for p in zibo.replies("ACK")] == sorted(f"ACK_{h.message_id}.xml" for h, _ in small)
        for path in zibo.replies("ACK"):  # signed in the pool worker with the gateway's key: valid, trusted
            ack = check_message(path.read_bytes(), config.trust_store(), now=datetime.now(timezone.utc))
            assert ack.valid and ack.header_trusted, ack.findings
        assert not gate.exists()
        # The second large claim waits for the first: it never took the worker the small claims needed.
        assert not started[1].exists()
        gate.touch()
        wait_for(jinan.deliveries, until=lambda files: len(files) == len(small) + len(large), seconds=60,
                 what="every claim delivered once the gate opened")
        assert started[1].exists()
        sent = [Sent(header, data) for header, data in small + large]
        wait_for(lambda: problems(sent, {JINAN: jinan, ZIBO: zibo}, gw.ledger), until=lambda found: not found,
                 seconds=10, what="every claim delivered and ACKed exactly once")
