"""Message catalogs: zh-CN for the people who read the gateway's texts, English (the msgid) on request.

`translations(lang, domain)` reads gateway/locales/zh_CN/LC_MESSAGES/<domain>.po with Babel at first use
(no compile step: the .po file is what a translator edits and what is shipped) and returns a
gettext.NullTranslations whose `gettext`/`ngettext` answer from it. English needs no catalog: the msgids are
the English texts. Domains: "console" (gateway/web), others for finding messages, the CLI and alerts.
"""

from __future__ import annotations

import gettext
import threading
from functools import lru_cache
from importlib import resources

from babel.messages.pofile import read_po

DEFAULT = "zh_CN"
LANGUAGES = ("zh_CN", "en")
_lock = threading.Lock()


def normalize(lang: str | None) -> str:
    """`zh-CN`, `zh_CN.UTF-8`, `zh` -> zh_CN; `en`, `en_US`, `C` -> en; anything else: LookupError."""
    value = (lang or "").split(".", 1)[0].replace("-", "_").strip()
    if value.lower() in ("zh", "zh_cn", "zh_hans", "zh_hans_cn"):
        return "zh_CN"
    if value.lower().startswith("en") or value in ("C", "POSIX"):
        return "en"
    raise LookupError(f"no texts in language {lang!r} (known: {', '.join(LANGUAGES)})")


class CatalogTranslations(gettext.NullTranslations):
    """A Babel catalog as gettext translations; an untranslated (or fuzzy) message falls back to English."""

    def __init__(self, messages: dict[str, tuple[str, ...]], plural: str) -> None:
        super().__init__()
        self._messages = messages
        self._plural = gettext.c2py(plural)

    def gettext(self, message: str) -> str:
        found = self._messages.get(message)
        return found[0] if found and found[0] else message

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:  # type: ignore[override]
        found = self._messages.get(msgid1)
        index = self._plural(n)
        if found and index < len(found) and found[index]:
            return found[index]
        return msgid1 if n == 1 else msgid2

    def pgettext(self, context: str, message: str) -> str:
        return self.gettext(message)

    def npgettext(self, context: str, msgid1: str, msgid2: str, n: int) -> str:
        return self.ngettext(msgid1, msgid2, n)


def catalog_path(lang: str, domain: str):
    return resources.files("gateway").joinpath("locales", lang, "LC_MESSAGES", f"{domain}.po")


def read_catalog(lang: str, domain: str):
    """The Babel Catalog of `domain` in `lang` (for tests and tools)."""
    with catalog_path(lang, domain).open("rb") as f:
        return read_po(f, locale=lang, domain=domain)


@lru_cache(maxsize=None)
def _load(lang: str, domain: str) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    catalog = read_catalog(lang, domain)
    messages: dict[str, tuple[str, ...]] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        messages[ids[0]] = tuple(strings)
    return CatalogTranslations(messages, catalog.plural_expr)


def translations(lang: str, domain: str) -> gettext.NullTranslations:
    """The texts of `domain` in `lang` (zh_CN or en); read once per process."""
    with _lock:
        return _load(normalize(lang), domain)
