"""What the benchmark's sections share: signed sample traffic, a real `ltcgw run` process, timing, memory.

Every figure is compared with its reference measured in the same run (the machine is shared and noisy): the
sections return rows of `Figure`, and only ratios of figures from one run are claimed.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from gateway.workspace.city_system import CitySystem
from gateway.documents.check import TrustStore
from gateway.documents.envelope import file_name
from gateway.workspace.layout import write_workspace

ROOT = Path(__file__).resolve().parents[1]
CITIES = ["370100", "370200", "370300", "370600", "370700", "370800"]
PERIOD = "2026-10"
MB = 1024 * 1024


@dataclass
class Figure:
    """One measured figure beside its reference from the same run; `higher` says which way is better."""

    section: str
    name: str
    value: float
    unit: str
    reference: str = ""
    reference_value: float | None = None
    target: str = ""
    met: bool | None = None
    higher: bool = True
    note: str = ""
    issue: int | None = None  # the issue whose target this row keeps score of (the table's "Targets" list)

    @property
    def ratio(self) -> float | None:
        if self.reference_value in (None, 0):
            return None
        return self.value / self.reference_value

    @classmethod
    def scored(cls, section: str, name: str, value: float, unit: str, reference: str, reference_value: float,
               factor: float, *, higher: bool = True, issue: int | None = None, note: str = "") -> Figure:
        """A row whose target is a ratio to a reference of the same run: value >= factor x reference where
        higher is better, value <= factor x reference where lower is (times, memory)."""
        sign = ">=" if higher else "<="
        met = value >= factor * reference_value if higher else value <= factor * reference_value
        return cls(section, name, value, unit, reference, reference_value, f"{sign} {factor:g} x {reference}", met,
                   higher, note, issue)

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100): p99 of 200 samples is the second largest."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


@contextmanager
def rsa_ecdsa_verifier(name: str) -> Iterator[None]:
    """RSA/ECDSA verified by `name` ("xmlsec" or "signxml") in this process meanwhile, through the operator's
    switch (LTCGW_XMLDSIG_VERIFIER), so that both are measured in one run."""
    from gateway.documents import signature

    before = os.environ.get(signature.ENVIRONMENT)
    os.environ[signature.ENVIRONMENT] = name
    signature.rsa_ecdsa_verifier.cache_clear()
    try:
        if signature.rsa_ecdsa_verifier() != name:
            raise RuntimeError(f"{name} cannot verify here (see the log)")
        yield
    finally:
        if before is None:
            os.environ.pop(signature.ENVIRONMENT, None)
        else:
            os.environ[signature.ENVIRONMENT] = before
        signature.rsa_ecdsa_verifier.cache_clear()


ORIGINAL_VERIFIER = "signxml"  # verified RSA/ECDSA before issue 16: the floor's "previous implementation"


def verifier_in_use() -> str:
    """Who verifies RSA/ECDSA in the gateways this run starts: the operator's choice (the environment they
    inherit) or the default, where it can run here."""
    from gateway.documents import signature

    signature.rsa_ecdsa_verifier.cache_clear()
    return signature.rsa_ecdsa_verifier()


# --- signed traffic ----------------------------------------------------------------------------------------

def make_keys(base: Path) -> Path:
    """One set of keys (gateway and cities) shared by every workspace of the run."""
    write_workspace(base / "keys-source", CITIES)
    return base / "keys-source" / "keys"


def trust_store(keys: Path) -> TrustStore:
    return TrustStore.from_files({code: keys / f"{code}.crt.pem" for code in CITIES})


def _sign_one(job: tuple[str, str, str, int, int]) -> tuple[str, str, bytes]:
    keys, sender, receiver, seed, persons = job
    city = _city(keys, sender)
    header, data = city.pack("A3", receiver, PERIOD, seed=seed, persons=persons)
    return sender, file_name(header), data


_CITY_CACHE: dict[tuple[str, str], CitySystem] = {}


def _city(keys: str, code: str) -> CitySystem:
    if (keys, code) not in _CITY_CACHE:
        _CITY_CACHE[(keys, code)] = CitySystem(code, Path(keys), Path(keys) / "unused" / code)
    return _CITY_CACHE[(keys, code)]


def signed_claims(keys: Path, count: int, persons: int, *, seed: int = 0, jobs: int = 2) -> list[tuple[str, str, bytes]]:
    """`count` signed A3 claims (sender, file name, bytes) between random pairs of cities, on every core."""
    rng = random.Random(seed)
    plan = []
    for i in range(count):
        sender, receiver = rng.sample(CITIES, 2)
        plan.append((str(keys), sender, receiver, seed * 1_000_000 + i, persons))
    if jobs <= 1 or count < 8:
        return [_sign_one(job) for job in plan]
    with ProcessPoolExecutor(jobs) as pool:
        return list(pool.map(_sign_one, plan, chunksize=max(1, count // (jobs * 8))))


# --- a real gateway process --------------------------------------------------------------------------------

# The generated claims bill persons nobody entitled (no notices are sent first): with the checks across
# documents on, every one of a claim's 200 persons would be a `cross.not_entitled` warning in its ACK and the
# ledger, which real traffic does not carry. The register is still fed; section 3 measures the checks on.
EXCHANGE_CHECKS = "off"


class RunningGateway:
    """`ltcgw run` on local drops in its own workspace; files are staged as NAME.part in the outbox and renamed
    (as a city's system does: a rename within the folder tells the gateway the file is whole), and completion is read from the drops themselves: a delivery in the
    receiver's inbox and an ACK in the sender's."""

    def __init__(self, root: Path, keys: Path, *, workers: int = 1, max_bytes: int | None = None,
                 cities: list[str] = CITIES, cross_checks: str | None = EXCHANGE_CHECKS) -> None:
        self.root = root
        shutil.copytree(keys, root / "keys")
        self.config = write_workspace(root, cities, retry=["1h"], workers=workers, rescan_seconds=2.0,
                                      cross_checks={code: cross_checks for code in cities} if cross_checks else None)
        if max_bytes is not None:
            text = self.config.read_text(encoding="utf-8")
            text = text.replace("[gateway]\n", f"[gateway]\nmax_message_bytes = {max_bytes}\n", 1)
            self.config.write_text(text, encoding="utf-8")
        self.cities = cities
        self.drops = {code: root / "drops" / code for code in cities}
        self.process: subprocess.Popen | None = None
        self.log = open(root / "gateway.log", "wb")

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway.entrypoints.cli", "run", "-c", str(self.config), "--quiet"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT,
        )

    def stage(self, sender: str, name: str, data: bytes) -> Path:
        path = self.drops[sender] / "outbox" / f"{name}.part"
        path.write_bytes(data)
        return path

    def drop(self, staged: Path) -> None:
        os.rename(staged, staged.with_name(staged.name.removesuffix(".part")))

    def counts(self) -> tuple[int, int]:
        """(deliveries, ACKs) in all inboxes now."""
        delivered = acked = 0
        for drop in self.drops.values():
            for entry in os.scandir(drop / "inbox"):
                if entry.name.startswith("ACK_"):
                    acked += 1
                elif entry.name[:2] in ("A1", "A2", "A3", "A4", "A5") and entry.name.endswith(".xml"):
                    delivered += 1
        return delivered, acked

    def wait_for(self, delivered: int, acked: int, timeout: float = 900) -> float:
        """Seconds until at least that many deliveries and ACKs are in the inboxes."""
        started = time.perf_counter()
        while True:
            have = self.counts()
            if have[0] >= delivered and have[1] >= acked:
                return time.perf_counter() - started
            if time.perf_counter() - started > timeout or (self.process and self.process.poll() is not None):
                raise RuntimeError(f"gateway in {self.root}: {have} of ({delivered}, {acked}) after "
                                   f"{time.perf_counter() - started:.0f} s; see {self.root / 'gateway.log'}")
            time.sleep(0.01)

    def peak_rss(self) -> int:
        """Peak resident memory (bytes) of the gateway process plus its check workers, read while they live."""
        assert self.process is not None
        pids = [self.process.pid] + _children(self.process.pid)
        return sum(_vm_hwm(pid) for pid in pids)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def __enter__(self) -> RunningGateway:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            found += [int(p) for p in text.split()]
    except OSError:
        return found
    return found + [grand for child in found for grand in _children(child)]


def _vm_hwm(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def self_peak_rss() -> int:
    return _vm_hwm(os.getpid())


def reset_peak_rss() -> bool:
    """Reset this process's VmHWM (Linux: write 5 to clear_refs) so that the next peak is one step's own."""
    try:
        Path(f"/proc/{os.getpid()}/clear_refs").write_text("5")
        return True
    except OSError:
        return False
