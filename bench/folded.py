"""Sections 4, 6 and 7: the earlier stand-alone benchmarks (sftp_throughput.py, ledger_instances.py,
signature_algorithms.py; each still runs alone) folded into the table, each figure beside its reference."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from bench.common import MB, Figure, median

SECTION_4 = "4. SFTP"
SECTION_6 = "6. ledger instances"
SECTION_7 = "7. signature algorithms"


def sftp(size_mb: int, runs: int, cities: int) -> list[Figure]:
    from bench import sftp_throughput as s
    from tests.support.sshd import SshdServer

    size = size_mb * MB
    server = SshdServer()
    try:
        server.add_account("370100")
        server.start()
        with contextlib.redirect_stdout(io.StringIO()):
            times = s.throughput(server, runs, size, {})
    finally:
        server.cleanup()
    m = {key: median(values) for key, values in times.items()}
    with contextlib.redirect_stdout(io.StringIO()):
        poll = s.poll_cycle(cities, 5, 3)
    what = f"{size_mb} MB file, median of {runs}; OpenSSH `sftp -b` opens its session each time (connect included)"
    return [
        Figure(SECTION_4, "upload: gateway's SftpTransport (kept session)", size_mb / m["up"], "MB/s",
               "OpenSSH sftp", size_mb / m["ssh_up"], ">= OpenSSH", m["up"] <= m["ssh_up"], True, what),
        Figure(SECTION_4, "download: gateway's SftpTransport (kept session)", size_mb / m["down"], "MB/s",
               "OpenSSH sftp", size_mb / m["ssh_down"], ">= OpenSSH", m["down"] <= m["ssh_down"], True, what),
        Figure(SECTION_4, f"poll cycle over {cities} cities (one kept session each)", poll["cycle_ms"], "ms",
               "one first scan (opening a session)", poll["connect_ms"], "", None, False,
               f"a scan on a kept session: median {poll['scan_ms']:.2f} ms per city"),
    ]


def ledgers(base: Path, messages: int, persons: int) -> list[Figure]:
    from bench import ledger_instances as li  # its rows and targets live there (issue 16 item 3)

    return li.figures(base, messages, persons)


def signatures(sizes: list[int], repeat: int) -> list[Figure]:
    from bench import signature_algorithms as sa

    rows = sa.measure(sizes, repeat)
    figures = []
    for kilobytes, name, size, sign_ms, verify_ms in rows:
        rsa = next(r for r in rows if r[0] == kilobytes and r[1] == "rsa")
        label = f"{sa.ALGORITHMS[name]}, {size / 1024:.0f} KB"
        if name != "rsa":
            figures.append(Figure(SECTION_7, f"{label}: sign", sign_ms, "ms", "RSA-2048", rsa[3], higher=False))
        figures.append(Figure(SECTION_7, f"{label}: verify", verify_ms, "ms", "RSA-2048" if name != "rsa" else "",
                              rsa[4] if name != "rsa" else None, higher=False,
                              note=f"median of {repeat}" + ("; sign " + f"{sign_ms:.1f} ms" if name == "rsa" else "")))
    return figures
