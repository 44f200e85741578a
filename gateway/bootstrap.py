"""The one place that wires the gateway: a Config in, a ready Gateway (ledger, spool, transports, checks) out.

Transports are built by kind from a registry, so the SFTP adapter (issue 4) plugs in beside the local one.
Checks are pure functions on bytes: with `workers > 1` they run in a process pool (both cores on a 2-core
machine), each worker building its own trust store once.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from typing import Any

from adapters.local import LocalTransport
from adapters.ledger import Ledger
from adapters.spool import DatabaseSpool, Spool
from adapters.sqlite_ledger import SqliteLedger
from adapters.transport import Transport
from gateway.config import Config, TransportSettings
from gateway.domain.areas import KNOWN_AREAS
from gateway.domain.envelope import Header, MessageType
from gateway.domain.findings import Finding
from gateway.service.context import Gateway, utc_now
from gateway.service.ports import CheckOutcome, Checked, Clock
from gateway.service.process import ack_owed

TransportFactory = Callable[[str, TransportSettings], Transport]


def _sftp(city: str, settings: TransportSettings) -> Transport:
    from adapters.sftp import SftpSettings, SftpTransport

    return SftpTransport(city, SftpSettings.from_mapping(settings.options, settings.base_dir))


TRANSPORTS: dict[str, TransportFactory] = {"local": LocalTransport.from_settings, "sftp": _sftp}


def register_transport(kind: str, factory: TransportFactory) -> None:
    TRANSPORTS[kind] = factory


def build_transport(city: str, settings: TransportSettings) -> Transport:
    try:
        factory = TRANSPORTS[settings.kind]
    except KeyError:
        raise ValueError(f"unknown transport kind {settings.kind!r} for {city}") from None
    return factory(city, settings)


class _CheckSettings:
    """What check_message needs besides the bytes: picklable, so a pool worker can hold its own copy."""

    def __init__(self, config: Config) -> None:
        self.trust = config.trust_store()
        self.max_bytes = config.max_message_bytes
        self.gateway_code = config.code
        self.known_areas = frozenset(KNOWN_AREAS) | frozenset(config.cities)
        # The residence city's catalogue decides the services (居住地目录): the check picks the list by it.
        self.service_types = {code: city.service_types for code, city in config.cities.items()}

    def check(self, data: bytes, now: datetime) -> CheckOutcome:
        from gateway.documents.check import check_message

        return check_message(
            data, self.trust, now=now, max_bytes=self.max_bytes, service_types=self.service_types,
            known_areas=self.known_areas, gateway_code=self.gateway_code,
        )


_WORKER_SETTINGS: _CheckSettings | None = None
_WORKER_REPLIES: "SignedReplies | None" = None


def _init_worker(settings: _CheckSettings, parent: int, config: Config) -> None:
    global _WORKER_SETTINGS, _WORKER_REPLIES
    _WORKER_SETTINGS = settings
    # The gateway's key read once per worker from its file (never pickled with a task): ACKs signed here.
    _WORKER_REPLIES = SignedReplies(config)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """A worker outlives a SIGKILLed daemon otherwise (it waits on its queue forever): leave with the parent."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def _check_in_worker(data: bytes, now: datetime) -> CheckOutcome:
    assert _WORKER_SETTINGS is not None
    outcome = _WORKER_SETTINGS.check(data, now)
    header = outcome.header
    if header is not None and header.type.is_attachment and not header.type.is_dispute:
        # Decided on the header and findings alone: the model of a 110 MB claim, unpickled in the daemon,
        # held its GIL for a second or more and stalled the decisions of small claims (bench section 3).
        outcome.document = None
    return outcome


