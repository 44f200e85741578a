"""The operators' web console: pages over the ledger behind a login, served by the daemon or alone.

`start_console` serves a ConsoleApp from plain settings; the composition root (gateway/bootstrap.py) gives it
the ledger, the spool, the transfer log, the cities' directory and a month's settlement and, inside
`ltcgw run`, the way to resend. gateway/web/app.py is the Flask application, accounts.py the logins and
roles, queries.py what the pages show, security.py the Host and header rules, server.py waitress in a thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gateway.domain.lifecycle import RetryPolicy
from gateway.service.ports.events import EventLog
from gateway.service.ports.ledger import Ledger
from gateway.service.ports.spool import Spool
from gateway.web.app import ConsoleApp
from gateway.web.queries import CityEntry, MonthSettlement
from gateway.web.server import ConsoleServer
from gateway.web.settings import ConsoleSettings


def start_console(settings: ConsoleSettings, ledger: Ledger, spool: Spool, log: EventLog, *, cities: Mapping[str, str],
                  policy: RetryPolicy, resend: Callable[..., str] | None = None,
                  contacts: Callable[[], Mapping[str, Any]] | None = None,
                  directory: Callable[[], Sequence[CityEntry]] | None = None,
                  deadlines: Callable[[str], MonthSettlement] | None = None) -> ConsoleServer:
    """Serve the console in a background thread (OSError when its port cannot be bound); `resend` None keeps
    it read-only."""
    app = ConsoleApp(ledger, spool, log, policy=policy, cities=dict(cities), settings=settings, resend=resend,
                     contacts=contacts, directory=directory, deadlines=deadlines)
    server = ConsoleServer(app, settings.host, settings.port)
    app.listening_on(settings.host, server.port)
    return server.start()


__all__ = ["CityEntry", "ConsoleApp", "ConsoleServer", "ConsoleSettings", "MonthSettlement", "start_console"]
