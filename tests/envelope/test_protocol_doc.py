"""docs/protocol.md stays the contract: every finding code the envelope modules emit is documented there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = ["safe_xml", "signature", "envelope", "check", "check_outcome", "check_stream", "replies"]
CODE = re.compile(r"""["']((?:xml|sig|envelope|nack|check)\.[a-z_]+)["']""")


def test_every_emitted_code_is_documented():
    doc = (ROOT / "docs/protocol.md").read_text(encoding="utf-8")
    emitted = set()
    for name in MODULES:
        emitted |= set(CODE.findall((ROOT / f"gateway/documents/{name}.py").read_text(encoding="utf-8")))
    assert len(emitted) > 20
    missing = sorted(code for code in emitted if f"`{code}`" not in doc)
    assert not missing, f"document these codes in docs/protocol.md: {missing}"
