"""Section 3: one A3 claim of 100,000 persons (~100 MB) through `ltcgw run` against the floor on the same
file, the peak memory of each, and the latency of small claims for other cities while it is checked.

Memory-hungry steps (making the file, the floor, the signature probes) each run in a fresh process of their
own (`python -m bench.large STEP ...`, printing JSON), so that each peak is that step's alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.common import MB, ROOT, Figure, RunningGateway, percentile, self_peak_rss, signed_claims

SECTION = "3. a large claim"


def _step(*argv: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.large", *argv], cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"bench.large {argv[0]} failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def make_large(keys: Path, path: Path, persons: int) -> dict:
    return _step("make", str(keys), str(path), str(persons))


def measure(base: Path, keys: Path, persons: int, small_rate: float = 4.0) -> list[Figure]:
    path = base / "large" / "claim.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    made = make_large(keys, path, persons)
    size = path.stat().st_size
    cert = str(keys / f"{made['sender']}.crt.pem")
    floor = _step("floor", str(keys), str(path))
    tree = _step("tree", str(keys), str(path))
    probes = {kind: _step("probe", kind, str(path), cert) for kind in ("signxml", "xmlsec", "strict", "iterparse")}
    smalls = signed_claims(keys, 400, 5, seed=4)
    busy = {made["sender"], made["receiver"]}
    smalls = [c for c in smalls if not busy & set(c[1].split("_")[1:3])]  # other cities' traffic only
    with RunningGateway(base / "large-run", keys, workers=2, max_bytes=size + 16 * MB, cross_checks=None) as gw:
        gw.drop(gw.stage(*smalls[0]))
        gw.wait_for(1, 1, timeout=120)
        staged = [(name, gw.stage(sender, name, data)) for sender, name, data in smalls[1:]]
        big = gw.stage(made["sender"], made["name"], path.read_bytes())
        seen: dict[str, float] = {}
        dropped: dict[str, float] = {}
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                now = time.perf_counter()
                for drop in gw.drops.values():
                    for entry in (drop / "inbox").iterdir():
                        seen.setdefault(entry.name, now)
                time.sleep(0.005)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        started = time.perf_counter()
        gw.drop(big)
        i = 0
        while made["name"] not in seen or not any(n.startswith("ACK_") and made["id"] in n for n in seen):
            if time.perf_counter() - started > 600:
                raise RuntimeError(f"the large claim was not delivered in 600 s; see {gw.root / 'gateway.log'}")
            if i < len(staged) and time.perf_counter() >= started + i / small_rate:
                dropped[staged[i][0]] = time.perf_counter()
                gw.drop(staged[i][1])
                i += 1
            time.sleep(0.005)
        big_seconds = min(t for n, t in seen.items() if n.startswith("ACK_") and made["id"] in n) - started
        big_seconds = max(big_seconds, seen[made["name"]] - started)
        gw.wait_for(i + 2, i + 2, timeout=300)
        time.sleep(0.05)
        done.set()
        watcher.join()
        rss = gw.peak_rss()
    waits = [seen[name] - at for name, at in dropped.items() if name in seen]
    note_small = (f"{len(waits)} small claims for other cities dropped at {small_rate:g}/s while it was checked; "
                  "checks across documents on (warn): the large claim's persons warned as not entitled")
    return [
        Figure(SECTION, f"gateway (workers=2): one A3 of {persons:,} persons, drop to delivered and ACKed",
               big_seconds, "s", "floor, same file", floor["seconds"], "", None, False,
               f"file {size / MB:.0f} MB; max_message_bytes raised to {(size + 16 * MB) / MB:.0f} MB"),
        Figure(SECTION, "peak RSS of the gateway (all processes) / file size", rss / size, "x file", "target", 8,
               "< 8 x file", rss < 8 * size, False, f"{rss / MB:.0f} MB", 16),
        Figure(SECTION, "peak RSS of the floor (check_message, streamed) / file size", floor["peak"] / size, "x file",
               "target", 8, "< 8 x file", floor["peak"] < 8 * size, False, f"{floor['peak'] / MB:.0f} MB", 16),
        Figure(SECTION, "the floor's check streamed (check_stream): seconds", floor["seconds"], "s",
               "the tree path (check_tree), same file", tree["seconds"], "", None, False,
               f"tree path peak RSS {tree['peak'] / MB:.0f} MB ({tree['peak'] / size:.1f} x file)"),
        Figure(SECTION, "small claims meanwhile: drop-to-delivered p50", percentile(waits, 50) * 1000, "ms",
               "target", 100, "< 100 ms", percentile(waits, 50) < 0.1, False, note_small),
        Figure(SECTION, "small claims meanwhile: drop-to-delivered max", max(waits) * 1000, "ms",
               "large claim's time", big_seconds * 1000, "< 500 ms", max(waits) < 0.5, False, note_small),
        Figure(SECTION, "parse and verify only, xmlsec binding (libxmlsec1): seconds", probes["xmlsec"]["seconds"], "s",
               "the same with signxml", probes["signxml"]["seconds"], "", None, False,
               f"peak RSS xmlsec {probes['xmlsec']['peak'] / MB:.0f} MB ({probes['xmlsec']['peak'] / size:.1f} x) "
               f"against signxml {probes['signxml']['peak'] / MB:.0f} MB ({probes['signxml']['peak'] / size:.1f} x)"
               + (f"; {probes['xmlsec']['error']}" if probes["xmlsec"].get("error") else "")),
        Figure(SECTION, "parse and verify only, our verifier (lxml c14n + cryptography): seconds",
               probes["strict"]["seconds"], "s", "libxmlsec1", probes["xmlsec"]["seconds"], "", None, False,
               f"against signxml {probes['strict']['seconds'] / probes['signxml']['seconds']:.2f}; peak RSS ours "
               f"{probes['strict']['peak'] / MB:.0f} MB ({probes['strict']['peak'] / size:.1f} x)"
               + (f"; {probes['strict']['error']}" if probes["strict"].get("error") else "")),
        Figure(SECTION, "schema by iterparse (streaming), clearing as it goes: seconds",
               probes["iterparse"]["seconds"], "s", "floor, same file", floor["seconds"], "", None, False,
               f"peak RSS {probes['iterparse']['peak'] / MB:.0f} MB ({probes['iterparse']['peak'] / size:.2f} x)"),
    ]


# --- steps run in their own process -------------------------------------------------------------------------

def _make(keys: str, path: str, persons: str) -> dict:
    """As CitySystem.pack, past the default 16 MiB parse limit that a city's own kit keeps."""
    from datetime import datetime, timezone

    from gateway.workspace.city_system import CitySystem
    from gateway.documents import safe_xml
    from gateway.documents.envelope import SETTLEMENT_NS, file_name, new_message_id, pack
    from gateway.documents.sample import sample_bytes
    from gateway.domain.envelope import Header, MessageType

    city = CitySystem("370300", Path(keys), Path(keys) / "unused")
    document = sample_bytes("A3", "370300", "370100", "2026-10", persons=int(persons), seed=7)
    root = safe_xml.parse(document, max_bytes=len(document) + 1).getroot()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    header = Header(new_message_id("370300", now), MessageType.A3, "370300", "370100", "2026-10",
                    root.findtext(f"{{{SETTLEMENT_NS}}}Serial").strip(), 1, now)
    data = pack(root, header, city.key, city.cert)
    Path(path).write_bytes(data)
    return {"sender": "370300", "receiver": "370100", "name": file_name(header), "id": header.message_id,
            "bytes": len(data)}


