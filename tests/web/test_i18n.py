"""Every text the console shows has its zh-CN translation, with the same placeholders; the catalog API."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from gateway import i18n

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from console_catalog import console_texts  # noqa: E402

_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def test_every_console_text_has_its_chinese_translation() -> None:
    from babel.messages.pofile import read_po

    with i18n.catalog_path("zh-CN", "console").open("rb") as f:
        catalog = read_po(f)
    translated = {(m.id if isinstance(m.id, str) else m.id[0]): m for m in catalog if m.id}
    texts = [m for m in console_texts() if m.id]
    assert len(texts) > 150  # the extraction found the templates and the code, not nothing
    missing, wrong = [], []
    for message in texts:
        key = message.id if isinstance(message.id, str) else message.id[0]
        entry = translated.get(key)
        strings = () if entry is None else (entry.string if isinstance(entry.string, tuple) else (entry.string,))
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(key)
        elif any(sorted(_PLACEHOLDER.findall(s)) != sorted(set(_PLACEHOLDER.findall(key))) for s in strings):
            wrong.append(key)
    assert missing == [], f"texts without a zh_CN translation (run scripts/console_catalog.py, then translate): {missing}"
    assert wrong == [], f"translations whose placeholders differ from the English: {wrong}"


def test_translations_api() -> None:
    zh = i18n.translations("zh-CN", "console")
    assert zh.gettext("Log in") == "登录" and zh.gettext("a text nobody wrote") == "a text nobody wrote"
    assert zh.ngettext("%(num)d message", "%(num)d messages", 5) == "%(num)d 份报文"
    en = i18n.translations("en_US.UTF-8", "console")
    assert en.gettext("Log in") == "Log in" and en.ngettext("%(num)d message", "%(num)d messages", 2) == "%(num)d messages"
    assert i18n.translations("zh_CN", "console") is zh  # read once
    with pytest.raises(ValueError):
        i18n.translations("fr", "console")
