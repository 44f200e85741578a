"""Disputes as 第三十一条 has them, end to end through the daemon (`ltcgw run --once`, real keys and signatures,
SQLite ledger, local drops), made with the kit: a person (by ID number, shown only as an HMAC) and a facility apply
to the residence agency, which raises the dispute with the insured city; the insured city reviews (its
DISPUTE_ANSWER); the residence agency answers the applicant (DISPUTE_RESULT). The 15 working days count from the
application, warned ahead; an application raised by the insured city is refused; a dispute without an application
keeps working as before."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from gateway.domain.person_ref import person_ref
from gateway.domain.lifecycle import State
from gateway.service.settlement import load_calendar
from tests.disputes.test_dispute_exchange import (
    HOLIDAYS, INSURED, PERIOD, RESIDENCE, Exchange, china_today, message_id,
)

KEY = b"test-person-key-0123456789abcdef"


@pytest.fixture
def exchange(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Exchange:
    ex = Exchange(tmp_path / "gw", capsys)
    key = ex.root / "person.key"
    key.write_bytes(KEY + b"\n")
    os.chmod(key, 0o600)
    with ex.config.open("a", encoding="utf-8") as f:
        f.write('\n[settlement]\nperson_key_file = "person.key"\n')
    return ex


def dispute_lines(ex: Exchange, today: date) -> list[dict]:
    out = ex.ltcgw("deadlines", "-c", str(ex.config), "--period", PERIOD, "--holidays", str(HOLIDAYS), "--json",
                   "--today", today.isoformat())
    return [i for i in json.loads(out)["items"] if i["what"] == "dispute"]


def test_a_persons_application_counts_from_its_day_and_ends_with_the_residence_agencys_result(
        exchange: Exchange) -> None:
    ex = exchange
    delivered = ex.claim()  # 淄博 (residence) claims from 济南 (insured)
    claim = ex.verified(delivered).document
    applied = china_today() - timedelta(days=6)
    document = ex.sample("DISPUTE", "--ref", str(delivered), "--applicant", "person", "--applied-on",
                         applied.isoformat())
    dispute = ex.send("DISPUTE", RESIDENCE, INSURED, document, ref=delivered)
    ex.run()
    assert ex.state(message_id(dispute)) is State.DELIVERED
    [told] = ex.inbox(INSURED, "DISPUTE")
    body = ex.verified(told).document
    assert body.application.applicant == "person" and body.application.applied_on == applied
    assert body.application.id_number == claim.statements[0].id_number  # the insured city must know who

    calendar = load_calendar(HOLIDAYS)
    due = calendar.add_working_days(applied, 15)
    [line] = dispute_lines(ex, china_today())
    assert line["due"] == due.isoformat()  # from the application, not from the dispute's arrival
    ref = person_ref(KEY, claim.statements[0].id_number)[:16]
    assert f"person {ref} applied {applied.isoformat()} at {RESIDENCE}" in line["note"]
    assert f"{INSURED}'s review pending" in line["note"]
    assert claim.statements[0].id_number not in json.dumps(line)
    soon = calendar.add_working_days(applied, 13)
    [warned] = dispute_lines(ex, soon)
    assert warned["status"] == "due_soon"

    # the insured city reviews (its part), then the residence agency answers the applicant
    ex.receipt(INSURED, told)
    review = ex.send("DISPUTE_ANSWER", INSURED, RESIDENCE, ex.sample("DISPUTE_ANSWER", "--ref", str(told)), ref=told)
    ex.run()
    [line] = dispute_lines(ex, china_today())
    assert line["status"] in ("pending", "due_soon") and f"{INSURED} reviewed {china_today()}" in line["note"]
    result = ex.send("DISPUTE_RESULT", RESIDENCE, INSURED, ex.sample("DISPUTE_RESULT", "--ref", str(told)), ref=told)
    ex.run()
    assert ex.state(message_id(review)) is State.DELIVERED and ex.state(message_id(result)) is State.DELIVERED
    [delivered_result] = ex.inbox(INSURED, "DISPUTE_RESULT")
    assert ex.verified(delivered_result).document.dispute_serial == body.serial
    [line] = dispute_lines(ex, china_today())
    assert line["status"] == "on_time" and line["arrived"] == china_today().isoformat()


def test_a_facilitys_application_and_the_wrong_agency(exchange: Exchange) -> None:
    ex = exchange
    delivered = ex.claim()
    facility = ex.verified(delivered).document.facility_claims[0].facility_code
    document = ex.sample("DISPUTE", "--ref", str(delivered), "--applicant", "facility")
    dispute = ex.send("DISPUTE", RESIDENCE, INSURED, document, ref=delivered)
    ex.run()
    assert ex.state(message_id(dispute)) is State.DELIVERED
    [line] = dispute_lines(ex, china_today())
    assert f"facility {facility} applied {china_today()}" in line["note"]
    # the insured city does not receive applications: 第三十一条 has them made at the residence agency
    wrong = ex.sample("DISPUTE", "--ref", str(delivered), "--applicant", "facility", "--sender", INSURED, "--seed", "4")
    refused = ex.send("DISPUTE", INSURED, RESIDENCE, wrong, ref=delivered)
    ex.run()
    nack = ex.verified(ex.root / "drops" / INSURED / "inbox" / f"NACK_{message_id(refused)}.xml")
    assert {e.code for e in nack.document.errors} == {"dispute.applicant_direction"}
    # a result goes from the agency that raised the dispute: not from the insured city
    [told] = ex.inbox(INSURED, "DISPUTE")
    backwards = ex.send("DISPUTE_RESULT", INSURED, RESIDENCE, ex.sample("DISPUTE_RESULT", "--ref", str(told)), ref=told)
    ex.run()
    nack = ex.verified(ex.root / "drops" / INSURED / "inbox" / f"NACK_{message_id(backwards)}.xml")
    assert {"dispute.applicant_direction", "route.unknown_reference"} <= {e.code for e in nack.document.errors}


def test_a_dispute_without_application_is_tracked_as_before(exchange: Exchange) -> None:
    ex = exchange
    delivered = ex.claim()
    ex.send("DISPUTE", INSURED, RESIDENCE, ex.sample("DISPUTE", "--ref", str(delivered)), ref=delivered)
    ex.run()
    [line] = dispute_lines(ex, china_today())
    calendar = load_calendar(HOLIDAYS)
    assert line["due"] == calendar.add_working_days(china_today(), 15).isoformat()
    assert f"{INSURED} disputes A3" in line["note"] and f"{RESIDENCE} answers" in line["note"]
