"""A gateway workspace whose cities' clerks work with the kit (`ltcgw sample`, `pack`, `receipt`, `render`) on
their drops, and the daemon runs once at a time (`ltcgw run --once`): the end-to-end tests of the disputes, the
entitlement documents, the money and the withdrawal share it."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.sqlite_ledger import SqliteLedger
from gateway.config import load_config
from gateway.documents import safe_xml
from gateway.documents.check import check_message
from gateway.documents.envelope import read_header
from gateway.domain.lifecycle import State
from gateway.entrypoints.cli import main

INSURED, RESIDENCE, OTHER = "370100", "370300", "370600"  # 济南 insures, 淄博 cares; 烟台 is not a party
PERIOD = "2026-10"


def message_id(path: Path) -> str:
    return read_header(safe_xml.parse(path.read_bytes()).getroot()).message_id


class KitExchange:
    """A gateway workspace of three cities (济南, 淄博, 烟台), each city's clerk working with the kit on its drop."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["init", str(root), "--cities", f"{INSURED},{RESIDENCE},{OTHER}"]) == 0
        self.root, self.config, self.capsys = root, root / "gateway.toml", capsys
        self.desk = root / "desk"
        self.desk.mkdir()
        capsys.readouterr()

    def ltcgw(self, *argv: str, expect: int = 0) -> str:
        code = main(list(argv))
        out, err = self.capsys.readouterr()
        assert code == expect, err
        return out

    def signer(self, city: str) -> list[str]:
        keys = self.root / "keys"
        return ["--key", str(keys / f"{city}.key.pem"), "--cert", str(keys / f"{city}.crt.pem")]

    def sample(self, kind: str, *argv: str) -> Path:
        target = self.desk / f"{kind}-{len(list(self.desk.iterdir()))}.xml"
        self.ltcgw("sample", kind, *argv, "-o", str(target))
        return target

    def send(self, kind: str, sender: str, receiver: str, document: Path, ref: Path | None = None,
             period: str = PERIOD, revision: int = 1) -> Path:
        """Pack `document` and drop a copy into the sender's outbox: the packed file (kept on the desk)."""
        extra = ["--ref", str(ref)] if ref is not None else []
        out = self.ltcgw("pack", str(document), "--type", kind, "--sender", sender, "--receiver", receiver,
                         "--period", period, "--revision", str(revision), *self.signer(sender), *extra, "-o",
                         str(self.desk / f"packed-{len(list(self.desk.iterdir()))}.xml"))
        packed = Path(out.strip())
        (self.root / "drops" / sender / "outbox" / f"{kind}_{message_id(packed)}.xml").write_bytes(packed.read_bytes())
        return packed

    def run(self) -> None:
        self.ltcgw("run", "-c", str(self.config), "--once", "--quiet")

    def inbox(self, city: str, prefix: str) -> list[Path]:
        return sorted((self.root / "drops" / city / "inbox").glob(f"{prefix}_*"))

    def receipt(self, city: str, delivered: Path) -> None:
        out = self.ltcgw("receipt", str(delivered), *self.signer(city), "-o",
                         str(self.root / "drops" / city / "outbox" / f"RECEIPT_{delivered.stem}.xml"))
        assert out.strip()

    def state(self, message_id: str) -> State:
        ledger = SqliteLedger(load_config(self.config).ledger_path)
        try:
            return next(m.state for m in ledger.messages() if m.message_id == message_id)
        finally:
            ledger.close()

    def verified(self, path: Path):
        result = check_message(path.read_bytes(), load_config(self.config).trust_store())
        assert result.valid, result.findings
        return result
