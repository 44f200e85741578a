"""Decisions locked per scope on PostgreSQL (adapters/postgres_ledger.py): units of work about different insured
cities run at once, units about one city (or one message id, or one file) wait for each other, a unit of
everything runs alone, and locks taken in one order never deadlock."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone


from adapters.postgres_ledger import DECISIONS, scope_key, scope_locks
from gateway.service.ports.ledger import EVERYTHING, Scope

JINAN, ZIBO, YANTAI = "370100", "370300", "370600"
HOLD = 0.5  # seconds the first unit keeps its locks



def _overlap(pg, first: Scope, second: Scope) -> bool:
    """Whether a unit of `second` (another instance) ran while one of `first` held its locks."""
    a, b = pg(), pg()
    inside, spans = threading.Event(), {}

    def hold() -> None:
        with a.unit_of_work(first):
            spans["a"] = time.monotonic()
            inside.set()
            time.sleep(HOLD)
            spans["a_end"] = time.monotonic()

    thread = threading.Thread(target=hold)
    thread.start()
    assert inside.wait(10)
    with b.unit_of_work(second):
        began = time.monotonic()
    thread.join()
    return began < spans["a_end"]


def test_units_about_different_insured_cities_run_at_the_same_time(pg) -> None:
    assert _overlap(pg, Scope(frozenset({JINAN})), Scope(frozenset({ZIBO})))
    assert _overlap(pg, Scope(messages=frozenset({"M-1"})), Scope(messages=frozenset({"M-2"})))
    assert _overlap(pg, Scope(frozenset({JINAN})), Scope())  # a snapshot waits for no decision


def test_units_about_one_city_one_id_or_one_file_wait_for_each_other(pg) -> None:
    assert not _overlap(pg, Scope(frozenset({JINAN, ZIBO})), Scope(frozenset({YANTAI, ZIBO})))
    assert not _overlap(pg, Scope(messages=frozenset({"M-1"})), Scope(frozenset({JINAN}), frozenset({"M-1"})))
    assert not _overlap(pg, Scope(files=frozenset({(ZIBO, "ab" * 32)})), Scope(files=frozenset({(ZIBO, "ab" * 32)})))


def test_a_unit_of_everything_runs_alone(pg) -> None:
    assert not _overlap(pg, Scope(frozenset({JINAN})), EVERYTHING)  # it waits for the decisions in progress
    assert not _overlap(pg, EVERYTHING, Scope(frozenset({ZIBO})))  # and they wait for it
    assert not _overlap(pg, EVERYTHING, Scope())


def test_locks_are_taken_in_one_order_and_many_crossing_units_never_deadlock(pg) -> None:
    # The rule at the top of adapters/postgres_ledger.py: DECISIONS first, then the keys in ascending order.
    scope = Scope(frozenset({JINAN, ZIBO}), frozenset({"M-1"}), frozenset({(ZIBO, "cd" * 32)}))
    statements = scope_locks(scope).split("; ")
    assert statements[0] == f"SELECT pg_advisory_xact_lock_shared({DECISIONS})"
    keys = [int(s.removeprefix("SELECT pg_advisory_xact_lock(").removesuffix(")")) for s in statements[1:]]
    assert keys == sorted(keys) and len(keys) == 4
    assert scope_key("city", JINAN) == scope_key("city", JINAN) != scope_key("id", JINAN)  # one key per kind and name

    ledgers = [pg() for _ in range(4)]
    cities = [JINAN, ZIBO, YANTAI, "370700"]

    def unit(i: int) -> int:
        # Each names its cities in another order and crosses the others' (and a few run alone).
        mine = frozenset({cities[i % 4], cities[(i + 1) % 4], cities[(i + 3) % 4]})
        with ledgers[i % 4].unit_of_work(EVERYTHING if i % 10 == 9 else Scope(mine)) as tx:
            tx.record_event(datetime.now(timezone.utc), "probe", cities[i % 4], {"i": i})
            time.sleep(0.002)
        return i

    with ThreadPoolExecutor(4) as pool:
        assert sorted(pool.map(unit, range(120))) == list(range(120))  # a deadlock would raise (and stop one)
    assert len(list(ledgers[0].events("probe"))) == 120


def test_sqlite_takes_every_scope_as_one_writer(tmp_path) -> None:
    from adapters.sqlite_ledger import SqliteLedger

    ledger = SqliteLedger(tmp_path / "l.sqlite3")
    with ledger.unit_of_work(Scope(frozenset({JINAN}))) as tx:  # accepted and ignored: BEGIN IMMEDIATE as ever
        tx.record_event(datetime.now(timezone.utc), "probe", JINAN, {})
    assert [k for _, k, _, _ in ledger.events("probe")] == ["probe"]
    ledger.close()
