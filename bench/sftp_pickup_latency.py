"""How long a file waits in a city's SFTP outbox before the daemon takes it, for several `poll_interval`s.

The SFTP transport takes a file once its size and mtime held still over two listings (adapters/sftp.py
`stable_polls`); the city worker lists again after min(poll_interval, 1 s) when a file is waiting, so the wait is
about U(0, poll_interval) until the first listing plus the second look. This measures it end to end: a real
OpenSSH sshd on loopback, the daemon's engine and city workers in this process, files renamed into the outbox
at random moments (as a city's system does), timed until the file has left the outbox (captured: in the
spool and the ledger). Usage: .venv/bin/python bench/sftp_pickup_latency.py [--files 8] [--intervals 10,5,2,1]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
import sys

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.bootstrap import build_gateway  # noqa: E402
from gateway.config import load_config  # noqa: E402
from gateway.service.daemon import Engine  # noqa: E402
from gateway.workspace.layout import write_workspace  # noqa: E402
from tests.support.sshd import SshdServer  # noqa: E402

JINAN, ZIBO = "370100", "370300"


def measure(server: SshdServer, poll: float, files: int, rng: random.Random) -> list[float]:
    account = server.accounts[ZIBO]
    root = Path(tempfile.mkdtemp(prefix="ltcgw-latency-"))
    config = write_workspace(root, [JINAN, ZIBO], retry=["1h"])
    table = "\n".join([
        'kind = "sftp"', f'host = "{server.host}"', f"port = {server.port}", f'user = "{account.user}"',
        f'private_key = "{account.key}"', f'known_hosts = "{server.pin_file()}"', f'outbox = "{account.outbox}"',
        f'inbox = "{account.inbox}"', f"poll_interval = {poll}"])
    config.write_text(config.read_text().replace(f'kind = "local"\ndrop = "drops/{ZIBO}"', table))
    gw = build_gateway(load_config(config))
    engine = Engine(gw, rescan_seconds=5)
    runner = threading.Thread(target=engine.run_forever, daemon=True)
    runner.start()
    waits = []
    try:
        time.sleep(poll + 1)  # the worker's first listing (connect included) is behind us
        for i in range(files):
            time.sleep(rng.uniform(0, poll))  # arrivals at any phase of the polling
            name = f"A3_{i:04d}.xml"
            part = account.outbox_dir / f".{name}.part"
            part.write_bytes(b"<Message/>" * 100)
            part.rename(account.outbox_dir / name)
            start = time.monotonic()
            while (account.outbox_dir / name).exists():
                time.sleep(0.01)
            waits.append(time.monotonic() - start)
    finally:
        engine.stopping.set()
        engine.wake.set()
        runner.join(timeout=30)
        gw.ledger.close()
    return waits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8, help="files per interval")
    parser.add_argument("--intervals", default="10,5,2,1", help="poll_interval values, comma-separated")
    args = parser.parse_args()
    rng = random.Random(14)
    server = SshdServer()
    server.add_account(ZIBO)
    server.start()
    try:
        for poll in (float(p) for p in args.intervals.split(",")):
            waits = measure(server, poll, args.files, rng)
            print(json.dumps({"poll_interval": poll, "files": len(waits), "median_s": round(statistics.median(waits), 2),
                              "mean_s": round(statistics.mean(waits), 2), "min_s": round(min(waits), 2),
                              "max_s": round(max(waits), 2)}), flush=True)
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
