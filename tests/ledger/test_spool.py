"""The spool's contract, in a folder (one machine or a shared mount) and in the PostgreSQL database."""

from __future__ import annotations

import pytest

from adapters.postgres_ledger import PostgresLedger
from adapters.spool import DatabaseSpool, FolderSpool
from gateway.service.ports.spool import TooLarge


@pytest.fixture(params=["folder", "database"])
def spool(request, tmp_path):
    if request.param == "folder":
        yield FolderSpool(tmp_path)
        return
    ledger = PostgresLedger(request.getfixturevalue("postgres_server").new_database())
    yield DatabaseSpool(ledger.connection)
    ledger.close()


def test_bytes_are_kept_by_digest_once_and_read_back(spool) -> None:
    sha = spool.store("outbox", b"<ack/>")
    assert spool.store("outbox", b"<ack/>") == sha and spool.read("outbox", sha) == b"<ack/>"
    got, size = spool.receive(lambda f: f.write(b"12345"))
    assert size == 5 and spool.read("inbox", got) == b"12345"
    with spool.open("inbox", got) as f:
        assert f.read() == b"12345"
    with pytest.raises(TooLarge):
        spool.receive(lambda f: f.write(b"x" * 100), max_bytes=10)
    with pytest.raises(FileNotFoundError):
        spool.read("inbox", "0" * 64)
    with pytest.raises(ValueError):
        spool.read("elsewhere", got)


def test_the_database_spool_is_shared_by_every_instance(postgres_server) -> None:
    url = postgres_server.new_database()
    one, two = PostgresLedger(url), PostgresLedger(url)
    data = bytes(range(256)) * 4096  # 1 MB, every byte value
    sha, _ = DatabaseSpool(one.connection).receive(lambda f: f.write(data))
    assert DatabaseSpool(two.connection).read("inbox", sha) == data
    one.close()
    two.close()


def test_bytes_stored_again_in_the_database_count_from_then(postgres_server) -> None:
    from datetime import datetime, timedelta, timezone

    ledger = PostgresLedger(postgres_server.new_database())
    spool = DatabaseSpool(ledger.connection)
    sha = spool.store("outbox", b"<nack/>")
    ledger.connection().execute("UPDATE spool_files SET stored_at = now() - interval '10 days'")
    spool.store("outbox", b"<nack/>")  # the same bytes again: kept from now on
    assert not spool.purge("outbox", sha, datetime.now(timezone.utc) - timedelta(days=1))
    assert spool.read("outbox", sha) == b"<nack/>"
    ledger.close()
