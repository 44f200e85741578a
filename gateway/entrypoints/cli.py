"""`ltcgw`: one command for city systems, operators and administrators.

Each group of subcommands lives in its own module with a `register(subparsers)` function; this module only
collects them, so that a newcomer finds a command by its module name. It speaks zh-CN unless `--lang en` or the
environment asks for English (gateway/entrypoints/language.py); the parser is built in that language, its help
and argparse's errors included.
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import sys
from collections.abc import Sequence

from gateway.entrypoints import accounts, kit, operations, settlement
from gateway.entrypoints.language import LanguageError, Parser, _, from_environment, speaking, take_lang_option

COMMAND_MODULES = (kit, operations, settlement, accounts)
# Status of a program whose output pipe was closed (the shell's 128 + SIGPIPE, as `yes | head` gives).
PIPE_CLOSED = 128 + signal.SIGPIPE


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="ltcgw",
        description=_("ltc-gateway: exchange of Shandong's inter-city long-term-care settlement documents"),
    )
    parser.add_argument("--lang", metavar="zh-CN|en", help=_(
        "language of the output, help and errors (default: LANGUAGE, LC_ALL, LC_MESSAGES, LANG, else zh-CN); "
        "JSON, CSV and codes are never translated"))
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _run(argv)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        if not _reader_gone():
            raise  # not our terminal's pipe (a socket, say): a real fault, shown as one
        return PIPE_CLOSED


def _run(argv: Sequence[str] | None) -> int:
    try:
        try:
            lang, rest = take_lang_option(sys.argv[1:] if argv is None else argv)
        except LanguageError as exc:
            with speaking(from_environment()):
                build_parser().error(str(exc))
        with speaking(lang or from_environment()):
            args = build_parser().parse_args(rest)
            return int(args.handler(args) or 0)
    finally:
        # What is still buffered goes now, so that a reader gone (`| head`) shows here and not as Python's
        # "Exception ignored" at exit; `--help` and usage errors (SystemExit) included.
        for stream in (sys.stdout, sys.stderr):
            stream.flush()


def _reader_gone() -> bool:
    """True when stdout or stderr is a pipe nobody reads any more; both then lead nowhere, so that nothing
    more (Python's flush at exit included) tries to write to it."""
    gone = False
    for stream in (sys.stdout, sys.stderr):
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):  # replaced by something without a descriptor
            continue
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        if any(events & select.POLLERR for _fd, events in poller.poll(0)):
            gone = True
            nowhere = os.open(os.devnull, os.O_WRONLY)
            os.dup2(nowhere, fd)
            os.close(nowhere)
    return gone


if __name__ == "__main__":
    sys.exit(main())
