"""Process captured files: check, decide, and commit the outcome with the replies it owes, in one transaction.

The reply bytes (ACK/NACK) are signed once, kept in the spool's outbox/ and recorded with the transition, so a
crash can only leave a write owed, never a decision half made: the city workers write owed files under
deterministic names (the same name again after a restart: still one file).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime

from gateway.service.ports.ledger import Capture, LedgerTx, MessageRecord, Scope
from gateway.domain import routing
from gateway.domain.envelope import Header, MessageType
from gateway.domain.findings import Finding
from gateway.domain.lifecycle import DELIVERY_OWED, PASSED_ON, RECEIPT_CLOSES, Event, State
from gateway.domain.notes import Note
from gateway.domain.register import Summary
from gateway.domain.settlement import (
    Dispute,
    DisputeAnswer,
    DisputeResult,
    PaymentAdvice,
    RecoveryRefund,
    Withdrawal,
)
from gateway.service import register, scopes
from gateway.service.context import Gateway
from gateway.service.ports.checks import CheckOutcome, Checked, Checker
from gateway.service.unit_of_work import CommittedEvents

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$")


@dataclass
class ProcessReport:
    routed: int = 0
    rejected: int = 0
    duplicates: int = 0
    receipts: int = 0
    cities_owed: set[str] = field(default_factory=set)  # cities with new files owed: wake their workers

    def add(self, other: "ProcessReport") -> None:
        self.routed += other.routed
        self.rejected += other.rejected
        self.duplicates += other.duplicates
        self.receipts += other.receipts
        self.cities_owed |= other.cities_owed


def _known(record: MessageRecord) -> routing.Known:
    return routing.Known(record.key, record.sha256, record.state, record.revision, record.sender, record.receiver,
                         record.type, record.serial, record.period)


def reply_name(tx: LedgerTx, city: str, kind: str, header: Header | None, sha256: str) -> str:
    """ACK_<id>.xml / NACK_<id>.xml; the digest is added when that name already answers other bytes."""
    ident = header.message_id if header is not None and _SAFE_ID.match(header.message_id) else sha256[:16]
    name = f"{kind}_{ident}.xml"
    if tx.reply_name_taken(city, name):
        name = f"{kind}_{ident}_{sha256[:12]}.xml"
    return name


LARGE_BYTES = 8 * 1024 * 1024  # a larger file never takes the last pool worker: small ones always have one
POLL_SECONDS = 0.05  # while a pool slot is free, how often the ledger is asked for newly captured files
_large_decider: ThreadPoolExecutor | None = None
_large_decider_made = threading.Lock()


def _decider() -> ThreadPoolExecutor:
    """The one thread that decides large files (kept for the process: its ledger connection is made once)."""
    global _large_decider
    with _large_decider_made:
        if _large_decider is None:
            _large_decider = ThreadPoolExecutor(1, thread_name_prefix="ltcgw-decide-large")
        return _large_decider


def process_pending(gw: Gateway, batch: int = 32, on_owed: Callable[[set[str]], None] | None = None) -> ProcessReport:
    """Process every capture not processed yet, in one flow whatever the number of workers: up to 2 x workers
    checks in flight, each decided as it ends (decisions of different files are independent: the ledger
    serialises those of one insured city, and a duplicate is asked again in the decision's own unit of work), `on_owed` told at once which cities
    are owed files. With a pool a 110 MB claim checked for 15 s holds back nothing else; in process (one
    worker) a large file holds the single worker and everything behind it (workers >= 2 is the answer). A
    large file's decision (a claim of 100,000 persons is checked across documents for seconds, before its
    unit of work) is made on a thread of its own, so small files are decided meanwhile.
    Nothing is marked processed before its decision commits: a crash with checks in flight re-checks them."""
    checker: Checker = gw.checker
    tell = on_owed or (lambda cities: None)
    report = ProcessReport()
    slots = 2 * checker.workers
    flight: dict[Future[Checked], Capture] = {}
    deciding: dict[Future[tuple[ProcessReport, bool]], Capture] = {}  # large files, decided on their own thread
    waiting: list[Capture] = []  # claimed, not yet submitted (a large one may wait here for a free worker)
    asked = float("-inf")

    def decided(capture: Capture, checked: Checked | None) -> tuple[ProcessReport, bool]:
        """Whether `capture` is a duplicate (answered as one); if not, decided by `checked` when it is given
        (which asks again, in the decision's own unit of work: another instance may have decided the same
        bytes while this one checked them)."""
        one = ProcessReport()
        if checked is None:
            duplicate = _replay_duplicate(gw, capture, one)
        else:
            duplicate = _decide(gw, capture, checked.outcome, one, checked.ack)
        return one, duplicate

    def told(one: ProcessReport) -> None:
        report.add(one)
        if one.cities_owed:
            tell(one.cities_owed)

    def settle(capture: Capture, checked: Checked | None) -> bool:
        """Whether `capture` is a duplicate (answered as one); if not, decided by `checked` when it is given."""
        one, duplicate = decided(capture, checked)
        told(one)
        return duplicate

    while True:
        if len(flight) < slots and (not waiting or time.monotonic() - asked >= POLL_SECONDS):
            keys = {capture.key for capture in [*flight.values(), *deciding.values()]}
            # Leased to this instance (others skip them); a lease that runs out lets another instance take over.
            claimed = gw.ledger.claim_captures(gw.instance, len(keys) + batch, gw.lease_seconds)
            waiting = [capture for capture in claimed if capture.key not in keys]
            asked = time.monotonic()
        large = sum(capture.size > LARGE_BYTES for capture in flight.values())
        for capture in list(waiting):
            if len(flight) >= slots:
                break
            if checker.workers > 1 and capture.size > LARGE_BYTES and large >= checker.workers - 1:
                continue  # stays claimed and waiting: the last worker is kept for small files
            waiting.remove(capture)
            if settle(capture, None):
                continue
            large += capture.size > LARGE_BYTES
            flight[checker.submit(gw.spool.read("inbox", capture.sha256), gw.clock())] = capture
        if not flight and not deciding:
            return report
        done, _ = wait([*flight, *deciding], timeout=POLL_SECONDS if len(flight) < slots else None,
                       return_when=FIRST_COMPLETED)
        for future in done:
            if future in deciding:
                deciding.pop(future)
                told(future.result()[0])  # type: ignore[arg-type]
                continue
            capture = flight.pop(future)  # type: ignore[arg-type]
            if checker.workers > 1 and capture.size > LARGE_BYTES:
                deciding[_decider().submit(decided, capture, future.result())] = capture  # type: ignore[arg-type]
            else:
                settle(capture, future.result())  # type: ignore[arg-type]


def _replay_duplicate(gw: Gateway, capture: Capture, report: ProcessReport) -> bool:
    """Before checking: whether these bytes were decided already (then answered as a duplicate, unchecked).
    Asked first on a snapshot (no scope: the common answer, "new", takes no lock); bytes seen before are
    answered under the scope of their earlier message, read off it, and asked again there."""
    with gw.unit_of_work(Scope()) as (tx, _):
        if not tx.capture_pending(capture.key):
            return True  # decided already, by an instance that held it before its lease ran out
        earlier = tx.message_by_sha(capture.sha256, capture.city)
        if earlier is None or earlier.state is State.RECEIVED:
            return False
    with gw.unit_of_work(scopes.of_message(earlier)) as (tx, events):
        if not tx.capture_pending(capture.key):
            return True
        _answer_duplicate(gw, tx, events, capture, tx.message_by_sha(capture.sha256, capture.city), report)  # type: ignore[arg-type]
    return True


def _answer_duplicate(gw: Gateway, tx: LedgerTx, events: CommittedEvents, capture: Capture, earlier: MessageRecord,
                      report: ProcessReport) -> None:
    """The same bytes from the same drop again: answer again with the stored reply, deliver nothing; except a
    message that FAILED (no receipt after every resend), whose re-drop is its sender's own resend request."""
    now = gw.clock()
    if earlier.state is State.FAILED:
        _resend_on_redrop(gw, tx, events, earlier, now)
        report.cities_owed.update({capture.city, earlier.receiver})  # type: ignore[arg-type]
    else:
        for out in tx.outgoing_of(earlier.key):
            # A reply purged after its retention is not replayed (nothing to write; the ledger says purged).
            if out.kind in ("ack", "nack") and out.city == capture.city and gw.spool.exists(out.area, out.sha256):
                tx.add_outgoing(out.city, out.name, out.area, out.sha256, out.kind, out.message_key, now)
                report.cities_owed.add(capture.city)
                break
    tx.mark_capture_processed(capture.key, earlier.key)
    tx.record_event(now, "duplicate", capture.city,
                    {"id": earlier.message_id, "name": capture.name, "sha256": capture.sha256})
    events.emit("duplicate", id=earlier.message_id, type=earlier.type, city=capture.city, name=capture.name,
                state=earlier.state.value)  # type None (unreadable): metrics label it as the first was
    report.duplicates += 1


