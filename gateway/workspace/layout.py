"""A gateway's working folder as `ltcgw init` writes it: gateway.toml, keys/, drops/CODE/{outbox,inbox}, spool/.

`ltcgw init`, the demo, the tests and the benchmark all start from it, so one writer keeps them in step with
what the configuration reader expects. The file holds every section config/gateway.toml documents: what the
workspace needs set, the rest as commented settings ("# key = value") an administrator uncomments, each valid
as written in this workspace (tests/admin/test_init.py uncomments them all and checks the result).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from itertools import permutations
from pathlib import Path

from gateway.domain.areas import GATEWAY_AREA, area_name


@dataclass(frozen=True)
class SftpLayout:
    """How `ltcgw init --transport sftp` names each city's account and folders on the server (`{code}` is
    replaced by the city's area code); the operator pins the server's host key in keys/known_hosts."""

    host: str
    port: int = 22
    user: str = "ltcgw{code}"
    folder: str = "."  # the account's drop: outbox/ and inbox/ inside it (relative: to the login folder)


def write_workspace(root: Path, cities: list[str], *, retry: list[str] | None = None, workers: int = 1,
                    rescan_seconds: float = 5.0, sftp: SftpLayout | None = None, algorithm: str = "rsa",
                    ledger_url: str | None = None, spool_store: str | None = None, register: bool = True,
                    cross_checks: dict[str, str] | None = None) -> Path:
    """A working gateway folder: gateway.toml, keys/, drops/CODE/{outbox,inbox}, spool/, ledger path.
    With `sftp`, the cities' drops are on that server instead, and the gateway gets its SSH key. `algorithm`
    is the cities' keys' ("sm2": SM2 cities, and the gateway gets an SM2 pair besides its RSA one to answer them).
    With `ledger_url` (postgresql://…) the ledger is that database, and the spool `spool_store` ("database",
    its default there, or "folder"). `register`: keys/register.keys (the register of entitlements' HMAC key)
    and `[register]`; `cross_checks`: an insured city's mode for the checks across documents (refuse, warn, off;
    default warn)."""
    from gateway.documents.keys import generate_keys

    root.mkdir(parents=True, exist_ok=True)
    keys = root / "keys"
    keys.mkdir(exist_ok=True)
    _gateway_keys(keys, "gateway", "ecdsa" if algorithm == "ecdsa" else "rsa")
    if algorithm == "sm2":
        _gateway_keys(keys, "gateway_sm2", "sm2")
    for code in cities:
        if not (keys / f"{code}.key.pem").exists():
            generate_keys(code, keys, algorithm=algorithm)
        for sub in ("outbox", "inbox"):
            if sftp is None:
                (root / "drops" / code / sub).mkdir(parents=True, exist_ok=True)
    if sftp is not None and not (keys / "gateway_ssh_ed25519").exists():
        from adapters.ssh_keys import write_private_key

        write_private_key(keys / "gateway_ssh_ed25519", comment="ltc-gateway")
    _operations_files(root)
    _console_session_key(keys / "console-session.key")
    if register:
        _register_keys(keys / "register.keys")
    lines = [*_head(), *_gateway(workers, rescan_seconds, algorithm == "sm2"), *_storage(ledger_url, spool_store),
             "", "# Waits for the receiver's receipt after each delivery; after the last one the message is FAILED.",
             "[retry]", "waits = [" + ", ".join(f'"{w}"' for w in (retry or ["10m", "30m", "1h", "2h", "4h"])) + "]",
             *_register(register),
             "", "# The cities: each one's signing certificate(s), pinned (a PEM file may hold the old and the new one",
             "# during a key rotation), and its drop: outbox/ (city -> gateway) and inbox/ (gateway -> city)."]
    for code in cities:
        lines += _city(root, code, sftp, algorithm == "sm2", (cross_checks or {}).get(code))
    lines += _operations(cities)
    path = root / "gateway.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


COLUMN = 50  # where the comments of commented settings start


def _optional(setting: str, why: str = "") -> str:
    """A commented setting, valid once uncommented, with what it does."""
    line = f"# {setting}"
    return f"{line:<{COLUMN - 1}} # {why}" if why else line


def _head() -> list[str]:
    return [
        "# ltc-gateway configuration, written by `ltcgw init`. docs/operations.md describes every key.",
        "# Lines \"# key = value\" are optional settings (their default or an example, valid in this workspace):",
        "# remove the \"# \" to use one. Relative paths resolve against this file's folder.",
        "# Check after each change with `ltcgw config check -c FILE`; a running daemon takes it on SIGHUP.",
        "",
    ]


def _gateway(workers: int, rescan_seconds: float, sm2: bool) -> list[str]:
    return [
        "# The gateway signs its ACK/NACK under the province's code, with this key (chmod 600) and certificate.",
        "[gateway]",
        f'code = "{GATEWAY_AREA}"',
        'key = "keys/gateway.key.pem"',
        'certificate = "keys/gateway.crt.pem"',
        *(['sm2_key = "keys/gateway_sm2.key.pem"',
           'sm2_certificate = "keys/gateway_sm2.crt.pem"'] if sm2 else []),
        f"workers = {workers}",
        f"rescan_seconds = {rescan_seconds}",
        _optional("max_message_bytes = 16777216", "larger files are refused (NACK xml.too_large)"),
        *([_optional('sm2_user_id = "1234567812345678"', "the gateway's SM2 signer id (GM/T 0009 default)")]
          if sm2 else []),
    ]


def _storage(ledger_url: str | None, spool_store: str | None) -> list[str]:
    """[ledger] and [spool]: SQLite and a folder for one instance, or PostgreSQL (several instances)."""
    lines = ["", "# The ledger: every message's state and transitions, the files owed to each city."]
    if ledger_url is None:
        lines += ["# One instance: SQLite here. Several instances share PostgreSQL: `url` instead of `path`",
                  "# (ltcgw init --ledger-url; docs/operations.md \"Several instances\").",
                  "[ledger]", 'path = "ledger.sqlite3"']
    else:
        lines += ["# Several instances share this PostgreSQL database (it must exist; the first start creates",
                  "# the tables). `ltcgw config check --connect` tries it.",
                  "[ledger]", f"url = {json.dumps(ledger_url)}",
                  _optional('instance = "gw-a"', "this process's name among the instances (default host:pid)"),
                  _optional("lease_seconds = 30", "a silent instance's drops and checks are taken over after this")]
    store = spool_store or ("database" if ledger_url else "folder")
    lines += ["", "# The spool: every file taken from a drop (inbox/, by SHA-256) and every signed reply (outbox/)."]
    if store == "database":
        lines += ["# Its bytes are kept in the PostgreSQL ledger (store = \"database\"), reachable by every instance.",
                  "[spool]", 'dir = "spool"', 'store = "database"']
    elif ledger_url:
        lines += ["# With several instances the folder must be one every instance mounts (never a local disk).",
                  "[spool]", 'dir = "spool"', 'store = "folder"']
    else:
        lines += ["[spool]", 'dir = "spool"']
    return lines


def _city(root: Path, code: str, sftp: SftpLayout | None, sm2: bool, cross_checks: str | None = None) -> list[str]:
    lines = [
        "",
        f"[cities.{code}]",
        f'name = "{area_name(code)}"',
        f'certificates = ["keys/{code}.crt.pem"]',
        *(['signature_algorithms = ["sm2"]',
           _optional('sm2_user_id = "1234567812345678"', "its SM2 signer id, as agreed with the city")] if sm2 else
          [_optional('signature_algorithms = ["rsa", "ecdsa"]', "the families it signs and gets replies in")]),
        _optional('service_types = ["01", "02"]', "the care-service types it accepts (default: all)"),
        _optional('unreachable_after = "1h"', "its drop may fail this long before /healthz is 503"),
        _optional('language = "en"', 'its NACKs\' messages in English (default "zh-CN"; the codes are the same)'),
        f'cross_checks = "{cross_checks}"' if cross_checks else
        _optional('cross_checks = "warn"', "as insured city: the checks across documents refuse, warn or off"),
        f"[cities.{code}.transport]",
    ]
    if sftp is None:
        return lines + ['kind = "local"', f'drop = "drops/{code}"',
                        _optional("settle_seconds = 1.0", "a file not renamed into the outbox must be this old")]
    from adapters.sftp import DEFAULT_POLL_SECONDS

    return lines + _sftp_table(root, code, sftp) + [
        _optional(f"poll_interval = {DEFAULT_POLL_SECONDS:g}", "seconds between listings of the outbox"),
        _optional("stable_polls = 2", "listings a file's size and mtime must hold still"),
        _optional('done_marker = ".done"', "take FILE only once FILE.done exists"),
        _optional("connect_timeout = 15", "seconds to connect and log in"),
        _optional("io_timeout = 60", "seconds without an answer before the session is dropped"),
        _optional("backoff_max = 300", "longest wait between connection attempts"),
    ]


def _operations(cities: list[str]) -> list[str]:
    pairs = [f"{residence}->{insured}" for residence, insured in permutations(cities, 2)]
    return [
        "",
        "# Operations, all optional (docs/operations.md \"Transfer log, metrics, health and alerts\").",
        "# The transfer log as JSON lines, masked, rotated by the daemon (the terminal shows it anyway):",
        "# [log]",
        _optional('path = "log/transfer.jsonl"'),
        _optional('rotate = "size"', 'or "time" (at each `when`)'),
        _optional("max_bytes = 10485760", "size rotation: the largest file"),
        _optional("backups = 10", "rotated files kept"),
        _optional('when = "midnight"', "time rotation: midnight, H, D, W0-W6 (UTC)"),
        _optional('level = "INFO"', "DEBUG, INFO, WARNING (alerts only), ERROR"),
        "# Prometheus metrics and the health check for monitoring (deploy/prometheus, deploy/grafana):",
        "# [metrics]",
        _optional("enabled = true", "/metrics and /healthz"),
        _optional('host = "127.0.0.1"', "keep it on loopback"),
        _optional("port = 9470"),
        "# Alerts go to the log, the ledger (`ltcgw status`) and, when set, a webhook:",
        "# [alerts]",
        _optional('webhook = "http://127.0.0.1:9093/ltc-gateway"', "each alert POSTed as JSON"),
        _optional('webhook_timeout = "5s"'),
        _optional("webhook_retries = 3"),
        _optional("certificate_days = 60", "warn this many days before a certificate expires"),
        _optional('language = "en"', 'the webhook\'s `meaning` in English (default "zh-CN"; `kind` is the key)'),
        "# When /healthz turns 503 for a city whose drop keeps failing (per city: its unreachable_after):",
        "# [health]",
        _optional('unreachable_after = "15m"', "a drop failing longer turns /healthz 503"),
        "",
        "# The web console (docs/operations.md \"Web console\"): off unless enabled; every page behind a login",
        "# (accounts: `ltcgw user add NAME --role viewer|operator|administrator`).",
        "# [console]",
        _optional("enabled = true"),
        _optional('host = "127.0.0.1"', "reach it with ssh -L 8470:127.0.0.1:8470"),
        _optional("port = 8470"),
        _optional('users_file = "console.users"', "the accounts, written by `ltcgw user` (chmod 600)"),
        _optional("read_only = false", "let operators resend from the console"),
        _optional('session_key_file = "keys/console-session.key"', "signs the sessions (chmod 600; made if missing)"),
        _optional("login_failures = 5", "failed logins of one account within login_window: locked out"),
        _optional("address_failures = 20", "of one client address (behind ssh -L everyone is 127.0.0.1)"),
        _optional('login_window = "15m"'),
        _optional('lockout = "15m"', "doubled at each lock-out in a row"),
        _optional('lockout_max = "24h"'),
        _optional('language = "en"', 'the pages in English (default "zh-CN"; each person may switch)'),
        "",
        "# What `ltcgw deadlines` and `ltcgw reconcile` assume (docs/settlement.md):",
        "# [settlement]",
        _optional('holidays = "holidays"', "YYYY.toml holiday files (config/holidays/README.md)"),
        _optional("warn_days = 3", "due_soon this many working days ahead"),
        _optional(f"pairs = {json.dumps(pairs)}", "RESIDENCE->INSURED pairs expected"),
        _optional(f"a5_pairs = {json.dumps(pairs[:1])}", "pairs whose A5 (附件5) is carried"),
        "",
        "# Retention (docs/operations.md \"Retention\"): off unless set; the ledger keeps every record.",
        "# [retention]",
        _optional("spool_days = 400", "originals of closed messages, days after closing"),
        _optional("quarantine_days = 90", "REJECTED files, counted from the NACK"),
        _optional("outbox_days = 400", "the gateway's signed ACK/NACK"),
        _optional("register_days = 800", "the register: ended entitlements, claims of older months"),
        _optional('every = "1h"', "how often the running daemon purges"),
    ]


def _register(kept: bool) -> list[str]:
    """[register]: the register of entitlements and its HMAC key (issue 12)."""
    if not kept:
        return []
    return ["", "# The register of entitlements (docs/operations.md): who is entitled where, from the notices and",
            "# filings carried, persons known by an HMAC of their ID number only; claims are checked against it.",
            "[register]", 'key_file = "keys/register.keys"',
            _optional('current_key = "k1"', "new entries under this key (default: the file's last line)")]


def _register_keys(path: Path) -> None:
    """A first HMAC key for the register of entitlements (32 random bytes as hex), readable by its owner only."""
    if path.exists():
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("# The register's HMAC-SHA256 keys (docs/operations.md \"The register of entitlements\"): `ID HEX`\n"
                  "# per line; the last is the current one. To rotate, append a new line; keep the old ones until\n"
                  "# `ltcgw entitlements` shows no row under them.\n"
                  f"k1 {secrets.token_hex(32)}\n")


def _console_session_key(path: Path) -> None:
    """The key signing the console's sessions (gateway/web/session_key.py), so a restart keeps them."""
    from gateway.web.session_key import create_session_key

    try:
        create_session_key(path)
    except FileExistsError:
        pass


