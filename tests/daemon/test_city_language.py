"""`[cities.CODE] language`: the language of the findings in that city's NACKs (zh-CN unless "en")."""

from __future__ import annotations

import shutil

from gateway.bootstrap import reply_settings
from gateway.config import check_config

from .conftest import JINAN, ZIBO


def _config(tmp_path, template, language_line: str | None):
    from gateway.workspace.layout import write_workspace

    shutil.copytree(template, tmp_path / "keys")
    path = write_workspace(tmp_path, [JINAN, ZIBO], retry=["10m"])
    if language_line is not None:
        text = path.read_text(encoding="utf-8")
        text = text.replace('name = "', f'{language_line}\nname = "', 1)  # into the first city's table
        path.write_text(text, encoding="utf-8")
    return check_config(path)


def test_cities_read_chinese_unless_configured(tmp_path, _template) -> None:
    config, problems = _config(tmp_path, _template, None)
    assert problems == []
    assert {code: city.language for code, city in config.cities.items()} == {JINAN: "zh-CN", ZIBO: "zh-CN"}


def test_a_city_may_ask_for_english_and_the_replies_follow(tmp_path, _template) -> None:
    config, problems = _config(tmp_path, _template, 'language = "en"')
    assert problems == []
    assert config.cities[JINAN].language == "en" and config.cities[ZIBO].language == "zh-CN"
    assert reply_settings(config).languages == {JINAN: "en", ZIBO: "zh-CN"}


def test_an_unknown_language_is_a_config_problem(tmp_path, _template) -> None:
    config, problems = _config(tmp_path, _template, 'language = "fr"')
    assert config is None
    assert [(p.where.split(":")[-1], "'zh-CN'" in p.message) for p in problems] == [(f"cities.{JINAN}.language", True)]


def test_the_alerts_language_is_read_and_checked(tmp_path, _template) -> None:
    from gateway.workspace.layout import write_workspace

    shutil.copytree(_template, tmp_path / "keys")
    path = write_workspace(tmp_path, [JINAN, ZIBO], retry=["10m"])
    base = path.read_text(encoding="utf-8")
    assert check_config(path)[0].alerts.language == "zh-CN"
    path.write_text(base + '\n[alerts]\nlanguage = "en"\n', encoding="utf-8")
    assert check_config(path)[0].alerts.language == "en"
    path.write_text(base + '\n[alerts]\nlanguage = "de"\n', encoding="utf-8")
    config, problems = check_config(path)
    assert config is None and [p.where.split(":")[-1] for p in problems] == ["alerts.language"]
