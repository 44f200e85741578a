"""The city-side kit: keys, sample, pack, verify, receipt (for legacy systems, operators and tests)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:  # filled in by the documents work
    pass
