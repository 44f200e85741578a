"""Measure the console's serving candidates: start time (fresh interpreter: import, bind, first page) and
requests/s (a page rendered by Jinja2 with 50 rows, 4 client threads with keep-alive, 3 s).

    python scripts/console_bench.py [wsgiref|flask-waitress|flask-cheroot|starlette-uvicorn ...]

A candidate whose packages are missing is reported and skipped. Figures in docs/operations.md ("Why Flask and
waitress").
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time

ROWS = [{"id": f"A3370300370200202610{n:08d}", "state": "DELIVERED", "city": "370200"} for n in range(50)]
TEMPLATE = ("<!doctype html><title>t</title><table>{% for r in rows %}<tr><td>{{ r.id }}</td><td>{{ r.state }}</td>"
            "<td>{{ r.city }}</td></tr>{% endfor %}</table>")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(name: str, port: int) -> None:
    """Serve the candidate in a background thread (as the daemon would) and return once it listens."""
    from jinja2 import Environment

    template = Environment(autoescape=True).from_string(TEMPLATE)
    if name == "wsgiref":
        from socketserver import ThreadingMixIn
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args):
                pass

        class Threading(ThreadingMixIn, WSGIServer):
            daemon_threads = True

        def app(environ, start_response):
            body = template.render(rows=ROWS).encode()
            start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))])
            return [body]

        httpd = make_server("127.0.0.1", port, app, server_class=Threading, handler_class=Quiet)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
    elif name.startswith("flask-"):
        from flask import Flask

        flask = Flask("bench")

        @flask.get("/")
        def page():
            return template.render(rows=ROWS)

        if name == "flask-waitress":
            from waitress.server import create_server

            server = create_server(flask, host="127.0.0.1", port=port, threads=4)
            threading.Thread(target=server.run, daemon=True).start()
        else:
            from cheroot.wsgi import Server

            server = Server(("127.0.0.1", port), flask, numthreads=4)
            server.prepare()
            threading.Thread(target=server.serve, daemon=True).start()
    elif name == "starlette-uvicorn":
        import uvicorn
        from starlette.applications import Starlette
        from starlette.responses import HTMLResponse
        from starlette.routing import Route

        def page(request):  # sync: run in the thread pool, as the ledger's calls would be
            return HTMLResponse(template.render(rows=ROWS))

        server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/", page)]), host="127.0.0.1", port=port,
                                               log_level="warning", access_log=False))
        threading.Thread(target=server.run, daemon=True).start()
    else:
        raise SystemExit(f"unknown candidate {name}")


def _get(conn: http.client.HTTPConnection) -> None:
    conn.request("GET", "/")
    response = conn.getresponse()
    response.read()
    assert response.status == 200


def child(name: str) -> None:
    started = time.perf_counter()
    port = _port()
    serve(name, port)
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            _get(conn)
            conn.close()
            break
        except OSError:
            time.sleep(0.005)
    first = time.perf_counter() - started
    count, stop = [0] * 4, time.perf_counter() + 3

    def client(i: int) -> None:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        while time.perf_counter() < stop:
            _get(c)
            count[i] += 1
        c.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"candidate": name, "start_s": round(first, 3), "requests_per_s": round(sum(count) / 3)}))


def main(names: list[str]) -> None:
    for name in names or ["wsgiref", "flask-waitress", "flask-cheroot", "starlette-uvicorn"]:
        try:
            done = subprocess.run([sys.executable, __file__, "--child", name], capture_output=True, text=True,
                                  timeout=60)
        except subprocess.TimeoutExpired:
            print(f"{name}: no answer within 60 s")
            continue
        print(done.stdout.strip() or f"{name}: skipped ({done.stderr.strip().splitlines()[-1]})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    else:
        main(sys.argv[1:])
