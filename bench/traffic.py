"""Sections 1, 2 and 5: throughput of `ltcgw run` on local drops against the floor and the shell pipeline,
drop-to-delivered latency at a steady rate, and the cost per message as the count grows.

The floor is `check_message` on the same bytes in one loop in one process (parse, signature, XSD, rules; no
I/O, no ledger): the most a single core can do with the gateway's checks. The shell pipeline is what a city's
IT team would script instead: `xmllint --schema` and `xmlsec1 --verify` with the pinned certificate, per file.
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

from bench.common import (
    MB,
    ORIGINAL_VERIFIER,
    Figure,
    RunningGateway,
    median,
    percentile,
    rsa_ecdsa_verifier,
    signed_claims,
    trust_store,
    verifier_in_use,
)
from gateway.documents.check import check_message

SECTION_1 = "1. throughput on local drops"
SECTION_2 = "2. latency, small claims at a steady rate"
SECTION_5 = "5. scaling with the number of messages"


def floor(claims: list[tuple[str, str, bytes]], keys: Path, max_bytes: int = 16 * MB) -> tuple[float, list[float]]:
    """Seconds for the floor over all claims, and each message's time; every one must pass."""
    trust = trust_store(keys)
    check_message(claims[0][2], trust, max_bytes=max_bytes)  # warm: schema compiled, certificates loaded
    times = []
    for _, _, data in claims:
        started = time.perf_counter()
        result = check_message(data, trust, max_bytes=max_bytes)
        times.append(time.perf_counter() - started)
        if not result.valid:
            raise RuntimeError(f"a sample claim failed the floor's check: {result.codes}")
    return sum(times), times


def verifiers_paired(claims: list[tuple[str, str, bytes]], keys: Path) -> dict:
    """Each claim's floor time with the verifier in use then with the original one (signxml) verifying RSA/ECDSA,
    and with libxmlsec1 (the cross-check that was in use before our own verifier), in turns: {"in use": its
    name, each one's times, "ratio": in use / original per claim, "against xmlsec": in use / libxmlsec1}."""
    trust = trust_store(keys)
    in_use = verifier_in_use()
    times: dict = {in_use: [], ORIGINAL_VERIFIER: [], "xmlsec": []}
    for name in times:
        with rsa_ecdsa_verifier(name):
            check_message(claims[0][2], trust)  # warm
    for _, _, data in claims:
        for name, taken in times.items():
            with rsa_ecdsa_verifier(name):
                started = time.perf_counter()
                result = check_message(data, trust)
                taken.append(time.perf_counter() - started)
            if not result.valid:
                raise RuntimeError(f"a sample claim failed the floor's check with {name}: {result.codes}")
    times["ratio"] = median(x / s for x, s in zip(times[in_use], times[ORIGINAL_VERIFIER]))
    times["against xmlsec"] = median(x / s for x, s in zip(times[in_use], times["xmlsec"]))
    times["in use"] = in_use
    return times


def shell_pipeline(claims: list[tuple[str, str, bytes]], keys: Path, folder: Path) -> list[float]:
    """Per-file seconds of `xmllint --schema` + `xmlsec1 --verify` (the pinned certificate), as processes."""
    from xsd import SCHEMA_DIR

    folder.mkdir(parents=True, exist_ok=True)
    times = []
    for sender, name, data in claims:
        path = folder / name
        path.write_bytes(data)
        lint = ["xmllint", "--noout", "--nonet", "--schema", str(Path(SCHEMA_DIR) / "envelope.xsd"), str(path)]
        verify = ["xmlsec1", "--verify", "--enabled-key-data", "key-name",
                  "--pubkey-cert-pem", str(keys / f"{sender}.crt.pem"), str(path)]
        started = time.perf_counter()
        for argv in (lint, verify):
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return times


