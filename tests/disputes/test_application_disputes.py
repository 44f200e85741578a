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

from gateway.domain.lifecycle import State
from gateway.service.settlement import load_calendar
from tests.support.persons import person_hash, register_key
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
    ref = person_hash(register_key(ex.root), claim.statements[0].id_number)[:16]  # the register's key
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


def test_one_key_for_persons_the_registers_and_what_the_old_key_showed_is_still_matched(exchange: Exchange) -> None:
    """[register] key_file is the one HMAC key for persons: the applicant of a dispute is shown by the hash the
    register keeps of that person (found among the claim's statements the register holds), not by the key of
    the deprecated [settlement] person_key_file. What was shown under that key before (alerts, notes) is still
    matched: its key stays in the persons' keyring as a retired key; `config check` warns of the setting."""
    from adapters.sqlite_ledger import SqliteLedger
    from gateway.config import LEGACY_PERSON_KEY, load_config

    ex = exchange
    delivered = ex.claim()
    person = ex.verified(delivered).document.statements[0].id_number
    document = ex.sample("DISPUTE", "--ref", str(delivered), "--applicant", "person")
    ex.send("DISPUTE", RESIDENCE, INSURED, document, ref=delivered)
    ex.run()
    [line] = dispute_lines(ex, china_today())
    kept = person_hash(register_key(ex.root), person)  # as the register hashed the claim's statements (key k1)
    ledger = SqliteLedger(ex.root / "ledger.sqlite3")
    try:
        with ledger.unit_of_work() as tx:
            billed = tx.billings_of([kept])
    finally:
        ledger.close()
    assert billed and {b.key_id for b in billed} == {"k1"}  # the register's rows, under the register's key
    assert f"person {kept[:16]} applied" in line["note"]  # the same person, the same reference
    old = person_hash(KEY, person)  # what deadlines and alerts showed under the old setting
    assert old[:16] not in line["note"]
    keyring = load_config(ex.config).person_keyring()
    assert keyring.current == "k1" and old in keyring.person(person) and kept == keyring.person(person).current
    assert [k for k, _ in keyring.keys] == ["k1", LEGACY_PERSON_KEY]
    checked = json.loads(ex.ltcgw("config", "check", "-c", str(ex.config), "--json"))
    assert any(w.startswith("settlement.person_key_file: deprecated") for w in checked["warnings"])

    # the setting removed: the same reference, no warning; the register's rows are found as before
    ex.config.write_text(ex.config.read_text().replace('person_key_file = "person.key"\n', ""))
    [again] = dispute_lines(ex, china_today())
    assert again["note"] == line["note"]
    checked = json.loads(ex.ltcgw("config", "check", "-c", str(ex.config), "--json"))
    assert not [w for w in checked["warnings"] if "person_key_file" in w]


def test_without_a_register_the_old_key_keeps_naming_applicants_as_before(exchange: Exchange) -> None:
    """A gateway that keeps no register ([register] removed) and still has [settlement] person_key_file: the
    applicant is shown by the same reference as before the keys were made one, and `config check` says how to
    move to [register] key_file."""
    ex = exchange
    text = ex.config.read_text()
    start = text.index("[register]")
    end = text.index("\n\n", start)
    ex.config.write_text(text[:start] + text[end:])
    delivered = ex.claim()
    person = ex.verified(delivered).document.statements[0].id_number
    ex.send("DISPUTE", RESIDENCE, INSURED, ex.sample("DISPUTE", "--ref", str(delivered), "--applicant", "person"),
            ref=delivered)
    ex.run()
    [line] = dispute_lines(ex, china_today())
    assert f"person {person_hash(KEY, person)[:16]} applied" in line["note"]
    checked = json.loads(ex.ltcgw("config", "check", "-c", str(ex.config), "--json"))
    assert any("set it and this file's key is kept" in w for w in checked["warnings"])
