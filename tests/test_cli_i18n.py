"""`ltcgw` speaks zh-CN unless asked for English (issue 14): its output, errors and help, argparse's own words
included, come from the "cli" catalog (gateway/entrypoints/language.py); `--json`, codes and exit statuses do
not change with the language."""

from __future__ import annotations

import argparse
import ast
import gettext
import json
import os
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest

from gateway import i18n
from gateway.entrypoints import language
from gateway.entrypoints.cli import build_parser, main

CLI_PO = i18n.catalog_path("zh-CN", "cli")
ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")
CITIES = "370100,370300"


@pytest.fixture
def chinese_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """No language asked for anywhere: what an operator gets on a server with a bare locale."""
    for name in language.ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


# --- the catalog keeps step with the code ----------------------------------------------------------------------

def test_every_cli_text_has_its_translation() -> None:
    assert i18n.untranslated("cli") == [], "run `python -m gateway.i18n update cli` and translate the new msgids"


def test_the_catalog_holds_nothing_the_code_no_longer_says() -> None:
    written = {m if isinstance(m, str) else m[0] for m in i18n.extract("cli")}
    held = set(i18n.read_catalog(CLI_PO)) | set(i18n.read_catalog(CLI_PO, plurals=True))
    assert sorted(held - written) == []


def _fields(text: str) -> list[str]:
    """The values a text takes: str.format fields and argparse's %-conversions."""
    braces = sorted(f"{{{name}{'!' + conv if conv else ''}{':' + spec if spec else ''}}}"
                    for _, name, spec, conv in string.Formatter().parse(text) if name is not None)
    return braces + sorted(re.findall(r"%\([a-z_]+\)[rsd]|%[rsd]", text))


def test_each_translation_takes_the_values_of_its_english_and_is_chinese() -> None:
    catalog = i18n.read_catalog(CLI_PO)
    assert len(catalog) > 250
    assert {m: t for m, t in catalog.items() if _fields(m) != _fields(t)} == {}
    # copied English is not a translation (a text with words in it must read Chinese)
    assert [m for m, t in catalog.items() if re.search(r"[a-z]{3}", m) and not CJK.search(t)] == []


def _marked_calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("_", "N_", "ngettext"):
            yield node


def test_no_cli_text_is_built_at_run_time() -> None:
    """An f-string, a concatenation or a variable inside `_()` cannot be found in the catalog; neither can a
    `_()` inside an f-string, which the extractor does not see (on Python 3.11)."""
    built = []
    files = [p for p in i18n.source_files("cli") if p.is_relative_to(ROOT)]
    assert {p.name for p in files} >= {"cli.py", "operations.py", "settlement.py", "kit.py", "accounts.py"}
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _marked_calls(tree):
            if node.func.id == "_" and path.name == "language.py" and isinstance(node.args[0], ast.Name):
                continue  # the definitions themselves: argparse hands its msgids through `_`
            if not node.args or not all(isinstance(a, ast.Constant) and isinstance(a.value, str)
                                        for a in node.args[: 2 if node.func.id == "ngettext" else 1]):
                built.append(f"{path.name}:{node.lineno}")
        for joined in (n for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)):
            built += [f"{path.name}:{c.lineno} (in an f-string)" for c in _marked_calls(joined)]
    assert built == []
    # ... and the scan sees both
    assert len(list(_marked_calls(ast.parse('_(f"{x} wrong")')))) == 1
    assert list(_marked_calls(ast.parse('f"{_(\'ok\')}"')))


ENGLISH = re.compile(r"[A-Za-z]{3,} [a-z]{2,}")
COMMAND = re.compile(r"ltcgw [a-z -]+: ")  # "ltcgw trace: " names the command, in every language


