"""The code has no undefined names, unused imports or dead locals (pyflakes' checks, through ruff)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_pyflakes_checks_pass_on_the_whole_tree() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    result = subprocess.run(
        [ruff, "check", "--no-cache", "--select", "F,E9", "--output-format", "concise",
         "gateway", "adapters", "xsd", "tests", "bench"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
