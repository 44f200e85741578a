"""The daemon and the operators' commands: init, run, console, status, messages, trace, purge, resend, config, demo."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from gateway.domain.areas import KNOWN_AREAS, area_name
from gateway.entrypoints.language import N_, _, cell, current, machine_text, translated
from gateway.workspace.layout import SftpLayout, write_workspace

DEFAULT_CONFIG_ENV = "LTCGW_CONFIG"


def default_config() -> str:
    """$LTCGW_CONFIG, else ./gateway.toml when present, else config/gateway.toml."""
    if os.environ.get(DEFAULT_CONFIG_ENV):
        return os.environ[DEFAULT_CONFIG_ENV]
    return "gateway.toml" if Path("gateway.toml").is_file() else "config/gateway.toml"


def config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", default=None, help=_("config file (default: $LTCGW_CONFIG, ./gateway.toml, config/gateway.toml)"))


def load_from_args(args: argparse.Namespace):
    """The checked config named by `-c` (or the default); on problems, lists them and exits with status 2."""
    from gateway.config import ConfigError, load_config

    try:
        return load_config(args.config or default_config())
    except ConfigError as exc:
        print(_("the configuration has problems (run `ltcgw config check`):"), file=sys.stderr)
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
        print(_("give at least two known area codes (unknown: {unknown})").format(
            unknown=", ".join(unknown) or _("none")), file=sys.stderr)
        return 2
    if args.ledger_url and not args.ledger_url.startswith(("postgresql://", "postgres://")):
        print(_("--ledger-url must be a PostgreSQL URL, e.g. postgresql://ltcgw@db.example:5432/ltcgw"), file=sys.stderr)
        return 2
    if args.spool_store == "database" and not args.ledger_url:
        print(_("--spool-store database keeps the spool in the PostgreSQL ledger: give --ledger-url"), file=sys.stderr)
        return 2
    sftp = None
    if args.transport == "sftp":
        if not args.sftp_host:
            print(_("--transport sftp needs --sftp-host"), file=sys.stderr)
            return 2
        sftp = SftpLayout(args.sftp_host, args.sftp_port, args.sftp_user, args.sftp_dir)
    path = write_workspace(Path(args.dir), cities, retry=args.retry.split(",") if args.retry else None, sftp=sftp,
                           algorithm=args.algorithm, ledger_url=args.ledger_url, spool_store=args.spool_store)
    keys = path.parent / "keys"
    steps = []
    if sftp is None:
        print(_("wrote {path}; keys in {keys}; drops in {drops}").format(path=path, keys=keys, drops=path.parent / "drops"))
    else:
        public = (keys / "gateway_ssh_ed25519.pub").read_text().strip()
        folders = ", ".join(sorted({f"{sftp.folder.format(code=c).rstrip('/') or '/'}/{{outbox,inbox}}" for c in cities}))
        print(_("wrote {path}; keys in {keys}; the cities' drops are on {host}:{port}").format(
            path=path, keys=keys, host=sftp.host, port=sftp.port))
        steps += [_("on the server, authorize the gateway's SSH key for each city's account ({user}):\n   {key}").format(
                      user=sftp.user, key=public),
                  _("pin the server's host key, after checking its fingerprint with the server's operator:\n"
                    "   {command}").format(command=f"ssh-keyscan -p {sftp.port} {sftp.host} > {keys / 'known_hosts'}"),
                  _("`ltcgw config check --connect` (below) creates each account's outbox/ and inbox/ ({folders}) "
                    "where the account may; otherwise it names the folders to ask the server's operator for").format(
                      folders=folders)]
    if args.ledger_url:
        steps.append(_("the PostgreSQL database must exist and its user may create tables (the first start creates "
                       "them); `ltcgw config check --connect` tries it"))
    for number, step in enumerate(steps, 1):
        print(f"{number}. {step}")
    print(_("next: {command}").format(command=f"ltcgw config check --connect -c {path} && ltcgw run -c {path}"))
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
                print(_("ltcgw run --once: warning: {warning}").format(warning=warning), file=sys.stderr)
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
        print(_("ltcgw run --once: no city's drop could be reached (the alerts say more):") + named, file=sys.stderr)
        return 1
    print(_("ltcgw run --once: {unreachable} of {cities} cities could not be reached:").format(
        unreachable=totals["unreachable"], cities=cities) + named, file=sys.stderr)
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
    mode = _("read-only") if resend is None else _("resend: the running daemon writes it at its next scan")
    print(_("console ({mode}) on {url}").format(mode=mode, url=server.url), flush=True)
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
    print(cell(_("city"), 14) + cell(_("received"), 9, right=True) + cell(_("delivered"), 10, right=True)
          + cell(_("waiting"), 8, right=True) + cell(_("failed"), 7, right=True) + cell(_("rejected"), 9, right=True)
          + "  " + _("oldest unacknowledged"))
    for c in counts:
        print(f"{c.city} {cell(area_name(c.city), 7)}{c.received:>9}{c.delivered:>10}{c.waiting_for_receipt:>8}"
              f"{c.failed:>7}{c.rejected:>9}  {_when(c.oldest_unacknowledged)}")
    _print_instances(instances)
    _print_alerts(alerts)
    return 0


def _print_alerts(alerts: list[dict]) -> None:
    """The newest alerts first (kind, city, what): what needs an operator's attention."""
    from gateway.observability.masking import mask_text

    if not alerts:
        print("\n" + _("alerts: none"))
        return
    print("\n" + _("alerts (newest first, {count}):").format(count=len(alerts)))
    for a in alerts:
        detail = " ".join(f"{k}={v}" for k, v in a.items() if k not in ("at", "kind", "city") and v not in (None, ""))
        print(mask_text(f"  {a['at']}  {a.get('kind', '-'):<21}{a.get('city') or '-':<8}{detail}"))


