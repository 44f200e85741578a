"""Faults a city's SFTP server brings: restarts, changed or unknown host keys, unsafe keys, several cities."""

from __future__ import annotations

import io
import signal
import socket
import threading
import time

import paramiko
import pytest

from adapters.sftp import SftpTransport
from gateway.service.ports.transport import HostKeyRefused, Scan, TransportError
from tests.support.waiting import anything, wait_for


def test_sshd_stopped_and_restarted_the_transport_reconnects_and_continues(sshd, connect):
    jinan = connect(sshd, "370100")
    drop = sshd.accounts["370100"].outbox_dir
    assert jinan.scan() == Scan()
    sshd.stop()
    with pytest.raises(TransportError, match="370100: list the outbox: connection lost|cannot connect") as lost:
        jinan.scan()  # the dead session is noticed before or during the listing
    if "cannot connect" not in str(lost.value):
        with pytest.raises(TransportError, match="cannot connect"):
            jinan.scan()
    started = time.monotonic()
    with pytest.raises(TransportError, match="next attempt in"):
        jinan.scan()  # backing off: fails fast without touching the network
    assert time.monotonic() - started < 0.5

    (drop / "A3.xml").write_bytes(b"<Message/>")  # the backlog that built up while it was down
    sshd.start()
    # Polled like the daemon's loop until the backoff lets a new connection through.
    wait_for(jinan.scan, until=anything, retry_on=TransportError, seconds=6, every=0.1,
             what="a scan of 370100's outbox once its server is back")
    ready = jinan.scan().ready
    assert [item.name for item in ready] == ["A3.xml"]
    assert jinan.connects == 2


def test_backoff_doubles_with_jitter_up_to_its_ceiling_and_resets_on_success(sshd, settings_for):
    now = [0.0]
    settings = settings_for(sshd, "370100", backoff_initial=1, backoff_max=8)
    jinan = SftpTransport("370100", settings, clock=lambda: now[0], jitter=lambda: 1.0)
    sshd.stop()
    waits = []
    for _ in range(6):
        with pytest.raises(TransportError, match="cannot connect"):
            jinan.scan()
        waits.append(jinan._retry_at - now[0])
        with pytest.raises(TransportError, match="next attempt in"):
            jinan.scan()
        now[0] = jinan._retry_at
    assert waits == [1, 2, 4, 8, 8, 8]
    half = SftpTransport("370100", settings, clock=lambda: 0.0, jitter=lambda: 0.0)
    with pytest.raises(TransportError):
        half.scan()
    assert half._retry_at == 0.5  # jitter spreads the retry over half to all of the delay
    sshd.start()
    assert jinan.scan() == Scan()
    jinan.close()
    assert jinan._failures == 0 and jinan._retry_at == 0


def test_a_changed_host_key_is_refused_and_another_city_is_unaffected(sshd_factory, connect):
    jinan_server, qingdao_server = sshd_factory("370100"), sshd_factory("370200")
    jinan, qingdao = connect(jinan_server, "370100"), connect(qingdao_server, "370200")
    assert jinan.scan() == Scan() and qingdao.scan() == Scan()

    jinan_server.stop()
    jinan_server.replace_host_key()  # a different machine answering at the same address
    jinan_server.start()
    with pytest.raises(HostKeyRefused, match=r"370100: .* offered ssh-ed25519 host key SHA256:.*is pinned"):
        try:
            jinan.scan()
        except HostKeyRefused:
            raise
        except TransportError:  # the old session's loss may be noticed first, during the listing
            jinan.scan()
    qingdao.deliver("ACK_1.xml", io.BytesIO(b"ack"))
    assert qingdao.scan() == Scan()
    with pytest.raises(HostKeyRefused):
        jinan.scan()  # still refused while backing off, and never learnt
    report = jinan.check_connection()
    assert not report.ok and "host key" in report.problems[0]
    assert jinan.settings.known_hosts.read_text().strip() != jinan_server.known_hosts_line()


def test_a_host_key_of_another_type_than_the_pinned_one_is_refused(sshd, connect):
    other = paramiko.ECDSAKey.generate()
    pinned = f"[{sshd.host}]:{sshd.port} {other.get_name()} {other.get_base64()}"
    jinan = connect(sshd, "370100", known_hosts=None, host_key=pinned)
    with pytest.raises(HostKeyRefused, match="offered ssh-ed25519 host key"):
        jinan.scan()
    assert jinan.connects == 0


