"""The gateway's promise, checked one way everywhere: every message sent is delivered exactly once, answered by
exactly one ACK or NACK, recorded once in the ledger, and nothing is left behind.

The crash tests, the several-instance tests and the daemon tests all end on this promise. Each says what it sent
(`Sent`: the header, the bytes, whether they pass the checks) and where the cities' drops are; `problems` lists
precisely what is missing or doubled, message by message, and `assert_exactly_once` fails with that list.
`problems` is also what a test waits on (tests/support/waiting.py): the last list seen says what never came.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gateway.documents.envelope import file_name
from gateway.domain.envelope import Header
from gateway.domain.lifecycle import State

REPLY_PREFIXES = ("ACK_", "NACK_", "RECEIPT_")


@dataclass(frozen=True)
class Sent:
    """A message a city's system dropped: its header, its bytes, and whether they pass every check."""

    header: Header
    data: bytes
    valid: bool = True

    @property
    def sender(self) -> str:
        return self.header.sender

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class LedgerView(Protocol):
    """What the check reads of a ledger (adapters/ledger.py Ledger, or the in-memory fake)."""

    def messages(self) -> list[Any]: ...
    def outgoing(self) -> list[Any]: ...


def problems(
    sent: Iterable[Sent],
    drops: Mapping[str, Any],
    ledger: LedgerView | None = None,
    *,
    receipts: bool = False,
    deliveries: int | None = 1,
    strict: bool = True,
) -> list[str]:
    """Everything that breaks the promise, one line each (empty: kept).

    `drops`: city code -> its drop folder (with inbox/ and outbox/), anything with a `.drop` (a CitySystem), or
    an in-memory drop (tests/support/fakes.py MemoryDrop).
    `receipts`: the receivers answered every delivery, so each valid message is ACKNOWLEDGED and its sender
    holds the forwarded RECEIPT; otherwise it is DELIVERED. `deliveries`: the ledger's count of writes of each
    delivered message (None: not checked; resends raise it). `strict`: a file in an inbox that answers nothing
    sent is a problem too (a reply or a delivery made twice under another name).
    """
    sent = list(sent)
    views = {city: _view(drop) for city, drop in drops.items()}
    inboxes = {city: inbox for city, (inbox, _) in views.items()}
    found: list[str] = []
    accounted: set[tuple[str, str]] = set()
    records = _by_id(ledger) if ledger is not None else {}

    for message in sent:
        header = message.header
        ident = header.message_id
        label = f"message {ident} ({header.type.value} {header.sender}->{header.receiver})"
        wrong: list[str] = []
        sender_files = inboxes.get(header.sender)
        receiver_files = inboxes.get(header.receiver)

        if sender_files is not None:
            replies = sorted(n for n in sender_files if _answers(n, ("ACK_", "NACK_"), ident))
            expected = f"{'ACK' if message.valid else 'NACK'}_{ident}.xml"
            accounted.update((header.sender, n) for n in replies)
            if not replies:
                wrong.append(f"no {expected} in {header.sender}'s inbox")
            elif replies != [expected]:
                wrong.append(f"{header.sender}'s inbox holds {', '.join(replies)} (expected only {expected})")
            if receipts and message.valid:
                forwarded = sorted(n for n in sender_files if _answers(n, ("RECEIPT_",), ident))
                accounted.update((header.sender, n) for n in forwarded)
                if len(forwarded) != 1:
                    wrong.append(f"{len(forwarded)} receipts forwarded to {header.sender} (expected 1): {forwarded}")

        if receiver_files is not None:
            canonical = file_name(header)
            copies = sorted(n for n, sha in receiver_files.items()
                            if not n.startswith(REPLY_PREFIXES) and (n.endswith(f"_{ident}.xml") or sha == message.sha256))
            accounted.update((header.receiver, n) for n in copies)
            if not message.valid:
                if copies:
                    wrong.append(f"refused, yet delivered to {header.receiver}: {', '.join(copies)}")
            elif not copies:
                wrong.append(f"not delivered to {header.receiver}'s inbox (no {canonical})")
            elif len(copies) > 1:
                wrong.append(f"delivered {len(copies)} times to {header.receiver}: {', '.join(copies)}")
            elif copies != [canonical]:
                wrong.append(f"delivered to {header.receiver} as {copies[0]} (expected {canonical})")
            elif receiver_files[canonical] != message.sha256:
                wrong.append(f"delivered to {header.receiver} with other bytes than sent")

        if ledger is not None:
            wrong += _ledger_problems(message, records.get(ident, []), receipts, deliveries)
        found += [f"{label}: {w}" for w in wrong]

    for city, (_, outbox) in sorted(views.items()):
        left = sorted(n for n in outbox if not n.endswith(".part"))
        if left:
            found.append(f"left in {city}'s outbox (never taken): {', '.join(left)}")
        if strict:
            strays = sorted(n for n in inboxes[city] if (city, n) not in accounted)
            if strays:
                found.append(f"in {city}'s inbox, answering nothing sent: {', '.join(strays)}")
    if ledger is not None:
        owed = [o for o in ledger.outgoing() if o.written_at is None and not o.cancelled]
        if owed:
            found.append("still owed by the ledger: " + ", ".join(f"{o.kind} {o.name} to {o.city}" for o in owed))
    return found