def _print_instances(instances) -> None:
    """Which instance holds which city's drop and how many captured files it is checking."""
    if not instances:
        print("\n" + _("instances: none running"))
        return
    print("\n" + cell(_("instance"), 32) + cell(_("state"), 7) + cell(_("heartbeat"), 27)
          + cell(_("checking"), 9, right=True) + "  " + _("cities (drops it polls)"))
    for i in instances:
        state = _("alive") if i.alive else _("gone")
        print(f"{i.instance:<32}{cell(state, 7)}{_when(i.heartbeat_at):<27}{i.captures:>9}  "
              f"{', '.join(i.cities) or '-'}")


def _cmd_messages(args: argparse.Namespace) -> int:
    from gateway.observability.masking import mask_value

    records = _ledger(args).messages(state=args.state, city=args.city, period=args.period)
    if args.json:
        print(json.dumps(mask_value([r.as_dict() for r in records]), ensure_ascii=False, indent=2))
        return 0
    print(" ".join((cell(_("received (UTC)"), 20), cell(_("message id"), 44), cell(_("type"), 7),
                    cell(_("from->to"), 14), cell(_("month"), 8), cell(_("serial"), 16), cell(_("rev"), 4),
                    _("state"))))
    for r in records:
        unreadable = _("(unreadable {sha256})").format(sha256=r.sha256[:12])
        print(f"{r.received_at.strftime('%Y-%m-%d %H:%M:%S'):<20} "
              f"{cell(r.message_id or unreadable, 44)} {r.type or '-':<7} "
              f"{(r.sender or r.drop_city) + '->' + (r.receiver or '-'):<14} {r.period or '-':<8} {r.serial or '-':<16} "
              f"{'r' + str(r.revision or '-'):<4} {r.state.value}")
    return 0


def _filter_state(value: str) -> str:
    """`--state`: a lifecycle state (any letter case), else argparse's clear error and exit 2."""
    from gateway.domain.lifecycle import State

    if value.upper() not in State.__members__:
        raise argparse.ArgumentTypeError(_("unknown state {value!r} (known: {known})").format(
            value=value, known=", ".join(State.__members__)))
    return value.upper()


def _filter_city(value: str) -> str:
    if value not in KNOWN_AREAS:
        raise argparse.ArgumentTypeError(_("{value!r} is not a Shandong city's six-digit area code (e.g. 370100)").format(
            value=value))
    return value


