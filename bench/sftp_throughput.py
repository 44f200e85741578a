"""SFTP throughput of the gateway's transport against OpenSSH's `sftp` client, on one real sshd, same run.

Prints upload and download MB/s of a 100 MB file (median of --runs) for SftpTransport on its kept session and
for `sftp -b` (batch mode; it must open its session each time, so its connect cost is measured apart and also
shown subtracted), the ratios, and the cost of one poll cycle (a scan of every city's outbox, one kept session
per city) over --cities cities on one server. Not part of the tests:

    .venv/bin/python bench/sftp_throughput.py [--size-mb 100] [--runs 5] [--cities 200]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paramiko  # noqa: E402

from adapters.sftp import SftpSettings, SftpTransport  # noqa: E402
from gateway.service.ports.transport import DropFile  # noqa: E402
from tests.support.sshd import Account, SshdServer  # noqa: E402

MB = 1024 * 1024


def settings(server: SshdServer, account: Account, **extra: object) -> SftpSettings:
    table = {
        "host": server.host, "port": server.port, "user": account.user, "private_key": str(account.key),
        "known_hosts": str(server.pin_file()), "outbox": account.outbox, "inbox": account.inbox,
    }
    return SftpSettings.from_mapping({**table, **extra}, server.base)


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def openssh(server: SshdServer, account: Account, commands: str) -> float:
    batch = server.base / "batch"
    batch.write_text(commands + "\n")
    argv = [
        "sftp", "-q", "-b", str(batch), "-i", str(account.key), "-P", str(server.port),
        "-o", f"UserKnownHostsFile={server.pin_file()}", "-o", "StrictHostKeyChecking=yes",
        "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", f"{account.user}@{server.host}",
    ]
    return timed(lambda: subprocess.run(argv, check=True, stdout=subprocess.DEVNULL))


def throughput(server: SshdServer, runs: int, size: int, extra: dict[str, object]) -> dict[str, list[float]]:
    account = server.accounts["370100"]
    source = server.base / "payload.bin"
    with source.open("wb") as out:
        for _ in range(size // MB):
            out.write(os.urandom(MB))
    local_copy = server.base / "copy.bin"
    transport = SftpTransport("370100", settings(server, account, **extra))
    transport.scan()  # open the session: the daemon keeps it across polls
    plain = plain_paramiko(server, account)
    keys = ("up", "down", "plain_up", "plain_down", "ssh_up", "ssh_down", "ssh_connect")
    times: dict[str, list[float]] = {key: [] for key in keys}
    item = DropFile("payload.bin", size, 0.0)
    for _ in range(runs):
        with source.open("rb") as src:
            times["up"].append(timed(lambda: transport.deliver("payload.bin", src)))
        (account.inbox_dir / "payload.bin").unlink()
        shutil.copyfile(source, account.outbox_dir / "payload.bin")
        with local_copy.open("wb") as dest:
            times["down"].append(timed(lambda: transport.download(item, dest)))
        assert local_copy.stat().st_size == size
        with source.open("rb") as src:
            times["plain_up"].append(timed(lambda: plain.putfo(src, f"{account.inbox}/plain.bin")))
        with local_copy.open("wb") as dest:
            times["plain_down"].append(timed(lambda: plain.getfo(f"{account.outbox}/payload.bin", dest)))
        times["ssh_up"].append(openssh(server, account, f"put {source} {account.inbox}/payload.bin"))
        times["ssh_down"].append(openssh(server, account, f"get {account.outbox}/payload.bin {local_copy}"))
        times["ssh_connect"].append(openssh(server, account, "pwd"))
        (account.inbox_dir / "payload.bin").unlink()
        (account.outbox_dir / "payload.bin").unlink()
        (account.inbox_dir / "plain.bin").unlink()
    transport.close()
    plain.close()
    return times


def plain_paramiko(server: SshdServer, account: Account) -> paramiko.SFTPClient:
    """paramiko with its defaults (putfo / getfo with prefetch), the starting point MEASURED.md recorded."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.load_host_keys(str(server.pin_file()))
    client.connect(server.host, port=server.port, username=account.user, key_filename=str(account.key),
                   look_for_keys=False, allow_agent=False)
    return client.open_sftp()


