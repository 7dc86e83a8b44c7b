"""benchmarks/speed_memory.py keeps working: its --quick path on one tiny model, one board (< 30 s warm).

The benchmark builds the model for the board twice (portable and optimized kernels), counts one inference's
instructions under QEMU and checks the outputs against the TFLM host interpreter; it exits non-zero on any failed
or non-bit-exact cell, and the JSON it writes must hold every figure the table prints.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_speed_memory_quick(tmp_path: Path, arm_tools: None) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "speed_memory.py"), "--quick",
                           "--models", "autoencoder", "--json", str(out)],
                          check=False, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    doc = json.loads(out.read_text())
    (model,) = doc["models"]
    assert model["model"] == "autoencoder" and model["macs"] > 0 and model["params"] > 0
    runs = {r["variant"]: r for r in model["runs"]}
    assert set(runs) == {"portable", "optimized", "int8-w"}
    for r in runs.values():
        assert r["bit_exact"] and r["instructions"] > model["macs"] // 2  # SMLAD: at most 2 MACs per instruction
        assert r["estimated_cycles"] > 0 and r["flash_bytes"] == r["weights_bytes"] + r["code_bytes"]
        assert 0 < r["arena_bytes"] <= r["firmware_ram_bytes"] <= r["board_ram_bytes"]
    # The DSP kernels must make a difference on the M4, or the "optimized" build is not what it claims.
    assert runs["optimized"]["instructions"] < runs["portable"]["instructions"]
    assert any(k.endswith("_dsp") for k in runs["optimized"]["kernels"])
    assert not any(k.endswith(("_dsp", "_mve")) for k in runs["portable"]["kernels"])
    # The int16 weights cost flash and buy speed; the int8 layout is the other side of that trade.
    assert runs["int8-w"]["weights_bytes"] < runs["optimized"]["weights_bytes"]
    assert runs["int8-w"]["instructions"] > runs["optimized"]["instructions"]
    assert "int16 GEMM weights (optimized) vs the int8 layout" in proc.stdout
    assert "autoencoder" in proc.stdout and "portable" in proc.stdout