def through_gateway(root: Path, keys: Path, claims: list[tuple[str, str, bytes]], workers: int,
                    max_bytes: int | None = None) -> tuple[float, int]:
    """Seconds from dropping every claim at once to all delivered and ACKed, and the peak RSS of the run
    (gateway + its check workers). A first claim is sent through alone so that start-up is not counted."""
    with RunningGateway(root, keys, workers=workers, max_bytes=max_bytes) as gw:
        warm = claims[0]
        gw.drop(gw.stage(*warm))
        gw.wait_for(1, 1, timeout=120)
        staged = [gw.stage(sender, name, data) for sender, name, data in claims[1:]]
        started = time.perf_counter()
        for path in staged:
            gw.drop(path)
        gw.wait_for(len(claims), len(claims))
        elapsed = time.perf_counter() - started
        return elapsed, gw.peak_rss()


def throughput(base: Path, keys: Path, messages: int, persons: int, shell_files: int) -> tuple[list[Figure], dict]:
    claims = signed_claims(keys, messages + 1, persons, seed=1)
    size = sum(len(c[2]) for c in claims[1:])
    measured = claims[1:]
    # The floor is measured before, between and after the gateway's runs and its median pass taken: the
    # machine is shared, and a load that comes and goes should weigh on both sides alike.
    passes = [floor(measured, keys)]
    one, one_rss = through_gateway(base / "w1", keys, claims, 1)
    passes.append(floor(measured, keys))
    two, two_rss = through_gateway(base / "w2", keys, claims, 2)
    passes.append(floor(measured, keys))
    floor_seconds, per_message = sorted(passes, key=lambda p: p[0])[1]
    paired = verifiers_paired(measured, keys)
    floor_rate = len(measured) / floor_seconds
    spread = ", ".join(f"{len(measured) / p[0]:.1f}" for p in passes)
    shell = shell_pipeline(measured[:shell_files], keys, base / "shell")
    shell_rate = 1 / median(shell)
    rate1, rate2 = len(measured) / one, len(measured) / two
    mb = size / MB
    kb = size / len(measured) / 1024
    what = (f"{len(measured)} A3 claims of {persons} persons (~{kb:.0f} KB) between 6 cities; register fed, "
            "checks across documents off (nobody in the generated claims is entitled)")
    figures = [
        Figure(SECTION_1, "floor: check_message in one loop, one process", floor_rate, "msg/s",
               note=f"{mb / floor_seconds:.1f} MB/s; median of 3 passes ({spread} msg/s); median "
                    f"{median(per_message) * 1000:.1f} ms per message; {what}"),
        Figure.scored(SECTION_1, "floor's ms per message, the verifier in use against the original (halved)",
                      median(paired[paired["in use"]]) * 1000, "ms", f"{ORIGINAL_VERIFIER} verifying",
                      median(paired[ORIGINAL_VERIFIER]) * 1000, 0.5, higher=False, issue=16,
                      note=f"RSA/ECDSA verified by {paired['in use']}; each claim checked with one then the other, "
                           f"in turns (fair under a load that comes and goes); medians of {len(measured)}; per "
                           f"claim {paired['in use']} / {ORIGINAL_VERIFIER} {paired['ratio']:.2f} (median)"),
        Figure.scored(SECTION_1, "gateway, workers=1: drop to delivered and ACKed", rate1, "msg/s", "floor",
                      floor_rate, 0.8, issue=16, note=f"{mb / one:.1f} MB/s; peak RSS {one_rss / MB:.0f} MB"),
        Figure(SECTION_1, "floor's ms per message, the verifier in use against libxmlsec1",
               median(paired[paired["in use"]]) * 1000, "ms", "libxmlsec1 verifying", median(paired["xmlsec"]) * 1000,
               higher=False, note=f"the same claims in the same turns; per claim {paired['in use']} / libxmlsec1 "
                                  f"{paired['against xmlsec']:.2f} (median)"),
        Figure(SECTION_1, "gateway, workers=2: drop to delivered and ACKed", rate2, "msg/s", "floor", floor_rate,
               "> floor", rate2 > floor_rate, note=f"{mb / two:.1f} MB/s; peak RSS {two_rss / MB:.0f} MB (all processes)"),
        Figure(SECTION_1, "shell pipeline: xmllint --schema + xmlsec1 --verify per file", shell_rate, "msg/s",
               note=f"median of {len(shell)} files, {median(shell) * 1000:.0f} ms per file"),
        Figure.scored(SECTION_1, "gateway workers=1 against the shell pipeline", rate1, "msg/s", "shell pipeline",
                      shell_rate, 3, issue=16),
        Figure.scored(SECTION_1, "gateway workers=2 against the shell pipeline", rate2, "msg/s", "shell pipeline",
                      shell_rate, 5, issue=16),
    ]
    return figures, {"floor_per_message_ms": median(per_message) * 1000}


