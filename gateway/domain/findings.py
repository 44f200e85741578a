"""A finding is one broken rule: what every check returns and every NACK lists.

Codes are stable (cities' systems match on them); messages are written for a city clerk and never carry
personal data (names, ID numbers), because they travel to another city and into logs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Finding:
    code: str  # stable, dotted: "amount.total_split", "xsd.pattern", "sig.digest", ...
    message: str  # what is wrong and what to do, in words a clerk can act on
    line: int | None = None  # line in the file as received, where known
    path: str | None = None  # element path inside the document, where known

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "line": self.line, "path": self.path}


class Refused(Exception):
    """Raised by a check that cannot go on (unparseable XML, bad signature): carries its findings."""

    def __init__(self, *findings: Finding) -> None:
        super().__init__("; ".join(f"{f.code}: {f.message}" for f in findings))
        self.findings: tuple[Finding, ...] = findings
