"""The daemon and the operators' commands: init, run, console, status, messages, trace, purge, resend, config, demo."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from gateway.domain.areas import KNOWN_AREAS, area_name
from gateway.workspace.layout import SftpLayout, write_workspace

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


def _ledger(args: argparse.Namespace):
    from gateway.bootstrap import open_ledger

    return open_ledger(load_from_args(args))


def _refuses_second_instance(handler):
    """`ltcgw run` on a SQLite ledger another instance holds: one clear line, exit 2 (no traceback)."""
    def run(args: argparse.Namespace) -> int:
        from gateway.service.ports.ledger import AnotherInstance

        try:
            return handler(args)
        except AnotherInstance as exc:
            print(f"ltcgw run: {exc}", file=sys.stderr)
            return 2
    return run


# --- init -------------------------------------------------------------------------------------------------

def _cmd_init(args: argparse.Namespace) -> int:
    cities = [c.strip() for c in args.cities.split(",") if c.strip()]
    unknown = [c for c in cities if c not in KNOWN_AREAS]
    if unknown or len(cities) < 2:
        print(f"give at least two known area codes (unknown: {', '.join(unknown) or 'none'})", file=sys.stderr)
        return 2
    if args.ledger_url and not args.ledger_url.startswith(("postgresql://", "postgres://")):
        print("--ledger-url must be a PostgreSQL URL, e.g. postgresql://ltcgw@db.example:5432/ltcgw", file=sys.stderr)
        return 2
    if args.spool_store == "database" and not args.ledger_url:
        print("--spool-store database keeps the spool in the PostgreSQL ledger: give --ledger-url", file=sys.stderr)
        return 2
    sftp = None
    if args.transport == "sftp":
        if not args.sftp_host:
            print("--transport sftp needs --sftp-host", file=sys.stderr)
            return 2
        sftp = SftpLayout(args.sftp_host, args.sftp_port, args.sftp_user, args.sftp_dir)
    path = write_workspace(Path(args.dir), cities, retry=args.retry.split(",") if args.retry else None, sftp=sftp,
                           algorithm=args.algorithm, ledger_url=args.ledger_url, spool_store=args.spool_store)
    keys = path.parent / "keys"
    steps = []
    if sftp is None:
        print(f"wrote {path}; keys in {keys}; drops in {path.parent / 'drops'}")
    else:
        public = (keys / "gateway_ssh_ed25519.pub").read_text().strip()
        folders = ", ".join(sorted({f"{sftp.folder.format(code=c).rstrip('/') or '/'}/{{outbox,inbox}}" for c in cities}))
        print(f"wrote {path}; keys in {keys}; the cities' drops are on {sftp.host}:{sftp.port}")
        steps += [f"on the server, authorize the gateway's SSH key for each city's account ({sftp.user}):\n   {public}",
                  f"pin the server's host key, after checking its fingerprint with the server's operator:\n"
                  f"   ssh-keyscan -p {sftp.port} {sftp.host} > {keys / 'known_hosts'}",
                  f"`ltcgw config check --connect` (below) creates each account's outbox/ and inbox/ ({folders}) "
                  "where the account may; otherwise it names the folders to ask the server's operator for"]
    if args.ledger_url:
        steps.append("the PostgreSQL database must exist and its user may create tables (the first start creates "
                     "them); `ltcgw config check --connect` tries it")
    for number, step in enumerate(steps, 1):
        print(f"{number}. {step}")
    print(f"next: ltcgw config check --connect -c {path} && ltcgw run -c {path}")
    return 0


# --- run --------------------------------------------------------------------------------------------------

@_refuses_second_instance
def _cmd_run(args: argparse.Namespace) -> int:
    from gateway.bootstrap import Daemon, run_once_for
    from gateway.observability.transfer_log import configure, reset

    config = load_from_args(args)
    configure(config.log, json_lines=args.json_log, quiet=args.quiet)
    try:
        if args.once:
            failing: dict[str, str] = {}
            totals = run_once_for(config, listener=_failing_drops(failing))
            print(json.dumps(totals) if args.json_log else " ".join(f"{k}={v}" for k, v in totals.items()))
            for warning in certificate_warnings(config):  # cron mails stderr: the administrator sees it in time
                print(f"ltcgw run --once: warning: {warning}", file=sys.stderr)
            return _once_status(totals, failing, len(config.cities))
        return Daemon(config).run()
    finally:
        reset()  # `ltcgw run` called in-process (tests) leaves the log as it found it


def _failing_drops(failing: dict[str, str]):
    """A transfer-log listener noting the cities whose drop failed, with the first error (`drop_unreachable`)."""

    def note(event: str, fields: dict) -> None:
        if event == "drop_unreachable" and fields.get("city"):
            failing.setdefault(fields["city"], str(fields.get("error", "")))

    return note


def _once_status(totals: dict[str, int], failing: dict[str, str], cities: int) -> int:
    """`run --once` from cron: 1 when no city's drop could be reached (nothing was exchanged); the unreachable
    ones named on stderr either way."""
    if not totals.get("unreachable"):
        return 0
    named = "".join(f"\n  {city} {area_name(city)}: {error}" for city, error in sorted(failing.items()))
    if totals["unreachable"] >= cities:
        print(f"ltcgw run --once: no city's drop could be reached (the alerts say more):{named}", file=sys.stderr)
        return 1
    print(f"ltcgw run --once: {totals['unreachable']} of {cities} cities could not be reached:{named}", file=sys.stderr)
    return 0


def _cmd_console(args: argparse.Namespace) -> int:
    """The web console alone over the ledger and spool (the daemon may be running or not). Read-only unless
    `[console] read_only = false`: then an operator's resend is recorded in the ledger as `ltcgw resend` does,
    and the running daemon writes it at its next scan."""
    import threading
    from dataclasses import replace

    from gateway.bootstrap import build_gateway, open_ledger, open_spool, start_console_for
    from gateway.observability.events import TransferLog
    from gateway.service.resend import resend_by_hand

    config = load_from_args(args)
    settings = config.console
    settings = replace(settings, host=args.host or settings.host, port=settings.port if args.port is None else args.port)
    resend = None
    if settings.read_only:
        ledger = open_ledger(config)
        spool, log = open_spool(config, ledger), TransferLog()
    else:
        gw = build_gateway(config, transports={})
        ledger, spool, log = gw.ledger, gw.spool, gw.log
        resend = lambda message_id, cause: resend_by_hand(gw, message_id, cause=cause)  # noqa: E731
    server = start_console_for(config, ledger, spool, log, settings=settings, resend=resend)
    mode = "read-only" if resend is None else "resend: the running daemon writes it at its next scan"
    print(f"console ({mode}) on {server.url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    server.stop()
    ledger.close()
    return 0


# --- views ------------------------------------------------------------------------------------------------


def _when(value) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


def _cmd_status(args: argparse.Namespace) -> int:
    from gateway.observability.alerts import recent_alerts
    from gateway.observability.masking import mask_value

    ledger = _ledger(args)
    counts = ledger.city_counts()
    instances = ledger.instances()
    alerts = recent_alerts(ledger, args.alerts)
    if args.json:
        print(json.dumps(mask_value({"cities": [
            {"city": c.city, "name": area_name(c.city), "received": c.received, "delivered": c.delivered,
             "waiting_for_receipt": c.waiting_for_receipt, "failed": c.failed, "rejected": c.rejected,
             "oldest_unacknowledged": _when(c.oldest_unacknowledged) if c.oldest_unacknowledged else None,
             "held_by": next((i.instance for i in instances if i.alive and c.city in i.cities), None)}
            for c in counts
        ], "instances": [
            {"instance": i.instance, "host": i.host, "pid": i.pid, "alive": i.alive, "started_at": _when(i.started_at),
             "heartbeat_at": _when(i.heartbeat_at), "cities": list(i.cities), "checking": i.captures}
            for i in instances
        ], "alerts": alerts}), ensure_ascii=False, indent=2))
        return 0
    print(f"{'city':<14}{'received':>9}{'delivered':>10}{'waiting':>8}{'failed':>7}{'rejected':>9}  oldest unacknowledged")
    for c in counts:
        print(f"{c.city} {area_name(c.city):<7}{c.received:>9}{c.delivered:>10}{c.waiting_for_receipt:>8}"
              f"{c.failed:>7}{c.rejected:>9}  {_when(c.oldest_unacknowledged)}")
    _print_instances(instances)
    _print_alerts(alerts)
    return 0


def _print_alerts(alerts: list[dict]) -> None:
    """The newest alerts first (kind, city, what): what needs an operator's attention."""
    from gateway.observability.masking import mask_text

    if not alerts:
        print("\nalerts: none")
        return
    print(f"\nalerts (newest first, {len(alerts)}):")
    for a in alerts:
        detail = " ".join(f"{k}={v}" for k, v in a.items() if k not in ("at", "kind", "city") and v not in (None, ""))
        print(mask_text(f"  {a['at']}  {a.get('kind', '-'):<21}{a.get('city') or '-':<8}{detail}"))


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
    from gateway.observability.masking import mask_value

    records = _ledger(args).messages(state=args.state, city=args.city, period=args.period)
    if args.json:
        print(json.dumps(mask_value([r.as_dict() for r in records]), ensure_ascii=False, indent=2))
        return 0
    print(f"{'received (UTC)':<20} {'message id':<44} {'type':<7} {'from->to':<14} {'month':<8} {'serial':<16} "
          f"{'rev':<4} state")
    for r in records:
        print(f"{r.received_at.strftime('%Y-%m-%d %H:%M:%S'):<20} "
              f"{r.message_id or '(unreadable ' + r.sha256[:12] + ')':<44} {r.type or '-':<7} "
              f"{(r.sender or r.drop_city) + '->' + (r.receiver or '-'):<14} {r.period or '-':<8} {r.serial or '-':<16} "
              f"{'r' + str(r.revision or '-'):<4} {r.state.value}")
    return 0