REDROP_NOTE = Note("ack.redropped", "delivered again: the sender dropped the failed message again")


def _resend_on_redrop(gw: Gateway, tx: LedgerTx, events: CommittedEvents, message: MessageRecord, now: datetime) -> None:
    """A FAILED message dropped again by its sender: delivered again now (as `ltcgw resend` would), and the
    sender answered with a new ACK saying so, not the old one that reads as if nothing had gone wrong."""
    tx.transition(message.key, Event.RESEND_REQUESTED, now, f"{message.drop_city} dropped it again after it failed")
    if not any(o.kind == "delivery" and o.written_at is None and not o.cancelled for o in tx.outgoing_of(message.key)):
        tx.add_outgoing(message.receiver, message.delivery_name, "inbox", message.sha256, "delivery", message.key, now)  # type: ignore[arg-type]
    header = _header_of(message)
    ack = gw.replies.ack(header, message.sha256, now, note=REDROP_NOTE)
    name = reply_name(tx, message.drop_city, "ACK", header, message.sha256)
    tx.add_outgoing(message.drop_city, name, "outbox", gw.spool.store("outbox", ack), "ack", message.key, now)
    events.emit("resend_redropped", id=message.message_id, receiver=message.receiver, by=message.drop_city)


def _header_of(message: MessageRecord) -> Header:
    """The header of a message that passed, as the ledger keeps it (what an ACK needs of what it answers)."""
    return Header(message.message_id, MessageType(message.type), message.sender, message.receiver,  # type: ignore[arg-type]
                  message.period, message.serial, message.revision, message.received_at)  # type: ignore[arg-type]


