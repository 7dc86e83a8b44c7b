"""The stored cases of the Winograd F(4, 3) conv kernel (tests/data/ops/dsp_wino, made by gen_dsp_wino_models.py):
widths that are not multiples of the 4-pixel tile, tile pairs across row ends, filter heights 1-5, stride and
dilation along the height, batch 2, odd channel counts, every activation. Checked bit for bit against both
references with the portable kernels and with the DSP kernels (host emulation of the intrinsics; the assembly runs on
the emulated boards through tests/target/dsp_sweep.py, which picks the directory up)."""

from __future__ import annotations

from typing import Any

import pytest
from harness import assert_stored_bit_exact, stored_family

from mcukit.codegen.generate import lower_all
from mcukit.codegen.kernel_call import LowerOptions
from mcukit.codegen.ops._isa import WIDE_KERNEL, WINO_KERNEL
from mcukit.ir.reader import parse_tflite

FAMILY = stored_family("dsp_wino")


@pytest.mark.parametrize("isa", [(), ("dsp",)], ids=["portable", "dsp"])
@pytest.mark.parametrize("rounding", ["tflm", "litert"])
@pytest.mark.parametrize("case", FAMILY.cases, ids=FAMILY.ids())
def test_bit_exact(case: dict[str, Any], rounding: str, isa: tuple[str, ...]) -> None:
    assert_stored_bit_exact(FAMILY, case, rounding, isa)


def test_every_case_takes_the_winograd_kernel() -> None:
    """Otherwise the family would test another kernel: every stored case is eligible; with int8 weights (a board
    whose flash the int16 forms would crowd) the wide kernel takes them instead."""
    for case in FAMILY.cases:
        calls = lower_all(parse_tflite(FAMILY.model(case)), LowerOptions(isa=("dsp",)))
        assert [c.kernel for c in calls] == [WINO_KERNEL], (case["file"], [c.kernel for c in calls])
        assert calls[0].scratch_bytes > 0
        narrow = lower_all(parse_tflite(FAMILY.model(case)), LowerOptions(isa=("dsp",), wide_weights=False))
        assert WINO_KERNEL not in [c.kernel for c in narrow] and WIDE_KERNEL not in [c.kernel for c in narrow]
