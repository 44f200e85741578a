"""Where a checked message may go: pure decisions over what the ledger already knows.

The checks (gateway/documents) say whether a file is well-formed, signed and consistent; routing says whether
the gateway may pass it on: it came from the drop of the city that signed it, it goes to a city we serve, its id
is not already taken by other bytes, it is not an old revision of a document already passed on, a receipt
answers a message we delivered to its sender, and a dispute (第三十一条) is about a document the gateway passed on
between the same two cities (its answer: about such a dispute, going back), a payment or refund names settlements
the two cities exchanged, and an A5 goes only where its pair asked for it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from gateway.domain.envelope import ATTACHMENTS, Header, MessageType
from gateway.domain.findings import Finding, phrase
# Which states count as passed on (a revision at or below one is stale; a receipt or a dispute may answer
# one) and which a higher revision still supersedes: the lifecycle table's answers, not copies.
from gateway.domain.lifecycle import PASSED_ON, SUPERSEDABLE, State


@dataclass(frozen=True, slots=True)
class Known:
    """A message the ledger holds, as far as routing cares."""

    key: int
    sha256: str
    state: State
    revision: int | None = None
    sender: str | None = None
    receiver: str | None = None
    type: str | None = None
    serial: str | None = None
    period: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    route: bool
    findings: tuple[Finding, ...] = ()
    supersedes: tuple[int, ...] = ()  # keys of earlier revisions to stop
    answers: Known | None = None  # the message a receipt answers, or a dispute (answer) is about

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]


def _envelope_findings(drop_city: str, header: Header, cities: Collection[str]) -> list[Finding]:
    findings = []
    if header.sender != drop_city:
        findings.append(Finding(
            "route.wrong_drop",
            "the message is signed as sent by {sender} but was left in the drop of {drop}: "
            "each city sends only its own documents, from its own drop",
            sender=header.sender, drop=drop_city,
        ))
    if header.receiver not in cities:
        findings.append(Finding("route.unknown_receiver", "the gateway serves no city {city}", city=header.receiver))
    elif header.receiver == header.sender:
        findings.append(Finding("route.same_city", "sender and receiver are the same city"))
    return findings


def decide_document(
    drop_city: str,
    header: Header,
    sha256: str,
    cities: Collection[str],
    same_id: Sequence[Known],
    same_document: Sequence[Known],
    a5_pairs: Collection[tuple[str, str]] | None = None,
) -> Decision:
    """An attachment (A1–A5), or a payment or refund, that passed every check: route it, or the findings that
    stop it. `a5_pairs`: the (residence, insured) pairs an A5 is carried for; None: every pair (tests)."""
    findings = _envelope_findings(drop_city, header, cities)
    if any(k.state is not State.REJECTED and k.sha256 != sha256 for k in same_id):
        findings.append(Finding(
            "envelope.id_conflict",
            "message id {id} was already used for another file: give each file its own id",
            id=header.message_id,
        ))
    passed = [k for k in same_document if k.state in PASSED_ON]
    newest = max((k.revision or 0 for k in passed), default=0)
    if passed and header.revision <= newest:
        findings.append(Finding(
            "envelope.stale_revision",
            "revision {revision} of this document is not newer than revision {newest} already passed on: "
            "send a correction with a higher revision",
            revision=header.revision, newest=newest,
        ))
    findings += _facility_settlement_findings(header, a5_pairs)
    if findings:
        return Decision(False, tuple(findings))
    supersedes = tuple(k.key for k in passed if k.state in SUPERSEDABLE)
    return Decision(True, supersedes=supersedes)


def _facility_settlement_findings(header: Header, a5_pairs: Collection[tuple[str, str]] | None) -> list[Finding]:
    """附件5 is the residence city's settlement with its own facility (第二十五条), no inter-city obligation: it
    goes to the insured city only where the pair asked for it ([settlement] a5_pairs), for information."""
    if header.type is not MessageType.A5 or a5_pairs is None:
        return []
    if (header.residence_city, header.insured_city) in a5_pairs:
        return []
    return [Finding(
        "route.a5_not_carried",
        "附件5 is {residence}'s settlement with its own facility, not owed to {insured}: the gateway carries it "
        "only for the pairs in [settlement] a5_pairs, and {residence}->{insured} is not one (keep the A5 at home, or "
        "ask the operator to add the pair)",
        residence=header.residence_city, insured=header.insured_city,
    )]


def decide_reply(
    drop_city: str, header: Header, cities: Collection[str], answered: Known | None
) -> Decision:
    """A reply a city left in its outbox: only a RECEIPT for a message delivered to it is passed on."""
    if header.type is not MessageType.RECEIPT:
        return Decision(False, (Finding(
            "route.unknown_reference",
            "a {type} from a city answers nothing the gateway sent: only receipts are accepted",
            type=header.type.value,
        ),))
    findings = [f for f in _envelope_findings(drop_city, header, cities) if f.code == "route.wrong_drop"]
    if (
        answered is None
        or answered.receiver != header.sender
        or answered.sender != header.receiver
        or (header.reply_to_sha256 is not None and header.reply_to_sha256 != answered.sha256)
        or answered.state not in PASSED_ON
    ):
        findings.append(Finding(
            "route.unknown_reference",
            "the receipt answers message {id}, which the gateway did not deliver to {city} with these bytes",
            id=header.reply_to, city=header.sender,
        ))
    if findings:
        return Decision(False, tuple(findings))
    return Decision(True, answers=answered)


def decide_dispute(
    drop_city: str,
    header: Header,
    sha256: str,
    cities: Collection[str],
    same_id: Sequence[Known],
    same_document: Sequence[Known],
    referenced: Known | None,
    names: tuple[str, str] | None = None,
) -> Decision:
    """A DISPUTE or DISPUTE_ANSWER that passed every check: routed like an attachment (ids, revisions), but only
    about a message the gateway passed on between the same two cities: a DISPUTE about a settlement document
    (A1–A5), in either direction; a DISPUTE_ANSWER about a DISPUTE, from the city that received it back to the
    city that raised it. `names`: the (type, serial) the body says it is about, checked against the reference."""
    decision = decide_document(drop_city, header, sha256, cities, same_id, same_document)
    findings = list(decision.findings) + _reference_findings(header, referenced, names)
    if findings:
        return Decision(False, tuple(findings))
    return Decision(True, supersedes=decision.supersedes, answers=referenced)


def _reference_findings(header: Header, referenced: Known | None, names: tuple[str, str] | None) -> list[Finding]:
    kind = header.type.value
    answer = header.type is MessageType.DISPUTE_ANSWER
    about = phrase("a dispute") if answer else phrase("a settlement document")
    if (
        referenced is None
        or referenced.state not in PASSED_ON
        or (header.reply_to_sha256 is not None and header.reply_to_sha256 != referenced.sha256)
    ):
        return [Finding(
            "route.unknown_reference",
            "the {type} is about message {id}, which the gateway did not pass on with these bytes: name {about} the "
            "gateway routed (InReplyTo id and SHA-256 of the file as delivered)",
            type=kind, id=header.reply_to, about=about,
        )]
    findings = []
    allowed = {MessageType.DISPUTE.value} if answer else {t.value for t in ATTACHMENTS}
    if referenced.type not in allowed:
        findings.append(Finding(
            "route.reference_type",
            "a {type} is about {about}, and message {id} is a {found}",
            type=kind, about=about, id=header.reply_to, found=referenced.type,
        ))
    if answer:
        if (referenced.sender, referenced.receiver) != (header.receiver, header.sender):
            findings.append(Finding(
                "route.unknown_reference",
                "dispute {id} went from {sender} to {receiver}: its answer goes back from {receiver} to {sender}",
                id=header.reply_to, sender=referenced.sender, receiver=referenced.receiver,
            ))
    elif {referenced.sender, referenced.receiver} != {header.sender, header.receiver}:
        findings.append(Finding(
            "route.unknown_reference",
            "message {id} went between {sender} and {receiver}: only those two cities dispute it, one to the other",
            id=header.reply_to, sender=referenced.sender, receiver=referenced.receiver,
        ))
    if referenced.period is not None and referenced.period != header.period:
        findings.append(Finding(
            "route.reference_mismatch",
            "message {id} is for {period}, the {type} for {own_period}",
            id=header.reply_to, period=referenced.period, type=kind, own_period=header.period,
        ))
    if names is not None and referenced.type is not None and names != (referenced.type, referenced.serial):
        findings.append(Finding(
            "route.reference_mismatch",
            "the body is about {type} {serial} but InReplyTo names {referenced_type} {referenced_serial}",
            type=names[0], serial=names[1], referenced_type=referenced.type, referenced_serial=referenced.serial,
        ))
    return findings


def decide_money(
    drop_city: str,
    header: Header,
    sha256: str,
    cities: Collection[str],
    same_id: Sequence[Known],
    same_document: Sequence[Known],
    settlements: Sequence[tuple[str, str, Known | None]] | None,
) -> Decision:
    """A PAYMENT or REFUND that passed every check: routed like an attachment, but only when every settlement
    (附件4) its body names, as (流水号, month, the ledger's A4 of that key or None), was passed on from the insured
    city to the residence city of this pair: money follows a settlement the two cities exchanged.
    `settlements` None: the body could not be read (the check's findings say why)."""
    decision = decide_document(drop_city, header, sha256, cities, same_id, same_document)
    findings = list(decision.findings)
    for serial, period, known in settlements or ():
        if known is None or known.state not in PASSED_ON:
            findings.append(Finding(
                "route.unknown_settlement",
                "settlement (附件4) {serial} of {period} was not passed on from {insured} to {residence} through the "
                "gateway: a {type} names settlements the two cities exchanged (check SettlementSerial and Period)",
                serial=serial, period=period, insured=header.insured_city, residence=header.residence_city,
                type=header.type.value,
            ))
    if findings:
        return Decision(False, tuple(findings))
    return decision
