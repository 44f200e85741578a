"""The daemon and the operators' commands: init, run, console, status, messages, trace, resend, config, demo."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from gateway.domain.areas import GATEWAY_AREA, KNOWN_AREAS, area_name

DEFAULT_CONFIG_ENV = "LTCGW_CONFIG"


def default_config() -> str:
    """$LTCGW_CONFIG, else ./gateway.toml when present, else config/gateway.toml."""
    if os.environ.get(DEFAULT_CONFIG_ENV):
        return os.environ[DEFAULT_CONFIG_ENV]
    return "gateway.toml" if Path("gateway.toml").is_file() else "config/gateway.toml"


def config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", default=None, help="config file (default: $LTCGW_CONFIG, ./gateway.toml, config/gateway.toml)")


def load_from_args(args: argparse.Namespace):
    """The checked config named by `-c` (or the default); on problems, lists them and exits with status 2."""
    from gateway.config import ConfigError, load_config

    try:
        return load_config(args.config or default_config())
    except ConfigError as exc:
        print("the configuration has problems (run `ltcgw config check`):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(2) from None


# The names before they were shared with gateway/entrypoints/settlement.py (kept while wave-2 work uses them).
_config_arg, _load = config_arg, load_from_args


def _ledger(args: argparse.Namespace):
    from gateway.bootstrap import open_ledger

    return open_ledger(_load(args))


def _refuses_second_instance(handler):
    """`ltcgw run` on a SQLite ledger another instance holds: one clear line, exit 2 (no traceback)."""
    def run(args: argparse.Namespace) -> int:
        from adapters.ledger import AnotherInstance

        try:
            return handler(args)
        except AnotherInstance as exc:
            print(f"ltcgw run: {exc}", file=sys.stderr)
            return 2
    return run


# --- init -------------------------------------------------------------------------------------------------

def write_workspace(root: Path, cities: list[str], *, retry: list[str] | None = None, workers: int = 1,
                    rescan_seconds: float = 5.0) -> Path:
    """A working gateway folder: gateway.toml, keys/, drops/CODE/{outbox,inbox}, spool/, ledger path."""
    from gateway.documents.keys import generate_keys

    root.mkdir(parents=True, exist_ok=True)
    keys = root / "keys"
    keys.mkdir(exist_ok=True)
    if not (keys / "gateway.key.pem").exists():
        key, cert = generate_keys(GATEWAY_AREA, keys)
        key.rename(keys / "gateway.key.pem")
        cert.rename(keys / "gateway.crt.pem")
    for code in cities:
        if not (keys / f"{code}.key.pem").exists():
            generate_keys(code, keys)
        for sub in ("outbox", "inbox"):
            (root / "drops" / code / sub).mkdir(parents=True, exist_ok=True)
    (root / "spool").mkdir(exist_ok=True)
    waits = ", ".join(f'"{w}"' for w in (retry or ["10m", "30m", "1h", "2h", "4h"]))
    lines = [
        "# Written by `ltcgw init`; reference: docs/operations.md. Paths are relative to this file.",
        "[gateway]",
        f'code = "{GATEWAY_AREA}"',
        'key = "keys/gateway.key.pem"',
        'certificate = "keys/gateway.crt.pem"',
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
    ]
    for code in cities:
        lines += [
            "",
            f"[cities.{code}]",
            f'name = "{area_name(code)}"',
            f'certificates = ["keys/{code}.crt.pem"]',
            f"[cities.{code}.transport]",
            'kind = "local"',
            f'drop = "drops/{code}"',
        ]
    path = root / "gateway.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _cmd_init(args: argparse.Namespace) -> int:
    cities = [c.strip() for c in args.cities.split(",") if c.strip()]
    unknown = [c for c in cities if c not in KNOWN_AREAS]
    if unknown or len(cities) < 2:
        print(f"give at least two known area codes (unknown: {', '.join(unknown) or 'none'})", file=sys.stderr)
        return 2
    path = write_workspace(Path(args.dir), cities, retry=args.retry.split(",") if args.retry else None)
    print(f"wrote {path}; keys in {path.parent / 'keys'}; drops in {path.parent / 'drops'}")
    print(f"next: ltcgw config check -c {path} && ltcgw run -c {path}")
    return 0


# --- run --------------------------------------------------------------------------------------------------

@_refuses_second_instance
def _cmd_run(args: argparse.Namespace) -> int:
    from gateway.bootstrap import build_gateway
    from gateway.service import events
    from gateway.service.daemon import Engine, run_once

    config = load_from_args(args)
    events.configure(json_lines=args.json_log, quiet=args.quiet)
    gw = build_gateway(config)
    gw.spool.clean_temporaries()
    if args.once:
        totals = run_once(gw, settle_seconds=1.1)
        gw.checker.close()
        print(json.dumps(totals) if args.json_log else " ".join(f"{k}={v}" for k, v in totals.items()))
        return 0
    engine = Engine(gw, config.rescan_seconds)
    signal.signal(signal.SIGTERM, lambda *_: engine.stopping.set())
    console = None
    if config.console.enabled:
        from gateway.web import start_with_daemon

        console = start_with_daemon(config, gw, engine)
    try:
        engine.run_forever()
    finally:
        if console is not None:
            console.stop()
    return 0


def _cmd_console(args: argparse.Namespace) -> int:
    """The web console alone, read-only, over the ledger and spool (the daemon may be running or not)."""
    import threading

    from gateway.bootstrap import open_ledger, open_spool
    from gateway.web import start_console

    config = _load(args)
    ledger = open_ledger(config)
    server = start_console(config, ledger, open_spool(config, ledger), host=args.host, port=args.port)
    print(f"console (read-only) on {server.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    server.stop()
    return 0


# --- views ------------------------------------------------------------------------------------------------

def _when(value) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


def _cmd_status(args: argparse.Namespace) -> int:
    ledger = _ledger(args)
    counts = ledger.city_counts()
    instances = ledger.instances()
    if args.json:
        print(json.dumps([
            {"city": c.city, "name": area_name(c.city), "received": c.received, "delivered": c.delivered,
             "waiting_for_receipt": c.waiting_for_receipt, "failed": c.failed, "rejected": c.rejected,
             "oldest_unacknowledged": _when(c.oldest_unacknowledged) if c.oldest_unacknowledged else None,
             "held_by": next((i.instance for i in instances if i.alive and c.city in i.cities), None)}
            for c in counts
        ], ensure_ascii=False, indent=2))
        return 0
    print(f"{'city':<14}{'received':>9}{'delivered':>10}{'waiting':>8}{'failed':>7}{'rejected':>9}  oldest unacknowledged")
    for c in counts:
        print(f"{c.city} {area_name(c.city):<7}{c.received:>9}{c.delivered:>10}{c.waiting_for_receipt:>8}"
              f"{c.failed:>7}{c.rejected:>9}  {_when(c.oldest_unacknowledged)}")
    _print_instances(instances)
    return 0


def _print_instances(instances) -> None:
    """Which instance holds which city's drop and how many captured files it is checking."""
    if not instances:
        print("\ninstances: none running")
        return
    print(f"\n{'instance':<32}{'state':<7}{'heartbeat':<27}{'checking':>9}  cities (drops it polls)")
    for i in instances:
        print(f"{i.instance:<32}{'alive' if i.alive else 'gone':<7}{_when(i.heartbeat_at):<27}{i.captures:>9}  "
              f"{', '.join(i.cities) or '-'}")