def latency(base: Path, keys: Path, count: int, rate: float, persons: int = 5) -> list[Figure]:
    """Single small claims dropped `rate` per second; each one's drop-to-delivered time, seen by polling the
    receivers' inboxes every few milliseconds (the poll's resolution is far below the targets)."""
    claims = signed_claims(keys, count + 1, persons, seed=2)
    with RunningGateway(base / "latency", keys, workers=1) as gw:
        gw.drop(gw.stage(*claims[0]))
        gw.wait_for(1, 1, timeout=120)
        staged = [(name, gw.stage(sender, name, data)) for sender, name, data in claims[1:]]
        dropped: dict[str, float] = {}
        seen: dict[str, float] = {}
        done = threading.Event()

        def watch() -> None:
            inboxes = [drop / "inbox" for drop in gw.drops.values()]
            while not done.is_set():
                now = time.perf_counter()
                for inbox in inboxes:
                    for path in inbox.iterdir():
                        seen.setdefault(path.name, now)
                time.sleep(0.002)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        gap = 1 / rate
        start = time.perf_counter()
        for i, (name, path) in enumerate(staged):
            time.sleep(max(0.0, start + i * gap - time.perf_counter()))
            dropped[name] = time.perf_counter()
            gw.drop(path)
        gw.wait_for(len(claims), len(claims), timeout=120)
        time.sleep(0.05)
        done.set()
        watcher.join()
    waits = [seen[name] - at for name, at in dropped.items()]
    p50, p99 = percentile(waits, 50), percentile(waits, 99)
    note = f"{len(waits)} claims of {persons} persons, {rate:g}/s for {len(waits) / rate:.0f} s, workers=1"
    return [
        Figure(SECTION_2, "drop-to-delivered p50", p50 * 1000, "ms", "target", 100, "< 100 ms", p50 < 0.1, False, note),
        Figure(SECTION_2, "drop-to-delivered p99", p99 * 1000, "ms", "target", 500, "< 500 ms", p99 < 0.5, False, note),
    ]


def scaling(base: Path, keys: Path, counts: list[int], persons: int = 5) -> list[Figure]:
    """The same small claims, 10x more at each step, through `ltcgw run` (workers=1): seconds per message and
    peak memory against the smallest step."""
    claims = signed_claims(keys, max(counts) + 1, persons, seed=3)
    rows = []
    for n in counts:
        elapsed, rss = through_gateway(base / f"scale-{n}", keys, claims[: n + 1], 1)
        rows.append((n, elapsed / n, rss))
    # One message alone is the latency, not a throughput: the reference is the 10x step.
    first = rows[1] if len(rows) > 1 else rows[0]
    figures = []
    for n, per, rss in rows:
        judged = n >= first[0]
        figures.append(Figure(SECTION_5, f"{n} messages: ms per message", per * 1000, "ms",
                              f"{first[0]} messages", first[1] * 1000, "flat (<= 1.5 x)" if judged else "",
                              per <= 1.5 * first[1] if judged else None, False))
        figures.append(Figure(SECTION_5, f"{n} messages: peak RSS", rss / MB, "MB", f"{first[0]} messages",
                              first[2] / MB, "flat (<= 1.5 x)" if judged else "",
                              rss <= 1.5 * first[2] if judged else None, False))
    return figures