def ack_owed(outcome: CheckOutcome) -> bool:
    """A valid city document (an attachment or an entitlement document) under a trusted header is answered with
    an ACK (if routing lets it through)."""
    header = outcome.header
    return header is not None and outcome.header_trusted and outcome.valid and header.type.is_city_document


def _decide(gw: Gateway, capture: Capture, outcome: CheckOutcome, report: ProcessReport, ack: bytes | None = None) -> bool:
    """Decide a checked capture; True when it turned out a duplicate (answered as one) or decided already."""
    header = outcome.header
    now = gw.clock()
    # Signed before the unit of work (or in the pool worker, with the check): the ACK depends only on the
    # header, the bytes and the time, and decisions about one insured city wait on one another (its lock), so
    # nothing slow belongs inside one.
    if ack is None and ack_owed(outcome):
        ack = gw.replies.ack(header, capture.sha256, now)  # type: ignore[arg-type]
    # The register's summary of a claim (hashes of 100,000 ID numbers take a second): made outside the lock too.
    summary = register.summary_of(gw, outcome) if header is not None and outcome.header_trusted else None
    # Its checks across documents too, on a snapshot of the register: reused inside if the register of its insured
    # city is unchanged by then, made again there if not (gateway/service/register.py Prepared).
    prepared = register.prepare(gw, header, summary) if outcome.valid else None
    duplicate = kept = False
    try:
        duplicate, kept = _decided(gw, capture, outcome, report, ack, summary, prepared, now)
    finally:
        if not kept:  # refused, a duplicate, decided by another instance, or failed: a large claim's staged rows go
            register.unstage(gw, prepared)
    return duplicate


