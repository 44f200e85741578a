"""The daemon and the operators' commands: init, run, status, messages, trace, resend, config, demo."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:  # filled in by the daemon work
    pass
