"""The register of entitlements in the service: the checks across documents at a decision, and the register fed
with what passed, both in the decision's own unit of work (gateway/domain/register.py decides; the ledger keeps).

A claim (附件3) is checked against what the register knows of its persons, a settlement (附件4) against the claim
it answers; each finding is refused, warned (delivered, the finding in the ACK's note and the transfer log) or
dropped, as the insured city chose. What passes is kept: a notice's or a filing's newest revision, a claim and its
statements' days. Without `[register] key_file` nothing is kept and nothing is checked across documents.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.domain import register as reg
from gateway.domain.deadlines import Arrival, CityPair
from gateway.domain.envelope import Header, MessageType
from gateway.domain.findings import Finding
from gateway.service.context import Gateway
from gateway.service.ports.ledger import Ledger, LedgerTx

@dataclass
class Verdict:
    refused: list[Finding] = field(default_factory=list)
    warned: list[Finding] = field(default_factory=list)


def summary_of(gw: Gateway, outcome: Any) -> reg.Summary | None:
    """The checker's summary (a pool worker made it before dropping the model), else one made from the model."""
    settings = gw.register
    if settings is None:
        return None
    made = getattr(outcome, "summary", None)
    return made if made is not None else reg.summarize(getattr(outcome, "document", None), settings.keyring)


@dataclass(frozen=True)
class Prepared:
    """A claim's checks across documents made before its decision's unit of work, on the register of its insured
    city as it stood at `version`, and the rows it would keep: a claim of 100,000 persons takes seconds to
    check, and the unit of work holds the lock every other decision waits on. Reused inside the unit of work
    only while the version is still `version` (nothing kept for that insured city since); else checked again
    there, against the committed register, so two claims racing still see each other."""

    version: int
    findings: list[Finding] | None  # None: the insured city turned every check off
    rows: tuple[reg.ClaimRecord, list[reg.BillingRow]]
    staged: str | None = None  # a large claim's statements written already, as this batch (Ledger.stage_billings)


STAGE_FROM = 5000  # statements from which a claim's rows are written before its decision (in short transactions)


def prepare(gw: Gateway, header: Header | None, summary: reg.Summary | None) -> Prepared | None:
    """A claim's checks and rows, made outside any unit of work (None for anything else)."""
    if gw.register is None or header is None or header.type is not MessageType.A3 \
            or not isinstance(summary, reg.ClaimSummary):
        return None
    hashes, months = _hashes(summary), _months(summary)
    version, arrangements, billings = gw.ledger.register_known(header.insured_city, hashes, months)
    findings = (reg.check_claim(summary, reg.Known(arrangements, billings))
                if _checking(gw, header.insured_city) else None)
    rows = reg.claim_rows(summary, header.revision)
    staged = gw.ledger.stage_billings(rows[1]) if len(rows[1]) >= STAGE_FROM else None
    return Prepared(version, findings, rows, staged)


def unstage(gw: Gateway, prepared: Prepared | None) -> None:
    """A claim whose decision did not keep it (refused, decided elsewhere, failed): its staged rows go."""
    if prepared is not None and prepared.staged is not None:
        gw.ledger.drop_staged(prepared.staged)


def _checking(gw: Gateway, insured: str) -> bool:
    checks = gw.register.checks_of(insured)  # type: ignore[union-attr]
    return not (checks.default == reg.OFF and all(mode == reg.OFF for mode in checks.by_check.values()))


def _months(summary: reg.ClaimSummary) -> list[str]:
    return sorted({b.month for b in summary.statements})  # days overlap, or share a month, only within them


def cross_check(gw: Gateway, tx: LedgerTx, header: Header | None, summary: reg.Summary | None,
                prepared: Prepared | None = None) -> Verdict:
    """The checks across documents of a claim or a settlement, sorted by the insured city's choice; a claim's
    `prepared` findings are taken when the register of its insured city has not changed since."""
    settings = gw.register
    if settings is None or summary is None or header is None:
        return Verdict()
    checks = settings.checks_of(header.insured_city)
    if not _checking(gw, header.insured_city):
        return Verdict()
    if header.type is MessageType.A3 and isinstance(summary, reg.ClaimSummary):
        if prepared is not None and prepared.findings is not None \
                and tx.register_version(header.insured_city) == prepared.version:
            findings = prepared.findings
        else:
            hashes = _hashes(summary)
            findings = reg.check_claim(summary, reg.Known(tx.arrangements_of(hashes),
                                                          tx.billings_of(hashes, _months(summary))))
    elif header.type is MessageType.A4 and isinstance(summary, reg.SettlementSummary):
        key = (summary.insured, summary.residence, summary.period, summary.claim_serial)
        claim = tx.claim_record(*key)
        findings = reg.check_settlement(summary, claim, tx.claim_billings(*key) if claim else [])
    else:
        return Verdict()
    refused, warned = reg.sort_findings(findings, checks)
    return Verdict(refused, warned)


def record(gw: Gateway, tx: LedgerTx, header: Header, summary: reg.Summary | None,
           prepared: Prepared | None = None) -> None:
    """Keep what passed: a claim and its statements (its rows `prepared` already, if given), a notice's or a
    filing's revision; rows of its persons still under an older key are hashed again under the current one (a
    key rotation)."""
    if gw.register is None or summary is None:
        return
    persons = reg.persons_of(summary)
    older = sorted({h for p in persons for h in p.hashes[1:]})
    if older:
        found = [r.person for r in tx.arrangements_of(older)] + [b.person for b in tx.billings_of(older)]
        for old, new, key_id in reg.stale_hashes(persons, found):
            tx.rehash_person(old, new, key_id)
    if header.type is MessageType.A3 and isinstance(summary, reg.ClaimSummary):
        if prepared is not None:
            tx.keep_claim(*prepared.rows, staged=prepared.staged)
        else:
            tx.keep_claim(*reg.claim_rows(summary, header.revision))
    elif isinstance(summary, reg.ArrangementSummary):
        tx.keep_arrangement(reg.arrangement_row(summary, header.revision))


def _hashes(summary: reg.Summary) -> list[str]:
    return sorted({h for person in reg.persons_of(summary) for h in person.hashes})


def active_pairs(ledger: Ledger, period: str) -> set[tuple[str, str]]:
    """(residence, insured) pairs with somebody entitled on a day of `period`: whom a claim is expected from."""
    return reg.active_pairs(ledger.register_notices(), period)


def expected_by_register(ledger: Ledger, pairs: Sequence[CityPair], periods: Sequence[str], arrived: Sequence[Arrival],
                         silent: Collection[str] = ()) -> tuple[dict[str, list[CityPair]], list[tuple[CityPair, str]]]:
    """For `ltcgw deadlines` and the deadline alerts: of `pairs`, those a claim of each month is expected from
    (somebody entitled in it, or a claim came anyway; every pair of an insured city in `silent`, which sends no
    notices), and the (pair, month) of nil claims (零申报), which owe no settlement nor payment."""
    notices = ledger.register_notices()
    by_period = {}
    for period in periods:
        active = {CityPair(residence, insured) for residence, insured in reg.active_pairs(notices, period)}
        claimed = {a.pair for a in arrived if a.period == period and a.type is MessageType.A3}
        by_period[period] = [p for p in pairs if p in active or p in claimed or p.insured in silent]
    nil = [(CityPair(c.residence, c.insured), c.period) for period in periods for c in ledger.register_claims(period)
           if c.nil]
    return by_period, nil
