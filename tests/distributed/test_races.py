"""Races the per-scope locks must still prevent (adapters/postgres_ledger.py, gateway/service/scopes.py): two
gateways on one PostgreSQL ledger whose checks end together, so that their decisions meet.

- The same claim dropped twice, the two copies checked by two instances at once: one delivery, one duplicate.
- One person billed by two residence cities (淄博, 烟台) to one insured city (济南), the two claims decided at
  once by two instances: the second is caught as double billing (the insured city's lock orders them).
"""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import Future
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from adapters.local import LocalTransport
from gateway.bootstrap import build_gateway
from gateway.config import load_config
from gateway.documents.envelope import file_name
from gateway.documents.sample import sample_document
from gateway.documents.writer import to_bytes
from gateway.domain import register as reg
from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import State
from gateway.service.capture import capture_city
from gateway.service.outgoing import flush_city
from gateway.service.process import process_pending
from gateway.workspace.city_system import CitySystem
from gateway.workspace.layout import write_workspace
from tests.support.postgres import postgres_server  # noqa: F401

JINAN, ZIBO, YANTAI = "370100", "370300", "370600"  # 济南 insured; 淄博, 烟台 residence cities
CITIES = [JINAN, ZIBO, YANTAI]
PERIOD = "2026-10"


class EndTogether:
    """A checker whose checks end only once every instance's check has ended (a barrier): the decisions that
    follow start at the same moment, on two connections, as they would on two machines."""

    def __init__(self, inner, barrier: threading.Barrier) -> None:
        self.inner, self.barrier, self.workers = inner, barrier, inner.workers

    def submit(self, data: bytes, now: datetime) -> Future:
        checked = self.inner.submit(data, now).result()
        out: Future = Future()
        threading.Thread(target=lambda: (self.barrier.wait(60), out.set_result(checked)), daemon=True).start()
        return out

    def close(self) -> None:
        self.inner.close()


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("races-keys")
    write_workspace(root, CITIES)
    return root / "keys"


@pytest.fixture
def two(tmp_path: Path, keys: Path, postgres_server):  # noqa: F811
    shutil.copytree(keys, tmp_path / "keys")
    path = write_workspace(tmp_path, CITIES, retry=["10m", "30m"])
    url = postgres_server.new_database()
    path.write_text(path.read_text(encoding="utf-8").replace(
        '[ledger]\npath = "ledger.sqlite3"', f'[ledger]\nurl = "{url}"'), encoding="utf-8")
    config, barrier = load_config(path), threading.Barrier(2)
    gateways = []
    for name in ("gw-a", "gw-b"):
        gw = build_gateway(config, transports={
            code: LocalTransport(code, tmp_path / "drops" / code, settle_seconds=0) for code in CITIES})
        gw.instance, gw.checker = name, EndTogether(gw.checker, barrier)
        gateways.append(gw)
    cities = {code: CitySystem(code, tmp_path / "keys", tmp_path / "drops" / code) for code in CITIES}
    yield gateways, cities
    for gw in gateways:
        gw.ledger.close()
        gw.checker.close()


def _capture(gw) -> None:
    for transport in gw.transports.values():
        capture_city(gw, transport)
        capture_city(gw, transport)  # the second look: the files were stable


def _decide_together(a, b) -> list:
    """Each instance takes one capture (leases: never the same) and decides it when both checks have ended."""
    results: list = [None, None]
    threads = [threading.Thread(target=lambda i=i, gw=gw: results.__setitem__(i, process_pending(gw, batch=1)))
               for i, gw in enumerate((a, b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(r is not None for r in results), "an instance did not finish deciding"
    return results


def test_the_same_claim_dropped_twice_to_two_instances_is_delivered_once_and_answered_as_a_duplicate(two) -> None:
    (a, b), cities = two
    header, data = cities[ZIBO].pack(MessageType.A3, JINAN, PERIOD, seed=7, persons=2)
    name = file_name(header)
    cities[ZIBO].drop_file(name, data)
    _capture(a)
    cities[ZIBO].drop_file(name, data)  # the same bytes again, before anything was decided
    _capture(a)
    assert len(a.ledger.messages()) == 0  # two captures, nothing decided yet

    reports = _decide_together(a, b)
    assert sorted((r.routed, r.duplicates) for r in reports) == [(0, 1), (1, 0)]  # one each: shared, not repeated
    [message] = a.ledger.messages()
    assert message.state is State.ROUTED and message.message_id == header.message_id
    assert [d["id"] for _, _, _, d in a.ledger.events("duplicate")] == [header.message_id]
    for transport in b.transports.values():
        flush_city(b, transport)
    assert [p.name for p in cities[JINAN].deliveries()] == [name]
    assert (cities[JINAN].inbox / name).read_bytes() == data
    assert [p.name for p in cities[ZIBO].replies("ACK")] == [f"ACK_{header.message_id}.xml"]
    assert cities[ZIBO].replies("NACK") == []
    [(record, transitions)] = a.ledger.trace(header.message_id)
    assert record.deliveries == 1 and [t.event for t in transitions].count("delivered") == 1


def test_one_person_billed_by_two_residence_cities_decided_at_once_is_caught(two) -> None:
    (a, b), cities = two
    for gw in (a, b):  # 济南 refuses double billing; the other checks are off (no entitlements sent here)
        gw.register = replace(gw.register, modes={JINAN: reg.CrossChecks("off", {"double_billing": "refuse"})})
    zibo = sample_document("A3", ZIBO, JINAN, PERIOD, persons=1, seed=2)  # seed 2: care for the whole month
    yantai = sample_document("A3", YANTAI, JINAN, PERIOD, persons=1, seed=2)
    person = zibo.statements[0]
    assert (yantai.statements[0].start_date, yantai.statements[0].end_date) == (person.start_date, person.end_date)
    yantai = replace(yantai, statements=[replace(yantai.statements[0], id_number=person.id_number, sex=person.sex)])
    sent = {code: cities[code].send(MessageType.A3, JINAN, PERIOD, document=to_bytes(document))[0]
            for code, document in ((ZIBO, zibo), (YANTAI, yantai))}
    _capture(a)

    reports = _decide_together(a, b)
    assert sorted((r.routed, r.rejected) for r in reports) == [(0, 1), (1, 0)]
    states = {m.sender: m for m in a.ledger.messages()}
    assert sorted(m.state.value for m in states.values()) == ["REJECTED", "ROUTED"]
    [refused] = [m for m in states.values() if m.state is State.REJECTED]
    assert {f["code"] for f in refused.findings} == {"cross.double_billing"}
    assert refused.message_id == sent[refused.sender].message_id
    # The register keeps the one that passed, never both.
    kept = a.ledger.register_claims(PERIOD)
    assert [c.residence for c in kept] == [next(m.sender for m in states.values() if m.state is State.ROUTED)]
