"""Pickup from a city's outbox on a real sshd: only complete, regular files, byte for byte."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from gateway.service.ports.transport import DropFile, Scan, TransportError


def names(files: list[DropFile]) -> list[str]:
    return [item.name for item in files]


def test_a_complete_file_is_taken_after_two_unchanged_polls_and_removed_remotely(sshd, connect):
    jinan = connect(sshd, "370100")
    drop = sshd.accounts["370100"].outbox_dir
    (drop / "A3_370100_202610.xml").write_bytes(b"<Message/>")

    first = jinan.scan()
    assert first.ready == [] and first.waiting == 1
    second = jinan.scan()
    assert names(second.ready) == ["A3_370100_202610.xml"]
    item = second.ready[0]
    assert item.size == len(b"<Message/>")

    copy = io.BytesIO()
    assert jinan.download(item, copy) == item.size
    assert copy.getvalue() == b"<Message/>"
    assert (drop / item.name).exists()  # removal waits for the daemon's spool+ledger commit
    jinan.remove(item)
    assert not (drop / item.name).exists()
    assert jinan.scan() == Scan()
    jinan.remove(item)  # removing again (a retry after a crash) is harmless
    assert jinan.connects == 1  # every call above went over one kept session


def test_temporary_and_hidden_names_are_never_taken(sshd, connect):
    jinan = connect(sshd, "370100")
    drop = sshd.accounts["370100"].outbox_dir
    for name in (".A3.xml", "A3.xml.part", "A3.xml.tmp", "A3.xml.filepart"):
        (drop / name).write_bytes(b"partial")
    for _ in range(3):
        assert jinan.scan() == Scan()


def test_links_folders_and_other_non_files_are_refused_not_followed(sshd, connect):
    jinan = connect(sshd, "370100")
    drop = sshd.accounts["370100"].outbox_dir
    secret = sshd.base / "elsewhere.xml"
    secret.write_bytes(b"not in the drop")
    (drop / "link.xml").symlink_to(secret)
    (drop / "folder.xml").mkdir()
    os.mkfifo(drop / "pipe.xml")
    for _ in range(2):
        scan = jinan.scan()
    assert scan.ready == []
    reasons = {refusal.name: refusal.reason for refusal in scan.refused}
    assert set(reasons) == {"link.xml", "folder.xml", "pipe.xml"}
    assert "symbolic link" in reasons["link.xml"] and "folder" in reasons["folder.xml"]


def test_a_growing_file_is_not_taken_until_it_stops_growing(sshd, connect):
    jinan = connect(sshd, "370100")
    path = sshd.accounts["370100"].outbox_dir / "A3_growing.xml"
    with path.open("wb") as writer:
        for _ in range(4):
            writer.write(b"x" * 1000)
            writer.flush()
            scan = jinan.scan()  # each poll sees a new size: never ready while the writer goes on
            assert scan.ready == [] and scan.waiting == 1
    ready = jinan.scan().ready  # the last poll saw the final size; this one confirms it
    assert [(item.name, item.size) for item in ready] == [("A3_growing.xml", 4000)]


def test_a_file_that_changes_after_listing_is_not_downloaded(sshd, connect):
    jinan = connect(sshd, "370100")
    path = sshd.accounts["370100"].outbox_dir / "A3.xml"
    path.write_bytes(b"first")
    jinan.scan()
    item = jinan.scan().ready[0]
    path.write_bytes(b"rewritten, longer")
    with pytest.raises(TransportError, match="changed since listed"):
        jinan.download(item, io.BytesIO())
    assert jinan.scan().ready == []  # it must be seen stable again
    assert names(jinan.scan().ready) == ["A3.xml"]


def test_done_marker_mode_takes_a_file_only_once_its_marker_exists_and_removes_both(sshd, connect):
    jinan = connect(sshd, "370100", done_marker=".done")
    drop = sshd.accounts["370100"].outbox_dir
    (drop / "A3.xml").write_bytes(b"<Message/>")
    for _ in range(3):  # stable for many polls, still not taken without its marker
        scan = jinan.scan()
        assert scan.ready == [] and scan.waiting == 1
    (drop / "A3.xml.done").write_bytes(b"")
    (drop / "orphan.xml.done").write_bytes(b"")  # a marker alone is nothing to take
    ready = jinan.scan().ready  # the marker says complete: no second poll needed
    assert names(ready) == ["A3.xml"]
    jinan.remove(ready[0])
    assert sorted(p.name for p in drop.iterdir()) == ["orphan.xml.done"]


@pytest.mark.slow
def test_a_multi_megabyte_download_is_byte_identical(sshd, connect, tmp_path: Path):
    jinan = connect(sshd, "370100")
    payload = os.urandom(24 * 1024 * 1024 + 12345)
    (sshd.accounts["370100"].outbox_dir / "A3_big.xml").write_bytes(payload)
    jinan.scan()
    item = jinan.scan().ready[0]
    spooled = tmp_path / "spooled"
    with spooled.open("wb") as dest:
        assert jinan.download(item, dest) == len(payload)
    assert hashlib.sha256(spooled.read_bytes()).hexdigest() == hashlib.sha256(payload).hexdigest()
