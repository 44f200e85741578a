"""The local drop: only complete regular files are taken; links, FIFOs and folders never opened."""

from __future__ import annotations

import io
import os
import time

import pytest

from adapters.local import LocalTransport
from gateway.service.ports.transport import Transport, TransportError


@pytest.fixture
def drop(tmp_path):
    (tmp_path / "outbox").mkdir()
    (tmp_path / "inbox").mkdir()
    clock = {"now": time.time()}
    transport = LocalTransport("370300", tmp_path, settle_seconds=1.0, clock=lambda: clock["now"])
    return transport, clock


def _taken(transport, clock, name: str, data: bytes):
    """A file written, seen twice and settled: ready to be taken."""
    path = transport.outbox / name
    path.write_bytes(data)
    clock["now"] += 10
    transport.scan()
    [item] = transport.scan().ready
    return path, item


def _names(scan) -> list[str]:
    return [f.name for f in scan.ready]


def test_it_is_a_transport(drop) -> None:
    assert isinstance(drop[0], Transport)


def test_temporary_and_hidden_names_are_never_taken(drop) -> None:
    transport, clock = drop
    for name in ("a.xml.part", "b.tmp", ".hidden.xml", "c.filepart"):
        (transport.outbox / name).write_bytes(b"x")
    clock["now"] += 10
    transport.scan()
    scan = transport.scan()
    assert scan.ready == [] and scan.waiting == 0 and scan.refused == []


def test_a_growing_file_waits_until_size_and_mtime_hold_still(drop) -> None:
    transport, clock = drop
    path = transport.outbox / "a.xml"
    path.write_bytes(b"<Mess")
    assert transport.scan().waiting == 1  # first look
    with open(path, "ab") as f:
        f.write(b"age>")
    clock["now"] = time.time() + 5
    assert _names(transport.scan()) == []  # changed since the last look
    assert _names(transport.scan()) == ["a.xml"]  # held still across two looks, and settled


def test_two_quick_looks_are_not_enough_while_the_writer_may_still_be_busy(drop) -> None:
    transport, clock = drop
    (transport.outbox / "a.xml").write_bytes(b"data")
    clock["now"] = time.time()
    transport.scan()
    assert _names(transport.scan()) == []  # same size twice, but written less than settle_seconds ago
    clock["now"] += 2
    assert _names(transport.scan()) == ["a.xml"]


def test_a_file_renamed_into_the_outbox_is_taken_at_once(drop) -> None:
    transport, _ = drop
    (transport.outbox / "a.xml.part").write_bytes(b"data")
    os.rename(transport.outbox / "a.xml.part", transport.outbox / "a.xml")
    transport.note_moved("a.xml")  # what the watchdog `moved` event says
    assert _names(transport.scan()) == ["a.xml"]


def test_links_fifos_and_folders_are_refused_and_never_followed(drop, tmp_path) -> None:
    transport, clock = drop
    secret = tmp_path / "secret.xml"
    secret.write_bytes(b"not yours")
    (transport.outbox / "link.xml").symlink_to(secret)
    os.mkfifo(transport.outbox / "pipe.xml")
    (transport.outbox / "folder.xml").mkdir()
    clock["now"] += 10
    scan = transport.scan()
    assert scan.ready == []
    reasons = {r.name: r.reason for r in scan.refused}
    assert set(reasons) == {"link.xml", "pipe.xml", "folder.xml"}
    assert "symbolic link" in reasons["link.xml"] and "FIFO" in reasons["pipe.xml"]


def test_a_file_swapped_for_a_link_after_the_scan_is_not_read(drop, tmp_path) -> None:
    transport, clock = drop
    path, item = _taken(transport, clock, "a.xml", b"data")
    path.unlink()
    (tmp_path / "secret").write_bytes(b"data")
    path.symlink_to(tmp_path / "secret")
    with pytest.raises(TransportError):
        transport.download(item, io.BytesIO())


def test_download_then_remove_and_a_replaced_file_is_not_removed(drop) -> None:
    transport, clock = drop
    path, item = _taken(transport, clock, "a.xml", b"first")
    sink = io.BytesIO()
    assert transport.download(item, sink) == 5 and sink.getvalue() == b"first"
    path.write_bytes(b"second version")  # the city replaced it meanwhile
    transport.remove(item)
    assert path.read_bytes() == b"second version"
    clock["now"] += 10
    transport.scan()
    [item] = transport.scan().ready
    assert item.size == len(b"second version")
    transport.remove(item)
    assert not path.exists()


def test_delivery_is_atomic_and_replaces_the_same_name(drop) -> None:
    transport, _ = drop
    transport.deliver("A3_x.xml", io.BytesIO(b"one"))
    transport.deliver("A3_x.xml", io.BytesIO(b"two"))
    assert [p.name for p in transport.inbox.iterdir()] == ["A3_x.xml"]
    assert (transport.inbox / "A3_x.xml").read_bytes() == b"two"
    with pytest.raises(ValueError):
        transport.deliver("../escape.xml", io.BytesIO(b"x"))
    (transport.inbox / ".A3_y.xml.0badc0de.part").write_bytes(b"half")  # left by a crash
    assert transport.clean_temporaries() == 1


def test_an_unreachable_drop_is_a_transport_error(tmp_path) -> None:
    transport = LocalTransport("370300", tmp_path / "missing")
    with pytest.raises(TransportError):
        transport.scan()
    with pytest.raises(TransportError):
        transport.deliver("a.xml", io.BytesIO(b"x"))
