"""Three `ltcgw run` on one PostgreSQL ledger; one is SIGKILLed: a live instance sees its lease expire and raises
`instance_lost` once (not once per observer, not at every renewal); a clean stop (SIGTERM) raises nothing;
`ltcgw status --json` lists the instances, the lost one as not alive."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from adapters.postgres_ledger import PostgresLedger
from gateway.workspace.layout import write_workspace
from tests.support.postgres import postgres_server  # noqa: F401
from tests.support.waiting import wait_for

LEASE_SECONDS = 3
CITIES = ["370100", "370300", "370600"]


def _losses(ledger: PostgresLedger) -> list[dict]:
    return [detail for _, _, _, detail in ledger.recent_events("alert", 200) if detail.get("kind") == "instance_lost"]


def test_a_killed_instance_is_alerted_once_by_a_live_one(tmp_path: Path, postgres_server) -> None:  # noqa: F811
    url = postgres_server.new_database()
    config = write_workspace(tmp_path, CITIES, retry=["1h"], rescan_seconds=0.5)
    config.write_text(config.read_text(encoding="utf-8").replace(
        '[ledger]\npath = "ledger.sqlite3"', f'[ledger]\nurl = "{url}"\nlease_seconds = {LEASE_SECONDS}'), encoding="utf-8")
    logs = [open(tmp_path / f"instance-{i}.log", "wb") for i in range(3)]
    processes = [subprocess.Popen([sys.executable, "-m", "gateway.entrypoints.cli", "run", "-c", str(config)],
                                  stdout=log, stderr=subprocess.STDOUT) for log in logs]
    ledger = PostgresLedger(url)
    try:
        names = wait_for(lambda: {i.pid: i.instance for i in ledger.instances() if i.alive},
                         until=lambda alive: all(p.pid in alive for p in processes), seconds=90,
                         what="three live instances (alive so far)")
        victim, witness, quitter = processes
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        [loss] = wait_for(lambda: _losses(ledger), until=lambda found: found, seconds=6 * LEASE_SECONDS,
                          what="the instance_lost alert")
        assert loss["ref"] == names[victim.pid] and loss["by"] in {names[witness.pid], names[quitter.pid]}
        assert "stopped renewing its lease" in loss["error"] and "last heartbeat" in loss["error"]

        quitter.send_signal(signal.SIGTERM)  # a clean stop gives its leases back: not a loss
        assert quitter.wait(timeout=60) == 0
        time.sleep(3 * LEASE_SECONDS)  # several renewals of the witness after both events
        assert [a["ref"] for a in _losses(ledger)] == [names[victim.pid]]  # once, not at every renewal

        status = subprocess.run([sys.executable, "-m", "gateway.entrypoints.cli", "status", "-c", str(config), "--json"],
                                capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        listed = {i["instance"]: i for i in report["instances"]}
        assert set(listed) == {names[victim.pid], names[witness.pid]}  # the clean stop left the list
        assert listed[names[victim.pid]]["alive"] is False and listed[names[victim.pid]]["pid"] == victim.pid
        assert listed[names[witness.pid]]["alive"] is True and sorted(listed[names[witness.pid]]["cities"]) == CITIES
        assert listed[names[witness.pid]]["heartbeat_at"] and "checking" in listed[names[witness.pid]]
        assert any(a["kind"] == "instance_lost" and a["ref"] == names[victim.pid] for a in report["alerts"])
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            process.wait(timeout=60)
        for log in logs:
            log.close()
        ledger.close()
