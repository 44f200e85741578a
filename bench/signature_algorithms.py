"""Per-message sign and verify time of the three signature families, in one run: RSA-2048 and ECDSA-P256
(signxml over pyca/cryptography) beside SM2-SM3 (gateway.documents.xmldsig_sm2 over gmssl-pyx).

For each size a real city claim (A3) is made from the sample generator with enough persons to reach about
--sizes kilobytes; "sign" is envelope.pack (c14n, digest, signature, serialisation), "verify" is
signature.verify_message on the bytes (safe parse, shape, signature, digest, the signed content handed back),
i.e. what the daemon pays per file before the schema and the rules. Median of --repeat runs. Not part of the
tests; docs/protocol.md quotes a run:

    .venv/bin/python bench/signature_algorithms.py [--sizes 20 200] [--repeat 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lxml import etree  # noqa: E402

from gateway.documents.envelope import SETTLEMENT_NS, pack  # noqa: E402
from gateway.documents.sample import sample_bytes  # noqa: E402
from gateway.documents.signature import verify_message  # noqa: E402
from tests.envelope.helpers import claim_header, make_party  # noqa: E402

ALGORITHMS = {"rsa": "RSA-2048", "ecdsa": "ECDSA-P256", "sm2": "SM2-SM3"}


def _document(kilobytes: int) -> bytes:
    """A sample claim whose signed message is about `kilobytes` KB (persons found by doubling, then scaling)."""
    target = kilobytes * 1024 - 2500  # the header and the signature (certificate included) add about 2.5 KB
    persons = 4
    while True:
        size = len(sample_bytes("A3", "370300", "370100", "2026-10", persons=persons, seed=1))
        if size >= target or persons > 4096:
            break
        persons *= 2
    for _ in range(2):  # the size is not quite proportional to the persons (facilities come in steps)
        persons = max(1, round(persons * target / size))
        document = sample_bytes("A3", "370300", "370100", "2026-10", persons=persons, seed=1)
        size = len(document)
    return document


def _median_ms(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(sizes: list[int], repeat: int) -> list[tuple[int, str, int, float, float]]:
    """(KB asked, algorithm, message bytes, sign ms, verify ms) per size and algorithm, medians of `repeat`."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        parties = {name: make_party("370300", Path(folder) / name, name) for name in ALGORITHMS}
        for kilobytes in sizes:
            document = etree.fromstring(_document(kilobytes))
            serial = document.findtext(f"{{{SETTLEMENT_NS}}}Serial")
            header = claim_header(serial=serial)
            for name, party in parties.items():
                data = pack(document, header, party.key, party.cert)
                verify_message(data, [party.cert])  # warm up (and prove it verifies)
                sign_ms = _median_ms(lambda: pack(document, header, party.key, party.cert), repeat)
                verify_ms = _median_ms(lambda: verify_message(data, [party.cert]), repeat)
                rows.append((kilobytes, name, len(data), sign_ms, verify_ms))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 200], help="message sizes in KB")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    rows = measure(args.sizes, args.repeat)
    print(f"{'size':>8}  {'algorithm':<11} {'sign ms':>9} {'verify ms':>10} {'sign/RSA':>9} {'verify/RSA':>11}")
    for kilobytes, name, size, sign_ms, verify_ms in rows:
        base = next(r for r in rows if r[0] == kilobytes and r[1] == "rsa")
        print(f"{size / 1024:>6.0f}KB  {ALGORITHMS[name]:<11} {sign_ms:>9.2f} {verify_ms:>10.2f} "
              f"{sign_ms / base[3]:>9.2f} {verify_ms / base[4]:>11.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