def _cmd_messages(args: argparse.Namespace) -> int:
    records = _ledger(args).messages(state=args.state, city=args.city, period=args.period)
    if args.json:
        print(json.dumps([r.as_dict() for r in records], ensure_ascii=False, indent=2))
        return 0
    for r in records:
        print(f"{r.message_id or '(unreadable ' + r.sha256[:12] + ')':<44} {r.type or '-':<7} {r.sender or r.drop_city}"
              f"->{r.receiver or '-':<7} {r.period or '-':<8} {r.serial or '-':<16} r{r.revision or '-'} {r.state.value}")
    return 0


def _cmd_trace(args: argparse.Namespace) -> int:
    traces = _ledger(args).trace(args.id)
    if not traces:
        print(f"no message {args.id}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([
            {**record.as_dict(), "transitions": [
                {"at": t.at.isoformat(), "from": t.source and t.source.value, "to": t.target.value,
                 "event": t.event, "cause": t.cause} for t in transitions]}
            for record, transitions in traces
        ], ensure_ascii=False, indent=2))
        return 0
    for record, transitions in traces:
        print(f"{record.message_id} {record.type} {record.sender}->{record.receiver} {record.period} "
              f"serial {record.serial} r{record.revision}: {record.state.value}")
        for t in transitions:
            print(f"  {_when(t.at)}  {(t.source.value if t.source else '-'):>17} -> {t.target.value:<17} {t.event}: {t.cause}")
        for finding in record.findings:
            print(f"    {finding['code']}: {finding['message']}")
    return 0


