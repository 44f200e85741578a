"""The operators' views read well and refuse nonsense: `messages` with a header and the received time, a
malformed filter refused (exit 2) instead of an empty list; `resend` and `config check` as JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gateway.domain.envelope import MessageType
from gateway.entrypoints.cli import main
from gateway.workspace.city_system import CitySystem
from gateway.workspace.layout import write_workspace

JINAN, ZIBO, PERIOD = "370100", "370300", "2026-10"


@pytest.fixture(scope="module")
def exchanged(tmp_path_factory) -> tuple[Path, str, str]:
    """A workspace where 淄博 sent 济南 a claim (delivered) and a broken file (rejected): (config, ids)."""
    root = tmp_path_factory.mktemp("views")
    path = write_workspace(root, [JINAN, ZIBO], retry=["1h"])
    zibo = CitySystem(ZIBO, root / "keys", root / "drops" / ZIBO)
    claim, _ = zibo.send(MessageType.A3, JINAN, PERIOD, seed=31)
    broken, data = zibo.pack(MessageType.A3, JINAN, PERIOD, seed=32)
    zibo.drop_file("broken.xml", data.replace(b"<TotalCost>", b"<TotalCost>3", 1))
    assert main(["run", "-c", str(path), "--once", "--quiet"]) == 0
    return path, claim.message_id, broken.message_id


def test_messages_prints_a_header_and_when_each_message_was_received(exchanged, capsys) -> None:
    path, claim, broken = exchanged
    capsys.readouterr()
    assert main(["messages", "-c", str(path)]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split()[:4] == ["received", "(UTC)", "message", "id"] and "state" in header
    assert len(rows) == 2
    listed = {row.split()[2]: row for row in rows}
    assert listed[claim].endswith("DELIVERED") and listed[broken].endswith("REJECTED")
    for row in rows:
        assert re.match(r"^20\d\d-\d\d-\d\d \d\d:\d\d:\d\d ", row), row
    assert f"{ZIBO}->{JINAN}" in listed[claim] and PERIOD in listed[claim]


@pytest.mark.parametrize(("flag", "value", "said"), [
    ("--period", "2026-13", "'2026-13' is not a service month YYYY-MM"),
    ("--period", "202610", "is not a service month"),
    ("--state", "DELIVERD", "unknown state 'DELIVERD' (known: RECEIVED"),
    ("--city", "370199", "'370199' is not a Shandong city's six-digit area code"),
    ("--city", "jinan", "is not a Shandong city's"),
])
def test_a_malformed_filter_is_refused_with_exit_2(exchanged, capsys, flag, value, said) -> None:
    path, _, _ = exchanged
    with pytest.raises(SystemExit) as exit:
        main(["messages", "-c", str(path), flag, value])
    assert exit.value.code == 2
    captured = capsys.readouterr()
    assert said in captured.err and f"argument {flag}" in captured.err and captured.out == ""


def test_well_formed_filters_still_select(exchanged, capsys) -> None:
    path, claim, broken = exchanged
    capsys.readouterr()
    assert main(["messages", "-c", str(path), "--state", "delivered", "--city", JINAN, "--period", PERIOD, "--json"]) == 0
    assert [m["id"] for m in json.loads(capsys.readouterr().out)] == [claim]
    assert main(["messages", "-c", str(path), "--period", "2026-09", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_resend_as_json(exchanged, capsys) -> None:
    path, claim, broken = exchanged
    capsys.readouterr()
    assert main(["resend", claim, "-c", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"id": claim, "resent": True, "city": JINAN, "name": "济南市"}
    assert main(["resend", broken, "-c", str(path), "--json"]) == 1  # a refused file has nothing to resend
    refused = json.loads(capsys.readouterr().out)
    assert refused["id"] == broken and refused["resent"] is False and refused["error"]
    assert main(["resend", "37030020990101000000NOSUCH00", "-c", str(path), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["resent"] is False


def test_config_check_as_json(exchanged, capsys, tmp_path) -> None:
    path, _, _ = exchanged
    capsys.readouterr()
    assert main(["config", "check", "-c", str(path), "--json", "--connect"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["problems"] == [] and report["cities"] == [JINAN, ZIBO]
    assert {c["city"]: c["ok"] for c in report["connections"]} == {JINAN: True, ZIBO: True}
    assert isinstance(report["warnings"], list)

    broken = tmp_path / "gateway.toml"
    broken.write_text(path.read_text(encoding="utf-8").replace('waits = ["1h"]', 'waits = ["soon"]')
                      .replace('dir = "spool"', f'dir = "{path.parent / "spool"}"'), encoding="utf-8")
    assert main(["config", "check", "-c", str(broken), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["cities"] == []
    assert {"where": "gateway.toml:retry.waits[0]",
            "message": "not a duration: 'soon' (write e.g. '30s', '10m', '2h')",
            "code": "config.duration"} in report["problems"]