def _decided(gw: Gateway, capture: Capture, outcome: CheckOutcome, report: ProcessReport, ack: bytes | None,
             summary: Summary | None, prepared: register.Prepared | None, now: datetime) -> tuple[bool, bool]:
    """The decision's unit of work: whether it turned out a duplicate (answered as one) or decided already, and
    whether it kept a claim in the register."""
    header = outcome.header
    kept = False
    with gw.unit_of_work(scopes.of_decision(capture, header)) as (tx, events):
        if not tx.capture_pending(capture.key):
            return True, False  # another instance decided it while this one checked (its lease had run out)
        earlier = tx.message_by_sha(capture.sha256, capture.city)
        if earlier is not None and earlier.state is not State.RECEIVED:
            # The same bytes, decided by another instance while this one checked them (dropped twice): the
            # same header, so the same scope covers the earlier message.
            _answer_duplicate(gw, tx, events, capture, earlier, report)
            return True, False
        message = tx.add_message(capture, header, now)
        findings: list[Finding] = list(outcome.findings)
        decision: routing.Decision | None = None
        # Routing is asked whenever the header is signed, so that a NACK lists every finding at once.
        if header is not None and outcome.header_trusted:
            if header.type.is_city_document or header.type.is_dispute or header.type.is_withdrawal:
                same = (
                    capture.city, header, capture.sha256, gw.cities,
                    [_known(m) for m in tx.messages_by_id(header.message_id) if m.key != message.key],
                    [_known(m) for m in tx.messages_by_document(header.document_key) if m.key != message.key],
                )
                if header.type.is_dispute:
                    decision = routing.decide_dispute(*same, _answered(tx, header), _disputed_names(outcome.document))
                elif header.type.is_withdrawal:  # 撤销: the lifecycle table decides whether it still may be
                    decision = routing.decide_withdrawal(*same, _answered(tx, header), _withdrawn_names(outcome.document))
                elif header.type.is_money:
                    decision = routing.decide_money(*same, _named_settlements(tx, header, outcome.document))
                else:
                    decision = routing.decide_document(*same, a5_pairs=gw.a5_pairs)
            else:
                answered = _answered(tx, header)
                decision = routing.decide_reply(capture.city, header, gw.cities, answered)
            findings += decision.findings
        # -- the register (issue 12): checks across documents, refused or warned as the insured city chose ------
        verdict = register.cross_check(gw, tx, header, summary, prepared)
        findings += verdict.refused
        # ------------------------------------------------------------------------------------------------------
        if not outcome.valid or decision is None or not decision.route or verdict.refused:
            _reject(gw, tx, events, message, header, findings, now)
            report.rejected += 1
            report.cities_owed.add(capture.city)
        elif header.type is MessageType.RECEIPT:
            _forward_receipt(gw, tx, events, message, header, outcome, decision, now)
            report.receipts += 1
            report.cities_owed.add(header.receiver)
        else:
            # -- the register (issue 12): warnings in the ACK's note and the log; what passed is kept ----------
            if verdict.warned:  # signed again here: the note needs the decision's own reads of the register
                ack = gw.replies.ack(header, capture.sha256, now, warned=verdict.warned)  # said in its language
                tx.set_findings(message.key, [f.as_dict() for f in verdict.warned])
                tx.record_event(now, "cross_check_warned", message.drop_city, {
                    "id": header.message_id, "codes": sorted({f.code for f in verdict.warned}),
                    "findings": [f.as_dict() for f in verdict.warned]})
                events.emit("cross_check_warned", **_fields(message, header), codes=sorted({f.code for f in verdict.warned}),
                            findings=[f.as_dict() for f in verdict.warned])
            register.record(gw, tx, header, summary, prepared)
            kept = True
            # ----------------------------------------------------------------------------------------------------
            _route(gw, tx, events, message, header, decision, now, ack)
            report.routed += 1
            report.cities_owed.update({capture.city, header.receiver})
        tx.mark_capture_processed(capture.key, message.key)
    return False, kept


def _answered(tx: LedgerTx, header: Header) -> routing.Known | None:
    if not header.reply_to:
        return None
    candidates = [m for m in tx.messages_by_id(header.reply_to) if m.state in PASSED_ON]
    return _known(candidates[-1]) if candidates else None


def _disputed_names(document: object) -> tuple[str, str] | None:
    """What a dispute's body says it is about (type, 流水号), for routing to compare with its InReplyTo."""
    if isinstance(document, Dispute):
        return document.disputed_type, document.disputed_serial
    if isinstance(document, (DisputeAnswer, DisputeResult)):
        return MessageType.DISPUTE.value, document.dispute_serial
    return None


def _withdrawn_names(document: object) -> tuple[str, str, int] | None:
    """What a withdrawal's body says it withdraws (type, 流水号, revision), for routing to compare with InReplyTo."""
    if isinstance(document, Withdrawal):
        return document.withdrawn_type, document.withdrawn_serial, document.withdrawn_revision
    return None


def _named_settlements(tx: LedgerTx, header: Header, document: object) -> list | None:
    """The settlements (附件4) a payment or refund names, each with the ledger's A4 of that key (the newest passed
    on) or None, for routing to refuse money about settlements the two cities never exchanged."""
    if not isinstance(document, (PaymentAdvice, RecoveryRefund)):
        return None
    refs = document.settlements
    named = []
    for ref in refs:
        key = (MessageType.A4.value, header.insured_city, header.residence_city, ref.period, ref.serial)
        passed = [m for m in tx.messages_by_document(key) if m.state in routing.PASSED_ON]
        named.append((ref.serial, ref.period, _known(passed[-1]) if passed else None))
    return named