def _check_and_ack(check: Callable[[bytes, datetime], CheckOutcome], data: bytes, now: datetime) -> Checked:
    """The check and, when one is owed, the signed ACK (it depends only on the header, the digest and the time):
    signing here takes it off the engine's thread, which decides every message."""
    assert _WORKER_REPLIES is not None
    outcome = check(data, now)
    owed = ack_owed(outcome)
    return Checked(outcome, _WORKER_REPLIES.ack(outcome.header, outcome.sha256, now) if owed else None)  # type: ignore[arg-type]


class DocumentChecker:
    """gateway.documents.check in process (workers=1) or in a process pool (workers>1)."""

    def __init__(self, config: Config) -> None:
        self.settings = _CheckSettings(config)
        self.config = config  # for the workers' own SignedReplies (the key is read from its file there)
        self.workers = config.workers
        self._pool: ProcessPoolExecutor | None = None
        # What a pool worker runs (module level: sent by name); tests put a check that waits on a gate here.
        self.task: Callable[[bytes, datetime], CheckOutcome] = _check_in_worker

    def check_many(self, items: Sequence[bytes], now: datetime) -> Iterable[CheckOutcome]:
        if self.workers <= 1 or len(items) <= 1:
            return [self.settings.check(data, now) for data in items]
        # Handed back as they come, in order: the engine decides the first while the pool checks the rest
        # (bench/: workers=2 was below the single-core floor when it waited for the whole batch).
        return self._started().map(self.task, items, [now] * len(items))

    def submit(self, data: bytes, now: datetime) -> Future[Checked]:
        """One check (and its ACK) in the pool (workers > 1): the engine keeps several in flight and decides
        each as it ends."""
        return self._started().submit(_check_and_ack, self.task, data, now)

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the daemon has threads (city workers, watchdog) and open files a fork would copy.
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker, initargs=(self.settings, os.getpid(), self.config),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class SignedReplies:
    """The gateway's ACK/NACK, signed with its own key (gateway.documents.replies); to a city that requires
    SM2 (国密, `signature_algorithms`) with the gateway's SM2 key, in the receiving city's preferred family."""

    def __init__(self, config: Config) -> None:
        from gateway.documents.keys import key_algorithm, load_certificates, load_private_key

        self.key = load_private_key(config.key)
        self.cert = _current(load_certificates(config.certificate))
        self.code = config.code
        self._signers = {key_algorithm(self.key): (self.key, self.cert)}
        if config.sm2_key is not None and config.sm2_certificate is not None:
            sm2_key = load_private_key(config.sm2_key).with_user_id(config.sm2_user_id)
            self._signers["sm2"] = (sm2_key, _current(load_certificates(config.sm2_certificate)))
        self._accepted = {code: city.signature_algorithms for code, city in config.cities.items()}

    def signer(self, city: str) -> tuple[Any, Any]:
        """The key and certificate replies to `city` are signed with: its first accepted family we hold."""
        for family in self._accepted.get(city, ()):
            if family in self._signers:
                return self._signers[family]
        return self.key, self.cert  # config check makes sure a configured city never gets here

    def ack(self, answered: Header, sha256: str, now: datetime) -> bytes:
        from gateway.documents.replies import make_ack

        key, cert = self.signer(answered.sender)
        return make_ack(answered, sha256, key=key, cert=cert, gateway_code=self.code, now=now)

    def nack(self, drop_city: str, answered: Header | None, sha256: str, findings: Sequence[Finding], now: datetime) -> bytes:
        from gateway.documents.replies import make_nack
        from gateway.observability.masking import mask_text

        # A NACK goes to another system: a finding quoting the document (a parser message, a file name) must
        # not carry a person's name or ID number with it.
        findings = [Finding(f.code, mask_text(f.message), f.line, mask_text(f.path) if f.path else None) for f in findings]
        if answered is not None and (answered.sender != drop_city or answered.type.is_reply):
            # Never address a NACK by a header we did not trust to another city: it goes back to the drop.
            answered = None
        key, cert = self.signer(drop_city)
        return make_nack(answered, sha256, findings, key=key, cert=cert, gateway_code=self.code,
                         sender=drop_city, period=None, now=now)

    def receipt_accepts(self, outcome: CheckOutcome) -> bool:
        from gateway.documents.replies import ACCEPTED

        return getattr(outcome.document, "status", ACCEPTED) == ACCEPTED

    def file_name(self, header: Header) -> str:
        from gateway.documents.envelope import file_name

        return file_name(header)