def _unmarked(tree: ast.AST) -> list[int]:
    """Lines printing or raising an English sentence written in place (not through the catalog)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name not in ("print", "_say", "KitError", "UsageError", "AccountsError", "ArgumentTypeError", "SystemExit",
                        "error"):
            continue
        for argument in node.args[:1]:
            parts = [argument] if isinstance(argument, ast.Constant) else (
                argument.values if isinstance(argument, ast.JoinedStr) else [])
            if any(isinstance(p, ast.Constant) and isinstance(p.value, str)
                   and ENGLISH.search(COMMAND.sub("", p.value)) for p in parts):
                found.append(node.lineno)
    return found


def test_the_commands_print_no_english_sentence_of_their_own() -> None:
    files = [*sorted((ROOT / "gateway" / "entrypoints").glob("*.py")), ROOT / "gateway" / "workspace" / "demo.py"]
    unmarked = {path.name: lines for path in files if (lines := _unmarked(ast.parse(path.read_text(encoding="utf-8"))))}
    assert unmarked == {}
    assert _unmarked(ast.parse('print(f"wrote {path}; keys in {keys}")')) == [1]
    assert _unmarked(ast.parse('print(_("wrote {path}").format(path=p))')) == []


def _helps(parser: argparse.ArgumentParser, path: str = "ltcgw"):
    yield f"{path} (description)", parser.description
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                yield f"{path} {choice.dest}", choice.help
            for name, sub in action.choices.items():
                yield from _helps(sub, f"{path} {name}")
        elif action.help and action.help != argparse.SUPPRESS:
            yield f"{path} {'/'.join(action.option_strings) or action.dest}", action.help


def test_every_help_of_the_parser_reads_chinese(chinese_default) -> None:
    with language.speaking("zh-CN"):
        helps = dict(_helps(build_parser()))
    assert len(helps) > 150
    assert {where: text for where, text in helps.items() if text and not CJK.search(text)} == {}
    with language.speaking("en"):
        assert dict(_helps(build_parser()))["ltcgw status --json"] == "print {cities, instances, alerts} as JSON"


# --- which language -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("environ", "expected"), [
    ({}, "zh-CN"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "zh_CN.UTF-8"}, "zh-CN"),
    ({"LANG": "C.UTF-8"}, "zh-CN"),  # a bare locale chooses no language
    ({"LANG": "POSIX"}, "zh-CN"),
    ({"LANG": "de_DE.UTF-8"}, "zh-CN"),  # a language we do not speak: the default, no failure
    ({"LC_ALL": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),  # gettext's order: LC_ALL before LANG
    ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh-CN"),
    ({"LANGUAGE": "de:en", "LC_ALL": "zh_CN.UTF-8"}, "en"),  # LANGUAGE is a list, first before LC_ALL
    ({"LANGUAGE": "", "LANG": "en_US"}, "en"),  # an empty variable is not set
])
def test_the_environment_chooses_in_gettexts_order(environ, expected) -> None:
    assert language.from_environment(environ) == expected


def test_the_lang_option_is_taken_wherever_it_is() -> None:
    assert language.take_lang_option(["--lang", "en", "status", "-c", "x"]) == ("en", ["status", "-c", "x"])
    assert language.take_lang_option(["status", "--lang=zh_CN"]) == ("zh-CN", ["status"])
    assert language.take_lang_option(["trace", "--", "--lang"]) == (None, ["trace", "--", "--lang"])
    with pytest.raises(language.LanguageError):
        language.take_lang_option(["--lang", "fr"])
    with pytest.raises(language.LanguageError):
        language.take_lang_option(["status", "--lang"])


def test_cjk_columns_are_padded_by_their_width() -> None:
    assert language.cell("城市", 6) == "城市  " and language.cell("ab", 4, right=True) == "  ab"


# --- real commands over a real workspace --------------------------------------------------------------------

def _workspace(tmp_path: Path, capsys) -> Path:
    assert main(["--lang", "en", "init", str(tmp_path / "gw"), "--cities", CITIES]) == 0
    capsys.readouterr()
    return tmp_path / "gw" / "gateway.toml"


def test_the_commands_speak_chinese_by_default(tmp_path, capsys, chinese_default) -> None:
    assert main(["init", str(tmp_path / "gw"), "--cities", CITIES]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"已写出 {tmp_path / 'gw' / 'gateway.toml'}；密钥在 ") and "下一步：ltcgw config check" in out
    config = str(tmp_path / "gw" / "gateway.toml")
    assert main(["config", "check", "-c", config]) == 0
    assert capsys.readouterr().out.startswith(f"{config}：正常（2 个城市：370100, 370300）")
    assert main(["messages", "-c", config]) == 0
    assert capsys.readouterr().out.split() == ["接收时间（UTC）", "报文号", "类型", "发送->接收", "月份", "流水号", "版本", "状态"]
    assert main(["status", "-c", config]) == 0
    status = capsys.readouterr().out
    assert status.splitlines()[0].split() == ["城市", "已接收", "已投递", "待回执", "失败", "已退回", "最早未确认"]
    assert "实例：无运行中的实例" in status and "告警：无" in status
    # a malformed flag: argparse's words and ours, in Chinese, exit 2
    with pytest.raises(SystemExit) as exit_:
        main(["messages", "-c", config, "--period", "2026-13"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("用法：ltcgw messages")
    assert "ltcgw messages：错误：参数 --period：'2026-13' 不是 YYYY-MM 格式的服务月份（如 2026-10）" in err
    with pytest.raises(SystemExit):
        main(["init"])
    assert "缺少以下必需参数：dir, --cities" in capsys.readouterr().err
    # our own errors
    assert main(["init", str(tmp_path / "other"), "--cities", "370100,999999"]) == 2
    assert capsys.readouterr().err.strip() == "请至少给出两个已知的行政区划代码（未知的：999999）"
    assert main(["trace", "-c", config, "3701002026"]) == 1
    assert capsys.readouterr().err.strip() == "ltcgw trace: 没有报文 3701002026"


def test_the_help_reads_chinese_by_default(capsys, chinese_default) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("用法：ltcgw [-h] [--lang zh-CN|en] COMMAND ...")
    assert "显示本帮助并退出" in out and "按城市统计：已接收、已投递、待回执、失败" in out
    with pytest.raises(SystemExit):
        main(["status", "--help"])
    assert "显示最新 N 条告警（默认 10）" in capsys.readouterr().out
    assert argparse._ is gettext.gettext  # argparse's words are put back for the next parser in this process


def test_lang_en_and_lang_from_the_environment_give_english(tmp_path, capsys, chinese_default, monkeypatch) -> None:
    config = str(_workspace(tmp_path, capsys))
    assert main(["--lang", "en", "config", "check", "-c", config]) == 0
    assert capsys.readouterr().out.startswith(f"{config}: OK (2 cities: 370100, 370300)")
    assert main(["messages", "-c", config, "--lang", "en"]) == 0
    assert capsys.readouterr().out.split()[:3] == ["received", "(UTC)", "message"]
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert main(["status", "-c", config]) == 0
    assert capsys.readouterr().out.split()[:2] == ["city", "received"]
    with pytest.raises(SystemExit):
        main(["messages", "-c", config, "--period", "2026-13"])
    assert "ltcgw messages: error: argument --period: '2026-13' is not a service month" in capsys.readouterr().err
    # --lang beats the environment
    assert main(["--lang", "zh-CN", "status", "-c", config]) == 0
    assert capsys.readouterr().out.startswith("城市")


def test_an_unsupported_lang_is_a_usage_error(capsys, chinese_default) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--lang", "fr", "status"])
    assert exit_.value.code == 2
    assert "不支持的语言 'fr'（支持：zh-CN, en）" in capsys.readouterr().err


def test_machine_output_is_the_same_in_both_languages(tmp_path, capsys, chinese_default) -> None:
    config = str(_workspace(tmp_path, capsys))
    outputs = []
    for lang in ("zh-CN", "en"):
        assert main(["--lang", lang, "config", "check", "--json", "-c", config]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1] and outputs[0]["ok"] is True
    for lang in ("zh-CN", "en"):
        assert main(["--lang", lang, "status", "--json", "-c", config]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[2] == outputs[3] and [c["city"] for c in outputs[2]["cities"]] == []


def test_a_process_started_with_lang_en_us_speaks_english(tmp_path, capsys) -> None:
    """As a shell runs it: the installed entry point's code in a new process, LANG from the environment."""
    config = str(_workspace(tmp_path, capsys))
    env = {k: v for k, v in os.environ.items() if k not in language.ENVIRONMENT}
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-m", "gateway.entrypoints.cli", "config", "check", "-c", config]
    english = subprocess.run(command, env={**env, "LANG": "en_US.UTF-8"}, capture_output=True, text=True, timeout=120)
    chinese = subprocess.run(command, env={**env, "LANG": "C.UTF-8"}, capture_output=True, text=True, timeout=120)
    assert english.returncode == chinese.returncode == 0
    assert english.stdout.startswith(f"{config}: OK (2 cities")
    assert chinese.stdout.startswith(f"{config}：正常（2 个城市")


def test_a_chinese_help_fits_the_terminal(capsys, chinese_default, monkeypatch) -> None:
    """textwrap breaks only at spaces: a Chinese help would run past the edge; ours breaks by columns."""
    monkeypatch.setenv("COLUMNS", "80")
    for command in (["init", "--help"], ["sample", "--help"], ["deadlines", "--help"]):
        with pytest.raises(SystemExit):
            main(command)
        out = capsys.readouterr().out
        assert CJK.search(out)
        assert [line for line in out.splitlines() if language.width(line) > 80] == []
    assert language.wrap("各城市的签名密钥（默认 rsa）；sm2：城市用 SM2", 12) == ["各城市的签名", "密钥（默认", "rsa）；sm2：", "城市用 SM2"]
    assert language.wrap("give at least two known area codes", 12) == ["give at", "least two", "known area", "codes"]
