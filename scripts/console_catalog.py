"""Refresh gateway/locales/zh_CN/LC_MESSAGES/console.po from the console's code and templates: every text
marked there (gateway/web/babel.cfg) gets an entry; the translations already in the file are kept, new texts
come with an empty msgstr for a translator (and tests/web/test_i18n.py fails until it is filled in), texts
gone are dropped. Alert meanings are the "alerts" domain's (`python -m gateway.i18n update`).

    python scripts/console_catalog.py
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "gateway" / "web"
PO = ROOT / "gateway" / "locales" / "zh_CN" / "LC_MESSAGES" / "console.po"


def console_texts() -> Catalog:
    """The texts the console shows, as an untranslated catalog (msgid, where)."""
    with (WEB / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    catalog = Catalog(domain="console")
    for name, line, message, _, _ in extract_from_dir(str(WEB), method_map, options_map,
                                                      keywords={**DEFAULT_KEYWORDS, "N_": None}):
        catalog.add(message, None, [(f"gateway/web/{name}", line)])
    return catalog


def main(extra: dict | None = None) -> None:
    old = read_po(PO.open("rb"), locale="zh_CN") if PO.exists() else Catalog(locale="zh_CN")
    known = {m.id if not isinstance(m.id, tuple) else m.id[0]: m.string for m in old if m.id}
    for key, value in (extra or {}).items():
        known[key if isinstance(key, str) else key[0]] = value
    catalog = Catalog(locale="zh_CN", domain="console", project="ltc-gateway console",
                      language_team="ltc-gateway <operators>", charset="utf-8")
    for message in console_texts():
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        catalog.add(message.id, known.get(key) or ("" if isinstance(message.id, str) else ("",)),
                    message.locations, auto_comments=message.auto_comments)
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as f:
        # no line numbers: a catalog that changed with every edit of a template would conflict at every merge
        write_po(f, catalog, width=120, sort_output=False, omit_header=False, include_lineno=False)


if __name__ == "__main__":
    main()
