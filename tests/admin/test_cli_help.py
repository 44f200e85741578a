"""Every command and every flag of `ltcgw` says what it is for (`ltcgw CMD --help` is an administrator's manual),
and every listing can be read by a machine (`--json`)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from gateway.entrypoints.cli import build_parser

# The commands that list or report something: each has --json (issue 14 item 5).
LISTINGS = ("status", "messages", "trace", "purge", "resend", "deadlines", "reconcile", "config check", "verify")


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield " ".join(path), parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*path, name))


def _undocumented(parser: argparse.ArgumentParser) -> list[str]:
    return [
        "/".join(action.option_strings) or action.dest
        for action in parser._actions
        if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction))
        and (not action.help or action.help == argparse.SUPPRESS or not action.help.strip())
    ]


def test_every_flag_and_argument_of_every_command_has_help() -> None:
    commands = dict(_commands(build_parser()))
    assert {"init", "run", "status", "messages", "config check", "deadlines", "keys"} <= set(commands)
    missing = {name: undocumented for name, parser in commands.items() if (undocumented := _undocumented(parser))}
    assert not missing, f"flags without help (add help=...): {missing}"


def test_the_walk_finds_a_flag_without_help() -> None:
    parser = argparse.ArgumentParser(prog="x")
    sub = parser.add_subparsers().add_parser("y")
    sub.add_argument("--documented", help="says why")
    sub.add_argument("--silent")
    assert _undocumented(dict(_commands(parser))["y"]) == ["--silent"]


def test_every_listing_has_json() -> None:
    commands = dict(_commands(build_parser()))
    for name in LISTINGS:
        flags = {flag for action in commands[name]._actions for flag in action.option_strings}
        assert "--json" in flags, name
