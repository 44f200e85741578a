"""A real exchange full of names and ID numbers: none of them in the log file, the terminal, a NACK or the CLI.

The samples carry persons (姓名, 公民身份号码) and clerks' names; on top, a file whose name holds a person's name
and ID number, and a broken file whose parser error quotes a name. Everything the gateway writes for people
or other cities is then searched for every one of them.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from gateway.workspace.city_system import CitySystem
from gateway.documents.sample import sample_bytes
from gateway.domain.envelope import MessageType
from gateway.domain.idnumber import is_valid, make_id_number
from gateway.observability.masking import mask_id_number
from tests.observability.obs_support import JINAN, PERIOD, ZIBO, Daemon, cli, log_events, workspace
from tests.support.waiting import wait_for

PERSON_ELEMENTS = ("Name", "IdNumber", "Checker", "FirstReviewer", "PreparedBy", "ReviewedBy", "Reviewer")
LEAKED_NAME, LEAKED_ID = "欧阳秀英", make_id_number("370302", date(1950, 3, 4), 123)  # a file name, a parser message


def personal_data(document: bytes) -> set[str]:
    text = document.decode("utf-8")
    found = set()
    for element in PERSON_ELEMENTS:
        found.update(v.strip() for v in re.findall(rf"<(?:\w+:)?{element}>([^<]+)</", text) if v.strip())
    return found


def broken_id(document: bytes) -> bytes:
    """The first IdNumber with a wrong check character: a NACK (person.id_check) about a field of a person."""
    match = re.search(rb"<IdNumber>(\d{17})([\dX])</IdNumber>", document)
    assert match
    wrong = b"0" if match.group(2) != b"0" else b"1"
    assert not is_valid((match.group(1) + wrong).decode())
    return document[: match.start(2)] + wrong + document[match.end(2):]


def test_no_name_or_id_number_leaves_the_gateway(tmp_path: Path) -> None:
    assert is_valid(LEAKED_ID)
    config = workspace(tmp_path, [JINAN, ZIBO], '[log]\npath = "log/transfer.jsonl"\nmax_bytes = 65536\nbackups = 5')
    (tmp_path / "log").mkdir(exist_ok=True)  # `ltcgw init` makes it too
    zibo = CitySystem(ZIBO, tmp_path / "keys", tmp_path / "drops" / ZIBO)
    jinan = CitySystem(JINAN, tmp_path / "keys", tmp_path / "drops" / JINAN)

    secrets: set[str] = {LEAKED_NAME, LEAKED_ID}
    good = []
    for kind, seed in ((MessageType.A2, 1), (MessageType.A3, 2)):
        document = sample_bytes(kind, ZIBO, JINAN, PERIOD, persons=12, seed=seed)
        secrets |= personal_data(document)
        good.append(zibo.send(kind, JINAN, PERIOD, document=document)[0])
    bad_document = broken_id(sample_bytes(MessageType.A3, ZIBO, JINAN, PERIOD, persons=6, seed=3))
    secrets |= personal_data(bad_document)
    bad, _ = zibo.send(MessageType.A3, JINAN, PERIOD, document=bad_document)
    # A city's system naming a file after a person, with a parser error quoting a name: masked on the way out.
    zibo.drop_file(f"A3_{LEAKED_NAME}_{LEAKED_ID}.xml", f"<Message>&{LEAKED_NAME};</Message>".encode())
    ids = {s for s in secrets if re.fullmatch(r"\d{17}[\dX]", s)}
    assert len(ids) >= 12 and len(secrets - ids) >= 12  # the samples really are full of them

    daemon = Daemon(config)
    try:
        wait_for(lambda: [p.name for p in zibo.replies("ACK") + zibo.replies("NACK")],
                 until=lambda names: len(names) == 4, what="2 ACKs and 2 NACKs in 淄博's inbox")
        jinan.answer()
        wait_for(lambda: [p.name for p in zibo.deliveries() + zibo.replies("RECEIPT")],
                 until=lambda names: len(names) == 2 and all(n.startswith("RECEIPT_") for n in names),
                 what="the 2 receipts forwarded to 淄博 and nothing else delivered")
    finally:
        assert daemon.stop() == 0
    terminal = daemon.output()
    log_file = (tmp_path / "log" / "transfer.jsonl").read_text(encoding="utf-8")
    nacks = [p.read_bytes().decode("utf-8") for p in zibo.replies("NACK")]
    outputs = [terminal, log_file, *nacks]
    for args in (["status"], ["status", "--json"], ["messages"], ["messages", "--json"]):
        outputs.append(cli(*args, "-c", str(config)).stdout)
    for record in json.loads(cli("messages", "--json", "-c", str(config)).stdout):
        ident = record["id"] or record["sha256"]
        outputs += [cli("trace", ident, "-c", str(config)).stdout, cli("trace", ident, "--json", "-c", str(config)).stdout]

    leaks = sorted({s for s in secrets for text in outputs if s in text})
    assert not leaks, f"personal data left the gateway: {leaks}"
    # ...and not because nothing was said: the events are there, and the masked forms stand where the data was.
    events = log_events(tmp_path / "log" / "transfer.jsonl")
    assert {"captured", "routed", "rejected", "written", "closed"} <= {e["event"] for e in events}
    assert any(e["event"] == "alert" and e["kind"] == "file_quarantined" for e in events)
    assert mask_id_number(LEAKED_ID) in log_file and "欧阳**" in log_file
    assert any("person.id_check" in n for n in nacks) and any("欧阳**" in n for n in nacks)
    trace = cli("trace", bad.message_id, "-c", str(config)).stdout
    assert "person.id_check" in trace and "IdNumber" in trace
