"""`refs_starting`: what a short id given to `ltcgw trace` may mean, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

from .test_ledger import HEADER, add_message


def test_a_prefix_finds_message_ids_exactly_and_digests_in_any_case(ledger) -> None:
    add_message(ledger, HEADER, sha="ab" * 32)
    add_message(ledger, replace(HEADER, message_id="37030020261102090000AAAA0002"), sha="ac" * 32)
    add_message(ledger, None, sha="abcd" * 16)  # an unreadable file: no id
    both = [(HEADER.message_id, "ab" * 32), ("37030020261102090000AAAA0002", "ac" * 32)]
    assert ledger.refs_starting("37030020261102") == both
    assert ledger.refs_starting("37030020261102090000aaaa") == []  # ids are compared exactly
    assert ledger.refs_starting("ABABAB") == [(HEADER.message_id, "ab" * 32)]
    assert ledger.refs_starting("abcdab") == [(None, "abcd" * 16)]
    assert ledger.refs_starting("ab") == [(HEADER.message_id, "ab" * 32), (None, "abcd" * 16)]
    assert ledger.refs_starting("3703002026110209", limit=1) == both[:1]
    assert ledger.refs_starting("%") == ledger.refs_starting("_b") == []  # no wildcards
