"""The code stays ruff-clean (the design guide's rule), checked where every session runs: the test suite."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_ruff_clean():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed (it is in the dev extras: pip install -e '.[dev]')")
    proc = subprocess.run([ruff, "check", "--output-format", "concise", "mcukit", "tests", "benchmarks", "examples"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
