"""Message catalogs: the texts people read, in zh-CN (the default) or English.

English is the msgid: the text written in the code is the English one, and `gateway/locales/zh_CN/LC_MESSAGES/
<domain>.po` holds its Chinese. The .po files are read with Babel at first use and cached per process, so there
is no compile step and no .mo file to forget (a catalog holds a few hundred texts: reading it takes milliseconds).
Domains: "findings" (what a NACK lists, gateway.domain.findings), "alerts" (alert texts and webhook payloads),
"console" (the web console), "notes" (deadline and reconciliation notes, audit outcomes, the ACK's warning note:
gateway.domain.notes), "cli" (what `ltcgw` prints and its help, argparse's own words included:
gateway/entrypoints/language.py). A missing or fuzzy entry falls back to the English text.

This module sits below every layer (it reads only its own catalogs, like xsd/ holds the schemas), so that the
domain's findings can say themselves in a language.
"""

from __future__ import annotations

import gettext
import threading
from pathlib import Path

LOCALES = Path(__file__).resolve().parent / "locales"
DEFAULT_LANGUAGE = "zh-CN"
# Language tag (as configured, `[cities.CODE] language`) -> the catalog folder (None: English, the msgids).
LANGUAGES: dict[str, str | None] = {"zh-CN": "zh_CN", "en": None}
DOMAINS = ("findings", "alerts", "console", "notes", "cli")

_lock = threading.Lock()
_cache: dict[tuple[str, str], gettext.NullTranslations] = {}


class CatalogTranslations(gettext.NullTranslations):
    """Translations from a dict msgid -> msgstr (read from a .po file); what it lacks stays English.

    Plural entries are keyed by their singular msgid; Chinese has one form (nplurals=1), msgstr[0]."""

    def __init__(self, catalog: dict[str, str], plurals: dict[str, str] | None = None) -> None:
        super().__init__()
        self._catalog = catalog
        self._plurals = plurals or {}

    def gettext(self, message: str) -> str:
        return self._catalog.get(message) or message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._plurals.get(singular) or (singular if n == 1 else plural)

    def __len__(self) -> int:
        return len(self._catalog)


def normalize(lang: str | None) -> str:
    """A supported language tag for `lang` ("zh_CN", "zh-cn", "zh", "en_US.UTF-8" ...); unknown: ValueError."""
    if lang is None or not str(lang).strip():
        return DEFAULT_LANGUAGE
    tag = str(lang).split(".")[0].replace("_", "-").lower()
    if tag in ("zh", "zh-cn", "zh-hans", "zh-hans-cn"):
        return "zh-CN"
    if tag == "en" or tag.startswith("en-") or tag in ("c", "posix"):
        return "en"
    raise ValueError(f"unsupported language {lang!r} (supported: {', '.join(LANGUAGES)})")


def catalog_path(lang: str, domain: str) -> Path | None:
    """The .po file of `domain` in `lang`; None for English (the msgids are English)."""
    folder = LANGUAGES[normalize(lang)]
    return None if folder is None else LOCALES / folder / "LC_MESSAGES" / f"{domain}.po"


def read_catalog(path: Path, *, plurals: bool = False) -> dict[str, str]:
    """msgid -> msgstr of the translated, non-fuzzy entries of a .po file (Babel's reader); with `plurals`, the
    plural entries instead, singular msgid -> the first form."""
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        catalog = read_po(handle)
    out: dict[str, str] = {}
    for message in catalog:
        if not message.id or message.fuzzy or isinstance(message.id, tuple) != plurals:
            continue
        string = message.string[0] if plurals else message.string
        if isinstance(string, str) and string:
            out[message.id[0] if plurals else message.id] = string
    return out


