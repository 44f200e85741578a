"""`python -m bench` (through `bench/run`): every section of issues 7 and 16 in one run, each figure beside its
reference measured in the same run; prints the table; a full run is appended to bench/results/history.jsonl
(every run kept) and written to bench/results/latest.json and docs/benchmarks.md, each section beside the run
before it (bench/score.py).

Sections: 1 throughput, 2 latency, 3 large claim, 4 SFTP, 5 scaling, 6 ledger instances, 7 signature
algorithms. `--only 1 3` runs some (the document keeps the others from their last run); `--quick` shrinks every
size (a smoke run, not for figures: the tests run it) and writes nothing unless `--out DIR` is given;
`--profile` writes a pyinstrument profile of the floor's loop to bench/results/profile.txt.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench import score
from bench.common import ROOT, Figure, make_keys, signed_claims

RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
SECTIONS = range(1, 8)


def _sizes(quick: bool) -> dict:
    if quick:  # as small as still runs every step: the tests' smoke run (a minute or so)
        return dict(messages=12, persons=50, shell=3, latency=10, rate=20.0, large=2_000, scale=[2, 10, 30],
                    sftp_mb=2, sftp_runs=1, cities=5, ledger=12, sig_sizes=[20], sig_repeat=2)
    return dict(messages=1000, persons=200, shell=30, latency=150, rate=10.0, large=100_000, scale=[1, 10, 100, 1000],
                sftp_mb=100, sftp_runs=3, cities=300, ledger=300, sig_sizes=[20, 200], sig_repeat=10)


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", type=int, choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: checks the command, not the figures; writes only with --out")
    parser.add_argument("--profile", action="store_true", help="profile the floor's loop (pyinstrument)")
    parser.add_argument("--messages", type=int, help="claims in section 1 (default 1000)")
    parser.add_argument("--no-write", action="store_true", help="print only (no JSON, no docs/benchmarks.md)")
    parser.add_argument("--render", action="store_true", help="rewrite the document from the kept runs only")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="keep runs and write the document in DIR (history.jsonl, latest.json, benchmarks.md; "
                             "its hand-written part from DIR/benchmarks.md, else from docs/benchmarks.md) instead "
                             "of bench/results and docs/benchmarks.md")
    args = parser.parse_args()
    results, doc = (args.out, args.out / "benchmarks.md") if args.out else (RESULTS, DOC)
    if args.render:
        _write_document(results, doc)
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
                print(f"section {number}: {durations[str(number)]:.0f} s", flush=True)

        from bench import folded, large, traffic

        section(1, lambda: traffic.throughput(base / "s1", keys, size["messages"], size["persons"], size["shell"])[0])
        section(2, lambda: traffic.latency(base / "s2", keys, size["latency"], size["rate"]))
        section(3, lambda: large.measure(base / "s3", keys, size["large"]))
        section(4, lambda: folded.sftp(size["sftp_mb"], size["sftp_runs"], size["cities"]))
        section(5, lambda: traffic.scaling(base / "s5", keys, size["scale"]))
        section(6, lambda: folded.ledgers(base / "s6", size["ledger"], 5))
        section(7, lambda: folded.signatures(size["sig_sizes"], size["sig_repeat"]))
        if args.profile:
            _profile(base, keys, size)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    run = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "quick": args.quick,
        "sections": [str(n) for n in SECTIONS if n in args.only],
        "sizes": size,
        "seconds": round(time.monotonic() - started, 1),
        "section_seconds": durations,
        "figures": [_json_safe(f.as_dict()) for f in figures],
    }
    kept = score.load_history(results / "history.jsonl")
    print("\n" + score.render([*kept, run], args.quick))
    if args.no_write or (args.quick and not args.out):
        return 0
    results.mkdir(parents=True, exist_ok=True)
    score.append_history(results / "history.jsonl", run)
    (results / "latest.json").write_text(json.dumps(run, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    _write_document(results, doc)
    print(f"\nwritten: {results / 'history.jsonl'} (appended), {results / 'latest.json'}, {doc}")
    return 0


def _write_document(results: Path, doc: Path) -> None:
    """The document from the kept runs, its hand-written part (after the marker) kept as it is."""
    history = score.load_history(results / "history.jsonl")
    if not history:
        raise SystemExit(f"bench/run: no kept run in {results / 'history.jsonl'}")
    source = doc if doc.exists() else DOC
    kept = score.kept_part(source.read_text(encoding="utf-8")) if source.exists() else ""
    doc.write_text(score.document(history, kept), encoding="utf-8")


def _json_safe(row: dict) -> dict:
    """NaN (a failed section's value) as null: history.jsonl stays plain JSON."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}


def _machine() -> str:
    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores ({model}), {memory:.0f} GiB, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}; load average at the end {os.getloadavg()[0]:.1f}")


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
