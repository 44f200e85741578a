"""Message catalogs: the texts people read, in zh-CN (the default) or English.

English is the msgid: the text written in the code is the English one, and `gateway/locales/zh_CN/LC_MESSAGES/
<domain>.po` holds its Chinese. The .po files are read with Babel at first use and cached per process, so there
is no compile step and no .mo file to forget (a catalog holds a few hundred texts: reading it takes milliseconds).
Domains: "findings" (what a NACK lists, gateway.domain.findings), "alerts" (alert texts and webhook payloads),
"console" (the web console). A missing or fuzzy entry falls back to the English text.

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
DOMAINS = ("findings", "alerts", "console")

_lock = threading.Lock()
_cache: dict[tuple[str, str], gettext.NullTranslations] = {}


class CatalogTranslations(gettext.NullTranslations):
    """Translations from a dict msgid -> msgstr (read from a .po file); what it lacks stays English."""

    def __init__(self, catalog: dict[str, str]) -> None:
        super().__init__()
        self._catalog = catalog

    def gettext(self, message: str) -> str:
        return self._catalog.get(message) or message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)

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


def read_catalog(path: Path) -> dict[str, str]:
    """msgid -> msgstr of the translated, non-fuzzy entries of a .po file (Babel's reader)."""
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        catalog = read_po(handle)
    out: dict[str, str] = {}
    for message in catalog:
        if not message.id or message.fuzzy or isinstance(message.id, tuple):
            continue
        if isinstance(message.string, str) and message.string:
            out[message.id] = message.string
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
                read_catalog(path))
            _cache[key] = found
    return found


def gettext_for(lang: str, domain: str):
    """The `gettext` function of `domain` in `lang` (a shorthand for translations(...).gettext)."""
    return translations(lang, domain).gettext