def assert_exactly_once(sent: Iterable[Sent], drops: Mapping[str, Any], ledger: LedgerView | None = None,
                        **options: Any) -> None:
    """Fail with every problem found (see `problems`), so one red run says all that went wrong."""
    sent = list(sent)
    found = problems(sent, drops, ledger, **options)
    if found:
        shown = "\n  ".join(found[:60]) + (f"\n  ... and {len(found) - 60} more" if len(found) > 60 else "")
        raise AssertionError(f"{len(found)} problems with {len(sent)} messages sent:\n  {shown}")


def _ledger_problems(message: Sent, records: list[Any], receipts: bool, deliveries: int | None) -> list[str]:
    if not records:
        return ["not in the ledger"]
    if len(records) > 1:
        return [f"recorded {len(records)} times in the ledger (states {[r.state.value for r in records]})"]
    [record] = records
    wrong = []
    if record.sha256 != message.sha256:
        wrong.append("the ledger holds other bytes than sent")
    expected = (State.ACKNOWLEDGED if receipts else State.DELIVERED) if message.valid else State.REJECTED
    if record.state is not expected:
        wrong.append(f"{record.state.value} in the ledger (expected {expected.value})")
    if message.valid and deliveries is not None and record.deliveries != deliveries:
        wrong.append(f"the ledger counts {record.deliveries} deliveries (expected {deliveries})")
    return wrong


def _by_id(ledger: LedgerView) -> dict[str, list[Any]]:
    """The ledger's records of the messages sent (receipts are the receivers' own messages: not counted)."""
    found: dict[str, list[Any]] = defaultdict(list)
    for record in ledger.messages():
        if record.type != "RECEIPT" and record.message_id is not None:
            found[record.message_id].append(record)
    return found


def _answers(name: str, prefixes: tuple[str, ...], ident: str) -> bool:
    """A reply to `ident`: KIND_<id>.xml, or KIND_<id>_<digest>.xml when that name answered other bytes."""
    return any(name == f"{p}{ident}.xml" or (name.startswith(f"{p}{ident}_") and name.endswith(".xml"))
               for p in prefixes)


def _view(drop: Any) -> tuple[dict[str, str], list[str]]:
    """(inbox: name -> SHA-256, outbox names) of a drop, as the city's system sees them."""
    if isinstance(getattr(drop, "inbox", None), Mapping):  # in memory (tests/support/fakes.py)
        return ({n: hashlib.sha256(data).hexdigest() for n, data in drop.inbox.items() if not n.startswith(".")},
                [n for n in drop.outbox if not n.startswith(".")])
    folder = Path(getattr(drop, "drop", drop))
    return _files(folder / "inbox"), _names(folder / "outbox")


def _names(folder: Path) -> list[str]:
    """What a city's system sees: hidden names are a writer's temporaries (a kill may leave one), never read."""
    if not folder.is_dir():
        return []
    return [p.name for p in folder.iterdir() if not p.name.startswith(".")]


def _files(folder: Path) -> dict[str, str]:
    """name -> SHA-256 of every file a city's system would read in `folder`."""
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in _names(folder)}
