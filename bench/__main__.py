"""`python -m bench` (through `bench/run`): every section of issue 7 in one run, each figure beside its
reference measured in the same run; prints the table, writes bench/results/latest.json and docs/benchmarks.md.

Sections: 1 throughput, 2 latency, 3 large claim, 4 SFTP, 5 scaling, 6 ledger instances, 7 signature
algorithms. `--only 1 3` runs some; `--quick` shrinks every size (a smoke run, not for figures);
`--profile` writes a pyinstrument profile of the floor's loop to bench/results/profile.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.common import ROOT, Figure, make_keys, signed_claims

RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
FINDINGS = ROOT / "bench" / "findings.md"  # hand-written reading of the figures, appended to DOC


def _sizes(quick: bool) -> dict:
    if quick:
        return dict(messages=40, persons=200, shell=5, latency=30, rate=10.0, large=5_000, scale=[2, 20, 200],
                    sftp_mb=10, sftp_runs=1, cities=20, ledger=40, sig_repeat=3)
    return dict(messages=1000, persons=200, shell=30, latency=150, rate=10.0, large=100_000, scale=[1, 10, 100, 1000],
                sftp_mb=100, sftp_runs=3, cities=300, ledger=300, sig_repeat=10)


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", type=int, choices=range(1, 8), default=list(range(1, 8)))
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the command, not the figures")
    parser.add_argument("--profile", action="store_true", help="profile the floor's loop (pyinstrument)")
    parser.add_argument("--messages", type=int, help="claims in section 1 (default 1000)")
    parser.add_argument("--no-write", action="store_true", help="print only (no JSON, no docs/benchmarks.md)")
    parser.add_argument("--render", action="store_true", help="rewrite docs/benchmarks.md from latest.json only")
    args = parser.parse_args()
    if args.render:
        run = json.loads((RESULTS / "latest.json").read_text(encoding="utf-8"))
        DOC.write_text(_document(run, render(run)), encoding="utf-8")
        return 0
    size = _sizes(args.quick)
    if args.messages:
        size["messages"] = args.messages
    base = Path(tempfile.mkdtemp(prefix="ltcgw-bench-"))
    started = time.monotonic()
    figures: list[Figure] = []
    durations: dict[str, float] = {}
    try:
        keys = make_keys(base)

        def section(number: int, run) -> None:
            if number in args.only:
                t = time.monotonic()
                print(f"section {number} ...", flush=True)
                try:
                    figures.extend(run())
                except Exception as exc:  # one section's failure is a row, not the end of the run
                    figures.append(Figure(f"{number}. (failed)", repr(exc)[:300], float("nan"), ""))
                durations[str(number)] = round(time.monotonic() - t, 1)

        from bench import folded, large, traffic

        section(1, lambda: traffic.throughput(base / "s1", keys, size["messages"], size["persons"], size["shell"])[0])
        section(2, lambda: traffic.latency(base / "s2", keys, size["latency"], size["rate"]))
        section(3, lambda: large.measure(base / "s3", keys, size["large"]))
        section(4, lambda: folded.sftp(size["sftp_mb"], size["sftp_runs"], size["cities"]))
        section(5, lambda: traffic.scaling(base / "s5", keys, size["scale"]))
        section(6, lambda: folded.ledgers(base / "s6", size["ledger"], 5))
        section(7, lambda: folded.signatures([20, 200], size["sig_repeat"]))
        if args.profile:
            _profile(base, keys, size)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    run = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "quick": args.quick,
        "seconds": round(time.monotonic() - started, 1),
        "section_seconds": durations,
        "figures": [f.as_dict() for f in figures],
    }
    table = render(run)
    print("\n" + table)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "latest.json").write_text(json.dumps(run, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        DOC.write_text(_document(run, table), encoding="utf-8")
        print(f"\nwritten: {RESULTS / 'latest.json'}, {DOC}")
    return 0


def _machine() -> str:
    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores ({model}), {memory:.0f} GiB, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}; load average at the end {os.getloadavg()[0]:.1f}")


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def render(run: dict) -> str:
    lines = ["| section | figure | value | reference | ref. value | ratio | target | met | note |",
             "|---|---|---:|---|---:|---:|---|---|---|"]
    for f in run["figures"]:
        met = "" if f["met"] is None else ("yes" if f["met"] else "**no**")
        ratio = f"{f['ratio']:.2f}" if f["ratio"] is not None else ""
        lines.append(f"| {f['section']} | {f['name']} | {_number(f['value'])} {f['unit']} | {f['reference']} | "
                     f"{_number(f['reference_value'])} | {ratio} | {f['target']} | {met} | {f['note']} |")
    return "\n".join(lines)


def _document(run: dict, table: str) -> str:
    return f"""# Benchmarks

Written by `bench/run` (README, "Benchmarks"); do not edit by hand. Machine: {run['machine']}.
Run: {run['date']}, {run['seconds']:.0f} s in all{' (--quick: sizes too small for figures)' if run['quick'] else ''}.

Every ratio is value / reference, both measured in this run (medians where a figure repeats; the machine is
shared, so absolute times say little). "floor": `check_message` on the same bytes in one loop in one process
(parse, signature, XSD, rules; no I/O, no ledger). "shell pipeline": `xmllint --schema` + `xmlsec1 --verify`
with the pinned certificate, as a city's IT team would script it, per file. Throughput and latency are from
dropping a file (rename into a city's outbox) to the delivery in the receiver's inbox and the ACK in the
sender's, through a real `ltcgw run` on local drops with a SQLite ledger.

{table}

Seconds per section: {', '.join(f'{k}: {v:.0f}' for k, v in run['section_seconds'].items())}.

{FINDINGS.read_text(encoding="utf-8") if FINDINGS.exists() else ""}"""


def _profile(base: Path, keys: Path, size: dict) -> None:
    from pyinstrument import Profiler

    from bench.traffic import floor

    claims = signed_claims(keys, 100, size["persons"], seed=9)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    floor(claims, keys)
    profiler.stop()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "profile.txt").write_text(profiler.output_text(unicode=False, color=False), encoding="utf-8")
    print(f"profile of the floor: {RESULTS / 'profile.txt'}")


if __name__ == "__main__":
    raise SystemExit(main())