def _filter_period(value: str) -> str:
    from gateway.domain.deadlines import parse_period

    try:
        parse_period(value)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{value!r} is not a service month YYYY-MM (e.g. 2026-10)").format(
            value=value)) from None
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
    purged = {record.key: original_purged_at(ledger, spool, record.sha256) for record, _transitions in traces}
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
    
    for record, transitions in traces:
        say(_trace_heading(record))
        for t in transitions:
            say(f"  {_when(t.at)}  {(t.source.value if t.source else '-'):>17} -> {t.target.value:<17} {t.event}: {t.cause}")
        for finding in record.findings:  # said again in the reader's language, its values masked
            print(f"    {mask_text(finding['code'])}: {finding_text(finding, current(), mask_text)}")
        if purged[record.key]:
            say("  " + _("original purged on {day} (retention; the ledger keeps its record)").format(
                day=purged[record.key].date().isoformat()))
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
        print(_("retention is off: no [retention] days in the config, nothing is ever purged"))
        return 0
    for item in report.purged:
        line = _("would purge {file} ({reason}; {count} message(s))") if args.dry_run else _(
            "purged {file} ({reason}; {count} message(s))")
        print(line.format(file=f"{item.area}/{item.sha256}", reason=item.reason, count=len(item.message_keys)))
    total = _("would purge {count} file(s)") if args.dry_run else _("purged {count} file(s)")
    print(total.format(count=len(report.purged))
          + (_("; {kept} kept (stored again since)").format(kept=report.kept) if report.kept else ""))
    return 0


MIN_PREFIX = 8  # shorter prefixes of a message id name a city and a year, not a message


def _traces_of(ledger, given: str) -> tuple[list, str | None]:
    """The traces of the message id or SHA-256 `given` stands for (itself, or the one it is the start of), or
    why there are none (nothing matches, or several do: they are listed)."""
    if traces := ledger.trace(given):
        return traces, None
    if len(given) < MIN_PREFIX:
        return [], _("no message {id} (a short id needs at least {n} characters)").format(id=given, n=MIN_PREFIX)
    shown: dict[str, str] = {}
    rows = ledger.refs_starting(given, limit=21)
    for message_id, sha256 in rows:
        if message_id and message_id.startswith(given):
            shown.setdefault(message_id, message_id)
        else:
            shown.setdefault(sha256, "{} ({})".format(sha256, message_id or _("unreadable file")))
    if not shown:
        return [], _("no message {id}").format(id=given)
    if len(shown) == 1:
        return ledger.trace(next(iter(shown))), None
    listed = "\n  ".join(list(shown.values())[:20])
    start = _("{id} is the start of {count} or more messages; give more of it:") if len(rows) > 20 else _(
        "{id} is the start of {count} messages; give more of it:")
    return [], start.format(id=given, count=len(shown)) + f"\n  {listed}"


def _trace_heading(record) -> str:
    """One line naming the message; for a file whose header could not be read, what is known of the file."""
    if record.message_id is None:
        codes = ", ".join(sorted({f["code"] for f in record.findings})) or _("no findings")
        return _("unreadable file sha256 {sha256} from {city} {name}'s drop, {size} bytes: {state} ({codes})").format(
            sha256=record.sha256, city=record.drop_city, name=area_name(record.drop_city), size=record.size,
            state=record.state.value, codes=codes)
    return _("{id} {type} {route} {period} serial {serial} r{revision}: {state}").format(
        id=record.message_id, type=record.type or "-", route=f"{record.sender or record.drop_city}->{record.receiver or '-'}",
        period=record.period or "-", serial=record.serial or "-", revision=record.revision or "-",
        state=record.state.value)


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
        print(_("{id} will be delivered again to {city} (the running daemon writes it at its next scan)").format(
            id=args.id, city=city))
    return 0


def _cmd_config_check(args: argparse.Namespace) -> int:
    """Problems (exit 1), else warnings (exit 0): calendar, certificates expiring; --connect tries each drop."""
    if args.json:  # its warnings and problems are values of a document a program reads: English
        with machine_text():
            return _config_check(args)
    return _config_check(args)


