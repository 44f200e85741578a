"""The operators' web console: pages over the ledger, served by the daemon or alone.

`start_console` serves a ConsoleApp from plain settings; the composition root (gateway/bootstrap.py) gives it
the ledger, the spool, the transfer log and, inside `ltcgw run`, the way to resend. gateway/web/app.py is the
application, queries.py what the pages show, security.py the token, CSRF and header rules, server.py the
thread that serves it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gateway.domain.lifecycle import RetryPolicy
from gateway.service.ports.events import EventLog
from gateway.service.ports.ledger import Ledger
from gateway.service.ports.spool import Spool
from gateway.web.app import ConsoleApp
from gateway.web.server import ConsoleServer
from gateway.web.settings import ConsoleSettings


def start_console(settings: ConsoleSettings, ledger: Ledger, spool: Spool, log: EventLog, *, cities: Mapping[str, str],
                  policy: RetryPolicy, resend: Callable[[str], str] | None = None,
                  contacts: Callable[[], Mapping[str, Any]] | None = None) -> ConsoleServer:
    """Serve the console in a background thread (OSError when its port cannot be bound); `resend` None keeps
    it read-only."""
    app = ConsoleApp(ledger, spool, log, policy=policy, cities=dict(cities), settings=settings, resend=resend,
                     contacts=contacts)
    server = ConsoleServer(app, settings.host, settings.port)
    app.listening_on(settings.host, server.port)
    return server.start()


__all__ = ["ConsoleApp", "ConsoleServer", "ConsoleSettings", "start_console"]
