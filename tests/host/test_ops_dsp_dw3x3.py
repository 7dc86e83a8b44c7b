"""The stored edge cases of the 3x3 depthwise kernels on compile-time forms (the pixel-pair kernel for stride_w 1,
the folded one for stride_w 2; tests/data/ops/dsp_dw3x3, made by
gen_dsp_dw3x3_models.py): channel tails, tiny maps, asymmetric padding, stride 2, batch 2, every activation. Checked
bit for bit against both references with the portable kernels and with the DSP kernels (host emulation; the
assembly loop runs on the emulated boards through tests/target/dsp_sweep.py, which picks the directory up)."""

from __future__ import annotations

from typing import Any

import pytest
from harness import assert_stored_bit_exact, stored_family

from mcukit.codegen.generate import lower_all
from mcukit.codegen.kernel_call import LowerOptions
from mcukit.codegen.ops._isa import DW3X3_FOLDED_KERNEL, DW3X3_PAIRS_KERNEL, DW3X3_PAIRS_RELU_KERNEL
from mcukit.ir.reader import parse_tflite

FAMILY = stored_family("dsp_dw3x3")


@pytest.mark.parametrize("isa", [(), ("dsp",)], ids=["portable", "dsp"])
@pytest.mark.parametrize("rounding", ["tflm", "litert"])
@pytest.mark.parametrize("case", FAMILY.cases, ids=FAMILY.ids())
def test_bit_exact(case: dict[str, Any], rounding: str, isa: tuple[str, ...]) -> None:
    assert_stored_bit_exact(FAMILY, case, rounding, isa)


def test_every_case_takes_the_folded_kernel() -> None:
    """Otherwise the family would test the generic kernel: every stored case is eligible for the folded forms (the
    pixel-pair kernel for stride_w 1, the folded kernel else)."""
    for case in FAMILY.cases:
        calls = lower_all(parse_tflite(FAMILY.model(case)), LowerOptions(isa=("dsp",)))
        params = dict(calls[0].params)
        pairs = DW3X3_PAIRS_RELU_KERNEL if int(params["act_min"]) >= int(params["output_offset"]) else DW3X3_PAIRS_KERNEL
        want = pairs if params["stride_w"] == "1" else DW3X3_FOLDED_KERNEL
        assert [c.kernel for c in calls] == [want], (case["file"], [c.kernel for c in calls])
        assert calls[0].scratch_bytes > 0
