"""The language of the person reading the CLI's output, for texts said again from codes and values (deadline
and reconciliation notes, recorded findings, audit outcomes): the CLI's own choice (`--lang`, the environment:
gateway/entrypoints/language.py) where it exists; else a parsed `--lang`, else the environment (LANGUAGE,
LC_ALL, LC_MESSAGES, LANG: the first set that names zh or en), else zh-CN."""

from __future__ import annotations

import argparse
import importlib
import os

from gateway.i18n import DEFAULT_LANGUAGE, normalize


def reader_language(args: argparse.Namespace | None = None) -> str:
    try:
        language = importlib.import_module("gateway.entrypoints.language")
    except ImportError:
        language = None
    if language is not None and hasattr(language, "current"):
        return language.current()
    for value in [getattr(args, "lang", None)] + [os.environ.get(name) for name in
                                                    ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")]:
        for entry in (value or "").split(":"):
            try:
                if entry.strip() and entry.split(".")[0].upper() not in ("C", "POSIX"):
                    return normalize(entry)
            except ValueError:
                continue
    return DEFAULT_LANGUAGE
