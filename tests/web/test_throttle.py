"""The console's limit on failed logins, as a rule (gateway/web/throttle.py): counted within a window, a
lock-out at the limit, each next one in a row twice as long up to the most, a quiet spell starting again."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from gateway.service.ports.ledger import LoginThrottle
from gateway.web.throttle import LoginLimits, after_failure, locked_until

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)
LIMITS = LoginLimits(failures=3, window=timedelta(minutes=15), lockout=timedelta(minutes=15),
                     lockout_max=timedelta(hours=1))


def fail(row: LoginThrottle, at: datetime, times: int = 1) -> LoginThrottle:
    for _ in range(times):
        row = after_failure(row, at, LIMITS.failures, LIMITS)
    return row


def test_failures_within_the_window_lock_out_and_old_ones_are_forgotten() -> None:
    row = fail(LoginThrottle("account otto"), T0, 2)
    assert (row.failures, locked_until(row, T0)) == (2, None)
    later = fail(row, T0 + timedelta(minutes=16))  # the first two are out of the window
    assert (later.failures, later.window_started) == (1, T0 + timedelta(minutes=16))
    locked = fail(row, T0 + timedelta(minutes=1))
    assert locked_until(locked, T0 + timedelta(minutes=2)) == T0 + timedelta(minutes=16)
    assert locked_until(locked, T0 + timedelta(minutes=16)) is None  # over


def test_each_lock_out_in_a_row_lasts_twice_as_long_up_to_the_most() -> None:
    row, at, spans = LoginThrottle("address 10.0.0.1"), T0, []
    for _ in range(4):
        row = fail(row, at, 3)
        assert row.locked_until is not None
        spans.append(row.locked_until - at)
        at = row.locked_until + timedelta(seconds=1)
    assert spans == [timedelta(minutes=15), timedelta(minutes=30), timedelta(hours=1), timedelta(hours=1)]
    quiet = fail(row, at + LIMITS.lockout_max, 3)  # longer than lockout_max after the last: from the start
    assert quiet.locked_until - (at + LIMITS.lockout_max) == timedelta(minutes=15) and quiet.lockouts == 1
