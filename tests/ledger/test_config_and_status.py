"""Choosing the ledger in the config, upgrading an old SQLite ledger, and `ltcgw status` naming the instances."""

from __future__ import annotations

import sqlite3

import pytest

from adapters.migrations import migrations
from adapters.postgres_ledger import PostgresLedger
from adapters.spool import DatabaseSpool, FolderSpool
from adapters.sqlite_ledger import SqliteLedger
from gateway.bootstrap import open_ledger, open_spool
from gateway.config import check_config
from gateway.entrypoints.cli import main
from gateway.workspace.layout import write_workspace

from .test_instances import share

JINAN, ZIBO = "370100", "370300"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    root = tmp_path_factory.mktemp("ledger-keys")
    write_workspace(root, [JINAN, ZIBO])
    return root / "keys"


def _config(tmp_path, keys, ledger_lines: str, spool_lines: str = 'dir = "spool"'):
    import shutil

    shutil.copytree(keys, tmp_path / "keys", dirs_exist_ok=True)
    path = write_workspace(tmp_path, [JINAN, ZIBO])
    text = path.read_text(encoding="utf-8")
    text = text.replace('[ledger]\npath = "ledger.sqlite3"', f"[ledger]\n{ledger_lines}")
    text = text.replace('[spool]\ndir = "spool"', f"[spool]\n{spool_lines}")
    path.write_text(text, encoding="utf-8")
    return path


def test_a_postgresql_url_puts_the_ledger_and_the_spool_in_the_database(tmp_path, keys, postgres_server) -> None:
    url = postgres_server.new_database()
    config, problems = check_config(_config(tmp_path, keys, f'url = "{url}"\ninstance = "gw-a"\nlease_seconds = 10'))
    assert problems == []
    assert (config.ledger_url, config.spool_store, config.instance, config.lease_seconds) == (url, "database", "gw-a", 10)
    ledger = open_ledger(config)
    assert isinstance(ledger, PostgresLedger) and isinstance(open_spool(config, ledger), DatabaseSpool)
    ledger.close()


def test_sqlite_stays_the_default_and_a_sqlite_url_names_its_file(tmp_path, keys) -> None:
    config, _ = check_config(_config(tmp_path, keys, 'url = "sqlite:///state/l.sqlite3"'))
    assert config is None  # the folder does not exist yet
    (tmp_path / "state").mkdir()
    config, problems = check_config(tmp_path / "gateway.toml")
    assert problems == [] and config.ledger_url is None and config.spool_store == "folder"
    assert config.ledger_path == tmp_path / "state" / "l.sqlite3"
    ledger = open_ledger(config)
    assert isinstance(ledger, SqliteLedger) and isinstance(open_spool(config, ledger), FolderSpool)
    ledger.close()


def test_ledger_and_spool_mistakes_are_reported(tmp_path, keys) -> None:
    path = _config(tmp_path, keys, 'url = "mysql://x"\nlease_seconds = 0', 'dir = "spool"\nstore = "database"')
    config, problems = check_config(path)
    places = sorted(str(p).split(": ")[0] for p in problems)
    assert config is None
    assert places == ["gateway.toml:ledger.lease_seconds", "gateway.toml:ledger.url", "gateway.toml:spool.store"]


def test_an_old_sqlite_ledger_is_upgraded_by_the_missing_migrations_only(tmp_path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    for statement in migrations("sqlite")[0].statements:  # a ledger written before migration 2 existed
        db.execute(statement)
    db.execute("INSERT INTO captures(city, name, sha256, size, mtime, captured_at) VALUES ('370300','a','x',1,1,'t')")
    db.execute("INSERT INTO schema_migrations VALUES (1, 'then')")
    db.commit()
    db.close()
    ledger = SqliteLedger(path)
    assert ledger.schema_version() == migrations("sqlite")[-1].version  # numbers may skip (branches merge)
    [row] = ledger._db().execute("SELECT name, leased_by FROM captures").fetchall()
    assert tuple(row) == ("a", None)
    ledger.close()


def test_status_names_the_instances_and_the_drops_they_hold(tmp_path, keys, postgres_server, capsys) -> None:
    url = postgres_server.new_database()
    path = _config(tmp_path, keys, f'url = "{url}"')
    ledger = PostgresLedger(url)
    share(ledger, ledger, [JINAN, ZIBO])
    assert main(["status", "-c", str(path)]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("gw-")}
    assert set(lines) == {"gw-a", "gw-b"} and all("alive" in line for line in lines.values())
    assert sorted(c for line in lines.values() for c in (JINAN, ZIBO) if c in line) == [JINAN, ZIBO]
    ledger.leave("gw-b")
    assert main(["status", "-c", str(path), "--json"]) == 0
    capsys.readouterr()
    ledger.close()