def report_throughput(times: dict[str, list[float]], size: int, label: str) -> None:
    median = {key: statistics.median(values) for key, values in times.items()}
    mb = size / MB
    rows = {
        "gateway (paramiko, kept session)": (mb / median["up"], mb / median["down"]),
        "paramiko defaults (putfo/getfo)": (mb / median["plain_up"], mb / median["plain_down"]),
        "OpenSSH sftp -b (connect included)": (mb / median["ssh_up"], mb / median["ssh_down"]),
        "OpenSSH sftp -b (connect subtracted)": (
            mb / (median["ssh_up"] - median["ssh_connect"]),
            mb / (median["ssh_down"] - median["ssh_connect"]),
        ),
    }
    print(f"\n{label}: {mb:.0f} MB file, median of {len(times['up'])} runs "
          f"(OpenSSH connect {median['ssh_connect'] * 1000:.0f} ms)")
    print(f"  {'':38} {'upload MB/s':>12} {'download MB/s':>14}")
    for name, (up, down) in rows.items():
        print(f"  {name:38} {up:12.1f} {down:14.1f}")
    gateway = rows["gateway (paramiko, kept session)"]
    for name in list(rows)[2:]:
        up, down = rows[name]
        print(f"  ratio gateway / {name:28} up {gateway[0] / up:.2f}   down {gateway[1] / down:.2f}")


def poll_cycle(cities: int, files_per_city: int, cycles: int) -> dict[str, float]:
    server = SshdServer()
    try:
        # One Unix account would do for the listing cost; as root that is root itself (no useradd x N).
        accounts = [server.add_account(f"c{n:04d}", own_user=False) for n in range(cities)]
        for account in accounts:
            for k in range(files_per_city):
                (account.outbox_dir / f"A3_{k}.xml").write_bytes(b"x" * 1000)
        server.start()
        transports = [SftpTransport(a.city, settings(server, a)) for a in accounts]
        connect = [timed(t.scan) for t in transports]  # first scan opens each city's session
        per_city: list[float] = []
        totals = []
        for _ in range(cycles):
            started = time.perf_counter()
            for transport in transports:
                per_city.append(timed(transport.scan))
            totals.append(time.perf_counter() - started)
        assert all(t.connects == 1 for t in transports)
        print(f"\npoll cycle: {cities} cities on one sshd, {files_per_city} files per outbox, {cycles} cycles")
        print(f"  first scan (opens the session): median {statistics.median(connect) * 1000:.1f} ms per city")
        print(f"  scan on the kept session: median {statistics.median(per_city) * 1000:.2f} ms, "
              f"p95 {statistics.quantiles(per_city, n=20)[18] * 1000:.2f} ms per city")
        print(f"  whole cycle, cities one after another: median {statistics.median(totals) * 1000:.0f} ms")
        for transport in transports:
            transport.close()
        return {"connect_ms": statistics.median(connect) * 1000, "scan_ms": statistics.median(per_city) * 1000,
                "cycle_ms": statistics.median(totals) * 1000}
    finally:
        server.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cities", type=int, default=200)
    parser.add_argument("--files", type=int, default=5, help="files waiting in each city's outbox")
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--window", type=int, action="append", default=[],
                        help="also try this SSH window size in bytes (repeatable)")
    args = parser.parse_args()
    size = args.size_mb * MB
    server = SshdServer()
    try:
        server.add_account("370100")
        server.start()
        report_throughput(throughput(server, args.runs, size, {}), size, "transfer, default window (2 MB)")
        for window in args.window:
            times = throughput(server, args.runs, size, {"window_size": window})
            report_throughput(times, size, f"transfer, window {window // MB} MB")
    finally:
        server.cleanup()
    if args.cities:
        poll_cycle(args.cities, args.files, args.cycles)
    return 0


if __name__ == "__main__":
    sys.exit(main())
