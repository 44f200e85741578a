"""The language of the person reading the CLI's output, for texts said again from codes and values (deadline
and reconciliation notes, recorded findings, audit outcomes): the CLI's own choice (`--lang`, LANG:
gateway/entrypoints/language.py) where it exists, else the parsed `--lang`, else zh-CN."""

from __future__ import annotations

import argparse
import importlib

from gateway.i18n import DEFAULT_LANGUAGE, normalize


def reader_language(args: argparse.Namespace | None = None) -> str:
    try:
        language = importlib.import_module("gateway.entrypoints.language")
    except ImportError:
        language = None
    if language is not None and hasattr(language, "current"):
        return language.current()
    try:
        return normalize(getattr(args, "lang", None) or DEFAULT_LANGUAGE)
    except ValueError:
        return DEFAULT_LANGUAGE
