"""The stored cases of the Winograd F(4, 3) conv kernel (tests/data/ops/dsp_wino, made by gen_dsp_wino_models.py):
odd and tiny widths, tile pairs across row ends, filter heights 1-5, stride and dilation along the height, batch 2,
odd channel counts, every activation. Checked bit for bit against both references with the portable kernels and
with the DSP kernels (host emulation of the intrinsics; the assembly runs on the emulated boards through
tests/target/dsp_sweep.py, which picks the directory up)."""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from harness import compare, random_inputs, reference

from mcukit.codegen.generate import lower_all
from mcukit.codegen.kernel_call import LowerOptions
from mcukit.codegen.ops._isa import WIDE_KERNEL, WINO_KERNEL
from mcukit.hostbuild import compile_model
from mcukit.ir.reader import parse_tflite

FAMILY = Path(__file__).resolve().parents[1] / "data" / "ops" / "dsp_wino"
CASES: list[dict[str, Any]] = json.loads((FAMILY / "manifest.json").read_text())["cases"]


def _model(case: dict[str, Any]) -> bytes:
    data = (FAMILY / case["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == case["sha256"], "stored model does not match its manifest"
    return data


@pytest.mark.parametrize("isa", [(), ("dsp",)], ids=["portable", "dsp"])
@pytest.mark.parametrize("rounding", ["tflm", "litert"])
@pytest.mark.parametrize("case", CASES, ids=[c["file"][:-7] for c in CASES])
def test_bit_exact(case: dict[str, Any], rounding: str, isa: tuple[str, ...]) -> None:
    model = _model(case)
    xs = random_inputs(model, 4, seed=zlib.crc32(case["file"].encode()))
    got = compile_model(model, rounding=rounding, isa=isa).run(xs)
    bad = [d for d in compare(reference(model, xs, rounding), got) if d.mismatches]
    assert not bad, f"{case['file']} ({rounding}, {isa or 'portable'}): {bad}"


def test_every_case_takes_the_winograd_kernel() -> None:
    """Otherwise the family would test another kernel: every stored case is eligible; with int8 weights (a board
    whose flash the int16 forms would crowd) the wide kernel takes them instead."""
    for case in CASES:
        calls = lower_all(parse_tflite(_model(case)), LowerOptions(isa=("dsp",)))
        assert [c.kernel for c in calls] == [WINO_KERNEL], (case["file"], [c.kernel for c in calls])
        assert calls[0].scratch_bytes > 0
        narrow = lower_all(parse_tflite(_model(case)), LowerOptions(isa=("dsp",), wide_weights=False))
        assert WINO_KERNEL not in [c.kernel for c in narrow] and WIDE_KERNEL not in [c.kernel for c in narrow]
