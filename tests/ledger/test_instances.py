"""Several instances on one ledger: leases on PostgreSQL (taken once, taken over when they expire), one
instance only on SQLite, decisions serialised, and a restarted database reconnected."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from gateway.service.ports.ledger import AnotherInstance
from adapters.sqlite_ledger import SqliteLedger
from tests.support.waiting import wait_for

from .test_ledger import T0, ZIBO, add_message

CITIES = ["370100", "370300", "370600", "370700"]



SHORT = 3  # seconds of lease in the sharing tests: a surplus drop is free after min(SHORT / 3, 2) = 1 s


def share(a, b, cities: list[str]) -> tuple[frozenset[str], frozenset[str]]:
    """a alone, then b arrives: a gives back its surplus, which b takes once the grace is over."""
    a.heartbeat("gw-a", cities, SHORT)
    b.heartbeat("gw-b", cities, SHORT)
    mine = a.heartbeat("gw-a", cities, SHORT)
    time.sleep(SHORT / 3 + 0.1)
    return mine, b.heartbeat("gw-b", cities, SHORT)


def _captures(ledger, n: int) -> None:
    with ledger.unit_of_work() as tx:
        for i in range(n):
            tx.add_capture(ZIBO, f"{i}.xml", f"{i:064x}", 10, 1.0, T0)


def test_a_second_instance_on_sqlite_is_refused_with_a_clear_error(tmp_path) -> None:
    first, second = SqliteLedger(tmp_path / "l.sqlite3"), SqliteLedger(tmp_path / "l.sqlite3")
    first.heartbeat("gw-a", CITIES, 30)
    with pytest.raises(AnotherInstance, match="SQLite allows one instance.*PostgreSQL"):
        second.heartbeat("gw-b", CITIES, 30)
    first.leave("gw-a")
    assert second.heartbeat("gw-b", CITIES, 30) == set(CITIES)  # the first one stopped: the lock is free
    first.close()
    second.close()


def test_instances_claim_disjoint_captures_and_a_dead_ones_expire_to_the_others(pg) -> None:
    a, b = pg(), pg()
    _captures(a, 40)
    with ThreadPoolExecutor(4) as pool:  # claims at the same moment: SKIP LOCKED, never the same row twice
        claims = list(pool.map(lambda who: (a if who % 2 else b).claim_captures(f"gw-{who}", 10, 30), range(4)))
    keys = [c.key for claim in claims for c in claim]
    assert len(keys) == 40 and len(set(keys)) == 40
    assert b.claim_captures("gw-9", 10, 30) == []  # all leased, none expired
    assert [c.key for c in a.claim_captures("gw-0", 50, 30)] == sorted(c.key for c in claims[0])  # its own again

    short = pg()
    _captures(short, 3)
    held = short.claim_captures("gw-dead", 3, 0.5)
    assert len(held) == 3 and b.claim_captures("gw-live", 10, 30) == []
    time.sleep(0.7)
    assert [c.key for c in b.claim_captures("gw-live", 10, 30)] == [c.key for c in held]  # taken over


def test_cities_are_shared_fairly_taken_over_after_expiry_and_given_back_on_leave(pg) -> None:
    a, b, c = pg(), pg(), pg()
    assert a.heartbeat("gw-a", CITIES, SHORT) == set(CITIES)  # alone: every drop
    assert b.heartbeat("gw-b", CITIES, SHORT) == set()  # nothing free yet
    mine = a.heartbeat("gw-a", CITIES, SHORT)  # two alive: a gives back the surplus...
    assert len(mine) == 2
    assert b.heartbeat("gw-b", CITIES, SHORT) == set()  # ...after a grace, its worker finishing the file in hand
    time.sleep(SHORT / 3 + 0.1)
    theirs = b.heartbeat("gw-b", CITIES, SHORT)
    assert theirs == set(CITIES) - mine and a.heartbeat("gw-a", CITIES, SHORT) == mine
    holders = {i.instance: set(i.cities) for i in c.instances()}
    assert holders == {"gw-a": mine, "gw-b": theirs}

    b.heartbeat("gw-b", CITIES, 0.5)  # b stops renewing (dies) with a short lease
    time.sleep(0.7)
    assert a.heartbeat("gw-a", CITIES, 30) == set(CITIES)  # b's drops taken over
    assert [i.alive for i in c.instances()] == [True, False]
    a.leave("gw-a")
    assert c.heartbeat("gw-c", CITIES, 30) == set(CITIES)  # given back at once, not after the lease


def test_decisions_are_serialised_across_instances(pg) -> None:
    a, b = pg(), pg()
    message = add_message(a)
    inside = threading.Event()
    spans: dict[str, tuple[float, float]] = {}

    def first() -> None:
        with a.unit_of_work() as tx:
            begun = time.monotonic()
            tx.get_message(message.key)
            inside.set()
            time.sleep(0.4)
            spans["a"] = (begun, time.monotonic())

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait(5)
    with b.unit_of_work() as tx:
        spans["b"] = (time.monotonic(), 0.0)
        tx.get_message(message.key)
    thread.join()
    assert spans["b"][0] >= spans["a"][1]  # b began only after a committed


def test_a_restarted_database_is_reconnected_without_losing_committed_work(pg, postgres_server) -> None:
    ledger = pg()
    message = add_message(ledger)
    postgres_server.stop("immediate")  # a crash: recovery at the next start
    postgres_server.start()
    for attempt in range(2):  # the broken connection fails once, then is made again
        try:
            assert [m.key for m in ledger.messages()] == [message.key]
            break
        except psycopg.OperationalError:
            assert attempt == 0
    with ledger.unit_of_work() as tx:
        assert tx.get_message(message.key).sha256 == message.sha256


def test_metrics_show_which_instance_holds_which_drop(pg) -> None:
    from gateway.service.contacts import ContactBoard
    from gateway.observability.metrics import GatewayMetrics

    a, b = pg(), pg()
    _captures(a, 2)
    share(a, b, CITIES[:2])
    a.claim_captures("gw-a", 5, 30)
    text = GatewayMetrics(a, ContactBoard()).exposition().decode()
    held = {line for line in text.splitlines() if line.startswith("ltcgw_city_held{")}
    assert len(held) == 2 and any('gateway_instance="gw-a"' in h for h in held) and any('gateway_instance="gw-b"' in h for h in held)
    assert 'ltcgw_captures_leased{gateway_instance="gw-a"} 2.0' in text and 'ltcgw_instance_up{gateway_instance="gw-b"} 1.0' in text


def test_observability_queries_read_alike_on_postgresql(pg) -> None:
    ledger = pg()
    message = add_message(ledger)
    with ledger.unit_of_work() as tx:
        tx.record_event(T0, "alert", ZIBO, {"kind": "first"})
        tx.record_event(T0, "alert", ZIBO, {"kind": "second"})
    assert ledger.message_counts() == [("A3", "RECEIVED", ZIBO, 1)] and message.type == "A3"
    assert [d["kind"] for _, _, _, d in ledger.recent_events("alert", limit=1)] == ["second"]
    assert ledger.writable_problem() is None
    assert [k for _, k, _, _ in ledger.events()] == ["alert", "alert"]  # the probe's write was rolled back


def test_files_owed_to_a_city_are_announced_to_the_instance_that_holds_it(pg) -> None:
    a, b = pg(), pg()
    assert a.wait_owed(0.1) == set()  # listening from here on
    b.announce_owed({"370100", "370300"})
    got: set[str] = set()  # the announcements may come in more than one notification
    wait_for(lambda: got.update(a.wait_owed(0.5)) or got, until=lambda cities: cities == {"370100", "370300"},
             seconds=5, every=0, what="both cities announced to the other instance (cities heard)")
