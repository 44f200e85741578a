"""The ledger (real SQLite) and the spool on their own."""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import datetime, timezone

import pytest

from adapters.spool import FolderSpool
from gateway.service.ports.spool import TooLarge
from adapters.sqlite_ledger import MIGRATIONS, SqliteLedger
from gateway.domain.envelope import Header, MessageType
from gateway.domain.lifecycle import Event, IllegalTransition, State

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
HEADER = Header("37030020261102090000AAAA0001", MessageType.A3, "370300", "370100", "2026-10", "ZB-1", 1, T0)


def _message(ledger: SqliteLedger):
    with ledger.unit_of_work() as tx:
        key = tx.add_capture("370300", "a.xml", "ab" * 32, 10, 1.0, T0)
        capture = tx.pending_captures()[0]
        assert capture.key == key
        return tx.add_message(capture, HEADER, T0)


def test_sqlite_ledger_is_wal_full_sync_and_migrated_once(tmp_path) -> None:
    ledger = SqliteLedger(tmp_path / "l.sqlite3")
    db = ledger._db()
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert ledger.schema_version() == MIGRATIONS[-1].version
    ledger.close()
    again = SqliteLedger(tmp_path / "l.sqlite3")
    rows = again._db().execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0]
    assert rows == len(MIGRATIONS) and again.schema_version() == MIGRATIONS[-1].version


def test_each_transition_is_logged_and_the_state_survives_a_reopen(tmp_path) -> None:
    ledger = SqliteLedger(tmp_path / "l.sqlite3")
    message = _message(ledger)
    with ledger.unit_of_work() as tx:
        tx.transition(message.key, Event.CHECK_PASSED, T0, "checks passed")
        tx.transition(message.key, Event.DELIVERED, T0, "written")  # counts and times the delivery itself
    ledger.close()
    reopened = SqliteLedger(tmp_path / "l.sqlite3")
    [(record, transitions)] = reopened.trace(HEADER.message_id)
    assert record.state is State.DELIVERED and record.deliveries == 1 and record.last_delivered_at == T0
    assert [(t.source, t.target, t.event) for t in transitions] == [
        (None, State.RECEIVED, "captured"),
        (State.RECEIVED, State.ROUTED, "check_passed"),
        (State.ROUTED, State.DELIVERED, "delivered"),
    ]


def test_a_unit_of_work_is_all_or_nothing(tmp_path) -> None:
    ledger = SqliteLedger(tmp_path / "l.sqlite3")
    message = _message(ledger)
    with pytest.raises(IllegalTransition):
        with ledger.unit_of_work() as tx:
            tx.transition(message.key, Event.CHECK_PASSED, T0, "checks passed")
            tx.add_outgoing("370100", "x.xml", "inbox", message.sha256, "delivery", message.key, T0)
            tx.transition(message.key, Event.RECEIPT_ACCEPTED, T0, "impossible from ROUTED")
    assert ledger.messages()[0].state is State.RECEIVED
    assert ledger.outgoing() == []
    assert len(ledger.trace(HEADER.message_id)[0][1]) == 1


def test_outgoing_files_are_owed_until_marked_and_can_be_cancelled(tmp_path) -> None:
    ledger = SqliteLedger(tmp_path / "l.sqlite3")
    message = _message(ledger)
    with ledger.unit_of_work() as tx:
        first = tx.add_outgoing("370100", "a.xml", "inbox", message.sha256, "delivery", message.key, T0)
        tx.add_outgoing("370300", "ACK_1.xml", "outbox", "cd" * 32, "ack", message.key, T0)
    with ledger.unit_of_work() as tx:
        assert [o.name for o in tx.pending_outgoing("370100")] == ["a.xml"]
        tx.mark_written(first, T0)
        assert tx.pending_outgoing("370100") == []
        assert tx.reply_name_taken("370300", "ACK_1.xml") and not tx.reply_name_taken("370100", "ACK_1.xml")
        tx.add_outgoing("370100", "a.xml", "inbox", message.sha256, "delivery", message.key, T0)
        assert tx.cancel_outgoing(message.key, "delivery") == 1
        assert tx.pending_outgoing("370100") == []


def test_readers_see_committed_state_while_a_writer_holds_the_lock(tmp_path) -> None:
    ledger = SqliteLedger(tmp_path / "l.sqlite3")
    _message(ledger)
    reader = sqlite3.connect(tmp_path / "l.sqlite3")
    with ledger.unit_of_work() as tx:
        tx.add_capture("370300", "b.xml", "ef" * 32, 1, 1.0, T0)
        assert reader.execute("SELECT COUNT(*) FROM captures").fetchone()[0] == 1  # WAL: not blocked, not dirty
    assert reader.execute("SELECT COUNT(*) FROM captures").fetchone()[0] == 2


def test_spool_is_content_addressed_durable_and_bounded(tmp_path) -> None:
    spool = FolderSpool(tmp_path)
    sha = spool.store("outbox", b"<ack/>")
    assert spool.store("outbox", b"<ack/>") == sha and spool.read("outbox", sha) == b"<ack/>"
    got, size = spool.receive(lambda f: f.write(b"12345"))
    assert size == 5 and spool.read("inbox", got) == b"12345"
    with pytest.raises(TooLarge):
        spool.receive(lambda f: f.write(b"x" * 100), max_bytes=10)
    assert [p.name for p in spool.inbox.iterdir()] == [got]  # the oversize temporary is gone
    (spool.inbox / ".in-left.tmp").write_bytes(b"half")
    os.utime(spool.inbox / ".in-left.tmp", (time.time() - 7200, time.time() - 7200))  # a crashed writer's, stale
    assert spool.clean_temporaries() == 1
    with pytest.raises(ValueError):
        spool.read("inbox", "../../etc/passwd")


def test_a_starting_instance_cleans_only_what_a_dead_writer_left(tmp_path) -> None:
    """Instances sharing a spool over a mount: one starting must not remove another's file in hand."""
    import socket
    import subprocess
    import sys

    spool = FolderSpool(tmp_path)
    host = "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = {
            "dead": f".in-{host}~{int(dead.stdout)}~abc.tmp",  # this machine, its writer gone
            "alive": f".in-{host}~{alive.pid}~abc.tmp",  # this machine, still writing
            "other fresh": ".out-otherhost~12~abc.tmp",  # another machine's, written just now
            "other stale": ".out-otherhost~13~abc.tmp",  # another machine's, an hour and more ago
        }
        for name in names.values():
            folder = spool.outbox if name.startswith(".out") else spool.inbox
            (folder / name).write_bytes(b"half")
        old = time.time() - 7200
        os.utime(spool.outbox / names["other stale"], (old, old))
        assert spool.clean_temporaries() == 2
        left = {p.name for p in (*spool.inbox.iterdir(), *spool.outbox.iterdir())}
        assert left == {names["alive"], names["other fresh"]}
    finally:
        alive.kill()
        alive.wait()
    # what this process writes is named for it, so another instance's clean can tell it apart
    got, _ = spool.receive(lambda f: f.write(b"x"))
    assert spool.read("inbox", got) == b"x"
