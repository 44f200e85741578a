"""Delivery into a city's inbox on a real sshd: never a partial file under the final name."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from pathlib import Path

import pytest

from gateway.service.ports.transport import TransportError
from tests.support.waiting import anything, wait_for


def test_deliver_writes_the_file_and_replaces_an_older_one(sshd, connect):
    qingdao = connect(sshd, "370200")
    inbox = sshd.accounts["370200"].inbox_dir
    qingdao.deliver("ACK_1.xml", io.BytesIO(b"first"))
    qingdao.deliver("ACK_1.xml", io.BytesIO(b"second, resent"))
    assert [p.name for p in inbox.iterdir()] == ["ACK_1.xml"]  # no temporary file left behind
    assert (inbox / "ACK_1.xml").read_bytes() == b"second, resent"


@pytest.mark.parametrize("name", ["../escape.xml", "sub/dir.xml", ".hidden.xml", "A3.xml.part", ""])
def test_names_that_are_not_plain_final_names_are_refused(sshd, connect, name):
    with pytest.raises(ValueError):
        connect(sshd, "370200").deliver(name, io.BytesIO(b"x"))


@pytest.mark.slow
def test_a_reader_polling_during_a_large_upload_never_sees_a_partial_file(sshd, connect):
    qingdao = connect(sshd, "370200")
    final = sshd.accounts["370200"].inbox_dir / "A3_big.xml"
    payload = os.urandom(48 * 1024 * 1024)
    sizes_seen: list[int] = []
    done = threading.Event()

    def reader() -> None:  # the city's system, looking for its file as fast as it can
        while not done.is_set():
            try:
                sizes_seen.append(final.stat().st_size)
            except FileNotFoundError:
                sizes_seen.append(-1)

    watcher = threading.Thread(target=reader)
    watcher.start()
    try:
        qingdao.deliver(final.name, io.BytesIO(payload))
    finally:
        done.set()
        watcher.join()
    assert -1 in sizes_seen  # the reader did watch while the upload ran
    assert set(sizes_seen) <= {-1, len(payload)}
    assert hashlib.sha256(final.read_bytes()).digest() == hashlib.sha256(payload).digest()


class CutAfter(io.RawIOBase):
    """A source that cuts the server's sessions once `limit` bytes have been read (mid-upload)."""

    def __init__(self, payload: bytes, limit: int, cut) -> None:
        self.source, self.limit, self.cut, self.read_so_far = io.BytesIO(payload), limit, cut, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.read_so_far >= self.limit and self.cut is not None:
            self.cut()
            self.cut = None
        data = self.source.read(size)
        self.read_so_far += len(data)
        return data


@pytest.mark.slow
def test_a_connection_cut_mid_upload_leaves_no_final_file_and_a_retry_succeeds(sshd, connect):
    qingdao = connect(sshd, "370200")
    inbox = sshd.accounts["370200"].inbox_dir
    payload = os.urandom(32 * 1024 * 1024)
    with pytest.raises(TransportError, match="370200: deliver A3_cut.xml"):
        qingdao.deliver("A3_cut.xml", CutAfter(payload, 8 * 1024 * 1024, sshd.cut_sessions))
    assert not (inbox / "A3_cut.xml").exists()
    assert all(p.name.startswith(".") for p in inbox.iterdir())  # at most a hidden temporary remains

    (inbox / ".A3_old.xml.part").write_bytes(b"left by a crash")
    qingdao.clean_temporaries()  # the daemon's start-up clean: our own hidden temporaries only
    assert list(inbox.iterdir()) == []
    qingdao.deliver("A3_cut.xml", io.BytesIO(payload))  # the daemon's retry: a new session
    assert (inbox / "A3_cut.xml").read_bytes() == payload
    assert [p.name for p in inbox.iterdir()] == ["A3_cut.xml"]
    assert qingdao.connects == 2


@pytest.mark.slow
def test_sshd_stopped_mid_upload_then_restarted_the_retry_succeeds(sshd, connect):
    qingdao = connect(sshd, "370200")
    inbox = sshd.accounts["370200"].inbox_dir
    payload = os.urandom(16 * 1024 * 1024)
    with pytest.raises(TransportError):
        qingdao.deliver("A3_stop.xml", CutAfter(payload, 4 * 1024 * 1024, sshd.stop))
    assert not (inbox / "A3_stop.xml").exists()
    with pytest.raises(TransportError, match="cannot connect"):
        qingdao.deliver("A3_stop.xml", io.BytesIO(payload))  # server still down
    sshd.start()
    deliver_when_back(qingdao, "A3_stop.xml", payload)
    assert (inbox / "A3_stop.xml").read_bytes() == payload


def deliver_when_back(transport, name: str, payload: bytes) -> None:
    """Retry like the daemon does (every poll) until the backoff lets a new connection through."""
    wait_for(lambda: transport.deliver(name, io.BytesIO(payload)), until=anything, retry_on=TransportError,
             seconds=5, every=0.1, what=f"{name} delivered once the server is back")


def test_permission_denied_on_the_inbox_is_a_clear_transport_error_and_retried_later(sshd, connect):
    qingdao = connect(sshd, "370200")
    inbox: Path = sshd.accounts["370200"].inbox_dir
    inbox.chmod(0o555)
    try:
        with pytest.raises(TransportError, match="370200: deliver ACK_1.xml: permission denied"):
            qingdao.deliver("ACK_1.xml", io.BytesIO(b"ack"))
        report = qingdao.check_connection()
        assert not report.ok and any("permission denied" in problem for problem in report.problems)
    finally:
        inbox.chmod(0o755)
    qingdao.deliver("ACK_1.xml", io.BytesIO(b"ack"))  # fixed on the server: the next attempt goes through
    assert (inbox / "ACK_1.xml").read_bytes() == b"ack"
    assert qingdao.connects == 1  # a refused write does not cost the session


def test_a_server_without_openssh_extensions_still_gets_whole_files(sshd_factory, connect):
    plain = sshd_factory("370200", deny="posix-rename,fsync,limits")
    qingdao = connect(plain, "370200")
    inbox = plain.accounts["370200"].inbox_dir
    payload = os.urandom(3 * 1024 * 1024)
    qingdao.deliver("A3.xml", io.BytesIO(b"old"))
    qingdao.deliver("A3.xml", io.BytesIO(payload))  # remove + rename replaces the old one
    assert [p.name for p in inbox.iterdir()] == ["A3.xml"]
    assert (inbox / "A3.xml").read_bytes() == payload
    assert (qingdao._read_size, qingdao._write_size) == (32768, 32768)  # no stated limits: the safe size
    (plain.accounts["370200"].outbox_dir / "A4.xml").write_bytes(payload)
    qingdao.scan()
    copy = io.BytesIO()
    qingdao.download(qingdao.scan().ready[0], copy)
    assert copy.getvalue() == payload