def test_a_server_not_pinned_at_all_is_refused_as_unknown(sshd, connect):
    jinan = connect(sshd, "370100")
    # The pin file is edited after the config check: now it only names another port of the same host.
    jinan.settings.known_hosts.write_text(sshd.known_hosts_line().replace(f":{sshd.port} ", ":2222 ", 1))
    with pytest.raises(HostKeyRefused, match=rf"no host key pinned for \[127.0.0.1\]:{sshd.port}; refused"):
        jinan.scan()
    assert jinan.connects == 0


def test_a_private_key_others_can_read_is_refused_before_connecting(sshd, connect):
    jinan = connect(sshd, "370100")
    jinan.settings.private_key.chmod(0o644)
    try:
        with pytest.raises(TransportError, match="mode 0644 lets group or others read"):
            jinan.scan()
    finally:
        jinan.settings.private_key.chmod(0o600)
    assert "Accepted publickey" not in sshd.log.read_text()


def test_two_cities_are_served_concurrently_by_their_own_transports(sshd, connect):
    cities = {city: connect(sshd, city) for city in ("370100", "370200")}
    errors: list[BaseException] = []

    def work(city: str, transport: SftpTransport) -> None:
        try:
            for n in range(10):
                transport.deliver(f"ACK_{n}.xml", io.BytesIO(f"{city}-{n}".encode() * 5000))
                (sshd.accounts[city].outbox_dir / f"A3_{n}.xml").write_bytes(city.encode() * 1000)
            taken: list[str] = []

            def take() -> list[str]:
                for item in transport.scan().ready:
                    copy = io.BytesIO()
                    transport.download(item, copy)
                    assert copy.getvalue() == city.encode() * 1000
                    transport.remove(item)
                    taken.append(item.name)
                return taken

            wait_for(take, until=lambda names: len(names) == 10, seconds=30, every=0.01,
                     what=f"{city}'s 10 files taken (taken so far)")
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=work, args=item) for item in cities.items()]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == [] and not any(worker.is_alive() for worker in workers)
    for city, transport in cities.items():
        inbox = sshd.accounts[city].inbox_dir
        assert sorted(p.name for p in inbox.iterdir()) == sorted(f"ACK_{n}.xml" for n in range(10))
        assert (inbox / "ACK_3.xml").read_bytes() == f"{city}-3".encode() * 5000
        assert transport.connects == 1


def test_check_connection_reports_what_it_found(sshd, connect):
    jinan = connect(sshd, "370100")
    (sshd.accounts["370100"].outbox_dir / "A3.xml").write_bytes(b"x")
    report = jinan.check_connection()
    assert report.ok and report.problems == []
    assert any("outbox" in line and "1 entries" in line for line in report.details)
    assert any("writable" in line for line in report.details)
    assert list(sshd.accounts["370100"].inbox_dir.iterdir()) == []  # the probe is gone
    sshd.stop()
    jinan.close()
    down = jinan.check_connection()
    assert not down.ok and "cannot connect" in down.problems[0]


def test_a_hung_server_costs_one_io_timeout_then_the_session_is_replaced(sshd, connect):
    jinan = connect(sshd, "370100", io_timeout=1)
    assert jinan.scan() == Scan()
    sshd.signal_sessions(signal.SIGSTOP)  # the server's session stops answering, the TCP connection stays up
    try:
        started = time.monotonic()
        with pytest.raises(TransportError, match="370100: list the outbox: connection lost \\(timed out\\)"):
            jinan.scan()
        assert 0.9 < time.monotonic() - started < 5
    finally:
        sshd.signal_sessions(signal.SIGCONT)
    assert jinan.scan() == Scan()  # a new session
    assert jinan.connects == 2


def test_a_server_that_never_answers_costs_one_connect_timeout(connect, sshd):
    with socket.socket() as black_hole:  # accepts TCP connections, never says a word
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen()
        jinan = connect(sshd, "370100", port=black_hole.getsockname()[1], connect_timeout=1,
                        host_key=sshd.known_hosts_line().split(" ", 1)[1], known_hosts=None)
        started = time.monotonic()
        with pytest.raises(TransportError, match="370100: cannot connect"):
            jinan.scan()
        assert time.monotonic() - started < 5


def test_a_key_the_server_does_not_know_is_a_clear_login_failure(sshd, connect):
    jinan = connect(sshd, "370100")
    (sshd.base / "authorized" / sshd.accounts["370100"].user).write_text("")
    with pytest.raises(TransportError, match="did not let user .* in with the key"):
        jinan.scan()
