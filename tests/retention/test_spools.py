"""Both spools delete for retention the same way: only bytes stored before the cutoff, and (database) never
bytes a capture still waits to check."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest

from adapters.postgres_ledger import PostgresLedger
from adapters.spool import DatabaseSpool, FolderSpool
from tests.support.postgres import postgres_server  # noqa: F401  (the session's server, shared)


@pytest.fixture(params=["folder", "database"])
def spools(request, tmp_path):
    if request.param == "folder":
        yield FolderSpool(tmp_path), None
        return
    ledger = PostgresLedger(request.getfixturevalue("postgres_server").new_database())
    yield DatabaseSpool(ledger.connection), ledger
    ledger.close()


def test_purge_deletes_bytes_stored_before_the_cutoff_only(spools) -> None:
    spool, _ = spools
    sha = spool.store("outbox", b"<ack/>")
    now = datetime.now(timezone.utc)
    assert spool.exists("outbox", sha) and not spool.exists("inbox", sha)
    assert not spool.purge("outbox", sha, now - timedelta(minutes=5))  # stored after the cutoff: kept
    assert spool.read("outbox", sha) == b"<ack/>"
    assert spool.purge("outbox", sha, now + timedelta(minutes=5))
    assert not spool.exists("outbox", sha)
    with pytest.raises(FileNotFoundError):
        spool.read("outbox", sha)
    assert not spool.purge("outbox", sha, now + timedelta(minutes=5))  # gone already


def test_bytes_stored_again_count_from_then(tmp_path) -> None:
    spool = FolderSpool(tmp_path)
    sha = spool.store("outbox", b"<nack/>")
    old = (datetime.now(timezone.utc) - timedelta(days=40)).timestamp()
    os.utime(spool.path("outbox", sha), (old, old))
    spool.store("outbox", b"<nack/>")  # the same bytes again
    assert not spool.purge("outbox", sha, datetime.now(timezone.utc) - timedelta(days=30))


def test_the_database_spool_keeps_bytes_a_capture_waits_to_check(postgres_server) -> None:  # noqa: F811
    ledger = PostgresLedger(postgres_server.new_database())
    spool = DatabaseSpool(ledger.connection)
    now = datetime.now(timezone.utc)
    sha, size = spool.receive(lambda f: f.write(b"<claim/>"))
    with ledger.unit_of_work() as tx:
        key = tx.add_capture("370300", "claim.xml", sha, size, 0.0, now)
    assert not spool.purge("inbox", sha, now + timedelta(minutes=5))
    with ledger.unit_of_work() as tx:
        tx.mark_capture_processed(key, None)
    assert spool.purge("inbox", sha, now + timedelta(minutes=5))
    ledger.close()
