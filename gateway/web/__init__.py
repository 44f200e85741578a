"""The operators' web console (issue 5): read-only pages over the ledger, served by the daemon or alone.

`start_console` wires a ConsoleApp from a Config; gateway/web/app.py is the application, queries.py what the
pages show, security.py the token, CSRF and header rules, server.py the thread that serves it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.ledger import Ledger
    from adapters.spool import Spool
    from gateway.config import Config
    from gateway.web.server import ConsoleServer


def start_console(config: "Config", ledger: "Ledger", spool: "Spool", *, resend: Callable[[str], str] | None = None,
                  host: str | None = None, port: int | None = None,
                  contacts: Callable[[], Any] | None = None) -> "ConsoleServer":
    """Serve the console for `config` in a background thread; `resend` None keeps it read-only."""
    from gateway.web.app import ConsoleApp
    from gateway.web.server import ConsoleServer

    settings = config.console
    settings = replace(settings, host=host or settings.host, port=settings.port if port is None else port)
    cities = {code: city.name for code, city in config.cities.items()}
    app = ConsoleApp(ledger, spool, policy=config.retry, cities=cities, settings=settings, resend=resend,
                     contacts=contacts)
    server = ConsoleServer(app, settings.host, settings.port)
    app.listening_on(settings.host, server.port)
    return server.start()


def start_with_daemon(config: "Config", gw, engine) -> "ConsoleServer":
    """The console inside `ltcgw run`: resend goes through the service, and wakes the receiver's worker."""
    from gateway.service import events
    from gateway.service.resend import resend_by_hand

    def resend(message_id: str) -> str:
        city = resend_by_hand(gw, message_id, cause="operator: web console resend")
        worker = engine.workers.get(city)
        if worker is not None:
            worker.wake.set()
        return city

    board = getattr(engine, "contacts", None)  # per-city contact (gateway/observability/health.py ContactBoard)
    server = start_console(config, gw.ledger, gw.spool, resend=resend, contacts=board.snapshot if board else None)
    events.emit("console_started", name=server.url)
    return server
