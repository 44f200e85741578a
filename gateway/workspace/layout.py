"""A gateway's working folder as `ltcgw init` writes it: gateway.toml, keys/, drops/CODE/{outbox,inbox}, spool/.

`ltcgw init`, the demo, the tests and the benchmark all start from it, so one writer keeps them in step with
what the configuration reader expects (config/gateway.toml documents every key).
"""

from __future__ import annotations

from dataclasses import dataclass
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
                    register: bool = True, cross_checks: dict[str, str] | None = None) -> Path:
    """A working gateway folder: gateway.toml, keys/, drops/CODE/{outbox,inbox}, spool/, ledger path.
    With `sftp`, the cities' drops are on that server instead, and the gateway gets its SSH key. `algorithm`
    is the cities' keys' ("sm2": SM2 cities, and the gateway gets an SM2 pair besides its RSA one to answer them).
    `register`: keys/register.keys (the register of entitlements' HMAC key) and `[register]`; `cross_checks`: an
    insured city's mode for the checks across documents (refuse, warn, off; default warn)."""
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
    (root / "spool").mkdir(exist_ok=True)
    if register:
        _register_keys(keys / "register.keys")
    sm2 = algorithm == "sm2"
    waits = ", ".join(f'"{w}"' for w in (retry or ["10m", "30m", "1h", "2h", "4h"]))
    lines = [
        "# Written by `ltcgw init`; reference: docs/operations.md. Paths are relative to this file.",
        "[gateway]",
        f'code = "{GATEWAY_AREA}"',
        'key = "keys/gateway.key.pem"',
        'certificate = "keys/gateway.crt.pem"',
        *(['sm2_key = "keys/gateway_sm2.key.pem"',
           'sm2_certificate = "keys/gateway_sm2.crt.pem"'] if sm2 else []),
        f"workers = {workers}",
        f"rescan_seconds = {rescan_seconds}",
        "",
        "[ledger]",
        'path = "ledger.sqlite3"',
        "",
        "[spool]",
        'dir = "spool"',
        "",
        "[retry]",
        f"waits = [{waits}]",
        *(["", "[register]", 'key_file = "keys/register.keys"'] if register else []),
    ]
    for code in cities:
        lines += [
            "",
            f"[cities.{code}]",
            f'name = "{area_name(code)}"',
            f'certificates = ["keys/{code}.crt.pem"]',
            *([f'cross_checks = "{cross_checks[code]}"'] if cross_checks and code in cross_checks else []),
            *(['signature_algorithms = ["sm2"]'] if sm2 else []),
            f"[cities.{code}.transport]",
            *(_sftp_table(root, code, sftp) if sftp else ['kind = "local"', f'drop = "drops/{code}"']),
        ]
    path = root / "gateway.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _gateway_keys(keys: Path, name: str, algorithm: str) -> None:
    """keys/NAME.key.pem and NAME.crt.pem for the gateway (its area code in the certificate), unless present."""
    from gateway.documents.keys import generate_keys

    if (keys / f"{name}.key.pem").exists():
        return
    key, cert = generate_keys(GATEWAY_AREA, keys, algorithm=algorithm)  # type: ignore[arg-type]
    key.rename(keys / f"{name}.key.pem")
    cert.rename(keys / f"{name}.crt.pem")


def _register_keys(path: Path) -> None:
    """A first HMAC key for the register of entitlements (32 random bytes as hex), readable by its owner only."""
    import os
    import secrets

    if path.exists():
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("# The register's HMAC-SHA256 keys (docs/operations.md \"The register of entitlements\"): `ID HEX`\n"
                  "# per line; the last is the current one. To rotate, append a new line; keep the old ones until\n"
                  "# `ltcgw status` shows no row under them.\n"
                  f"k1 {secrets.token_hex(32)}\n")


def _sftp_table(root: Path, code: str, layout: SftpLayout) -> list[str]:
    from adapters.sftp import SftpSettings

    folder = layout.folder.format(code=code).rstrip("/") or "/"
    settings = SftpSettings(
        host=layout.host, port=layout.port, user=layout.user.format(code=code),
        private_key=root / "keys" / "gateway_ssh_ed25519", known_hosts=root / "keys" / "known_hosts",
        outbox=f"{folder}/outbox" if folder != "." else "outbox", inbox=f"{folder}/inbox" if folder != "." else "inbox",
    )
    return settings.to_toml(root)
