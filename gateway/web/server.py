"""Serving the console: waitress (a production WSGI server, pure Python, no dependencies) in a thread of the
daemon or of `ltcgw console`.

Four worker threads are plenty for a few operators; request lines are not logged (query strings hold search
text) and errors go to the transfer log as alerts by the application itself. Stopping closes the listening
socket and every open connection, then the loop ends within its one-second poll.
"""

from __future__ import annotations

import threading

from waitress import wasyncore
from waitress.server import create_server

from gateway.web.app import ConsoleApp


class ConsoleServer:
    """The console on `host:port` (port 0: a free one, see `.port`), served by a background thread."""

    def __init__(self, app: ConsoleApp, host: str, port: int) -> None:
        self.app = app
        self._map: dict = {}
        # ident="": no server name in responses; OSError when the port is taken (the daemon alerts and goes on)
        self.server = create_server(app, map=self._map, host=host, port=port, threads=4, ident="",
                                    clear_untrusted_proxy_headers=True, expose_tracebacks=False)
        self.host = host
        self.port = int(self.server.effective_port)  # type: ignore[union-attr]
        self._thread = threading.Thread(target=self.server.run, name="console", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> "ConsoleServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.task_dispatcher.shutdown()
        wasyncore.close_all(self._map)
        self._thread.join(timeout=5)
