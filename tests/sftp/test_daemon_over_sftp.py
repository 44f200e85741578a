"""The real daemon (config file -> bootstrap -> Engine with a worker per city) over SFTP drops on real sshd
servers, one per city: claims reach the other city, ACKs and receipts flow back, and a city whose server is
down for a while only delays itself; its backlog drains when the server is back, nothing lost or doubled."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.bootstrap import build_gateway
from gateway.config import load_config
from gateway.workspace.city_system import CitySystem
from gateway.documents.envelope import file_name
from gateway.domain.envelope import MessageType
from gateway.domain.lifecycle import State
from gateway.workspace.layout import write_workspace
from gateway.service.daemon import Engine

from adapters.sftp import SftpTransport
from tests.support.exactly_once import Sent, assert_exactly_once
from tests.support.waiting import wait_for

JINAN, ZIBO = "370100", "370300"  # 济南 insured city of the claims, 淄博 residence city
PERIOD = "2026-10"


class SftpWorkspace:
    """A gateway folder whose cities' drops are on sshd servers, and each city's system on its own drop.

    The sftp tables are written with `SftpSettings.to_toml` and read back through the config file."""

    def __init__(self, root: Path, servers: dict[str, object], settings_for) -> None:
        config_path = write_workspace(root, list(servers), retry=["10m", "30m"], rescan_seconds=0.2)
        text = config_path.read_text(encoding="utf-8")
        for code, server in servers.items():
            local = f'kind = "local"\ndrop = "drops/{code}"'
            assert local in text
            text = text.replace(local, "\n".join(settings_for(server, code).to_toml(root)))
        config_path.write_text(text, encoding="utf-8")
        self.config = load_config(config_path)  # the sftp tables pass the config check
        self.gw = build_gateway(self.config)
        assert all(isinstance(t, SftpTransport) for t in self.gw.transports.values())
        self.cities = {code: CitySystem(code, root / "keys", s.accounts[code].home) for code, s in servers.items()}
        self.engine = Engine(self.gw, rescan_seconds=0.2)
        self._thread = threading.Thread(target=self.engine.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self.engine.stop()
            self._thread.join(timeout=20)
        self.gw.ledger.close()

    def state(self, message_id: str) -> State | None:
        found = [m for m in self.gw.ledger.messages() if m.message_id == message_id]
        return found[-1].state if found else None


@pytest.fixture
def over_sftp(tmp_path: Path, sshd_factory, settings_for) -> Iterator[SftpWorkspace]:
    servers = {JINAN: sshd_factory(JINAN), ZIBO: sshd_factory(ZIBO)}
    ws = SftpWorkspace(tmp_path / "gateway", servers, settings_for)
    ws.servers = servers
    yield ws
    ws.stop()


@pytest.mark.slow
def test_claims_reach_the_insured_city_and_acks_and_receipts_flow_back(over_sftp) -> None:
    ws = over_sftp
    ws.start()
    zibo, jinan = ws.cities[ZIBO], ws.cities[JINAN]
    claim, claim_bytes = zibo.send(MessageType.A3, JINAN, PERIOD, seed=1)
    delivered = jinan.inbox / file_name(claim)
    ack = zibo.inbox / f"ACK_{claim.message_id}.xml"
    wait_for(lambda: delivered.exists() and ack.exists(), what="the claim delivered and ACKed")
    assert delivered.read_bytes() == claim_bytes  # byte for byte, under its final name
    assert not any(zibo.outbox.iterdir())  # taken off the residence city's server
    wait_for(lambda: ws.state(claim.message_id), until=lambda state: state is State.DELIVERED, what="DELIVERED")

    assert jinan.answer() == [delivered.name]  # the insured city's system signs a receipt into its outbox
    forwarded = zibo.inbox / f"RECEIPT_{claim.message_id}.xml"
    wait_for(forwarded.exists, what="the receipt forwarded")
    wait_for(lambda: ws.state(claim.message_id), until=lambda state: state is State.ACKNOWLEDGED,
             what="ACKNOWLEDGED")

    settlement, settlement_bytes = jinan.send(MessageType.A4, ZIBO, PERIOD, seed=1)
    back = zibo.inbox / file_name(settlement)
    wait_for(back.exists, what="the settlement delivered")
    assert back.read_bytes() == settlement_bytes
    wait_for((jinan.inbox / f"ACK_{settlement.message_id}.xml").exists, what="the settlement's ACK")
    for city in ws.cities.values():  # no temporary name left in any inbox
        assert not [p.name for p in city.inbox.iterdir() if p.name.startswith(".")]
    assert all(t.connects == 1 for t in ws.gw.transports.values())  # one session per city throughout


@pytest.mark.slow
def test_a_city_server_down_mid_run_delays_only_itself_and_its_backlog_drains(over_sftp) -> None:
    ws = over_sftp
    ws.start()
    zibo, jinan = ws.cities[ZIBO], ws.cities[JINAN]
    first_sent = Sent(*zibo.send(MessageType.A3, JINAN, PERIOD, seed=1))
    first = first_sent.header
    wait_for((jinan.inbox / file_name(first)).exists, what="the first claim delivered")

    ws.servers[JINAN].stop()  # the insured city's server goes down mid-run
    sent = [Sent(*zibo.send(MessageType.A3, JINAN, f"2026-0{n}", seed=n)) for n in range(1, 4)]
    claims = [message.header for message in sent]
    acks = [zibo.inbox / f"ACK_{c.message_id}.xml" for c in claims]
    # The residence city is unaffected: its claims are captured and ACKed while Jinan is down.
    wait_for(lambda: all(a.exists() for a in acks), what="ACKs while the other city is down")
    assert all(ws.state(c.message_id) is State.ROUTED for c in claims)  # delivery owed, not lost
    time.sleep(1)  # let Jinan's worker fail and back off a few times

    ws.servers[JINAN].start()
    wait_for(lambda: all((jinan.inbox / file_name(c)).exists() for c in claims), seconds=60, what="backlog")
    wait_for(lambda: {c.message_id: ws.state(c.message_id) for c in claims},
             until=lambda states: set(states.values()) == {State.DELIVERED}, what="every claim DELIVERED")
    assert_exactly_once([first_sent, *sent], ws.cities, ws.gw.ledger)  # each exactly once, nothing owed
    assert not [p.name for p in jinan.inbox.iterdir() if p.name.startswith(".")]  # no temporaries
    assert ws.gw.transports[JINAN].connects >= 2 and ws.gw.transports[ZIBO].connects == 1
    assert not any(p.name.startswith(".") for p in zibo.inbox.iterdir())


@pytest.fixture
def alerts(over_sftp) -> list[tuple[str, dict]]:
    """Every alert the daemon raises (and still logs), as (kind, fields)."""
    raised: list[tuple[str, dict]] = []
    over_sftp.gw.log.subscribe(lambda event, fields: event == "alert" and raised.append((fields["kind"], fields)))
    return raised


def alerted(alerts, city: str, text: str) -> bool:
    return any(fields.get("city") == city and text in str(fields.get("error", "")) for _, fields in alerts)


@pytest.mark.slow
def test_a_changed_host_key_and_a_locked_inbox_are_alerted_retried_and_hold_up_no_other_city(
    alerts, over_sftp
) -> None:
    ws = over_sftp
    zibo, jinan = ws.cities[ZIBO], ws.cities[JINAN]
    server = ws.servers[JINAN]
    server.stop()
    server.replace_host_key()  # since it was pinned, another machine answers at Jinan's address
    server.start()
    ws.start()

    claim, claim_bytes = zibo.send(MessageType.A3, JINAN, PERIOD, seed=1)
    wait_for((zibo.inbox / f"ACK_{claim.message_id}.xml").exists, what="the ACK to the other city")
    wait_for(lambda: alerted(alerts, JINAN, "host key"), what="the host key alert")
    assert ws.state(claim.message_id) is State.ROUTED and list(jinan.inbox.iterdir()) == []
    assert "Accepted publickey" not in server.log.read_text().split("Server listening")[-1]  # never logged in

    server.pin_file()  # the operator pins the new key after checking it with the city
    wait_for((jinan.inbox / file_name(claim)).exists, what="delivery once the key is pinned")
    assert (jinan.inbox / file_name(claim)).read_bytes() == claim_bytes

    jinan.inbox.chmod(0o555)  # the city's operator breaks the inbox's permissions
    try:
        second, _ = zibo.send(MessageType.A3, JINAN, "2026-09", seed=2)
        wait_for(lambda: alerted(alerts, JINAN, "permission denied"), what="the permission alert")
        assert not (jinan.inbox / file_name(second)).exists()
    finally:
        jinan.inbox.chmod(0o755)
    wait_for((jinan.inbox / file_name(second)).exists, what="delivery once the inbox is writable")
    wait_for(lambda: ws.state(second.message_id), until=lambda state: state is State.DELIVERED,
             what="DELIVERED")
    assert sorted(p.name for p in jinan.inbox.iterdir()) == sorted([file_name(claim), file_name(second)])
