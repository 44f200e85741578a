"""A real workspace (keys, drops, SQLite ledger) and a gateway on it with an injected clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from adapters.local import LocalTransport
from gateway.bootstrap import build_gateway
from gateway.config import load_config
from gateway.workspace.city_system import CitySystem
from gateway.workspace.layout import write_workspace
from gateway.service.daemon import Engine, run_once

JINAN, ZIBO = "370100", "370300"  # 济南 (insured city of the claims), 淄博 (residence city)
PERIOD = "2026-10"


class FakeClock:
    """Real time at the start (certificates are checked against it), then moved by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class Workspace:
    def __init__(self, root: Path, cities: list[str], retry: list[str]) -> None:
        self.root = root
        self.config_path = write_workspace(root, cities, retry=retry)
        self.config = load_config(self.config_path)
        self.clock = FakeClock()
        self.cities = {code: CitySystem(code, root / "keys", root / "drops" / code) for code in cities}
        transports = {code: LocalTransport(code, root / "drops" / code, settle_seconds=0) for code in cities}
        self.gw = build_gateway(self.config, clock=self.clock, transports=transports)

    def claim(self, seed: int, **options):
        """淄博 sends 济南 a claim (A3) and the gateway runs once: (header, bytes)."""
        from gateway.domain.envelope import MessageType

        sent = self.cities[ZIBO].send(MessageType.A3, JINAN, PERIOD, seed=seed, **options)
        self.run()
        return sent

    def run(self) -> dict[str, int]:
        return run_once(self.gw, settle_seconds=0)

    def message(self, message_id: str):
        records = self.gw.ledger.messages()
        found = [m for m in records if m.message_id == message_id]
        assert found, f"no message {message_id} in the ledger"
        return found[-1]


@contextmanager
def running_daemon(config, rescan_seconds: float) -> Iterator[object]:
    """The daemon (city workers + engine) in this process, stopped and checked stopped at the end."""
    gw = build_gateway(config)
    engine = Engine(gw, rescan_seconds=rescan_seconds)
    runner = threading.Thread(target=engine.run_forever, daemon=True)
    runner.start()
    try:
        yield gw
    finally:
        engine.stopping.set()
        engine.wake.set()
        runner.join(timeout=15)
        gw.ledger.close()
    assert not runner.is_alive()


@pytest.fixture(scope="session")
def _template(tmp_path_factory) -> Path:
    """Keys are slow to make: one set for the session, copied into each test's workspace."""
    root = tmp_path_factory.mktemp("template")
    write_workspace(root, [JINAN, ZIBO])
    return root / "keys"


@pytest.fixture
def workspace(tmp_path: Path, _template: Path) -> Workspace:
    import shutil

    shutil.copytree(_template, tmp_path / "keys")
    ws = Workspace(tmp_path, [JINAN, ZIBO], retry=["10m", "30m"])
    yield ws
    ws.gw.ledger.close()
    ws.gw.checker.close()
