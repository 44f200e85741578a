"""The remaining texts a person reads (issue 14): configuration problems, the errors of the service and domain
that the CLI and the console print, the demo's refused findings and the deadline lines' words are said in zh-CN
by default and in English on request; `--json` keeps the English text (and adds the problem's code)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from gateway.config import DurationError, check_config, parse_duration
from gateway.domain.calendar import HolidayFileError, parse_holiday_file
from gateway.domain.deadlines import PeriodError, parse_period
from gateway.domain.findings import Finding
from gateway.domain.notes import Note, NoteError, said
from gateway.entrypoints import language
from gateway.entrypoints.cli import main
from gateway.web.accounts import AccountsError, check_name
from gateway.web.queries import MonthSettlement
from gateway.workspace.demo import refused_lines

CITIES = "370100,370300"


@pytest.fixture
def chinese_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """No language asked for anywhere: what an operator gets on a server with a bare locale."""
    for name in language.ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def workspace(tmp_path: Path, capsys) -> Path:
    assert main(["--lang", "en", "init", str(tmp_path / "ws"), "--cities", CITIES]) == 0
    capsys.readouterr()
    return tmp_path / "ws" / "gateway.toml"


def _broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.toml"
    path.write_text('[gateway]\nworkers = 0\nbogus = 1\n[ledger]\nbackend = "x"\n[spool]\n[retry]\nwaits = ["soon"]\n',
                    encoding="utf-8")
    return path


# --- configuration problems ------------------------------------------------------------------------------------

def test_config_check_says_its_problems_in_chinese_by_default(tmp_path, capsys, chinese_default) -> None:
    assert main(["config", "check", "-c", str(_broken(tmp_path))]) == 1
    out = capsys.readouterr().out
    assert "broken.toml:gateway.bogus: 未知配置项（是否拼写错误？）" in out
    assert "broken.toml:gateway.workers: 必须为 1（在本进程内校验）或更大（进程池）" in out
    assert "broken.toml:ledger.backend: 未知的台账后端 'x'（可选：sqlite、postgresql；或设置 [ledger] url）" in out
    assert "broken.toml:retry.waits[0]: 不是时长：'soon'（请写成如 '30s'、'10m'、'2h'）" in out
    assert "broken.toml:cities: 缺少该配置节" in out
    assert "unknown key" not in out and "must be" not in out


def test_config_check_in_english_on_request(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("LANGUAGE", "en")
    assert main(["config", "check", "-c", str(_broken(tmp_path))]) == 1
    out = capsys.readouterr().out
    assert "broken.toml:gateway.bogus: unknown key (misspelt?)" in out
    assert "broken.toml:retry.waits[0]: not a duration: 'soon' (write e.g. '30s', '10m', '2h')" in out


def test_config_check_json_keeps_english_and_adds_codes(tmp_path, capsys, chinese_default) -> None:
    assert main(["config", "check", "-c", str(_broken(tmp_path)), "--json"]) == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert {"where": "broken.toml:gateway.bogus", "message": "unknown key (misspelt?)",
            "code": "config.unknown_key"} in problems
    assert {"where": "broken.toml:retry.waits[0]", "message": "not a duration: 'soon' (write e.g. '30s', '10m', '2h')",
            "code": "config.duration"} in problems


def test_a_command_refused_for_its_config_lists_the_problems_in_chinese(tmp_path, capsys, chinese_default) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["status", "-c", str(_broken(tmp_path))])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "broken.toml:gateway.key: 缺少该项" in err and "missing" not in err


def test_a_config_problem_keeps_code_template_and_values() -> None:
    _config, problems = check_config(Path("/nonexistent/gateway.toml"))
    [problem] = problems
    assert problem.code == "config.no_file" and problem.note.template == "no such file: {path}"
    assert problem.text("zh-CN") == "gateway.toml: 文件不存在：/nonexistent/gateway.toml"
    assert str(problem) == problem.text("en") == "gateway.toml: no such file: /nonexistent/gateway.toml"
    with pytest.raises(DurationError) as caught:
        parse_duration("-5s")
    assert isinstance(caught.value, ValueError) and caught.value.note.text("zh-CN") == "不是时长：'-5s'（请写成如 '30s'、'10m'、'2h'）"


def test_deprecation_warnings_are_notes() -> None:
    from gateway.config import Config

    config = SimpleNamespace(settlement=SimpleNamespace(person_key_file=Path("k")), register_key_file=None)
    [note] = Config.deprecations(config)  # type: ignore[arg-type]
    assert note.code == "config.deprecated_person_key" and note.text("zh-CN").startswith("settlement.person_key_file：已弃用")


# --- errors of the service and the domain ----------------------------------------------------------------------

def test_a_malformed_period_in_each_language(workspace, capsys, chinese_default, monkeypatch) -> None:
    assert main(["deadlines", "-c", str(workspace), "--period", "2026-13"]) == 2
    assert "ltcgw deadlines: 期间 '2026-13' 不是 YYYY-MM 格式（服务月份，如 2026-10）" in capsys.readouterr().err
    monkeypatch.setenv("LANGUAGE", "en")
    assert main(["deadlines", "-c", str(workspace), "--period", "2026-13"]) == 2
    assert "ltcgw deadlines: period '2026-13' is not YYYY-MM (a service month, e.g. 2026-10)" in capsys.readouterr().err
    with pytest.raises(ValueError):  # still a ValueError for its callers
        parse_period("26-10")


def test_resend_of_an_unknown_message_in_each_language(workspace, capsys, chinese_default, monkeypatch) -> None:
    assert main(["resend", "NOPE", "-c", str(workspace)]) == 1
    assert capsys.readouterr().err.strip().endswith("没有等待回执的报文 NOPE")
    assert main(["resend", "NOPE", "-c", str(workspace), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"] == "no message NOPE waiting for a receipt"
    monkeypatch.setenv("LANGUAGE", "en")
    assert main(["resend", "NOPE", "-c", str(workspace)]) == 1
    assert capsys.readouterr().err.strip().endswith("no message NOPE waiting for a receipt")


def test_a_bad_holiday_file_in_each_language(workspace, capsys, chinese_default, monkeypatch) -> None:
    holidays = workspace.parent / "holidays"
    holidays.mkdir(exist_ok=True)
    (holidays / "2027.toml").write_text("year = 2026\n", encoding="utf-8")
    assert main(["deadlines", "-c", str(workspace), "--period", "2026-10"]) == 2
    err = capsys.readouterr().err
    assert f"节假日文件 {holidays / '2027.toml'}：2027 年的文件中写的是 year = 2026" in err
    assert main(["config", "check", "-c", str(workspace)]) == 0  # a warning there
    assert "2027 年的文件中写的是 year = 2026" in capsys.readouterr().out
    monkeypatch.setenv("LANGUAGE", "en")
    assert main(["deadlines", "-c", str(workspace), "--period", "2026-10"]) == 2
    assert f"holiday file {holidays / '2027.toml'}: file for 2027 declares year = 2026" in capsys.readouterr().err


def test_holiday_file_errors_are_notes() -> None:
    with pytest.raises(HolidayFileError) as caught:
        parse_holiday_file("year = 2027\nworking_weekends = [2027-02-22]\n", expected_year=2027)
    assert str(caught.value) == "2027-02-22 is a weekday: only weekend days can be made working days"
    assert caught.value.text("zh-CN") == "2027-02-22 是工作日：只有周末才能调为上班日"


def test_accounts_errors_in_each_language(capsys, chinese_default, tmp_path, monkeypatch) -> None:
    with pytest.raises(AccountsError) as caught:
        check_name("Bad Name")
    assert said(caught.value, "zh-CN").startswith("'Bad Name'：用户名须为")
    assert said(caught.value, "en").startswith("'Bad Name': a user name is")
    # a text the CLI already said in its language is kept as it is
    assert said(AccountsError("已经说过"), "en") == "已经说过"


def test_the_console_says_the_months_problem_in_its_readers_language() -> None:
    note = Note("settlement.no_document", "the message has no document in its Body")
    month = MonthSettlement("2026-10", problem=note.message, problem_note=note)
    assert month.problem_text("zh-CN") == "报文的 Body 中没有单据"
    assert month.problem_text("en") == "the message has no document in its Body"
    assert MonthSettlement("2026-10", problem="old").problem_text("zh-CN") == "old"


def test_an_error_raised_with_a_note_is_english_for_logs() -> None:
    error = PeriodError(Note("period.format", "period {period} is not YYYY-MM (a service month, e.g. 2026-10)",
                             period="'x'"))
    assert isinstance(error, NoteError) and str(error) == "period 'x' is not YYYY-MM (a service month, e.g. 2026-10)"
    assert said(ValueError("plain"), "zh-CN") == "plain"


# --- the demo and the deadline lines ---------------------------------------------------------------------------

def test_the_demos_refused_lines_in_each_language() -> None:
    finding = Finding("envelope.header", "the message has no Header", 1)
    record = SimpleNamespace(message_id="M1", sha256="0" * 64, drop_city="370300", findings=[finding.as_dict()])
    assert refused_lines([record], "zh-CN")[1] == "     envelope.header: 报文缺少 Header（报文头）"
    assert refused_lines([record], "en")[1] == "     envelope.header: the message has no Header"


def test_deadline_words_are_said_codes_are_not(chinese_default) -> None:
    from gateway.entrypoints.settlement import what_text

    with language.speaking("zh-CN"):
        assert [what_text(w) for w in ("facility_fees", "dispute", "A3", "PAYMENT")] == ["机构费用", "争议", "A3", "PAYMENT"]
    with language.speaking("en"):
        assert what_text("facility_fees") == "facility fees"


def test_sftp_settings_problems_are_notes(tmp_path) -> None:
    from adapters.sftp import SftpConfigError, SftpSettings

    with pytest.raises(SftpConfigError) as caught:
        SftpSettings.from_mapping({"host": "h", "user": "u", "outbox": "/o", "inbox": "/i", "port": "22",
                                   "private_key": "k", "host_key": "x"}, tmp_path)
    assert "'port' must be an integer" in caught.value.problems  # English for the adapter's callers
    assert [n.text("zh-CN") for n in caught.value.notes if n.code == "sftp.type"] == ["'port' 必须是整数"]


def test_key_file_errors_in_each_language(tmp_path, capsys, chinese_default, monkeypatch) -> None:
    """`ltcgw keys` refusing to replace a city's key: the administrator reads why in Chinese, or in English."""
    assert main(["keys", "370300", "-o", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["keys", "370300", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "已存在；如确需更换密钥，请先把它移走" in err and "already exists" not in err
    monkeypatch.setenv("LANGUAGE", "en")
    assert main(["keys", "370300", "-o", str(tmp_path)]) == 2
    assert "already exists; move it away first" in capsys.readouterr().err
    from gateway.documents.keys import KeyFileError, load_private_key

    key = tmp_path / "370300.key.pem"
    key.chmod(0o644)
    with pytest.raises(KeyFileError) as caught:
        load_private_key(key)
    assert str(caught.value).endswith(f"run: chmod 600 {key}")  # logs: English
    assert said(caught.value, "zh-CN") == f"私钥 {key} 可被同组或其他用户读取（权限 0644）；请执行：chmod 600 {key}"