def _cmd_resend(args: argparse.Namespace) -> int:
    from gateway.bootstrap import build_gateway
    from gateway.service.resend import UnknownMessage, resend_by_hand

    gw = build_gateway(load_from_args(args), transports={})
    try:
        city = resend_by_hand(gw, args.id)
    except UnknownMessage as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{args.id} will be delivered again to {city} (the running daemon writes it at its next scan)")
    return 0


def _cmd_config_check(args: argparse.Namespace) -> int:
    from gateway.config import check_config

    path = args.config or default_config()
    config, problems = check_config(path)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {path}", file=sys.stderr)
        return 1
    print(f"{path}: OK ({len(config.cities)} cities: {', '.join(sorted(config.cities))})")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from gateway.demo import run_demo

    return run_demo(Path(args.dir) if args.dir else None, keep=args.keep)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("init", help="write a gateway workspace: config, keys, drops")
    p.add_argument("dir", help="the folder to create")
    p.add_argument("--cities", required=True, help="area codes, comma-separated (e.g. 370100,370300)")
    p.add_argument("--retry", help="receipt waits, comma-separated (default 10m,30m,1h,2h,4h)")
    p.set_defaults(handler=_cmd_init)

    p = subparsers.add_parser("run", help="run the gateway daemon")
    config_arg(p)
    p.add_argument("--once", action="store_true", help="process what is pending (due resends included) and exit")
    p.add_argument("--json-log", action="store_true", help="log JSON lines instead of console text")
    p.add_argument("--quiet", action="store_true", help="log alerts only")
    p.set_defaults(handler=_cmd_run)

    p = subparsers.add_parser("console", help="serve the web console alone, read-only (docs/operations.md)")
    _config_arg(p)
    p.add_argument("--host", help="address to bind (default [console] host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default [console] port, 8470; 0 picks a free one)")
    p.set_defaults(handler=_cmd_console)

    p = subparsers.add_parser("status", help="per city: received, delivered, waiting for receipt, failed")
    config_arg(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_status)

    p = subparsers.add_parser("messages", help="list messages")
    config_arg(p)
    p.add_argument("--state", help="e.g. DELIVERED, FAILED, REJECTED")
    p.add_argument("--city", help="area code (as sender, receiver or drop)")
    p.add_argument("--period", help="service month YYYY-MM")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_messages)

    p = subparsers.add_parser("trace", help="every transition of a message, with time and cause")
    config_arg(p)
    p.add_argument("id", help="message id (or the SHA-256 of an unreadable file)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_trace)

    p = subparsers.add_parser("resend", help="deliver a message again by hand")
    config_arg(p)
    p.add_argument("id")
    p.set_defaults(handler=_cmd_resend)

    p = subparsers.add_parser("config", help="configuration tools")
    sub = p.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    c = sub.add_parser("check", help="report every problem in a config file, with where it is")
    config_arg(c)
    c.set_defaults(handler=_cmd_config_check)

    p = subparsers.add_parser("demo", help="a month of claims and settlements between simulated cities")
    p.add_argument("--dir", help="workspace folder (default: a new temporary folder, printed)")
    p.add_argument("--keep", action="store_true", help="keep the workspace afterwards")
    p.set_defaults(handler=_cmd_demo)
