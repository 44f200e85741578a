"""Serving the console: the standard library's WSGI server, one thread per request, in a daemon thread.

Loopback traffic from a handful of operators needs nothing more; request lines are not logged (query strings
hold search text) and errors go to the transfer log as alerts by the application itself.
"""

from __future__ import annotations

import socket
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from gateway.web.app import ConsoleApp


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _ThreadingServer6(_ThreadingServer):
    address_family = socket.AF_INET6


class ConsoleServer:
    """The console on `host:port` (port 0: a free one, see `.port`), served by a background thread."""

    def __init__(self, app: ConsoleApp, host: str, port: int) -> None:
        self.app = app
        server_class = _ThreadingServer6 if ":" in host else _ThreadingServer
        self.httpd = make_server(host, port, app, server_class=server_class, handler_class=_QuietHandler)
        self.host = host
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="console", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> "ConsoleServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)
