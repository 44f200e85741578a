"""What the code can say, read from the code itself: finding codes, message types, alert kinds, config keys.

For tests/test_docs_zh.py, which keeps the Chinese documents (docs/zh/) in step with these lists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from gateway import i18n

ROOT = Path(__file__).resolve().parents[2]
CODE = re.compile(r"[a-z][a-z0-9]*\.[a-z][a-z0-9_]*")
# Finding-making calls and the position of their code argument (1-based): Finding(code, ...), rules' add(code,
# ...), the envelope's problem(code, ...), the signature's refuse(code, ...), the header check(name, pattern,
# code, what), the rules' compare(code, ...).
CODE_ARGUMENT = {"Finding": 1, "add": 1, "problem": 1, "refuse": 1, "check": 3, "compare": 1, "said": 1}


def _dynamic_prefixes() -> dict[str, tuple[str, ...]]:
    """The values an f-string code's variable takes: f"{code}.amount" in the money rules, f"xsd.{kind}"."""
    from gateway.documents import schema

    return {"code": ("payment", "refund"), "kind": tuple(sorted(set(schema._MESSAGES) | {"invalid"}))}


def _codes_of(node: ast.expr, dynamic: dict[str, tuple[str, ...]]) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.fullmatch(node.value):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _codes_of(node.body, dynamic) | _codes_of(node.orelse, dynamic)
    if isinstance(node, ast.JoinedStr):
        variables = [v for v in node.values if isinstance(v, ast.FormattedValue)]
        if len(variables) != 1:
            raise AssertionError(f"cannot read the finding code {ast.unparse(node)}")
        name = ast.unparse(variables[0].value)
        if name not in dynamic:
            raise AssertionError(f"unknown values of {name} in the finding code {ast.unparse(node)}: add them to "
                                 "tests/support/code_lists.py")
        return {"".join(value if isinstance(v, ast.FormattedValue) else v.value for v in node.values)
                for value in dynamic[name]}
    return set()


def finding_codes() -> set[str]:
    """Every finding code the gateway can produce."""
    dynamic = _dynamic_prefixes()
    codes: set[str] = set()
    for path in i18n.source_files("findings"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            position = CODE_ARGUMENT.get(name)
            if position is not None and len(node.args) >= position:
                codes |= _codes_of(node.args[position - 1], dynamic)
    return codes


def message_types() -> set[str]:
    from gateway.domain.envelope import MessageType

    return {t.value for t in MessageType}


def alert_kinds() -> set[str]:
    from gateway.observability.alerts import ALERT_KINDS

    return set(ALERT_KINDS)


def config_keys() -> dict[str, set[str]]:
    """Section -> its keys, as gateway/config.py checks them (`unknown_keys`): "" holds the sections, and
    "cities.CODE" a city's keys."""
    tree = ast.parse((ROOT / "gateway" / "config.py").read_text(encoding="utf-8"))
    out: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "unknown_keys" and len(node.args) == 3:
            keys, where = node.args[1], node.args[2]
            if not isinstance(keys, ast.Set):
                continue
            section = where.value if isinstance(where, ast.Constant) else "cities.CODE"
            out.setdefault(section, set()).update(k.value for k in keys.elts if isinstance(k, ast.Constant))
    return out
