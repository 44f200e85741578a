"""`ltcgw trace` (issue 15): an unreadable file is described in words an operator understands, and the short
id `ltcgw messages` shows (or any unique start of an id or digest, 8 characters or more) is accepted."""

from __future__ import annotations

import json
import re
import shutil
from hashlib import sha256

import pytest

from gateway.workspace.city_system import CitySystem
from gateway.domain.envelope import MessageType
from gateway.entrypoints.cli import main
from gateway.workspace.layout import write_workspace

from .conftest import JINAN, PERIOD, ZIBO

JUNK = b"this is not XML at all\n"


@pytest.fixture
def traced(tmp_path, _template):
    """A workspace after one run: two claims from 淄博 delivered, one unreadable file from 淄博 rejected."""
    shutil.copytree(_template, tmp_path / "keys")
    path = write_workspace(tmp_path, [JINAN, ZIBO], retry=["10m", "1h"])
    zibo = CitySystem(ZIBO, tmp_path / "keys", tmp_path / "drops" / ZIBO)
    claims = [zibo.send(MessageType.A3, JINAN, PERIOD, seed=seed)[0] for seed in (31, 32)]
    zibo.drop_file("junk.xml", JUNK)
    assert main(["run", "-c", str(path), "--once", "--quiet"]) == 0
    return str(path), claims


def test_an_unreadable_file_is_traced_by_digest_city_size_state_and_findings(traced, capsys) -> None:
    path, _ = traced
    capsys.readouterr()
    digest = sha256(JUNK).hexdigest()
    assert main(["trace", digest, "-c", path]) == 0
    heading = capsys.readouterr().out.splitlines()[0]
    assert "None" not in heading
    assert heading.startswith(f"unreadable file sha256 {digest} from {ZIBO} ")
    assert f"{len(JUNK)} bytes" in heading and "REJECTED" in heading and "xml." in heading


def test_the_short_id_messages_shows_is_accepted(traced, capsys) -> None:
    path, claims = traced
    capsys.readouterr()
    assert main(["messages", "-c", path]) == 0
    [short] = re.findall(r"\(unreadable (\w+)\)", capsys.readouterr().out)
    assert main(["trace", short, "-c", path]) == 0
    assert capsys.readouterr().out.startswith(f"unreadable file sha256 {sha256(JUNK).hexdigest()}")

    claim = claims[0].message_id
    assert main(["trace", claim[:-3], "-c", path, "--json"]) == 0
    [trace] = json.loads(capsys.readouterr().out)
    assert trace["id"] == claim and [t["to"] for t in trace["transitions"]] == ["RECEIVED", "ROUTED", "DELIVERED"]
    assert main(["trace", sha256(JUNK).hexdigest()[:8].upper(), "-c", path]) == 0  # a digest in any case


def test_an_ambiguous_or_too_short_start_is_refused_naming_the_candidates(traced, capsys) -> None:
    path, claims = traced
    capsys.readouterr()
    common = claims[0].message_id[:14]  # 淄博 + this month: both claims
    assert main(["trace", common, "-c", path]) == 1
    err = capsys.readouterr().err
    assert f"{common} is the start of 2 messages" in err
    assert all(claim.message_id in err for claim in claims)

    assert main(["trace", claims[0].message_id[:7], "-c", path]) == 1
    assert "at least 8 characters" in capsys.readouterr().err
    assert main(["trace", "ffffffffffff", "-c", path]) == 1
    assert "no message ffffffffffff" in capsys.readouterr().err


def test_a_recorded_finding_is_said_in_the_readers_language(traced, capsys, monkeypatch) -> None:
    """Issue 14: the finding is said again from its template and values: Chinese by default, English on request;
    the JSON keeps its code, English message, template and values."""
    path, _ = traced
    digest = sha256(JUNK).hexdigest()
    capsys.readouterr()
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    assert main(["trace", digest, "-c", path]) == 0
    chinese = capsys.readouterr().out
    [line] = [x for x in chinese.splitlines() if x.startswith("    xml.")]
    assert "文件不是格式正确的 XML" in line and "not well-formed" not in line
    monkeypatch.setenv("LANGUAGE", "en")
    assert main(["trace", digest, "-c", path]) == 0
    [line] = [x for x in capsys.readouterr().out.splitlines() if x.startswith("    xml.")]
    assert "the file is not well-formed XML" in line
    assert main(["trace", digest, "-c", path, "--json"]) == 0
    [finding] = json.loads(capsys.readouterr().out)[0]["findings"]
    assert finding["code"].startswith("xml.") and finding["template"] and finding["message"].startswith("the file")