def _reject(gw: Gateway, tx: LedgerTx, events: CommittedEvents, message: MessageRecord, header: Header | None, findings: list[Finding], now: datetime) -> None:
    if not findings:  # a checker must say why; never NACK with an empty list
        findings = [Finding("envelope.invalid", "the file could not be checked")]
    tx.set_findings(message.key, [f.as_dict() for f in findings])
    codes = sorted({f.code for f in findings})
    tx.transition(message.key, Event.CHECK_FAILED, now, "refused: " + ", ".join(codes))
    nack = gw.replies.nack(message.drop_city, header, message.sha256, findings, now)
    sha = gw.spool.store("outbox", nack)
    name = reply_name(tx, message.drop_city, "NACK", header, message.sha256)
    tx.add_outgoing(message.drop_city, name, "outbox", sha, "nack", message.key, now)
    events.emit("rejected", **_fields(message, header), codes=codes, size=message.size)
    events.alert("file_quarantined", **_fields(message, header), codes=codes, cause="NACK")


def _route(gw: Gateway, tx: LedgerTx, events: CommittedEvents, message: MessageRecord, header: Header, decision: routing.Decision, now: datetime,
           ack: bytes | None = None) -> None:
    tx.transition(message.key, Event.CHECK_PASSED, now, f"checks passed; routed to {header.receiver}")
    for key in decision.supersedes:
        earlier = tx.transition(key, Event.SUPERSEDED, now, f"superseded by {header.message_id} (revision {header.revision})")
        tx.cancel_outgoing(key, "delivery")
        events.emit("superseded", id=earlier.message_id, by=header.message_id, revision=earlier.revision)
    if header.type.is_withdrawal and decision.answers is not None:  # 撤销: the withdrawn one is resent no more
        withdrawn = tx.transition(decision.answers.key, Event.WITHDRAWN, now, f"withdrawn by {header.message_id} from {header.sender}")
        tx.cancel_outgoing(withdrawn.key, "delivery")
        events.emit("withdrawn", id=withdrawn.message_id, by=header.message_id, type=withdrawn.type,
                    sender=withdrawn.sender, receiver=withdrawn.receiver, period=withdrawn.period)
    name = gw.replies.file_name(header)
    tx.set_delivery_name(message.key, name)
    tx.add_outgoing(header.receiver, name, "inbox", message.sha256, "delivery", message.key, now)
    ack = ack if ack is not None else gw.replies.ack(header, message.sha256, now)
    sha = gw.spool.store("outbox", ack)
    tx.add_outgoing(message.drop_city, reply_name(tx, message.drop_city, "ACK", header, message.sha256), "outbox", sha, "ack", message.key, now)
    events.emit("routed", **_fields(message, header), size=message.size)


def _forward_receipt(
    gw: Gateway, tx: LedgerTx, events: CommittedEvents, message: MessageRecord, header: Header, outcome: CheckOutcome,
    decision: routing.Decision, now: datetime,
) -> None:
    """A valid receipt closes the message it answers and goes byte for byte to that message's sender."""
    tx.transition(message.key, Event.CHECK_PASSED, now, f"receipt for {header.reply_to}; forwarded to {header.receiver}")
    answered = tx.get_message(decision.answers.key)
    accepts = gw.replies.receipt_accepts(outcome)
    if answered.state not in RECEIPT_CLOSES and answered.state in DELIVERY_OWED:
        # The receipt proves the delivery whose mark a crash lost.
        answered = tx.transition(answered.key, Event.DELIVERED, now, "delivery proven by the receiver's receipt")
    if answered.state in RECEIPT_CLOSES:
        event = Event.RECEIPT_ACCEPTED if accepts else Event.RECEIPT_REJECTED
        closed = tx.transition(answered.key, event, now, f"receipt {header.message_id} from {header.sender}")
        tx.cancel_outgoing(answered.key, "delivery")
        events.emit("closed", id=closed.message_id, state=closed.state.value, ref=header.message_id)
    name = gw.replies.file_name(header)
    tx.set_delivery_name(message.key, name)
    tx.add_outgoing(header.receiver, name, "inbox", message.sha256, "receipt", message.key, now)
    events.emit("receipt", **_fields(message, header), ref=header.reply_to)


def _fields(message: MessageRecord, header: Header | None) -> dict[str, object]:
    if header is None:
        return {"city": message.drop_city, "sha256": message.sha256}
    return {
        "id": header.message_id, "type": header.type.value, "sender": header.sender, "receiver": header.receiver,
        "period": header.period, "serial": header.serial, "revision": header.revision, "city": message.drop_city,
        "sha256": message.sha256,  # pairs the event with its capture (durations in the transfer log)
    }