def translations(lang: str, domain: str) -> gettext.NullTranslations:
    """The translations of `domain` ("findings", "alerts", "console") into `lang` ("zh-CN" or "en")."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown message domain {domain!r} (known: {', '.join(DOMAINS)})")
    key = (normalize(lang), domain)
    found = _cache.get(key)
    if found is not None:
        return found
    with _lock:
        found = _cache.get(key)
        if found is None:
            path = catalog_path(key[0], domain)
            found = gettext.NullTranslations() if path is None or not path.is_file() else CatalogTranslations(
                read_catalog(path), read_catalog(path, plurals=True))
            _cache[key] = found
    return found


# --- keeping the catalogs in step with the code (`python -m gateway.i18n`, and tests/i18n) ---------------------

ROOT = Path(__file__).resolve().parent.parent
# Where each domain's texts are written, and the calls whose argument is a template (Babel keyword specs:
# the argument's position). Findings: `Finding(code, template, ...)`, the rules' `add(code, template, ...)`, the
# envelope's `problem(code, template, ...)`, and `phrase(template, ...)` for the words that fill a template.
SOURCES: dict[str, dict[str, object]] = {
    "findings": {
        "marker": "gateway.domain.findings",  # only files that import it make findings
        "keywords": {"Finding": (2,), "add": (2,), "problem": (2,), "phrase": (1,), "Phrase": (1,)},
    },
    # Notes: deadline remarks, reconciliation differences, audit outcomes, the ACK's warning note
    # (gateway.domain.notes: `Note(code, template, ...)`, `words(template, ...)` for the words inside one).
    "notes": {
        "marker": "gateway.domain.notes",
        "keywords": {"Note": (2,), "words": (1,)},
    },
    # Alerts: the meanings of gateway/observability/alerts.py ALERT_KINDS (the kind is the machine key).
    "alerts": {"table": ("gateway/observability/alerts.py", "ALERT_KINDS")},
    # The CLI (`ltcgw`): `_("...")`, `N_("...")` and `ngettext(...)` in the entrypoints that import its
    # language module, and the words argparse says itself (read from the running Python's argparse: a new
    # Python whose argparse says something new shows as untranslated).
    "cli": {
        "marker": "gateway.entrypoints.language",
        "keywords": {"_": None, "N_": None, "ngettext": (1, 2)},
        "stdlib": ("argparse",),
        "files": ("gateway/entrypoints/language.py", "gateway/workspace/demo.py"),
    },
    # "console": its templates are extracted by the console's own tooling (Jinja2's Babel extractor); add its
    # entry here to have `python -m gateway.i18n update|check` maintain it too.
}


def source_files(domain: str) -> list[Path]:
    if "table" in SOURCES[domain]:
        return [ROOT / str(SOURCES[domain]["table"][0])]
    marker = str(SOURCES[domain]["marker"])
    files = [_stdlib_file(name) for name in SOURCES[domain].get("stdlib", ())]
    files += [ROOT / name for name in SOURCES[domain].get("files", ())]
    for package in ("gateway", "adapters"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name not in ("findings.py", "notes.py", "i18n.py") and marker in path.read_text(encoding="utf-8"):
                files.append(path)
    return files


def _stdlib_file(module: str) -> Path:
    import importlib

    return Path(importlib.import_module(module).__file__ or module)


def extract(domain: str, files: list[Path] | None = None) -> dict[str | tuple[str, str], list[str]]:
    """Every template of `domain` in the code (or in `files`), with where it is written ("gateway/x.py:12"); a
    plural one (ngettext) as its (singular, plural)."""
    import contextlib
    import io

    from babel.messages.extract import extract as babel_extract

    if "table" in SOURCES[domain]:
        return _table_texts(*SOURCES[domain]["table"])
    keywords = SOURCES[domain]["keywords"]
    found: dict[str, list[str]] = {}
    for path in source_files(domain) if files is None else files:
        # Babel warns of every f-string among a call's arguments; a code ("{code}.amount") or a value formatted
        # beforehand is not a template (tests/i18n checks that no template is an f-string).
        with path.open("rb") as handle, contextlib.redirect_stderr(io.StringIO()):
            for lineno, message, _comments, _context in babel_extract("python", handle, keywords=keywords):
                if isinstance(message, tuple):  # ngettext: (singular, plural), keyed by the singular
                    message = message if all(isinstance(m, str) and m for m in message[:2]) else None
                    message = message and (message[0], message[1])
                if message and isinstance(message, (str, tuple)):
                    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else f"<python>/{path.name}"
                    found.setdefault(message, []).append(f"{where}:{lineno}")
    return found


def _table_texts(file: str, name: str) -> dict[str, list[str]]:
    """The string values of the dict literal assigned to `name` in `file` (read, not imported: this module sits
    below the one that holds it)."""
    import ast

    found: dict[str, list[str]] = {}
    for node in ast.walk(ast.parse((ROOT / file).read_text(encoding="utf-8"))):
        target = node.target if isinstance(node, ast.AnnAssign) else (
            node.targets[0] if isinstance(node, ast.Assign) else None)
        if isinstance(target, ast.Name) and target.id == name and isinstance(node.value, ast.Dict):
            for value in node.value.values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found.setdefault(value.value, []).append(f"{file}:{value.lineno}")
                else:  # a meaning built at run time could not be translated
                    raise ValueError(f"{file}:{value.lineno}: {name} values must be plain strings")
    return found


def update_catalog(domain: str, lang: str = "zh-CN") -> tuple[list[str], list[str]]:
    """Write `domain`'s .po file with every template of the code: translations kept, new templates added
    untranslated, templates the code no longer has dropped. Returns (added, dropped)."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    path = catalog_path(lang, domain)
    assert path is not None
    old = Catalog(locale=LANGUAGES[normalize(lang)], domain=domain)
    if path.is_file():
        with path.open("rb") as handle:
            old = read_po(handle)
    found = extract(domain)
    new = Catalog(locale=LANGUAGES[normalize(lang)], domain=domain, project="ltc-gateway", version="1",
                  creation_date=old.creation_date, revision_date=old.revision_date,
                  last_translator="ltc-gateway", language_team="ltc-gateway",
                  header_comment=f"# {domain}: the gateway's texts in {normalize(lang)}; English is the msgid.\n"
                                 "# Updated by `python -m gateway.i18n update`; translate every empty msgstr.")
    for message_id, places in found.items():
        before = old.get(message_id)
        empty = ("",) if isinstance(message_id, tuple) else ""
        new.add(message_id, before.string if before is not None and before.string else empty,
                locations=[(p.rsplit(":", 1)[0], int(p.rsplit(":", 1)[1])) for p in places],
                flags=before.flags if before is not None else ())
    added = [m for m in found if old.get(m) is None]
    dropped = [m.id for m in old if m.id and m.id not in found]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        # No line numbers: a catalog that changes with every edit of the code would conflict at every merge.
        write_po(handle, new, width=120, sort_output=False, omit_header=False, include_lineno=False)
    _cache.pop((normalize(lang), domain), None)
    return added, dropped


def untranslated(domain: str, lang: str = "zh-CN") -> list[str]:
    """The templates of `domain` in the code that its catalog in `lang` does not translate."""
    path = catalog_path(lang, domain)
    catalog = read_catalog(path) if path is not None and path.is_file() else {}
    plurals = read_catalog(path, plurals=True) if path is not None and path.is_file() else {}
    return [message if isinstance(message, str) else message[0] for message in extract(domain)
            if (message not in catalog if isinstance(message, str) else message[0] not in plurals)]


def main(argv: list[str] | None = None) -> int:
    import sys

    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in ("update", "check"):
        print("usage: python -m gateway.i18n update|check [DOMAIN]", file=sys.stderr)
        return 2
    domains = args[1:] or list(SOURCES)
    missing = 0
    for domain in domains:
        if args[0] == "update":
            added, dropped = update_catalog(domain)
            print(f"{domain}: {len(added)} new template(s) to translate, {len(dropped)} dropped")
        gaps = untranslated(domain)
        for message in gaps:
            print(f"{domain}: untranslated: {message}")
        missing += len(gaps)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
