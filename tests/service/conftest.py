"""The fast tier: the service's use cases on in-memory fakes (tests/support/fakes.py) with the real checks and
the real signed replies (real keys, made once per session). No folder, no database, no thread: each test runs
in milliseconds, so the whole tier stays within a few seconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from adapters.checker import InProcessChecker
from adapters.replies import SignedReplies
from gateway.bootstrap import check_settings, reply_settings
from gateway.observability.events import TransferLog
from gateway.config import Config, load_config
from gateway.workspace.city_system import CitySystem
from gateway.documents.envelope import file_name
from gateway.documents.replies import make_receipt
from gateway.domain.envelope import Header, MessageType
from gateway.workspace.layout import write_workspace
from gateway.service.capture import capture_city
from gateway.service.context import Gateway
from gateway.service.outgoing import flush_city
from gateway.service.process import ProcessReport, process_pending
from tests.support.exactly_once import Sent
from tests.support.fakes import FakeLedger, MemoryDrop, MemorySpool

JINAN, ZIBO, YANTAI = "370100", "370300", "370600"  # 济南 (insured city of the claims), 淄博, 烟台 (residence)
PERIOD = "2026-10"


class Clock:
    """Real time at the start (certificates are checked against it), then moved by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class City:
    """A city's legacy system on an in-memory drop: it signs, drops, reads its inbox and answers receipts."""

    system: CitySystem  # keys and signing (its folder is never used)
    drop: MemoryDrop
    answered: set[str] = field(default_factory=set)

    @property
    def code(self) -> str:
        return self.drop.city

    def pack(self, kind: MessageType, receiver: str, **options) -> Sent:
        return Sent(*self.system.pack(kind, receiver, options.pop("period", PERIOD), persons=options.pop("persons", 2),
                                      **options))

    def send(self, kind: MessageType, receiver: str, **options) -> Sent:
        sent = self.pack(kind, receiver, **options)
        self.drop.put(file_name(sent.header), sent.data)
        return sent

    def broken(self, kind: MessageType, receiver: str, **options) -> Sent:
        """Altered after signing: the signature no longer holds (a NACK is owed)."""
        good = self.pack(kind, receiver, **options)
        data = good.data.replace(b"<TotalCost>", b"<TotalCost>7", 1)
        assert data != good.data
        self.drop.put(file_name(good.header), data)
        return Sent(good.header, data, valid=False)

    def deliveries(self) -> list[str]:
        return [n for n in self.drop.files() if not n.startswith(("ACK_", "NACK_", "RECEIPT_"))]

    def answer(self, reject: str | None = None) -> list[str]:
        """A signed receipt for each delivery not answered yet (`reject`: declined, for that reason)."""
        done = []
        for name in self.deliveries():
            if name not in self.answered:
                receipt = make_receipt(self.drop.inbox[name], key=self.system.key, cert=self.system.cert,
                                       reject_reason=reject)
                self.drop.put(f"RECEIPT_{Path(name).stem}.xml", receipt)
                self.answered.add(name)
                done.append(name)
        return done


@dataclass
class Exchange:
    """A gateway on fakes between three cities, and what the tests drive it with."""

    gw: Gateway
    ledger: FakeLedger
    spool: MemorySpool
    clock: Clock
    cities: dict[str, City]

    @property
    def drops(self) -> dict[str, MemoryDrop]:
        return {code: city.drop for code, city in self.cities.items()}

    def capture(self) -> int:
        return sum(capture_city(self.gw, drop).captured for drop in self.drops.values())

    def process(self) -> ProcessReport:
        return process_pending(self.gw)

    def flush(self) -> int:
        return sum(flush_city(self.gw, drop) for drop in self.drops.values())

    def step(self) -> ProcessReport:
        """One pass of the engine's work: take every file, decide, write everything owed."""
        self.capture()
        report = self.process()
        self.flush()
        return report

    def message(self, header: Header):
        found = [m for m in self.ledger.messages() if m.message_id == header.message_id]
        assert found, f"no message {header.message_id} in the ledger"
        return found[-1]

    def events(self, kind: str) -> list[dict]:
        return [detail for _, _, _, detail in self.ledger.events(kind)]


@pytest.fixture(scope="session")
def service_config(tmp_path_factory) -> Config:
    """Keys for the gateway and three cities, made once (key generation is the slow part)."""
    root = tmp_path_factory.mktemp("service")
    # ECDSA keys: made and loaded in milliseconds (RSA keys take seconds); the service never sees the difference.
    return load_config(write_workspace(root, [JINAN, ZIBO, YANTAI], retry=["10m", "30m"], algorithm="ecdsa"))


@pytest.fixture(scope="session")
def city_systems(service_config: Config, tmp_path_factory) -> dict[str, CitySystem]:
    """The cities' signing keys, loaded once (loading an RSA key checks it: about half a second each)."""
    keys, unused = Path(service_config.key).parent, tmp_path_factory.mktemp("unused")
    return {code: CitySystem(code, keys, unused / code) for code in service_config.cities}


@pytest.fixture(scope="session")
def real_checks(service_config: Config) -> tuple[InProcessChecker, SignedReplies]:
    checker = InProcessChecker(check_settings(service_config))  # in process: no pool in the fast tier
    yield checker, SignedReplies(reply_settings(service_config))
    checker.close()


@pytest.fixture
def exchange(service_config: Config, real_checks, city_systems: dict[str, CitySystem]) -> Exchange:
    checker, replies = real_checks
    clock = Clock()
    ledger, spool = FakeLedger(clock), MemorySpool(clock)
    drops = {code: MemoryDrop(code) for code in service_config.cities}
    gw = Gateway(ledger=ledger, spool=spool, checker=checker, replies=replies, transports=drops,  # type: ignore[arg-type]
                 log=TransferLog(), policy=service_config.retry, clock=clock, instance="fast-tier")
    cities = {code: City(city_systems[code], drop) for code, drop in drops.items()}
    return Exchange(gw, ledger, spool, clock, cities)

