"""The language `ltcgw` speaks to a person: zh-CN by default, English on request (issue 14).

Chosen once per run: `--lang zh-CN|en` (anywhere before `--`), else the environment in gettext's order
(LANGUAGE, a colon-separated list, then LC_ALL, LC_MESSAGES, LANG: the first one set decides), else zh-CN.
A variable that names neither language ("C", "POSIX", "de_DE.UTF-8") chooses nothing and the default stays:
a server's bare locale or a foreign one must not turn the clerks' Chinese into English, nor fail the command.

Texts are English msgids of the "cli" catalog (gateway/locales/zh_CN/LC_MESSAGES/cli.po, updated by
`python -m gateway.i18n update cli`): `_("... {name} ...").format(name=...)`, never an f-string inside `_()`
(tests/test_cli_i18n.py). argparse's own words ("usage:", "error:", "the following arguments are required")
are in the same catalog and go through it while the CLI runs. Machine output (`--json`, CSV, codes, states,
exit statuses) is never translated.
"""

from __future__ import annotations

import argparse
import os
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from gateway.i18n import DEFAULT_LANGUAGE, LANGUAGES, normalize, translations

DOMAIN = "cli"
ENVIRONMENT = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_speaking: ContextVar[str | None] = ContextVar("ltcgw_language", default=None)


def from_environment(environ: Mapping[str, str] | None = None) -> str:
    """The language the environment asks for (gettext's order), else the default (zh-CN)."""
    environ = os.environ if environ is None else environ
    for name in ENVIRONMENT:
        value = (environ.get(name) or "").strip()
        if not value:
            continue
        for entry in value.split(":") if name == "LANGUAGE" else [value]:
            if entry.split(".")[0].upper() in ("C", "POSIX"):
                continue  # no language chosen, only the C library's defaults
            try:
                return normalize(entry)
            except ValueError:
                continue  # neither Chinese nor English: the next entry of LANGUAGE, else the default
        return DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


class LanguageError(ValueError):
    """`--lang` without a value, or with one we do not speak."""


def take_lang_option(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """`--lang X` / `--lang=X` taken out of `argv` (wherever it is, up to `--`): (the language or None, the rest)."""
    rest: list[str] = []
    chosen: str | None = None
    items = list(argv)
    index = 0
    while index < len(items):
        item = items[index]
        if item == "--":
            rest.extend(items[index:])
            break
        if item == "--lang" or item.startswith("--lang="):
            if item == "--lang":
                if index + 1 >= len(items):
                    raise LanguageError(_("--lang needs a language: {choices}").format(choices=", ".join(LANGUAGES)))
                value, index = items[index + 1], index + 2
            else:
                value, index = item.split("=", 1)[1], index + 1
            try:
                chosen = normalize(value) if value.strip() else None
            except ValueError:
                chosen = None
            if chosen is None:
                raise LanguageError(_("unsupported language {value!r} (supported: {choices})").format(
                    value=value, choices=", ".join(LANGUAGES)))
            continue
        rest.append(item)
        index += 1
    return chosen, rest


def current() -> str:
    """The language of this run (`speaking`), else the environment's."""
    return _speaking.get() or from_environment()


def _(message: str) -> str:
    """`message` (an English msgid of the "cli" catalog, a constant) in the current language."""
    return translations(current(), DOMAIN).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current(), DOMAIN).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a text for the catalog where it is written; `translated(...)` says it when it is shown."""
    return message


def translated(message: str) -> str:
    """A text marked with N_ (held in a table), in the current language."""
    return translations(current(), DOMAIN).gettext(message)


@contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Run the CLI in `lang`: our texts, and argparse's own (its module-level gettext, put back afterwards, so
    that another parser in the same process, pytest's, keeps its words)."""
    token = _speaking.set(normalize(lang))
    saved = argparse._, argparse.ngettext
    argparse._, argparse.ngettext = _, ngettext
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved
        _speaking.reset(token)


@contextmanager
def machine_text() -> Iterator[None]:
    """Texts that go into `--json` output: English whatever the reader's language, as a program expects them."""
    token = _speaking.set("en")
    try:
        yield
    finally:
        _speaking.reset(token)


def width(text: str) -> int:
    """Columns `text` takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def cell(text: object, columns: int, *, right: bool = False) -> str:
    """`text` padded to `columns` terminal columns (format's `:<n` counts characters, not columns)."""
    text = str(text)
    room = " " * max(0, columns - width(text))
    return room + text if right else text + room


_TOKENS = re.compile(r"[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]|[^\s\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]+|\s+")
_NO_LINE_START = set("，。、；：）》」』！？")  # Chinese punctuation stays at the end of the line it closes


def wrap(text: str, columns: int) -> list[str]:
    """`text` in lines of at most `columns` terminal columns: between words, and between any two Chinese
    characters (textwrap breaks only at spaces, so a Chinese help would run past the terminal's edge)."""
    lines: list[str] = []
    line = ""
    for token in _TOKENS.findall(" ".join(text.split())):
        if line and width(line + token) > columns and not token.isspace() and token not in _NO_LINE_START:
            lines.append(line.rstrip())
            line = ""
        if line or not token.isspace():
            line += token
    if line.strip():
        lines.append(line.rstrip())
    return lines


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help, wrapped by terminal columns (CJK characters take two)."""

    def _split_lines(self, text: str, width_: int) -> list[str]:
        return wrap(text, width_)

    def _fill_text(self, text: str, width_: int, indent: str) -> str:
        return "\n".join(indent + line for line in wrap(text, width_ - len(indent)))

    def _format_usage(self, usage, actions, groups, prefix) -> str:
        # argparse measures "usage: " by characters: "用法：" takes 6 columns, not 3
        prefix = _("usage: ") if prefix is None else prefix
        extra = width(prefix) - len(prefix)
        self._width -= extra
        try:
            text = super()._format_usage(usage, actions, groups, prefix)
        finally:
            self._width += extra
        return text.replace("\n ", "\n" + " " * (extra + 1)) if extra else text


class Parser(argparse.ArgumentParser):
    """The CLI's parser: its help wrapped for Chinese; its subcommands' parsers are of this class too."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
