"""`ltcgw`: one command for city systems, operators and administrators.

Each group of subcommands lives in its own module with a `register(subparsers)` function; this module only
collects them, so that a newcomer finds a command by its module name.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gateway.entrypoints import kit, operations, settlement

COMMAND_MODULES = (kit, operations, settlement)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ltcgw",
        description="ltc-gateway: exchange of Shandong's inter-city long-term-care settlement documents",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
