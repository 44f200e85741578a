"""A workspace whose ledger and spool hold real traffic (real keys, signatures, checks, SQLite), made once.

Four cities exchange claims and a settlement through the real gateway (run_once) on a clock that starts three
hours ago: acknowledged, declined, failed after every resend, overdue, rejected today (a tampered claim and a
file that is not XML). Each test gets its own copy of the folder.
"""

from __future__ import annotations

import json
import shutil
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

JINAN, QINGDAO, ZIBO, YANTAI = "370100", "370200", "370300", "370600"
CITIES = [JINAN, QINGDAO, ZIBO, YANTAI]
PERIOD = "2026-10"
PASSWORD = "correct horse battery"
# One account per role, in the workspace's console.users (bcrypt at a low cost: the tests log in often).
USERS = {"vera": "viewer", "otto": "operator", "ada": "administrator"}


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _make_traffic(root: Path) -> dict[str, str]:
    from adapters.local import LocalTransport
    from gateway.bootstrap import build_gateway, watched
    from gateway.config import load_config
    from gateway.workspace.city_system import CitySystem
    from gateway.documents.envelope import file_name
    from gateway.documents.keys import generate_keys
    from gateway.domain.areas import GATEWAY_AREA
    from gateway.domain.envelope import MessageType
    from gateway.workspace.layout import write_workspace
    from gateway.observability.runtime import Supervision
    from gateway.service.daemon import run_once

    real_now = datetime.now(timezone.utc)
    keys = root / "keys"
    for code in [GATEWAY_AREA, *CITIES]:  # valid since yesterday: the traffic is dated hours back
        key, cert = generate_keys(code, keys, now=real_now - timedelta(days=1))
        if code == GATEWAY_AREA:
            key.rename(keys / "gateway.key.pem")
            cert.rename(keys / "gateway.crt.pem")
    config_path = write_workspace(root, CITIES, retry=["5m", "30m"])
    clock = _Clock(real_now - timedelta(hours=3))
    transports = {code: LocalTransport(code, root / "drops" / code, settle_seconds=0) for code in CITIES}
    config = load_config(config_path)
    gw = build_gateway(config, clock=clock, transports=transports)
    runtime = Supervision(watched(config), gw.log, gw.ledger).start(serve=False)  # alerts recorded in the ledger, as `ltcgw run` does
    city = {code: CitySystem(code, keys, root / "drops" / code) for code in CITIES}
    ids: dict[str, str] = {}

    def run(minutes: float = 0) -> None:
        clock.now += timedelta(minutes=minutes)
        run_once(gw, settle_seconds=0)

    ids["acknowledged"] = city[ZIBO].send(MessageType.A3, JINAN, PERIOD, seed=1)[0].message_id
    declined = city[QINGDAO].send(MessageType.A3, JINAN, PERIOD, seed=2)[0]
    ids["declined"] = declined.message_id
    ids["yantai"] = city[YANTAI].send(MessageType.A3, QINGDAO, PERIOD, seed=3)[0].message_id
    run()
    city[JINAN].answer(reject={file_name(declined): "审核扣款有误"})
    city[QINGDAO].answer()
    run(2)
    ids["settlement"] = city[JINAN].send(MessageType.A4, ZIBO, PERIOD, seed=1)[0].message_id
    run(3)
    city[ZIBO].answer()
    failed_header, failed_bytes = city[ZIBO].send(MessageType.A3, QINGDAO, "2026-09", seed=4)
    ids["failed"] = failed_header.message_id
    ids["failed_name"] = file_name(failed_header)
    run(1)
    run(6)  # no receipt: resent
    run(31)  # still none: FAILED, alert receipt_missing
    clock.now = real_now - timedelta(minutes=6)
    ids["overdue"] = city[YANTAI].send(MessageType.A3, ZIBO, PERIOD, seed=5)[0].message_id
    run()  # its receipt is due 5 minutes later, i.e. overdue by now
    clock.now = real_now - timedelta(minutes=2)
    header, data = city[QINGDAO].pack(MessageType.A3, YANTAI, PERIOD, seed=6)
    city[QINGDAO].drop_file("claim.xml", data.replace(b"<TotalCost>", b"<TotalCost>1", 1))
    ids["rejected"] = header.message_id
    city[ZIBO].drop_file("garbage.xml", b"this is not XML at all")
    run()
    runtime.close()
    gw.ledger.close()
    gw.checker.close()
    write_users(root / "console.users")
    (root / "ids.json").write_text(json.dumps(ids))
    return ids


def write_users(path: Path) -> None:
    from gateway.web.accounts import Account, Role, hash_password, write_accounts

    write_accounts(path, {name: Account(name, Role(role), hash_password(PASSWORD, cost=4)) for name, role in USERS.items()})


@pytest.fixture(scope="session")
def traffic_template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("traffic")
    _make_traffic(root)
    return root


@dataclass
class Traffic:
    root: Path
    ids: dict[str, str]

    @property
    def config_path(self) -> Path:
        return self.root / "gateway.toml"

    def enable_console(self, port: int, *, read_only: bool = False, language: str | None = None) -> None:
        lines = ["", "[console]", "enabled = true", 'host = "127.0.0.1"', f"port = {port}",
                 f"read_only = {'true' if read_only else 'false'}"]
        if language:
            lines.append(f'language = "{language}"')
        with self.config_path.open("a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

    def config(self):
        from gateway.config import load_config

        return load_config(self.config_path)


@pytest.fixture
def traffic(tmp_path: Path, traffic_template: Path) -> Traffic:
    root = tmp_path / "ws"
    shutil.copytree(traffic_template, root)
    return Traffic(root, json.loads((root / "ids.json").read_text()))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
