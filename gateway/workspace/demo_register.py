"""The demo's entitlement traffic (issue 12): before the month's claims, each insured city notifies the entitlements
of the persons its claims will bill (待遇享受通知, 第十七条) and each residence city files their facility (派单,
第十五条), so the claims pass the checks across documents; then one residence city bills the same persons again
and the insured city, which refuses double billing, answers with a NACK naming cross.double_billing."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from gateway.documents.sample import sample_document
from gateway.documents.sample_entitlement import filing_for, notice_for
from gateway.documents.writer import to_bytes
from gateway.domain.envelope import Header, MessageType
from gateway.workspace.city_system import CitySystem

REFUSING = "370100"  # 济南 refuses what the checks across documents find (the other cities are warned)


def entitle_claims(cities: dict[str, CitySystem], pairs: Sequence[tuple[str, str]], period: str, persons: int,
                   seed_of: Callable[[int], int]) -> int:
    """Notices and 派单 filings for every person of the sample claims `pairs[i]` (seed `seed_of(i)`): the count."""
    sent = 0
    for i, (residence, insured) in enumerate(pairs):
        claim = sample_document(MessageType.A3, residence, insured, period, persons=persons, seed=seed_of(i))
        for statement in claim.statements:
            notice = notice_for(statement)
            cities[insured].send(MessageType.ENTITLEMENT, residence, notice.period, document=to_bytes(notice))
            filing = filing_for(notice)
            cities[residence].send(MessageType.CHANGE_FILING, insured, filing.period, document=to_bytes(filing))
            sent += 2
    return sent


def wait_decided(decided: Callable[[], int], count: int, seconds: float = 30) -> None:
    """Until `count` entitlement documents are decided (the claims that follow are checked against them)."""
    deadline = time.monotonic() + seconds
    while decided() < count and time.monotonic() < deadline:
        time.sleep(0.2)


def bill_twice_once_delivered(cities: dict[str, CitySystem], claims: Sequence[Header], period: str,
                              persons: int) -> Header | None:
    """Once the first demo claim to REFUSING (seed: its position + 1) is delivered, its residence city claims the
    same persons and days again under another 流水号: the header sent, or None while not delivered yet."""
    position, first = next((i, h) for i, h in enumerate(claims) if h.receiver == REFUSING)
    if not any(first.message_id in path.name for path in cities[REFUSING].deliveries()):
        return None
    claim = sample_document(MessageType.A3, first.sender, REFUSING, period, persons=persons, seed=position + 1)
    again = replace(claim, serial=claim.serial + "-AGAIN")
    return cities[first.sender].send(MessageType.A3, REFUSING, period, document=to_bytes(again))[0]