def _current(certs: list[Any]) -> Any:
    """The newest certificate valid now (during a rotation the PEM holds the old one too)."""
    now = utc_now()
    valid = [c for c in certs if c.not_valid_before_utc <= now <= c.not_valid_after_utc]
    return max(valid or certs, key=lambda c: c.not_valid_before_utc)


def build_gateway(config: Config, *, clock: Clock = utc_now, transports: dict[str, Transport] | None = None) -> Gateway:
    """The gateway for `config`: ledger opened (and migrated), spool ready, one transport per city."""
    ledger = open_ledger(config)
    return Gateway(
        ledger=ledger,
        spool=open_spool(config, ledger),
        checker=DocumentChecker(config),
        replies=SignedReplies(config),
        transports=transports if transports is not None else {
            code: build_transport(code, city.transport) for code, city in config.cities.items()
        },
        policy=config.retry,
        clock=clock,
        max_message_bytes=config.max_message_bytes,
        lease_seconds=config.lease_seconds,
        a5_pairs=frozenset(config.settlement.a5_pairs),  # 附件5 only where a pair asked for it
        **({"instance": config.instance} if config.instance else {}),
    )


def open_ledger(config: Config) -> Ledger:
    """SQLite at `[ledger] path` (one instance), or PostgreSQL at `[ledger] url` (several); migrated on open."""
    if config.ledger_url:
        from adapters.postgres_ledger import PostgresLedger

        return PostgresLedger(config.ledger_url)
    return SqliteLedger(config.ledger_path)


def open_spool(config: Config, ledger: Ledger) -> Spool | DatabaseSpool:
    """The spool folder, or the database's spool table: with several instances every one must reach the bytes."""
    if config.spool_store == "database":
        return DatabaseSpool(ledger.connection)  # type: ignore[attr-defined]  # PostgresLedger
    return Spool(config.spool_dir)


def reload_gateway(engine: Any, old: Config, new: Config) -> dict[str, list[str]]:
    """Apply a re-read config to a running daemon, on the engine's thread (between two decisions).

    Checks (trust store, own key and certificate, limits) and the retry schedule are replaced whole; a city
    added gets a worker, a city removed or changed has its worker finish the file in hand and stop (a changed
    city then starts again on its new transport). What the ledger owes a removed city stays owed. The ledger,
    spool, log and metrics settings are read at start only: a change there is reported as needing a restart.
    """
    gw = engine.gw
    added = sorted(set(new.cities) - set(old.cities))
    removed = sorted(set(old.cities) - set(new.cities))
    changed = sorted(c for c in set(new.cities) & set(old.cities) if new.cities[c].transport != old.cities[c].transport)
    # Everything new is built before anything running is touched: a failure leaves the old config whole.
    transports = {city: build_transport(city, new.cities[city].transport) for city in changed + added}
    checker, replies = DocumentChecker(new), SignedReplies(new)
    old_checker, gw.checker, gw.replies = gw.checker, checker, replies
    old_checker.close()
    gw.policy = new.retry
    gw.max_message_bytes = new.max_message_bytes
    engine.set_retention(new.retention)
    for city in removed + changed:
        engine.remove_city(city)
    for city in changed + added:
        engine.add_city(city, transports[city])
    restart = [name for name in ("ledger_path", "spool_dir", "log", "metrics")
               if getattr(old, name, None) != getattr(new, name, None)]
    return {"added": added, "removed": removed, "changed": changed, "restart": restart}


__all__ = ["build_gateway", "build_transport", "register_transport", "DocumentChecker", "SignedReplies", "MessageType"]
