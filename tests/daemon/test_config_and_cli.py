"""`ltcgw config check` reports every problem with its place; init, run --once and the operators' views."""

from __future__ import annotations

import json
import os
import shutil

from gateway.config import check_config, load_config, parse_duration
from gateway.workspace.city_system import CitySystem
from gateway.domain.envelope import MessageType
from gateway.entrypoints.cli import main

from .conftest import JINAN, PERIOD, ZIBO


def _workspace(tmp_path, template):
    from gateway.workspace.layout import write_workspace

    shutil.copytree(template, tmp_path / "keys")
    return write_workspace(tmp_path, [JINAN, ZIBO], retry=["10m", "1h"])


def test_a_written_workspace_checks_clean_and_resolves_paths_against_its_folder(tmp_path, _template, capsys) -> None:
    path = _workspace(tmp_path, _template)
    assert main(["config", "check", "-c", str(path)]) == 0
    assert "OK (2 cities" in capsys.readouterr().out
    config = load_config(path)
    assert config.ledger_path == tmp_path / "ledger.sqlite3"
    assert config.cities[ZIBO].transport.path("drop") == tmp_path / "drops" / ZIBO
    assert [w.total_seconds() for w in config.retry.schedule] == [600, 3600]
    trust = config.trust_store()
    assert trust.certificates("370000") and trust.certificates(JINAN) and trust.certificates(ZIBO)


def test_every_problem_is_reported_with_file_section_and_key(tmp_path, _template, capsys) -> None:
    path = _workspace(tmp_path, _template)
    text = path.read_text(encoding="utf-8")
    text = text.replace('waits = ["10m", "1h"]', 'waits = ["10m", "soon", -5]')
    text = text.replace("workers = 1", "workers = 0\ncolour = \"blue\"")
    text = text.replace(f'certificates = ["keys/{ZIBO}.crt.pem"]', 'certificates = ["keys/nowhere.pem"]')
    text = text.replace(f'drop = "drops/{JINAN}"', 'drop = "drops/gone"')
    path.write_text(text, encoding="utf-8")
    os.chmod(tmp_path / "keys" / "gateway.key.pem", 0o644)
    assert main(["config", "check", "-c", str(path)]) == 1
    out = capsys.readouterr().out
    for where in (
        "gateway.toml:retry.waits[1]", "gateway.toml:retry.waits[2]", "gateway.toml:gateway.workers",
        "gateway.toml:gateway.colour", f"gateway.toml:cities.{ZIBO}.certificates[0]",
        f"gateway.toml:cities.{JINAN}.transport.drop", "gateway.toml:gateway.key",
    ):
        assert where in out, where
    assert "readable by group or others" in out
    config, problems = check_config(path)
    assert config is None and len(problems) == 8  # drop: outbox and inbox both missing


def test_durations() -> None:
    assert [parse_duration(v).total_seconds() for v in ("30s", "10m", "2h", "1.5h", 45, "1d")] == [30, 600, 7200, 5400, 45, 86400]


def test_init_run_once_and_the_operators_views(tmp_path, _template, capsys) -> None:
    path = _workspace(tmp_path, _template)
    zibo = CitySystem(ZIBO, tmp_path / "keys", tmp_path / "drops" / ZIBO)
    claim, _ = zibo.send(MessageType.A3, JINAN, PERIOD, seed=21)
    header, data = zibo.pack(MessageType.A3, JINAN, PERIOD, seed=22)
    zibo.drop_file("broken.xml", data.replace(b"<TotalCost>", b"<TotalCost>3", 1))
    assert main(["run", "-c", str(path), "--once", "--quiet"]) == 0
    capsys.readouterr()

    assert main(["messages", "-c", str(path), "--json"]) == 0
    listed = {m["id"]: m for m in json.loads(capsys.readouterr().out)}
    assert listed[claim.message_id]["state"] == "DELIVERED" and listed[header.message_id]["state"] == "REJECTED"
    for key in ("id", "type", "sender", "receiver", "period", "serial", "state"):
        assert key in listed[claim.message_id]
    assert main(["messages", "-c", str(path), "--state", "rejected", "--json"]) == 0
    assert [m["id"] for m in json.loads(capsys.readouterr().out)] == [header.message_id]

    assert main(["status", "-c", str(path), "--json"]) == 0
    [status] = json.loads(capsys.readouterr().out)["cities"]
    assert status["city"] == ZIBO and status["received"] == 2 and status["delivered"] == 1
    assert status["waiting_for_receipt"] == 1 and status["rejected"] == 1 and status["oldest_unacknowledged"]

    assert main(["trace", claim.message_id, "-c", str(path), "--json"]) == 0
    [trace] = json.loads(capsys.readouterr().out)
    assert [t["to"] for t in trace["transitions"]] == ["RECEIVED", "ROUTED", "DELIVERED"]

    assert main(["resend", claim.message_id, "-c", str(path)]) == 0
    assert main(["resend", header.message_id, "-c", str(path)]) == 1  # a refused file has nothing to resend
    capsys.readouterr()
    assert main(["run", "-c", str(path), "--once", "--quiet"]) == 0
    assert main(["trace", claim.message_id, "-c", str(path)]) == 0
    out = capsys.readouterr().out
    assert "resend_requested: operator: ltcgw resend" in out and "(delivery 2)" in out


def test_a_residence_citys_service_types_are_enforced(tmp_path, _template, capsys) -> None:
    path = _workspace(tmp_path, _template)
    text = path.read_text(encoding="utf-8").replace(
        f'certificates = ["keys/{ZIBO}.crt.pem"]', f'certificates = ["keys/{ZIBO}.crt.pem"]\nservice_types = ["99"]'
    )
    path.write_text(text, encoding="utf-8")
    assert load_config(path).cities[ZIBO].service_types == frozenset({"99"})
    zibo = CitySystem(ZIBO, tmp_path / "keys", tmp_path / "drops" / ZIBO)
    jinan = CitySystem(JINAN, tmp_path / "keys", tmp_path / "drops" / JINAN)
    claim, _ = zibo.send(MessageType.A3, JINAN, PERIOD, seed=23)  # 淄博 is the residence city: its list counts
    other, _ = jinan.send(MessageType.A3, ZIBO, PERIOD, seed=24)  # 济南 is the residence city: no list, passes
    assert main(["run", "-c", str(path), "--once", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["messages", "-c", str(path), "--json"]) == 0
    listed = {m["id"]: m for m in json.loads(capsys.readouterr().out)}
    assert listed[claim.message_id]["state"] == "REJECTED"
    assert "codes.service_type" in {f["code"] for f in listed[claim.message_id]["findings"]}
    assert listed[other.message_id]["state"] == "DELIVERED"


def test_transport_kinds_are_checked_by_their_adapter(tmp_path, _template) -> None:
    path = _workspace(tmp_path, _template)
    text = path.read_text(encoding="utf-8")
    text = text.replace(f'kind = "local"\ndrop = "drops/{JINAN}"', 'kind = "sftp"\nhost = "sftp.jinan.example"')
    text = text.replace(f'kind = "local"\ndrop = "drops/{ZIBO}"', 'kind = "pigeon"')
    path.write_text(text, encoding="utf-8")
    config, problems = check_config(path)
    assert config is None
    where = [p.where for p in problems]
    assert f"gateway.toml:cities.{ZIBO}.transport.kind" in where
    sftp = [p.message for p in problems if p.where == f"gateway.toml:cities.{JINAN}.transport"]
    assert any("'user' is required" in m for m in sftp) and any("host key" in m for m in sftp)