def _filter_state(value: str) -> str:
    """`--state`: a lifecycle state (any letter case), else argparse's clear error and exit 2."""
    from gateway.domain.lifecycle import State

    if value.upper() not in State.__members__:
        raise argparse.ArgumentTypeError(f"unknown state {value!r} (known: {', '.join(State.__members__)})")
    return value.upper()


def _filter_city(value: str) -> str:
    if value not in KNOWN_AREAS:
        raise argparse.ArgumentTypeError(f"{value!r} is not a Shandong city's six-digit area code (e.g. 370100)")
    return value


def _filter_period(value: str) -> str:
    from gateway.domain.deadlines import parse_period

    try:
        parse_period(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a service month YYYY-MM (e.g. 2026-10)") from None
    return value


def _cmd_trace(args: argparse.Namespace) -> int:
    from gateway.observability.masking import mask_text, mask_value

    from gateway.bootstrap import open_ledger, open_spool
    from gateway.service.retention import original_purged_at

    config = load_from_args(args)
    ledger = open_ledger(config)
    traces, problem = _traces_of(ledger, args.id)
    if problem is not None:
        print(f"ltcgw trace: {problem}", file=sys.stderr)
        return 1
    spool = open_spool(config, ledger)
    purged = {record.key: original_purged_at(ledger, spool, record.sha256) for record, _ in traces}
    if args.json:
        print(json.dumps(mask_value([
            {**record.as_dict(), "purged_at": _when(purged[record.key]) if purged[record.key] else None, "transitions": [
                {"at": t.at.isoformat(), "from": t.source and t.source.value, "to": t.target.value,
                 "event": t.event, "cause": t.cause} for t in transitions]}
            for record, transitions in traces
        ]), ensure_ascii=False, indent=2))
        return 0
    say = _masked_print(mask_text)  # causes name files, findings quote parsers: masked like the log
    from gateway.domain.findings import finding_text
    from gateway.entrypoints.reader import reader_language

    for record, transitions in traces:
        say(_trace_heading(record))
        for t in transitions:
            say(f"  {_when(t.at)}  {(t.source.value if t.source else '-'):>17} -> {t.target.value:<17} {t.event}: {t.cause}")
        for finding in record.findings:  # said again in the reader's language, its values masked
            print(f"    {mask_text(finding['code'])}: {finding_text(finding, reader_language(args), mask_text)}")
        if purged[record.key]:
            say(f"  original purged on {purged[record.key].date().isoformat()} (retention; the ledger keeps its record)")
    return 0


def _cmd_purge(args: argparse.Namespace) -> int:
    """Delete the originals `[retention]` lets go now (the daemon does it hourly); --dry-run lists them."""
    from gateway.bootstrap import open_ledger, open_spool
    from gateway.service.context import utc_now
    from gateway.service.retention import purge

    config = load_from_args(args)
    ledger = open_ledger(config)
    try:
        report = purge(ledger, open_spool(config, ledger), config.retention, utc_now(), dry_run=args.dry_run)
    finally:
        ledger.close()
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0
    if not config.retention.enabled:
        print("retention is off: no [retention] days in the config, nothing is ever purged")
        return 0
    verb = "would purge" if args.dry_run else "purged"
    for item in report.purged:
        print(f"{verb} {item.area}/{item.sha256} ({item.reason}; {len(item.message_keys)} message(s))")
    print(f"{verb} {len(report.purged)} file(s)" + (f"; {report.kept} kept (stored again since)" if report.kept else ""))
    return 0


MIN_PREFIX = 8  # shorter prefixes of a message id name a city and a year, not a message


def _traces_of(ledger, given: str) -> tuple[list, str | None]:
    """The traces of the message id or SHA-256 `given` stands for (itself, or the one it is the start of), or
    why there are none (nothing matches, or several do: they are listed)."""
    if traces := ledger.trace(given):
        return traces, None
    if len(given) < MIN_PREFIX:
        return [], f"no message {given} (a short id needs at least {MIN_PREFIX} characters)"
    shown: dict[str, str] = {}
    rows = ledger.refs_starting(given, limit=21)
    for message_id, sha256 in rows:
        if message_id and message_id.startswith(given):
            shown.setdefault(message_id, message_id)
        else:
            shown.setdefault(sha256, f"{sha256} ({message_id or 'unreadable file'})")
    if not shown:
        return [], f"no message {given}"
    if len(shown) == 1:
        return ledger.trace(next(iter(shown))), None
    more = " or more" if len(rows) > 20 else ""
    listed = "\n  ".join(list(shown.values())[:20])
    return [], f"{given} is the start of {len(shown)}{more} messages; give more of it:\n  {listed}"


def _trace_heading(record) -> str:
    """One line naming the message; for a file whose header could not be read, what is known of the file."""
    if record.message_id is None:
        codes = ", ".join(sorted({f["code"] for f in record.findings})) or "no findings"
        return (f"unreadable file sha256 {record.sha256} from {record.drop_city} {area_name(record.drop_city)}'s "
                f"drop, {record.size} bytes: {record.state.value} ({codes})")
    return (f"{record.message_id} {record.type or '-'} {record.sender or record.drop_city}->{record.receiver or '-'} "
            f"{record.period or '-'} serial {record.serial or '-'} r{record.revision or '-'}: {record.state.value}")


def _masked_print(mask):
    import builtins

    return lambda text="", **kw: builtins.print(mask(str(text)), **kw)


def _cmd_resend(args: argparse.Namespace) -> int:
    from gateway.bootstrap import build_gateway
    from gateway.observability.transfer_log import configure, reset
    from gateway.service.resend import UnknownMessage, resend_by_hand

    gw = build_gateway(load_from_args(args), transports={})
    configure(stream=sys.stderr)  # its `resend_requested` line: stdout is the answer (`--json` a document)
    try:
        city = resend_by_hand(gw, args.id)
    except UnknownMessage as exc:
        if args.json:
            print(json.dumps({"id": args.id, "resent": False, "error": str(exc)}, ensure_ascii=False))
        else:
            print(exc, file=sys.stderr)
        return 1
    finally:
        reset()
        gw.ledger.close()
    if args.json:
        print(json.dumps({"id": args.id, "resent": True, "city": city, "name": area_name(city)}, ensure_ascii=False))
    else:
        print(f"{args.id} will be delivered again to {city} (the running daemon writes it at its next scan)")
    return 0


def _cmd_config_check(args: argparse.Namespace) -> int:
    """Problems (exit 1), else warnings (exit 0): calendar, certificates expiring; --connect tries each drop."""
    from gateway.config import check_config

    path = args.config or default_config()
    config, problems = check_config(path)
    report: dict = {"file": str(path), "ok": not problems, "problems": [
        {"where": p.where, "message": p.message} for p in problems], "warnings": [], "cities": []}
    if config is not None:
        report["cities"] = sorted(config.cities)
        report["warnings"] = _calendar_warnings(config) + certificate_warnings(config) + _console_warnings(config) + config.deprecations()
        if args.connect:
            report["connections"] = _check_connections(config)
            report["ok"] = all(c["ok"] for c in report["connections"])
            if config.ledger_url:
                from adapters.postgres_ledger import probe

                usable, found = probe(config.ledger_url)
                report["ledger"] = {"ok": usable, "found": found}
                report["ok"] = report["ok"] and usable
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0 if report["ok"] else 1
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {path}", file=sys.stderr)
        return 1
    print(f"{path}: OK ({len(report['cities'])} cities: {', '.join(report['cities'])})")
    for warning in report["warnings"]:  # warnings, not problems: the exit status stays 0
        print(f"warning: {warning}")
    for check in report.get("connections", []):
        print(f"{check['city']} {check['name']}: {'OK' if check['ok'] else 'PROBLEM'}")
        for line in check["details"]:
            print(f"    {line}")
        for line in check["problems"]:
            print(f"    problem: {line}")
    if "ledger" in report:
        print(f"ledger: {'OK' if report['ledger']['ok'] else 'PROBLEM'}: {report['ledger']['found']}")
    failed = [c for c in report.get("connections", []) if not c["ok"]]
    if failed:
        print(f"{len(failed)} of {len(report['cities'])} cities cannot be reached", file=sys.stderr)
    return 0 if report["ok"] else 1


def certificate_warnings(config, now=None) -> list[str]:
    """The gateway's and the pinned cities' certificates that expire within `[alerts] certificate_days` (60 by
    default, as Domibus warns) with no successor in the same file: `config check` and `run --once` say so."""
    from datetime import timedelta

    from gateway.bootstrap import watched
    from gateway.observability.alerts import expiring_certificates

    days = config.alerts.certificate_days
    found = expiring_certificates(watched(config).certificates, timedelta(days=days), now)
    owners = {"gateway": "the gateway", "gateway_sm2": "the gateway (SM2)"}
    return [f"certificate of {owners.get(c['ref']) or c['ref'] + ' ' + area_name(c['ref'])} "
            f"({c['file']}, {c['subject']}) "
            + (f"expires on {c['not_after'][:10]}, in {c['days']:g} days" if c["days"] > 0 else
               f"expired on {c['not_after'][:10]}")
            + f" (warned {days} days ahead): put its successor in the same file beside it and reload" for c in found]


def _console_warnings(config) -> list[str]:
    """An enabled console that nobody can log in to (no accounts file yet, or no account in it)."""
    from gateway.web.accounts import AccountsError, read_accounts

    console = config.console
    if not console.enabled or console.users_file is None:
        return []
    try:
        accounts = read_accounts(console.users_file)
    except AccountsError:
        return []  # a problem already (its mode), or a malformed line `ltcgw user list` names
    if accounts:
        return []
    return [f"console.users_file: no account in {console.users_file}, so nobody can log in to the console: "
            "`ltcgw user add NAME --role operator`"]


def _calendar_warnings(config, today=None) -> list[str]:
    """From 1 October: next year's official holidays, when no calendar knows them yet (calendar_missing)."""
    from datetime import datetime

    from gateway.domain.deadlines import CHINA_TIME, calendar_missing
    from gateway.service.settlement import SettlementError as UsageError, load_calendar

    folder = config.settlement.holidays or Path(config.path).parent / "holidays"
    try:
        calendar = load_calendar(folder)
    except UsageError as exc:
        return [str(exc)]
    missing = calendar_missing(today or datetime.now(CHINA_TIME).date(), calendar)
    if missing is None:
        return []
    return [f"settlement.holidays: {missing.note}; needed by {missing.due.isoformat()} (folder {folder})"]


def _check_connections(config) -> list[dict]:
    """`config check --connect`: build each city's transport and try it (its check_connection: SFTP logs in,
    lists both folders, creating missing ones where it may, writes a probe; a local drop is scanned); per city
    {city, name, ok, details, problems}."""
    from gateway.bootstrap import build_transport

    results = []
    for code, city in sorted(config.cities.items()):
        result = {"city": code, "name": area_name(code), "ok": False, "details": [], "problems": []}
        results.append(result)
        try:
            transport = build_transport(code, city.transport)
        except Exception as exc:
            result["problems"] = [f"cannot be set up: {exc}"]
            continue
        try:
            report = transport.check_connection()
            result.update(ok=report.ok, details=list(report.details), problems=list(report.problems))
        except Exception as exc:
            result.update(ok=False, problems=[str(exc)])
        finally:
            transport.close()
    return results


def _cmd_demo(args: argparse.Namespace) -> int:
    from gateway.workspace.demo import run_demo

    return run_demo(Path(args.dir) if args.dir else None, keep=args.keep)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("init", help="write a gateway workspace: config, keys, drops")
    p.add_argument("dir", help="the folder to create")
    p.add_argument("--cities", required=True, help="area codes, comma-separated (e.g. 370100,370300)")
    p.add_argument("--retry", help="receipt waits, comma-separated (default 10m,30m,1h,2h,4h)")
    p.add_argument("--algorithm", choices=("rsa", "ecdsa", "sm2"), default="rsa",
                   help="the cities' signing keys (default rsa); sm2: SM2 cities, and an SM2 pair for the gateway's replies")
    p.add_argument("--transport", choices=("local", "sftp"), default="local", help="the cities' drops (default local)")
    p.add_argument("--sftp-host", help="SFTP server of the cities' drops (with --transport sftp)")
    p.add_argument("--sftp-port", type=int, default=22, help="its SSH port (default 22)")
    p.add_argument("--sftp-user", default=SftpLayout.user, help="account per city, {code} = area code (default ltcgw{code})")
    p.add_argument("--sftp-dir", default=SftpLayout.folder,
                   help="each account's drop holding outbox/ and inbox/, {code} = area code (default: the login folder)")
    p.add_argument("--ledger-url", metavar="URL", help="a PostgreSQL ledger several instances share, e.g. "
                   "postgresql://ltcgw@db.example:5432/ltcgw (default: SQLite in the folder, one instance)")
    p.add_argument("--spool-store", choices=("folder", "database"), help="where the spool keeps the files' bytes: "
                   "database (the default with --ledger-url: in PostgreSQL) or folder (spool/; every instance must "
                   "mount it)")
    p.set_defaults(handler=_cmd_init)

    p = subparsers.add_parser("run", help="run the gateway daemon")
    config_arg(p)
    p.add_argument("--once", action="store_true", help="process what is pending (due resends included) and exit")
    p.add_argument("--json-log", action="store_true", help="log JSON lines instead of console text")
    p.add_argument("--quiet", action="store_true", help="log alerts only")
    p.set_defaults(handler=_cmd_run)

    p = subparsers.add_parser("console", help="serve the web console alone: read-only unless [console] read_only = false (docs/operations.md)")
    config_arg(p)
    p.add_argument("--host", help="address to bind (default [console] host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default [console] port, 8470; 0 picks a free one)")
    p.set_defaults(handler=_cmd_console)

    p = subparsers.add_parser("status", help="per city: received, delivered, waiting for receipt, failed")
    config_arg(p)
    p.add_argument("--json", action="store_true", help="print {cities, instances, alerts} as JSON")
    p.add_argument("--alerts", type=int, default=10, metavar="N", help="show the N newest alerts (default 10)")
    p.set_defaults(handler=_cmd_status)

    p = subparsers.add_parser("messages", help="list messages")
    config_arg(p)
    p.add_argument("--state", type=_filter_state, help="only in this state, e.g. DELIVERED, FAILED, REJECTED")
    p.add_argument("--city", type=_filter_city, help="only of this area code (as sender, receiver or drop)")
    p.add_argument("--period", type=_filter_period, help="only of this service month YYYY-MM")
    p.add_argument("--json", action="store_true", help="print the messages as JSON objects")
    p.set_defaults(handler=_cmd_messages)

    p = subparsers.add_parser("trace", help="every transition of a message, with time and cause")
    config_arg(p)
    p.add_argument("id", help="message id or SHA-256 (of an unreadable file too), or a unique start of either "
                   f"(at least {MIN_PREFIX} characters)")
    p.add_argument("--json", action="store_true", help="print the messages and their transitions as JSON")
    p.set_defaults(handler=_cmd_trace)

    p = subparsers.add_parser("purge", help="delete originals older than [retention] allows (the ledger keeps their record)")
    config_arg(p)
    p.add_argument("--dry-run", action="store_true", help="list what would be purged, change nothing")
    p.add_argument("--json", action="store_true", help="print what was (or would be) purged as JSON")
    p.set_defaults(handler=_cmd_purge)

    p = subparsers.add_parser("resend", help="deliver a message again by hand")
    config_arg(p)
    p.add_argument("id", help="the message id (as `ltcgw messages` lists it)")
    p.add_argument("--json", action="store_true", help="print {id, resent, city} or {id, resent: false, error} as JSON")
    p.set_defaults(handler=_cmd_resend)

    p = subparsers.add_parser("config", help="configuration tools")
    sub = p.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    c = sub.add_parser("check", help="report every problem in a config file, with where it is")
    config_arg(c)
    c.add_argument("--connect", action="store_true",
                   help="also connect to every city's drop (SFTP: log in, list, create missing drop folders where the "
                   "account may, write a probe) and to a PostgreSQL ledger (changing nothing), and report")
    c.add_argument("--json", action="store_true", help="print {file, ok, cities, problems, warnings, connections, ledger} as JSON")
    c.set_defaults(handler=_cmd_config_check)

    p = subparsers.add_parser("demo", help="a month of claims and settlements between simulated cities")
    p.add_argument("--dir", help="workspace folder (default: a new temporary folder, printed)")
    p.add_argument("--keep", action="store_true", help="keep the workspace afterwards")
    p.set_defaults(handler=_cmd_demo)
