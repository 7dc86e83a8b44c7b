"""The stored edge cases of the 3x3 depthwise kernels on compile-time forms (the pixel-pair kernel for stride_w 1,
the folded one for stride_w 2; tests/data/ops/dsp_dw3x3, made by
gen_dsp_dw3x3_models.py): channel tails, tiny maps, asymmetric padding, stride 2, batch 2, every activation. Checked
bit for bit against both references with the portable kernels and with the DSP kernels (host emulation; the
assembly loop runs on the emulated boards through tests/target/dsp_sweep.py, which picks the directory up)."""

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
from mcukit.codegen.ops._isa import DW3X3_FOLDED_KERNEL, DW3X3_PAIRS_KERNEL, DW3X3_PAIRS_RELU_KERNEL
from mcukit.hostbuild import compile_model
from mcukit.ir.reader import parse_tflite

FAMILY = Path(__file__).resolve().parents[1] / "data" / "ops" / "dsp_dw3x3"
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


def test_every_case_takes_the_folded_kernel() -> None:
    """Otherwise the family would test the generic kernel: every stored case is eligible for the folded forms (the
    pixel-pair kernel for stride_w 1, the folded kernel else)."""
    for case in CASES:
        calls = lower_all(parse_tflite(_model(case)), LowerOptions(isa=("dsp",)))
        params = dict(calls[0].params)
        pairs = DW3X3_PAIRS_RELU_KERNEL if int(params["act_min"]) >= int(params["output_offset"]) else DW3X3_PAIRS_KERNEL
        want = pairs if params["stride_w"] == "1" else DW3X3_FOLDED_KERNEL
        assert [c.kernel for c in calls] == [want], (case["file"], [c.kernel for c in calls])
        assert calls[0].scratch_bytes > 0
