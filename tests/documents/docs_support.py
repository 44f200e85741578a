"""Helpers of the documents tests: samples as they arrive (bytes → tree → model, so lines are known).

A uniquely named module rather than conftest.py, so that no other folder's conftest can shadow it."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from lxml import etree

from gateway.documents.reader import read_document
from gateway.documents.sample import sample_document
from gateway.documents.writer import to_bytes
from gateway.domain.envelope import Header, MessageType

RESIDENCE, INSURED, PERIOD = "370300", "370200", "2026-08"


def direction(kind: str) -> tuple[str, str]:
    """(sender, receiver) of an attachment between the two test cities."""
    return (INSURED, RESIDENCE) if kind == "A4" else (RESIDENCE, INSURED)


def received(kind: str, persons: int = 12, seed: int = 0):
    """(model read back from XML, parsed root) of a sample, as the gateway would see it."""
    sender, receiver = direction(kind)
    data = to_bytes(sample_document(kind, sender, receiver, PERIOD, persons=persons, seed=seed))
    root = etree.fromstring(data)
    return read_document(root), root


def header_for(doc, kind: str, **changes) -> Header:
    sender, receiver = direction(kind)
    header = Header("M1", MessageType(kind), sender, receiver, doc.period, doc.serial, 1, datetime(2026, 9, 20))
    return dataclasses.replace(header, **changes)


def without_lines(value):
    """The model with every `line` set to None (to compare a model built in memory with one read back)."""
    if dataclasses.is_dataclass(value):
        changes = {f.name: without_lines(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if "line" in changes:
            changes["line"] = None
        return dataclasses.replace(value, **changes)
    if isinstance(value, list):
        return [without_lines(v) for v in value]
    return value


def personal_values(doc) -> set[str]:
    """Names and ID numbers anywhere in a document: they must never appear in a finding."""
    statements = getattr(doc, "statements", None) or ([doc] if hasattr(doc, "id_number") else [])
    values = {s.name for s in statements} | {s.id_number for s in statements}
    for adjustment in getattr(doc, "adjustments", None) or ():
        values.add(adjustment.id_number)
    return values


def assert_no_personal_data(findings, doc) -> None:
    secrets = personal_values(doc)
    for finding in findings:
        text = f"{finding.message} {finding.path or ''}"
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{finding.code} leaks personal data: {finding.message}"
