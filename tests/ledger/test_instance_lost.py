"""A lost instance (its lease expired, no clean leave) is reported once, to one caller, whichever instance asks;
it may be lost again after it renews. SQLite runs one instance at a time: nobody else to lose."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor


from adapters.sqlite_ledger import SqliteLedger

CITIES = ["370100", "370300"]



def test_a_lost_instance_is_reported_once_whoever_asks(pg) -> None:
    a, b, c = pg(), pg(), pg()
    a.heartbeat("gw-a", CITIES, 30)
    c.heartbeat("gw-c", CITIES, 30)
    b.heartbeat("gw-b", CITIES, 0.5)  # then silent, as a SIGKILLed instance
    b.heartbeat("gw-gone", CITIES, 0.5)
    b.leave("gw-gone")  # a clean stop is no loss
    assert a.lost_instances("gw-a") == []  # not expired yet
    time.sleep(0.8)
    with ThreadPoolExecutor(2) as pool:  # the two live instances notice at the same moment
        found = list(pool.map(lambda pair: pair[0].lost_instances(pair[1]), [(a, "gw-a"), (c, "gw-c")]))
    assert sorted(len(f) for f in found) == [0, 1]
    [lost] = found[0] or found[1]
    assert (lost.instance, lost.alive) == ("gw-b", False) and lost.pid > 0 and lost.heartbeat_at
    assert a.lost_instances("gw-a") == [] and c.lost_instances("gw-c") == []
    assert [i.instance for i in a.instances() if not i.alive] == ["gw-b"]  # still shown as gone

    b.heartbeat("gw-b", CITIES, 0.5)  # it came back...
    assert a.lost_instances("gw-a") == []
    time.sleep(0.8)  # ...and was lost again: a new loss, reported again
    assert [i.instance for i in c.lost_instances("gw-c")] == ["gw-b"]


def test_an_instance_never_reports_itself(pg) -> None:
    a = pg()
    a.heartbeat("gw-a", CITIES, 0.5)
    time.sleep(0.8)
    assert a.lost_instances("gw-a") == []


def test_sqlite_has_no_other_instance_to_lose(tmp_path) -> None:
    ledger = SqliteLedger(tmp_path / "l.sqlite3")
    try:
        ledger.heartbeat("gw-a", CITIES, 0.5)
        time.sleep(0.6)
        assert ledger.lost_instances("gw-b") == [] and ledger.lost_instances("gw-a") == []
    finally:
        ledger.leave("gw-a")
        ledger.close()