def _floor(keys: str, path: str) -> dict:
    """`check_message` as the gateway calls it (a file this large is checked as it streams)."""
    from gateway.documents.check import check_message

    return _timed(check_message, "the floor's check", keys, path)


def _tree(keys: str, path: str) -> dict:
    """The check on the whole parsed tree, as every file was checked before the streamed path."""
    from gateway.documents.check import check_tree

    return _timed(check_tree, "the tree path's check", keys, path)


def _timed(check, what: str, keys: str, path: str) -> dict:
    from bench.common import trust_store

    data = Path(path).read_bytes()
    trust = trust_store(Path(keys))
    started = time.perf_counter()
    result = check(data, trust, max_bytes=len(data) + MB)
    seconds = time.perf_counter() - started
    if not result.valid:
        raise SystemExit(f"the large claim failed {what}: {result.codes[:5]}")
    return {"seconds": seconds, "peak": self_peak_rss()}


def _probe(kind: str, path: str, cert: str) -> dict:
    data = Path(path).read_bytes()
    started = time.perf_counter()
    error = None
    if kind in ("signxml", "xmlsec", "strict"):  # ours and the two cross-checks, each on its own
        from gateway.documents import safe_xml
        from gateway.documents.keys import load_certificates
        from gateway.documents.signature import verify_message

        try:
            tree = safe_xml.parse(data, max_bytes=len(data))
            verify_message(data, load_certificates(cert), tree=tree, verifier=kind)
        except Exception as exc:  # the binding unusable here: say so in the table
            error = f"{kind} failed: {exc!r}"[:160]
    else:
        from lxml import etree

        from gateway.documents import schema

        compiled = schema.compiled("envelope")
        import io

        # Validated as it streams; each finished element is dropped with the siblings before it.
        for _, element in etree.iterparse(io.BytesIO(data), events=("end",), schema=compiled, huge_tree=True,
                                          resolve_entities=False, no_network=True):
            element.clear(keep_tail=True)
            while element.getprevious() is not None:
                del element.getparent()[0]
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak": self_peak_rss(), "error": error}


if __name__ == "__main__":
    step, *rest = sys.argv[1:]
    result = {"make": _make, "floor": _floor, "tree": _tree, "probe": _probe}[step](*rest)
    print(json.dumps(result))
