"""Each fake has every member of the port it stands for, with the same parameters: a member added to a port
fails here, by name, until the fake has it too (its behaviour is then held by test_ledger_contract.py)."""

from __future__ import annotations

import inspect

import pytest

from gateway.service.ports.ledger import Ledger, LedgerTx
from adapters.spool import DatabaseSpool, FolderSpool
from gateway.service.ports.spool import Spool
from gateway.service.ports.transport import Transport
from tests.support.fakes import FakeLedger, FakeTx, MemoryDrop, MemorySpool


def _members(cls: type) -> set[str]:
    return {name for name, value in vars(cls).items() if callable(value) and not name.startswith("_")}


SPOOL_PORT = _members(Spool)


@pytest.mark.parametrize(("port", "fake", "members"), [
    (LedgerTx, FakeTx, _members(LedgerTx)),
    (Ledger, FakeLedger, _members(Ledger)),
    (Transport, MemoryDrop, _members(Transport)),
    (Spool, MemorySpool, SPOOL_PORT),
    (Spool, FolderSpool, SPOOL_PORT),
    (Spool, DatabaseSpool, SPOOL_PORT),
], ids=["LedgerTx", "Ledger", "Transport", "Spool", "FolderSpool", "DatabaseSpool"])
def test_the_fake_has_every_member_of_its_port(port: type, fake: type, members: set[str]) -> None:
    assert members, f"no members read from {port.__name__}"
    missing = sorted(name for name in members if not callable(getattr(fake, name, None)))
    assert not missing, f"{fake.__name__} lacks {port.__name__}'s {', '.join(missing)}"
    for name in sorted(members):
        expected = list(inspect.signature(getattr(port, name)).parameters)
        got = list(inspect.signature(getattr(fake, name)).parameters)
        assert got == expected, f"{fake.__name__}.{name}{tuple(got)} differs from {port.__name__}.{name}{tuple(expected)}"


def test_the_in_memory_drop_is_a_transport() -> None:
    assert isinstance(MemoryDrop("370100"), Transport)
