"""The console's accounts and audit log for administrators: `ltcgw user add|passwd|remove|list`, `ltcgw audit`.

The accounts file is `[console] users_file` (default console.users beside the config); a password is read
from the terminal twice, or once from standard input with `--password-stdin` (scripts). The file is written
mode 600 and refused when the group or others can read it, as the keys are.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from gateway.entrypoints.language import _, cell, current
from gateway.entrypoints.operations import config_arg, load_from_args


def _users_file(args: argparse.Namespace):
    config = load_from_args(args)
    return config.console.users_file


def _password(args: argparse.Namespace) -> str:
    from gateway.web.accounts import check_password

    if args.password_stdin:
        return check_password(sys.stdin.readline().rstrip("\r\n"))
    first = getpass.getpass(_("password: "))
    if getpass.getpass(_("again: ")) != first:
        raise SystemExit(_("ltcgw user: the two passwords differ; nothing changed"))
    return check_password(first)


def _cmd_user(args: argparse.Namespace) -> int:
    from gateway.web.accounts import Account, AccountsError, Role, check_name, hash_password, read_accounts, write_accounts

    path = _users_file(args)
    try:
        accounts = read_accounts(path)
        if args.action == "list":
            rows = [{"name": a.name, "role": a.role.value} for a in sorted(accounts.values(), key=lambda a: a.name)]
            if args.json:
                json.dump({"file": str(path), "accounts": rows}, sys.stdout, ensure_ascii=False, indent=2)
                print()
            else:
                print(cell(_("NAME"), 24) + _("ROLE"))
                for row in rows:
                    print(f"{row['name']:<24}{row['role']}")
                if not rows:
                    print(_("(no account in {file}: `ltcgw user add NAME --role operator`)").format(file=path))
            return 0
        name = check_name(args.name)
        if args.action == "add":
            if name in accounts:
                raise AccountsError(_("{name} exists already (`ltcgw user passwd {name}` changes its password)").format(
                    name=name))
            accounts[name] = Account(name, Role(args.role), hash_password(_password(args)))
        elif args.action == "passwd":
            if name not in accounts:
                raise AccountsError(_("no account {name} in {file}").format(name=name, file=path))
            role = Role(args.role) if args.role else accounts[name].role
            accounts[name] = Account(name, role, hash_password(_password(args)))
        elif args.action == "remove":
            if accounts.pop(name, None) is None:
                raise AccountsError(_("no account {name} in {file}").format(name=name, file=path))
        write_accounts(path, accounts)
    except AccountsError as exc:
        print(f"ltcgw user: {exc}", file=sys.stderr)
        return 2
    done = {"add": _("added {name} ({file}); the console counts it at the next request"),
            "passwd": _("password changed for {name} ({file}); the console counts it at the next request"),
            "remove": _("removed {name} ({file}); the console counts it at the next request")}[args.action]
    print(done.format(name=name, file=path))
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from gateway.bootstrap import open_ledger

    ledger = open_ledger(load_from_args(args))
    try:
        entries = ledger.audit(args.limit, args.user)
    finally:
        ledger.close()
    if args.json:
        json.dump([e.as_dict() for e in entries], sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    print(cell(_("WHEN"), 26) + cell(_("WHO"), 16) + cell(_("ROLE"), 15) + cell(_("WHAT"), 10) + cell(_("SUBJECT"), 30)
          + _("WHY -> OUTCOME"))
    for e in entries:
        print(f"{e.at.astimezone().isoformat(timespec='seconds'):<26}{e.user:<16}{e.role:<15}{e.action:<10}"
              f"{e.subject:<30}{e.reason or '-'} -> {e.outcome_text(current())}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    roles = ["viewer", "operator", "administrator"]
    p = subparsers.add_parser("user", help=_("manage the web console's accounts (docs/operations.md)"))
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help=_("add an account (asks its password)"))
    add.add_argument("name", help=_("user name: lower-case letters, digits, . _ -"))
    add.add_argument("--role", choices=roles, required=True, help=_("viewer reads; operator resends and downloads; "
                                                                  "administrator also sees the accounts"))
    passwd = actions.add_parser("passwd", help=_("change an account's password (and role with --role); ends its sessions"))
    passwd.add_argument("name", help=_("user name"))
    passwd.add_argument("--role", choices=roles, help=_("change the role too"))
    remove = actions.add_parser("remove", help=_("remove an account; ends its sessions"))
    remove.add_argument("name", help=_("user name"))
    listing = actions.add_parser("list", help=_("list the accounts and their roles"))
    listing.add_argument("--json", action="store_true", help=_("print JSON"))
    for sub in (add, passwd):
        sub.add_argument("--password-stdin", action="store_true", help=_("read the password from standard input (scripts)"))
    for sub in (add, passwd, remove, listing):
        config_arg(sub)
        sub.set_defaults(handler=_cmd_user)

    p = subparsers.add_parser("audit", help=_("the console's audit log: who did what, when and why"))
    config_arg(p)
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p.add_argument("--user", help=_("only this account's entries"))
    p.add_argument("--limit", type=int, default=200, help=_("newest N entries (default 200)"))
    p.set_defaults(handler=_cmd_audit)
