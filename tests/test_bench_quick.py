"""The benchmark cannot rot: its quick mode runs end to end here (every section, real `ltcgw run` processes, the
shell pipeline, sshd, PostgreSQL), into a temporary folder, and its table has every section's rows with numbers.

It runs with this interpreter (`python -m bench`, as bench/run does in its own venv); pyinstrument is not needed.
The kept figures (docs/benchmarks.md, bench/results/) must come out untouched.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench import score

ROOT = Path(__file__).resolve().parents[1]
KEPT = [ROOT / "docs" / "benchmarks.md", ROOT / "bench" / "results" / "latest.json",
        ROOT / "bench" / "results" / "history.jsonl"]
# Issue 16's targets, each a row against its reference measured in the same run.
ISSUE_16 = {">= 0.8 x floor", ">= 3 x shell pipeline", ">= 5 x shell pipeline", "<= 0.5 x signxml verifying",
            ">= 1.6 x PostgreSQL fsync off, one instance", ">= 1.6 x PostgreSQL fsync on, one instance", "< 8 x file"}
NUMBER = re.compile(r"^-?[\d,]+(\.\d+)?( |$)")


def _bench(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bench", *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=540)
    assert done.returncode == 0, f"bench {argv} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done


def _digests() -> dict[Path, str]:
    return {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in KEPT}


def _section_rows(document: str) -> dict[str, list[list[str]]]:
    """Each section's table rows (cells) from the generated part of the document."""
    generated = document.split(score.MARKER, 1)[0]
    rows: dict[str, list[list[str]]] = {}
    for block in generated.split("\n### ")[1:]:
        number = block.split(".", 1)[0]
        rows[number] = [[cell.strip() for cell in line.strip().strip("|").split("|")]
                        for line in block.splitlines()[4:] if line.startswith("| ") and not line.startswith("| figure")]
    return rows


@pytest.mark.slow
def test_the_quick_run_measures_every_section_and_keeps_score_in_its_own_folder(tmp_path: Path) -> None:
    before = _digests()
    out = tmp_path / "results"
    printed = _bench("--quick", "--out", str(out)).stdout

    run = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    assert run["quick"] and run["sections"] == [str(n) for n in range(1, 8)]
    failed = [f"{f['section']}: {f['name']}" for f in run["figures"] if "(failed)" in f["section"]]
    assert not failed, failed
    assert {score.section_number(f) for f in run["figures"]} == set(run["sections"])
    for f in run["figures"]:
        assert isinstance(f["value"], (int, float)) and math.isfinite(f["value"]), f
        if f["reference_value"] is not None:
            assert math.isfinite(f["ratio"]) and f["ratio"] > 0, f
        if f["target"]:
            assert isinstance(f["met"], bool), f
    scored = {f["target"] for f in run["figures"] if f.get("issue") == 16}
    assert ISSUE_16 <= scored, ISSUE_16 - scored
    assert all(f["reference_value"] for f in run["figures"] if f.get("issue") == 16)

    document = (out / "benchmarks.md").read_text(encoding="utf-8")
    rows = _section_rows(document)
    assert set(rows) == set(run["sections"])
    assert sum(len(r) for r in rows.values()) == len(run["figures"])
    for number, table in rows.items():
        for cells in table:
            name, value, reference, ratio = cells[0], cells[1], cells[2], cells[4]
            assert NUMBER.match(value), (number, name, value)
            if reference:
                assert NUMBER.match(ratio), (number, name, ratio)
    for target in ISSUE_16:
        assert f"| 16 | {target} |" in document
    assert "## Targets" in printed and "### 7." in printed
    # The hand-written part is the committed document's, kept as it is.
    assert score.kept_part(document) == score.kept_part(KEPT[0].read_text(encoding="utf-8"))
    assert len(score.load_history(out / "history.jsonl")) == 1

    # A later run is shown beside this one: every row gets the previous value and the change.
    later = {**run, "date": "2099-01-01 00:00 UTC",
             "figures": [{**f, "value": f["value"] * 2, "ratio": f["ratio"] and f["ratio"] * 2} for f in run["figures"]]}
    score.append_history(out / "history.jsonl", later)
    _bench("--render", "--out", str(out))
    document = (out / "benchmarks.md").read_text(encoding="utf-8")
    assert f"previous run {run['date']}" in document
    for number, table in _section_rows(document).items():
        for cells in table:
            previous, change = cells[7], cells[8]
            assert NUMBER.match(previous) and "+100%" in change, (number, cells)

    assert _digests() == before, "a quick run must not touch docs/benchmarks.md or bench/results"


def test_a_quick_run_without_out_prints_and_writes_nothing() -> None:
    before = _digests()
    printed = _bench("--quick", "--only", "7").stdout
    assert "### 7. signature algorithms" in printed
    assert "written:" not in printed
    assert _digests() == before
