"""Fixtures for the SFTP tests: a real OpenSSH sshd per test and transports configured for its accounts."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

try:
    from tests.support.sshd import Account, SshdServer
except ModuleNotFoundError:  # pytest started without the checkout on sys.path (e.g. a bare `pytest`)
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.support.sshd import Account, SshdServer

from adapters.sftp import SftpSettings, SftpTransport


@pytest.fixture
def sshd_factory() -> Iterator[Callable[..., SshdServer]]:
    """Start any number of sshd servers (each with the given cities' accounts); all stopped at the end."""
    servers: list[SshdServer] = []

    def make(*cities: str, deny: str = "") -> SshdServer:
        server = SshdServer(deny=deny)
        servers.append(server)
        for city in cities:
            server.add_account(city)
        server.start()
        return server

    yield make
    for server in servers:
        server.cleanup()


@pytest.fixture
def sshd(sshd_factory: Callable[..., SshdServer]) -> SshdServer:
    """One server with two cities' accounts: 370100 (Jinan) and 370200 (Qingdao)."""
    return sshd_factory("370100", "370200")


def sftp_table(server: SshdServer, account: Account, **overrides: Any) -> dict[str, Any]:
    """A city's `sftp` config table as an operator would write it, pointing at `server`."""
    table: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "user": account.user,
        "private_key": str(account.key),
        "known_hosts": str(server.pin_file()),
        "outbox": account.outbox,
        "inbox": account.inbox,
        "poll_interval": 0.1,
        "connect_timeout": 5,
        "io_timeout": 10,
        "backoff_initial": 0.2,
        "backoff_max": 1,
    }
    table.update(overrides)
    return {key: value for key, value in table.items() if value is not None}


@pytest.fixture
def settings_for() -> Callable[..., SftpSettings]:
    """A city's settings on a server, read through the config path (overrides change its table)."""

    def make(server: SshdServer, city: str, **overrides: Any) -> SftpSettings:
        return SftpSettings.from_mapping(sftp_table(server, server.accounts[city], **overrides), server.base)

    return make


@pytest.fixture
def connect(settings_for: Callable[..., SftpSettings]) -> Iterator[Callable[..., SftpTransport]]:
    """Transport for a city on a server (overrides change its config table); closed at the end."""
    made: list[SftpTransport] = []

    def make(server: SshdServer, city: str, **overrides: Any) -> SftpTransport:
        transport = SftpTransport(city, settings_for(server, city, **overrides))
        made.append(transport)
        return transport

    yield make
    for transport in made:
        transport.close()