def _config_check(args: argparse.Namespace) -> int:
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
        print(_("{count} problem(s) in {path}").format(count=len(problems), path=path), file=sys.stderr)
        return 1
    print(_("{path}: OK ({count} cities: {cities})").format(path=path, count=len(report["cities"]),
                                                          cities=", ".join(report["cities"])))
    for warning in report["warnings"]:  # warnings, not problems: the exit status stays 0
        print(_("warning: {warning}").format(warning=warning))
    for check in report.get("connections", []):
        print(f"{check['city']} {check['name']}: " + (_("OK") if check["ok"] else _("PROBLEM")))
        for line in check["details"]:
            print(f"    {line}")
        for line in check["problems"]:
            print("    " + _("problem: {problem}").format(problem=line))
    if "ledger" in report:
        print(_("ledger: {verdict}: {found}").format(verdict=_("OK") if report["ledger"]["ok"] else _("PROBLEM"),
                                                     found=report["ledger"]["found"]))
    failed = [c for c in report.get("connections", []) if not c["ok"]]
    if failed:
        print(_("{failed} of {count} cities cannot be reached").format(failed=len(failed), count=len(report["cities"])),
              file=sys.stderr)
    return 0 if report["ok"] else 1


def certificate_warnings(config, now=None) -> list[str]:
    """The gateway's and the pinned cities' certificates that expire within `[alerts] certificate_days` (60 by
    default, as Domibus warns) with no successor in the same file: `config check` and `run --once` say so."""
    from datetime import timedelta

    from gateway.bootstrap import watched
    from gateway.observability.alerts import expiring_certificates

    days = config.alerts.certificate_days
    found = expiring_certificates(watched(config).certificates, timedelta(days=days), now)
    owners = {"gateway": N_("the gateway"), "gateway_sm2": N_("the gateway (SM2)")}
    return [_("certificate of {owner} ({file}, {subject}) {when} (warned {days} days ahead): put its successor in "
              "the same file beside it and reload").format(
                owner=translated(owners[c["ref"]]) if c["ref"] in owners else f"{c['ref']} {area_name(c['ref'])}",
                file=c["file"], subject=c["subject"], days=days,
                when=_("expires on {day}, in {days:g} days").format(day=c["not_after"][:10], days=c["days"])
                if c["days"] > 0 else _("expired on {day}").format(day=c["not_after"][:10]))
            for c in found]


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
    return [_("console.users_file: no account in {file}, so nobody can log in to the console: "
              "`ltcgw user add NAME --role operator`").format(file=console.users_file)]


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
    return [_("settlement.holidays: {note}; needed by {due} (folder {folder})").format(
        note=missing.note, due=missing.due.isoformat(), folder=folder)]


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
            result["problems"] = [_("cannot be set up: {error}").format(error=exc)]
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

    return run_demo(Path(args.dir) if args.dir else None, keep=args.keep, translate=translated)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("init", help=_("write a gateway workspace: config, keys, drops"))
    p.add_argument("dir", help=_("the folder to create"))
    p.add_argument("--cities", required=True, help=_("area codes, comma-separated (e.g. 370100,370300)"))
    p.add_argument("--retry", help=_("receipt waits, comma-separated (default 10m,30m,1h,2h,4h)"))
    p.add_argument("--algorithm", choices=("rsa", "ecdsa", "sm2"), default="rsa",
                   help=_("the cities' signing keys (default rsa); sm2: SM2 cities, and an SM2 pair for the gateway's replies"))
    p.add_argument("--transport", choices=("local", "sftp"), default="local", help=_("the cities' drops (default local)"))
    p.add_argument("--sftp-host", help=_("SFTP server of the cities' drops (with --transport sftp)"))
    p.add_argument("--sftp-port", type=int, default=22, help=_("its SSH port (default 22)"))
    p.add_argument("--sftp-user", default=SftpLayout.user, help=_("account per city, {code} = area code (default ltcgw{code})"))
    p.add_argument("--sftp-dir", default=SftpLayout.folder,
                   help=_("each account's drop holding outbox/ and inbox/, {code} = area code (default: the login folder)"))
    p.add_argument("--ledger-url", metavar="URL", help=_("a PostgreSQL ledger several instances share, e.g. "
                   "postgresql://ltcgw@db.example:5432/ltcgw (default: SQLite in the folder, one instance)"))
    p.add_argument("--spool-store", choices=("folder", "database"), help=_("where the spool keeps the files' bytes: "
                   "database (the default with --ledger-url: in PostgreSQL) or folder (spool/; every instance must "
                   "mount it)"))
    p.set_defaults(handler=_cmd_init)

    p = subparsers.add_parser("run", help=_("run the gateway daemon"))
    config_arg(p)
    p.add_argument("--once", action="store_true", help=_("process what is pending (due resends included) and exit"))
    p.add_argument("--json-log", action="store_true", help=_("log JSON lines instead of console text"))
    p.add_argument("--quiet", action="store_true", help=_("log alerts only"))
    p.set_defaults(handler=_cmd_run)

    p = subparsers.add_parser("console", help=_("serve the web console alone: read-only unless [console] read_only = false (docs/operations.md)"))
    config_arg(p)
    p.add_argument("--host", help=_("address to bind (default [console] host, 127.0.0.1)"))
    p.add_argument("--port", type=int, help=_("port (default [console] port, 8470; 0 picks a free one)"))
    p.set_defaults(handler=_cmd_console)

    p = subparsers.add_parser("status", help=_("per city: received, delivered, waiting for receipt, failed"))
    config_arg(p)
    p.add_argument("--json", action="store_true", help=_("print {cities, instances, alerts} as JSON"))
    p.add_argument("--alerts", type=int, default=10, metavar="N", help=_("show the N newest alerts (default 10)"))
    p.set_defaults(handler=_cmd_status)

    p = subparsers.add_parser("messages", help=_("list messages"))
    config_arg(p)
    p.add_argument("--state", type=_filter_state, help=_("only in this state, e.g. DELIVERED, FAILED, REJECTED"))
    p.add_argument("--city", type=_filter_city, help=_("only of this area code (as sender, receiver or drop)"))
    p.add_argument("--period", type=_filter_period, help=_("only of this service month YYYY-MM"))
    p.add_argument("--json", action="store_true", help=_("print the messages as JSON objects"))
    p.set_defaults(handler=_cmd_messages)

    p = subparsers.add_parser("trace", help=_("every transition of a message, with time and cause"))
    config_arg(p)
    p.add_argument("id", help=_("message id or SHA-256 (of an unreadable file too), or a unique start of either "
                                "(at least {n} characters)").format(n=MIN_PREFIX))
    p.add_argument("--json", action="store_true", help=_("print the messages and their transitions as JSON"))
    p.set_defaults(handler=_cmd_trace)

    p = subparsers.add_parser("purge", help=_("delete originals older than [retention] allows (the ledger keeps their record)"))
    config_arg(p)
    p.add_argument("--dry-run", action="store_true", help=_("list what would be purged, change nothing"))
    p.add_argument("--json", action="store_true", help=_("print what was (or would be) purged as JSON"))
    p.set_defaults(handler=_cmd_purge)

    p = subparsers.add_parser("resend", help=_("deliver a message again by hand"))
    config_arg(p)
    p.add_argument("id", help=_("the message id (as `ltcgw messages` lists it)"))
    p.add_argument("--json", action="store_true", help=_("print {id, resent, city} or {id, resent: false, error} as JSON"))
    p.set_defaults(handler=_cmd_resend)

    p = subparsers.add_parser("config", help=_("configuration tools"))
    sub = p.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    c = sub.add_parser("check", help=_("report every problem in a config file, with where it is"))
    config_arg(c)
    c.add_argument("--connect", action="store_true",
                   help=_("also connect to every city's drop (SFTP: log in, list, create missing drop folders where the "
                   "account may, write a probe) and to a PostgreSQL ledger (changing nothing), and report"))
    c.add_argument("--json", action="store_true", help=_("print {file, ok, cities, problems, warnings, connections, ledger} as JSON"))
    c.set_defaults(handler=_cmd_config_check)

    p = subparsers.add_parser("demo", help=_("a month of claims and settlements between simulated cities"))
    p.add_argument("--dir", help=_("workspace folder (default: a new temporary folder, printed)"))
    p.add_argument("--keep", action="store_true", help=_("keep the workspace afterwards"))
    p.set_defaults(handler=_cmd_demo)
