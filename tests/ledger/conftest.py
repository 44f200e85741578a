"""The ledger on both backends: every test taking `ledger` runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from adapters.sqlite_ledger import SqliteLedger
from tests.support.postgres import postgres_server  # noqa: F401  (the session's server, shared)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def open_ledger(backend: str, tmp_path, request) -> Iterator[Callable[[], SqliteLedger]]:
    """Opens (and reopens) one ledger of the test's backend; every opened ledger is closed at the end."""
    if backend == "postgres":
        from adapters.postgres_ledger import PostgresLedger

        url = request.getfixturevalue("postgres_server").new_database()
        make: Callable[[], SqliteLedger] = lambda: PostgresLedger(url)  # noqa: E731
    else:
        make = lambda: SqliteLedger(tmp_path / "ledger.sqlite3")  # noqa: E731
    opened: list[SqliteLedger] = []

    def opener() -> SqliteLedger:
        opened.append(make())
        return opened[-1]

    yield opener
    for ledger in opened:
        ledger.close()


@pytest.fixture
def ledger(open_ledger):
    return open_ledger()


@pytest.fixture
def pg(request):
    """Opens ledgers (one per instance) on a fresh PostgreSQL database; closed at the end."""
    from adapters.postgres_ledger import PostgresLedger

    url = request.getfixturevalue("postgres_server").new_database()
    opened: list[PostgresLedger] = []

    def opener() -> PostgresLedger:
        opened.append(PostgresLedger(url))
        return opened[-1]

    yield opener
    for ledger in opened:
        ledger.close()
