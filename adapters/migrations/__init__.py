"""Numbered schema migrations that both ledgers apply at start, each once, recorded in schema_migrations.

A migration is a file `NNNN_what.sql` (both dialects) or `NNNN_what.<dialect>.sql` where SQLite and
PostgreSQL must differ; a dialect's own file wins over the shared one of the same number. Statements are
separated by `;` at the end of a line. Files, not Python strings, so an operator can read what a version did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

HERE = Path(__file__).parent
DIALECTS = ("sqlite", "postgres")
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+(?:\.(sqlite|postgres))?\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def migrations(dialect: str) -> list[Migration]:
    """The migrations for `dialect`, in version order."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}")
    return _choose(sorted(HERE.glob("*.sql")), dialect)


def _choose(paths: list[Path], dialect: str) -> list[Migration]:
    chosen: dict[int, Path] = {}
    seen: dict[tuple[int, str | None], Path] = {}
    for path in paths:
        match = _NAME.match(path.name)
        if match is None:
            raise ValueError(f"migration file {path.name} is not named NNNN_what[.dialect].sql")
        version, own = int(match.group(1)), match.group(2)
        if (version, own) in seen:  # two branches took the same number: one would be skipped without a word
            raise ValueError(f"migrations {seen[version, own].name} and {path.name} share the number {version:04d}: "
                             "renumber one")
        seen[version, own] = path
        if own is None and version not in chosen or own == dialect:
            chosen[version] = path
    return [Migration(v, p.name, _statements(p.read_text(encoding="utf-8"))) for v, p in sorted(chosen.items())]


def _statements(text: str) -> tuple[str, ...]:
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return tuple(s.strip() for s in re.split(r";\s*$", "\n".join(lines), flags=re.M) if s.strip())


class _Db(Protocol):
    def execute(self, sql: str, args: Any = ...) -> Any: ...


# How each dialect records when a version was applied.
_APPLIED_AT = {"sqlite": ("TEXT", "datetime('now')"), "postgres": ("TIMESTAMPTZ", "now()")}


def apply(db: _Db, dialect: str) -> list[int]:
    """Apply, inside the caller's transaction, every migration of `dialect` not recorded yet; returns them."""
    kind, now = _APPLIED_AT[dialect]
    db.execute(f"CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at {kind} NOT NULL)")
    done = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
    applied = []
    for migration in migrations(dialect):
        if migration.version in done:
            continue
        for statement in migration.statements:
            db.execute(statement)
        db.execute(f"INSERT INTO schema_migrations(version, applied_at) VALUES (?, {now})", (migration.version,))
        applied.append(migration.version)
    return applied
