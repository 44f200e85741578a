"""The layering holds: nothing imports back up a layer, the service imports no adapter, and no import closes a
circle, counting the imports inside functions (a function-level import hides a circle; it does not remove it)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. A module may import its own layer and the layers before it, never one after it; layers that
# share a rank (adapters and the web console) know nothing of each other.
LAYERS: list[tuple[str, ...]] = [
    ("gateway.i18n",),  # the message catalogs: below everything, so that a finding can say itself in a language
    ("gateway.domain",),
    ("gateway.documents",),
    ("gateway.service",),
    ("gateway.observability",),
    ("adapters", "gateway.web"),
    ("gateway.config",),
    ("gateway.bootstrap", "gateway.workspace"),
    ("gateway.entrypoints",),
]


def _modules() -> dict[str, Path]:
    found = {}
    for package in ("gateway", "adapters"):
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every gateway/adapters module `name` imports, anywhere in the file (TYPE_CHECKING blocks aside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING") for n in ast.walk(node)}
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                out.add(target)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def _rank(module: str) -> int | None:
    for rank, layer in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in layer):
            return rank
    return None


def _layer(module: str) -> str | None:
    for layer in LAYERS:
        for prefix in layer:
            if module == prefix or module.startswith(prefix + "."):
                return prefix
    return None


def test_every_module_has_a_layer() -> None:
    assert [m for m in _graph() if _rank(m) is None and m not in ("gateway", "adapters")] == []


def test_no_import_runs_back_up_a_layer() -> None:
    upward = []
    for module, targets in _graph().items():
        for target in targets:
            a, b = _rank(module), _rank(target)
            if a is not None and b is not None and (b > a or (b == a and _layer(module) != _layer(target))):
                upward.append(f"{module} -> {target}")
    assert sorted(upward) == []


def test_the_service_imports_no_adapter() -> None:
    graph = _graph()
    assert sorted(f"{m} -> {t}" for m, ts in graph.items() if m.startswith("gateway.service")
                  for t in ts if t.startswith("adapters")) == []


def test_no_import_closes_a_circle() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert circles == []


def test_the_checks_find_what_they_are_for(tmp_path: Path) -> None:
    """The graph sees a function-level import and a circle (so the tests above can fail)."""
    (tmp_path / "a.py").write_text("def f():\n    from b import g\n")
    assert _imports("a", tmp_path / "a.py", {"a", "b"}) == {"b"}
    assert _rank("gateway.service.daemon") < _rank("adapters.sftp")
