"""The settlement calendar for clerks and operators: deadlines, reconcile, render.

Read-only over the gateway's ledger and spool (what the daemon received and checked), or over message files
given directly (`--files`, for clerks and tests). Output carries statement positions and 流水号, never names
or ID numbers.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

from gateway.bootstrap import open_ledger, open_spool
from gateway.config import Config
from gateway.domain.deadlines import (
    CHINA_TIME,
    DEFAULT_WARN_WORKING_DAYS,
    Arrival,
    CityPair,
    Item,
    Status,
    all_pairs,
    calendar_missing,
    parse_period,
    shift_period,
)
from gateway.domain.envelope import Header
from gateway.domain.findings import Refused
from gateway.domain.reconciliation import MONEY_FIGURES, Reconciliation, money
from gateway.domain.settlement import Attachment
from gateway.entrypoints.language import _, cell, current
from gateway.entrypoints.operations import config_arg, load_from_args
from gateway.service.settlement import (
    SettlementError,
    SettlementScope,
    arrivals,
    deadline_items,
    dispute_applications,
    documents_from_ledger,
    load_calendar,
    read_attachment,
    reconcile_documents,
)

HOLIDAYS_ENV = "LTCGW_HOLIDAYS"


UsageError = SettlementError  # something the operator must fix (a file, an option): printed, exit status 2


# --- inputs -----------------------------------------------------------------------------------------------

def _holidays_dir(args: argparse.Namespace, gateway: _Configured | None) -> Path | None:
    """--holidays, else $LTCGW_HOLIDAYS, else [settlement] holidays, else holidays/ beside the config."""
    if args.holidays:
        return Path(args.holidays)
    if os.environ.get(HOLIDAYS_ENV):
        return Path(os.environ[HOLIDAYS_ENV])
    if gateway is None:
        return Path("config/holidays")
    return gateway.scope.holidays or Path(gateway.config.path).parent / "holidays"


def _read_file(path: Path, *, disputes: bool = False) -> tuple[Header | None, Attachment]:
    try:
        return read_attachment(path.read_bytes(), disputes=disputes)
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from None
    except Refused as refused:
        problems = "; ".join(_("{code} (line {line}): {message}").format(code=f.code, line=f.line, message=f.text(current()))
                             for f in refused.findings[:5])
        raise UsageError(_("{path}: not a readable settlement document: {problems}").format(
            path=path, problems=problems)) from None


@dataclass
class _Configured:
    """The configured gateway, for the ledger-backed commands: its config and its settlement scope."""

    config: Config
    scope: SettlementScope


def _gateway(args: argparse.Namespace) -> _Configured:
    from gateway.bootstrap import settlement_scope

    config = load_from_args(args)
    scope = settlement_scope(config)
    # The holidays as configured: None when [settlement] holidays is not set (the default folder is chosen later).
    return _Configured(config, replace(scope, holidays=config.settlement.holidays))


def _applications(gateway: _Configured, records: list) -> dict:
    """第三十一条 applications read from the disputes' bodies in the spool (applicants by HMAC only)."""
    ledger = open_ledger(gateway.config)
    try:
        return dispute_applications(records, open_spool(gateway.config, ledger), gateway.scope.persons)
    finally:
        ledger.close()


def _ledger_messages(gateway: _Configured, period: str | None = None) -> list:
    """Every message the ledger holds (read-only query), on whichever backend the config names."""
    ledger = open_ledger(gateway.config)
    try:
        return ledger.messages(period=period)
    finally:
        ledger.close()


# --- deadlines --------------------------------------------------------------------------------------------

def _today(args: argparse.Namespace) -> date:
    return date.fromisoformat(args.today) if args.today else datetime.now(CHINA_TIME).date()


def _periods(args: argparse.Namespace, today: date) -> list[str]:
    if args.period:
        for period in args.period:
            parse_period(period)
        return list(args.period)
    # the three cycles open on `today`: last month's claim, the month before's settlement, and its payment
    current = f"{today.year:04d}-{today.month:02d}"
    return [shift_period(current, -n) for n in (3, 2, 1)]


