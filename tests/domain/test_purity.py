"""gateway/domain/ knows nothing of files, networks, XML or the ledger: the layering the tree promises."""

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "gateway" / "domain"
FORBIDDEN = ("os", "sys", "io", "pathlib", "shutil", "socket", "sqlite3", "subprocess", "threading", "lxml", "paramiko",
             "watchdog", "structlog", "psycopg", "urllib", "http", "adapters", "gateway.documents",
             "gateway.service", "gateway.entrypoints", "gateway.web", "gateway.observability")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_domain_imports_no_io_and_no_outer_layer() -> None:
    offending = {
        f"{path.name}: {name}"
        for path in sorted(DOMAIN.glob("*.py"))
        for name in imported_modules(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    }
    assert not offending, sorted(offending)