def _operations_files(root: Path) -> None:
    """What the commented operations settings name: a log folder, a holidays folder (the console's accounts
    file is `ltcgw user add`'s to write)."""
    (root / "spool").mkdir(exist_ok=True)
    (root / "log").mkdir(exist_ok=True)
    holidays = root / "holidays"
    holidays.mkdir(exist_ok=True)
    readme = holidays / "README.txt"
    if not readme.exists():
        readme.write_text("Official holidays of the years the built-in calendar does not know yet, one YYYY.toml\n"
                          "per year: see config/holidays/README.md in the gateway's sources.\n", encoding="utf-8")


def _gateway_keys(keys: Path, name: str, algorithm: str) -> None:
    """keys/NAME.key.pem and NAME.crt.pem for the gateway (its area code in the certificate), unless present."""
    from gateway.documents.keys import generate_keys

    if (keys / f"{name}.key.pem").exists():
        return
    key, cert = generate_keys(GATEWAY_AREA, keys, algorithm=algorithm)  # type: ignore[arg-type]
    key.rename(keys / f"{name}.key.pem")
    cert.rename(keys / f"{name}.crt.pem")


def _sftp_table(root: Path, code: str, layout: SftpLayout) -> list[str]:
    from adapters.sftp import SftpSettings

    folder = layout.folder.format(code=code).rstrip("/") or "/"
    settings = SftpSettings(
        host=layout.host, port=layout.port, user=layout.user.format(code=code),
        private_key=root / "keys" / "gateway_ssh_ed25519", known_hosts=root / "keys" / "known_hosts",
        outbox=f"{folder}/outbox" if folder != "." else "outbox", inbox=f"{folder}/inbox" if folder != "." else "inbox",
    )
    return settings.to_toml(root)
