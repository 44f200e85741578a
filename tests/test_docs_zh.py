"""The Chinese documents for the cities' IT teams (docs/zh/) keep step with the code: every finding code the
gateway can produce, every message type, every alert kind and every configuration section and key appears in
them, and nothing they document has gone from the code."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import code_lists

ZH = Path(__file__).resolve().parents[1] / "docs" / "zh"
SPEC = ZH / "接口规范.md"
GUIDE = ZH / "运维手册.md"
README = Path(__file__).resolve().parents[1] / "README.md"


def _section(text: str, heading: str) -> str:
    """The text from `heading` (a line starting with it) to the next heading of the same or a higher level."""
    start = next(i for i, line in enumerate(text.splitlines()) if line.startswith(heading))
    lines = text.splitlines()
    level = len(heading) - len(heading.lstrip("#"))
    out = []
    for line in lines[start + 1:]:
        match = re.match(r"(#+) ", line)
        if match and len(match.group(1)) <= level:
            break
        out.append(line)
    return "\n".join(out)


def _first_column(text: str) -> list[str]:
    """The backticked words opening the rows of the tables in `text`."""
    return re.findall(r"^\| `([^`]+)` \|", text, flags=re.M)


def test_every_finding_code_is_explained_and_none_is_stale() -> None:
    codes = code_lists.finding_codes()
    assert len(codes) > 100  # the reading of the code works
    documented = _first_column(_section(SPEC.read_text(encoding="utf-8"), "## 11. "))
    assert sorted(codes - set(documented)) == [], "explain these finding codes in docs/zh/接口规范.md section 11"
    assert sorted(set(documented) - codes) == [], "docs/zh/接口规范.md explains codes the gateway no longer has"
    assert len(documented) == len(set(documented))


def test_every_message_type_is_described_and_none_is_stale() -> None:
    text = SPEC.read_text(encoding="utf-8")
    listed = _first_column(_section(text, "### 1.2 "))
    assert sorted(listed) == sorted(code_lists.message_types())
    for kind in code_lists.message_types() - {"ACK", "NACK", "RECEIPT"}:
        assert re.search(rf"\*\*{kind} `", _section(text, "## 9. ")), f"describe {kind} in section 9"


def test_every_alert_kind_is_explained_and_none_is_stale() -> None:
    listed = _first_column(_section(GUIDE.read_text(encoding="utf-8"), "### 5.1 "))
    assert sorted(listed) == sorted(code_lists.alert_kinds())


def test_every_configuration_section_and_key_is_documented_and_none_is_stale() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    keys = code_lists.config_keys()
    sections = keys.pop("")
    assert len(sections) >= 12
    for section in sections:
        assert f"`[{section}]`" in text or f"`[{section}." in text, section
    documented = set(re.findall(r"`\[([a-z_.A-Z]+)\] ([a-z_0-9]+)`", _section(text, "### 2.1 ")))
    wanted = {(section, key) for section, names in keys.items() for key in names}
    assert sorted(wanted - documented) == [], "document these keys in docs/zh/运维手册.md section 2.1"
    transport = {(s, k) for s, k in documented if s == "cities.CODE.transport"}  # the transport adapters' keys
    assert sorted(documented - wanted - transport) == [], "docs/zh/运维手册.md documents keys that no longer exist"


def test_the_checks_read_the_tables() -> None:
    """The readers above see a row and a stale one (so the tests can fail)."""
    text = "## 11. 错误代码\n| 代码 | 含义 |\n|---|---|\n| `amount.words` | x |\n| `amount.gone` | y |\n## 12. x\n| `z.z` | |"
    assert _first_column(_section(text, "## 11. ")) == ["amount.words", "amount.gone"]


def test_the_readme_links_the_chinese_documents() -> None:
    readme = README.read_text(encoding="utf-8")
    assert "docs/zh/接口规范.md" in readme and "docs/zh/运维手册.md" in readme
