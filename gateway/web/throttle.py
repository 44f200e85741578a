"""The console's limit on guessing passwords: failed logins are counted per account name tried and per client
address; past the limit within the window, that account or address is locked out for a while (longer at each
lock-out in a row) and its logins are refused before bcrypt runs.

Why in the ledger and not in memory: several consoles on one PostgreSQL ledger (instances behind one address)
must count together, or a guesser gets the limit once per instance; a restart must not forgive either. The
counts are few short rows (table login_throttle, migration 0007) written only on a failure or a success.
Why per address too: a guesser trying many names from one place. Its default limit is higher than an
account's: behind an SSH tunnel every operator's address is 127.0.0.1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from gateway.service.ports.ledger import Ledger, LoginThrottle


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """`[console]` login_failures, address_failures, login_window, lockout, lockout_max."""

    failures: int = 5  # of one account name within `window`
    address_failures: int = 20  # of one client address within `window`
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)  # the first; each next one in a row lasts twice as long
    lockout_max: timedelta = timedelta(hours=24)  # the longest; also how long lock-outs count as in a row


def account_scope(name: str) -> str:
    return f"account {name[:40]}"


def address_scope(address: str) -> str:
    return f"address {address[:64]}"


def locked_until(row: LoginThrottle, now: datetime) -> datetime | None:
    return row.locked_until if row.locked_until is not None and row.locked_until > now else None


def after_failure(row: LoginThrottle, now: datetime, limit: int, limits: LoginLimits) -> LoginThrottle:
    """Pure: the scope's count after one more failure; reaching `limit` within the window locks it out."""
    in_window = row.window_started is not None and now - row.window_started < limits.window
    failures = (row.failures if in_window else 0) + 1
    if failures < limit:
        return replace(row, failures=failures, window_started=row.window_started if in_window else now)
    in_a_row = row.lockout_ended is not None and now - row.lockout_ended <= limits.lockout_max
    lockouts = row.lockouts if in_a_row else 0
    until = now + min(limits.lockout * (2 ** min(lockouts, 20)), limits.lockout_max)
    return LoginThrottle(row.scope, 0, None, until, lockouts + 1, until)


class LoginGuard:
    """The limit over the ledger: asked before a password is checked, told of each failure and success."""

    def __init__(self, ledger: Ledger, limits: LoginLimits) -> None:
        self.ledger, self.limits = ledger, limits

    def locked(self, name: str, address: str, now: datetime) -> datetime | None:
        """Until when this account or this address is locked out (the later of the two), or None."""
        rows = self.ledger.login_throttles([account_scope(name), address_scope(address)])
        ends = [until for row in rows if (until := locked_until(row, now)) is not None]
        return max(ends) if ends else None

    def failed(self, name: str, address: str, now: datetime) -> list[LoginThrottle]:
        """Count the failure for the account and the address; returns the scopes it locked out."""
        locked = []
        with self.ledger.unit_of_work() as tx:
            tx.forget_login_throttles(now - max(self.limits.window, self.limits.lockout_max))
            for scope, limit in ((account_scope(name), self.limits.failures),
                                 (address_scope(address), self.limits.address_failures)):
                row = tx.login_throttle(scope)
                if locked_until(row, now) is not None:
                    continue  # locked meanwhile by another console: nothing more to count
                new = after_failure(row, now, limit, self.limits)
                tx.keep_login_throttle(new)
                if new.locked_until != row.locked_until:
                    locked.append(new)
        return locked

    def succeeded(self, name: str) -> None:
        """A right password: the account's count starts again (its address's does not: a guesser may hold one
        account and try others)."""
        with self.ledger.unit_of_work() as tx:
            tx.keep_login_throttle(LoginThrottle(account_scope(name)))