def _print_deadlines(items: Sequence[Item], lang: str) -> None:
    for item in items:
        due = item.due.isoformat() if item.due else "?"
        extra = []
        if item.arrived:
            extra.append(_("arrived {day}").format(day=item.arrived.isoformat()))
        if item.working_days_left is not None:
            extra.append(_("{days} working day(s) left").format(days=item.working_days_left))
        if item.notes:
            extra.append(item.note_text(lang))
        print(f"{item.period}  {item.pair}  {item.what:<13} " + _("due {day}").format(day=f"{due:<10}")
              + f"  {item.status.value:<11} {'; '.join(extra)}")


def _cmd_deadlines(args: argparse.Namespace) -> int:
    lang = current()  # the notes in the reader's language (--json: English, with their codes)
    today = _today(args)
    periods = _periods(args, today)
    records: list = []
    applications = None
    warn_days = args.warn_days
    if args.files is not None:  # `--files` alone: the schedule only, nothing arrived
        headers = [(_read_file(Path(f), disputes=True)[0], Path(f)) for f in args.files]
        arrived = [_file_arrival(h, p) for h, p in headers]
        cities = args.cities.split(",") if args.cities else sorted({c for a in arrived for c in (a.sender, a.receiver)})
        pairs = all_pairs(cities)
        holidays = _holidays_dir(args, None)
    else:
        gateway = _gateway(args)
        records = _ledger_messages(gateway)
        arrived = arrivals(records)
        scope = gateway.scope
        applications = _applications(gateway, records)
        pairs = scope.expected_pairs
        if args.cities:
            narrowed = set(args.cities.split(","))
            pairs = [p for p in all_pairs(narrowed) if scope.pairs is None or p in scope.pairs]
        holidays = _holidays_dir(args, gateway)
        warn_days = scope.warn_days if warn_days is None else warn_days
    warn_days = DEFAULT_WARN_WORKING_DAYS if warn_days is None else warn_days
    calendar = load_calendar(holidays)
    # The register (issue 12): a month's claim is expected only from the pairs with somebody entitled in it.
    expected, nil = _expected_by_register(gateway, pairs, periods, arrived) if (
        args.files is None and not args.cities and gateway.config.register_key_file is not None) else (None, [])
    items = deadline_items(records, arrived, pairs, periods, today=today, calendar=calendar, warn_days=warn_days,
                           by_period=expected, nil=nil, applications=applications)
    missing_year = calendar_missing(today, calendar, warn_days)
    if args.json:
        json.dump({"today": today.isoformat(), "periods": periods, "items": [i.as_dict() for i in items],
                   "calendar_missing": missing_year.as_dict() if missing_year else None},
                  sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        _print_deadlines(items, lang)
        if missing_year:
            m = missing_year
            left = _("{days} working day(s) left").format(days=m.working_days_left) if m.working_days_left is not None else ""
            print(f"{m.year:<7}  {'calendar':<14}  {'holidays':<13} " + _("due {day}").format(day=f"{m.due.isoformat():<10}")
                  + f"  {m.status.value:<11} " + "; ".join(filter(None, (left, m.said.text(lang)))))
    unknown = {i.note_text(lang) for i in items if i.status is Status.NO_CALENDAR}
    for note in sorted(unknown):
        print(_("ltcgw deadlines: {note} [holidays folder in use: {folder}]").format(note=note, folder=holidays),
              file=sys.stderr)
    return 2 if unknown else 0


def _expected_by_register(gateway: _Configured, pairs: Sequence[CityPair], periods: Sequence[str],
                          arrived: Sequence[Arrival]) -> tuple[dict[str, list[CityPair]], list[tuple[CityPair, str]]]:
    """gateway/service/register.py expected_by_register on the configured ledger, as the daemon's watch asks it."""
    from gateway.service.register import expected_by_register

    ledger = open_ledger(gateway.config)
    try:
        return expected_by_register(ledger, pairs, periods, arrived, gateway.scope.silent)
    finally:
        ledger.close()


def _file_arrival(header: Header | None, path: Path) -> Arrival:
    """A message file as an arrival: its header says what it is, the file's time when it came."""
    if header is None or not (header.type.is_attachment or header.type.is_money):
        raise UsageError(_("{path}: deadlines need messages (with a header), not bare documents").format(path=path))
    moment = datetime.fromtimestamp(path.stat().st_mtime, CHINA_TIME)
    return Arrival(header.type, header.sender, header.receiver, header.period, moment, header.message_id,
                   header.revision)


# --- reconcile --------------------------------------------------------------------------------------------

def _documents_from_files(files: Sequence[str]) -> list[tuple[Header | None, Attachment]]:
    # payments and refunds are read too (the money); a dispute or an entitlement document given is ignored
    return [_read_file(Path(f), disputes=True) for f in files]


def _documents_from_ledger(gateway: _Configured, period: str) -> list[tuple[Header | None, Attachment]]:
    ledger = open_ledger(gateway.config)
    try:
        return documents_from_ledger(ledger, open_spool(gateway.config, ledger), period)
    finally:
        ledger.close()


def _print_reconciliation(report: Reconciliation, lang: str) -> None:
    verdict = _("balanced") if report.balanced else _("{count} difference(s)").format(count=len(report.differences))
    print(f"{report.period}  {report.residence}->{report.insured}  " + _(
        "claim {claim}  settlement {settlement}: {verdict}").format(
        claim=report.claim_serial or "-", settlement=report.settlement_serial or "-", verdict=verdict))
    if report.figures:
        print(f"    {'':<14}{'A3':>16}{'A4':>16}" + cell(_("A5 sum"), 16, right=True))
        for f in report.figures:  # the labels are the forms' Chinese: padded by their width
            print(f"    {cell(f.label, 14)}{f.claim or '-':>16}{f.settlement or '-':>16}{f.facility_settlements or '-':>16}")
    if report.money is not None:  # 第二十六条, 第二十九条
        sources = report.money.sources(lang)
        for name, label in MONEY_FIGURES:
            value = money(getattr(report.money, name))
            print(f"    {cell(label, 14)}{value or '-':>16}" + (f"  {sources[name]}" if name in sources else ""))
        refunded = [p for p in report.persons if p.refunded]
        for p in refunded:
            print(f"    #{p.position} {p.statement_serial} {p.facility_code}: " + _("paid {paid}, refunded {refunded}").format(
                paid=money(p.paid), refunded=money(p.refunded)))
    if report.nil:
        print("    " + _("零申报 (nil claim): no fees this month, no settlement owed"))
    if report.late:
        months = ", ".join(f"{month} {amount}" for month, amount in report.late.items())
        print("    " + _("of which 补报 (late fees of earlier months, counted in this cycle only): "
                        "{count} statement(s), 申请拨付 {months}").format(count=report.late_statements, months=months))
    for d in report.differences:
        print(f"    ! {d.code}: {d.where_text(lang)}: " + _("expected {expected}, found {actual}").format(
            expected=d.expected or "-", actual=d.actual or "-") + f": {d.text(lang)}")


CSV_COLUMNS = ("period", "residence", "insured", "claim_serial", "settlement_serial", "kind", "code", "where",
               "claim", "settlement", "facility_settlements", "expected", "actual", "message", "amount", "source")


def write_csv(path: Path, reports: Sequence[Reconciliation]) -> None:
    """One row per figure and per difference of each claim: what a clerk opens in a spreadsheet."""
    with path.open("w", newline="", encoding="utf-8-sig") as f:  # BOM: spreadsheet programs read it as UTF-8
        writer = csv.DictWriter(f, CSV_COLUMNS)
        writer.writeheader()
        for r in reports:
            base = {"period": r.period, "residence": r.residence, "insured": r.insured,
                    "claim_serial": r.claim_serial, "settlement_serial": r.settlement_serial}
            for fig in r.figures:
                writer.writerow({**base, "kind": "figure", "where": fig.label, "claim": fig.claim,
                                 "settlement": fig.settlement, "facility_settlements": fig.facility_settlements})
            if r.money is not None:  # kind money: one row per figure, with the documents it comes from
                sources = r.money.sources()
                for name, label in MONEY_FIGURES:
                    writer.writerow({**base, "kind": "money", "where": label,
                                     "amount": money(getattr(r.money, name)), "source": sources.get(name)})
                for p in r.persons:
                    if p.refunded:
                        writer.writerow({**base, "kind": "person_money", "where": f"#{p.position} {p.statement_serial}",
                                         "settlement": money(p.paid), "amount": money(p.refunded),
                                         "source": f"refunded for {p.facility_code}"})
            for d in r.differences:
                writer.writerow({**base, "kind": "difference", "code": d.code, "where": d.where,
                                 "expected": d.expected, "actual": d.actual, "message": d.message})


def _cmd_reconcile(args: argparse.Namespace) -> int:
    lang = current()
    parse_period(args.period)
    pair = None
    if args.pair:
        residence, _comma, insured = args.pair.partition(",")
        if not (residence and insured):
            raise UsageError(_("--pair takes RESIDENCE,INSURED (two area codes)"))
        pair = CityPair(residence, insured)
    gateway = None if args.files else _gateway(args)
    documents = _documents_from_files(args.files) if args.files else _documents_from_ledger(gateway, args.period)
    reports = reconcile_documents(documents, args.period, pair, gateway.scope.a5_pairs if gateway else None)
    pairs = gateway.scope.pairs if gateway is not None else None
    if pairs is not None and pair is None:
        skipped = sorted({f"{r.residence}->{r.insured}" for r in reports if CityPair(r.residence, r.insured) not in pairs})
        reports = [r for r in reports if CityPair(r.residence, r.insured) in pairs]
        if skipped:
            print(_("ltcgw reconcile: not in [settlement] pairs, not reconciled: {pairs}").format(pairs=", ".join(skipped)),
                  file=sys.stderr)
    if args.csv:
        write_csv(Path(args.csv), reports)
    if args.json:
        json.dump([r.as_dict() for r in reports], sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        for report in reports:
            _print_reconciliation(report, lang)
        if not reports:
            print(_("nothing to reconcile for {period}").format(period=args.period))
    return 0 if all(r.balanced for r in reports) else 1


# --- render -----------------------------------------------------------------------------------------------

def _cmd_render(args: argparse.Namespace) -> int:
    from gateway.documents.render import FontMissing, render_pdf

    source = Path(args.file)
    _header, document = _read_file(source, disputes=True)
    try:
        data = render_pdf(document, details=args.details)
    except FontMissing as exc:
        raise UsageError(str(exc)) from None
    target = Path(args.output) if args.output else source.with_suffix(".pdf")
    target.write_bytes(data)
    print(_("{file}: {type} {serial} {period}, {size:,} bytes").format(
        file=target, type=document.type.value, serial=document.serial, period=document.period, size=len(data)))
    return 0


# --- the register of entitlements (issue 12) ----------------------------------------------------------------

def _cmd_entitlements(args: argparse.Namespace) -> int:
    """What the register holds, without personal data: per pair, the persons entitled in a month; rows per key."""
    from gateway.domain.register import active_pairs

    gateway = _gateway(args)
    if gateway.config.register_key_file is None:
        raise UsageError(_("no register is kept: set [register] key_file (docs/operations.md)"))
    period = args.period or f"{_today(args).year:04d}-{_today(args).month:02d}"
    parse_period(period)
    ledger = open_ledger(gateway.config)
    try:
        notices, keys, claims = ledger.register_notices(), ledger.register_keys(), ledger.register_claims(period)
    finally:
        ledger.close()
    pairs = sorted(active_pairs(notices, period))
    persons = {pair: len({n.person for n in notices if (n.residence, n.insured) == pair
                          and pair in active_pairs([n], period)}) for pair in pairs}
    report = {"period": period, "pairs": [{"residence": r, "insured": i, "persons": persons[(r, i)]} for r, i in pairs],
              "claims": [{"residence": c.residence, "insured": c.insured, "serial": c.serial, "nil": c.nil}
                         for c in claims], "rows_per_key": keys}
    if args.json:
        json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    print(_("{period}: {count} pair(s) with somebody entitled (a claim is expected from each)").format(
        period=period, count=len(pairs)))
    for (residence, insured), count in persons.items():
        print(f"  {residence}->{insured}  " + _("{count} person(s)").format(count=count))
    for c in claims:
        print("  " + _("claim {route} {serial}").format(route=f"{c.residence}->{c.insured}", serial=c.serial)
              + ("  " + _("零申报 (nil)") if c.nil else ""))
    print(_("rows per key: {rows}").format(rows=", ".join(f"{k} {n}" for k, n in keys.items()) or _("none")))
    return 0


# --- wiring -----------------------------------------------------------------------------------------------

def _guarded(handler):
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (UsageError, ValueError) as exc:
            print(f"ltcgw {args.command}: {exc}", file=sys.stderr)
            return 2
    return run


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("deadlines", help=_("per city pair and month: what is due by when, arrived, late, missing"))
    config_arg(p)
    p.add_argument("--period", action="append", help=_("service month YYYY-MM (repeatable; default: the open cycles)"))
    p.add_argument("--json", action="store_true", help=_("print {today, periods, items, calendar_missing} as JSON"))
    p.add_argument("--today", help=_("as of this day (YYYY-MM-DD; default: today in China)"))
    p.add_argument("--warn-days", type=int, default=None,
                   help=_("warn this many working days ahead (default: [settlement] warn_days, else {days})").format(
                       days=DEFAULT_WARN_WORKING_DAYS))
    p.add_argument("--holidays", help=_("folder of YYYY.toml holiday files (default: holidays/ beside the config; ${variable})").format(
        variable=HOLIDAYS_ENV))
    p.add_argument("--cities", help=_("area codes, comma-separated: every pair among them (default: the pairs with somebody "
                   "entitled that month, from the register; without [register], the configured cities or [settlement] pairs)"))
    p.add_argument("--files", nargs="*", metavar="FILE",
                   help=_("message files instead of the ledger (arrival = file time); none: the schedule alone"))
    p.set_defaults(handler=_guarded(_cmd_deadlines))

    p = subparsers.add_parser("reconcile", help=_("claim (A3) vs settlement (A4) vs facility settlements (A5) of a month"))
    config_arg(p)
    p.add_argument("--period", required=True, help=_("service month YYYY-MM"))
    p.add_argument("--pair", help=_("RESIDENCE,INSURED area codes (default: every pair with documents)"))
    p.add_argument("--csv", help=_("also write figures and differences to this CSV file"))
    p.add_argument("--json", action="store_true", help=_("print each pair's figures and differences as a JSON list"))
    p.add_argument("--files", nargs="+", metavar="FILE", help=_("documents or messages instead of the ledger"))
    p.set_defaults(handler=_guarded(_cmd_reconcile))

    p = subparsers.add_parser("entitlements", help=_("the register of entitlements: pairs with somebody entitled in a "
                              "month, its claims, rows per key (no personal data)"))
    config_arg(p)
    p.add_argument("--period", help=_("service month YYYY-MM (default: this month)"))
    p.add_argument("--today", help=_("as of this day (YYYY-MM-DD; default: today in China): its month is the default"))
    p.add_argument("--json", action="store_true", help=_("print {period, pairs, claims, rows_per_key} as JSON"))
    p.set_defaults(handler=_guarded(_cmd_entitlements))

    p = subparsers.add_parser("render", help=_("lay out an attachment (附件1–5), a dispute, an entitlement document, "
                              "a payment or a refund as a printable form (PDF)"))
    p.add_argument("file", help=_("a document or a message"))
    p.add_argument("-o", "--output", help=_("PDF file to write (default: FILE with .pdf)"))
    p.add_argument("--details", action="store_true", help=_("A3: follow it with its A1 forms and a list of its A2"))
    p.set_defaults(handler=_guarded(_cmd_render))
