"""The checks port's adapters: gateway.documents.check in the daemon's process, or in a pool of processes.

Checks are pure functions on bytes and CPU-bound: with `workers > 1` they run in a process pool (both cores on a
2-core machine), each worker holding its own trust store and the gateway's key, read once from their files by
the pool's initializer (never pickled with a task), so the ACK a passing file owes is signed there too, off the
engine's thread.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.replies import ReplySettings, SignedReplies
from gateway.service.ports.checks import CheckOutcome, Checked
from gateway.service.process import ack_owed


@dataclass
class CheckSettings:
    """What check_message needs besides the bytes: plain data, so a pool worker can hold its own copy."""

    trust: Any  # gateway.documents.signature.TrustStore: the pinned certificates per city
    max_bytes: int
    gateway_code: str
    known_areas: frozenset[str]
    # The residence city's catalogue decides the services (居住地目录): the check picks the list by it.
    service_types: Mapping[str, Any]
    # The register's keys (issue 12): the file a pool worker reads them from, and the current key's id.
    register_key_file: str | None = None
    register_current_key: str | None = None

    def check(self, data: bytes, now: datetime) -> CheckOutcome:
        from gateway.documents.check import check_message

        return check_message(
            data, self.trust, now=now, max_bytes=self.max_bytes, service_types=self.service_types,
            known_areas=self.known_areas, gateway_code=self.gateway_code,
        )


class InProcessChecker:
    """workers = 1: each check runs on the engine's thread when submitted (its future has ended on return)."""

    workers = 1

    def __init__(self, settings: CheckSettings) -> None:
        self.settings = settings

    def submit(self, data: bytes, now: datetime) -> Future[Checked]:
        future: Future[Checked] = Future()
        try:
            future.set_result(Checked(self.settings.check(data, now), None))  # the engine signs the ACK
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def close(self) -> None:
        pass


_WORKER_SETTINGS: CheckSettings | None = None
_WORKER_REPLIES: SignedReplies | None = None
_WORKER_KEYRING: Any = None  # gateway.domain.register.Keyring: the register's keys, read once per worker


def _init_worker(settings: CheckSettings, replies: ReplySettings, parent: int) -> None:
    global _WORKER_SETTINGS, _WORKER_REPLIES, _WORKER_KEYRING
    _WORKER_SETTINGS = settings
    _WORKER_REPLIES = SignedReplies(replies)  # the gateway's key read once per worker, from its file
    if settings.register_key_file:
        from pathlib import Path

        from gateway.domain.register import parse_keys

        _WORKER_KEYRING = parse_keys(Path(settings.register_key_file).read_text(encoding="utf-8"),
                                     settings.register_current_key)
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
        # The register's checks need a compact summary of it (hashes, days, care types, facilities): made here.
        from gateway.domain.register import summarize

        outcome.summary = summarize(outcome.document, _WORKER_KEYRING)
        outcome.document = None
    return outcome


def _check_and_ack(check: Callable[[bytes, datetime], CheckOutcome], data: bytes, now: datetime) -> Checked:
    """The check and, when one is owed, the signed ACK (it depends only on the header, the digest and the time)."""
    assert _WORKER_REPLIES is not None
    outcome = check(data, now)
    ack = _WORKER_REPLIES.ack(outcome.header, outcome.sha256, now) if ack_owed(outcome) else None  # type: ignore[arg-type]
    return Checked(outcome, ack)


class PoolChecker:
    """workers > 1: checks (and their ACKs) in a pool of processes, several in flight, each decided as it ends."""

    def __init__(self, settings: CheckSettings, replies: ReplySettings, workers: int) -> None:
        self.settings, self.replies, self.workers = settings, replies, workers
        self._pool: ProcessPoolExecutor | None = None
        # What a pool worker runs (module level: sent by name); tests put a check that waits on a gate here.
        self.task: Callable[[bytes, datetime], CheckOutcome] = _check_in_worker

    def submit(self, data: bytes, now: datetime) -> Future[Checked]:
        return self._started().submit(_check_and_ack, self.task, data, now)

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the daemon has threads (city workers, watchdog) and open files a fork would copy.
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker, initargs=(self.settings, self.replies, os.getpid()),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
