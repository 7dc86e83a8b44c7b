"""The stored special-case models (tests/data/ops/dsp_special, made by gen_dsp_special_models.py): 3x3 depthwise with
multiplier 1, wide 1x1 convolutions and larger im2col convolutions - the shapes the optimized kernels specialise on
and the random sweep rarely draws. Checked bit for bit against both references with the portable kernels and with
the DSP kernels (host emulation of the intrinsics); the emulated boards run them through tests/target/dsp_sweep.py."""

from __future__ import annotations

from typing import Any

import pytest
from harness import assert_stored_bit_exact, stored_family

from mcukit.codegen.generate import lower_all
from mcukit.codegen.kernel_call import LowerOptions
from mcukit.ir.reader import parse_tflite

FAMILY = stored_family("dsp_special")


@pytest.mark.parametrize(("isa", "wide"), [((), True), (("dsp",), True), (("dsp",), False)],
                         ids=["portable", "dsp", "dsp-int8-weights"])
@pytest.mark.parametrize("rounding", ["tflm", "litert"])
@pytest.mark.parametrize("case", FAMILY.cases, ids=FAMILY.ids())
def test_bit_exact(case: dict[str, Any], rounding: str, isa: tuple[str, ...], wide: bool) -> None:
    assert_stored_bit_exact(FAMILY, case, rounding, isa, wide)


def test_special_kernels_are_reached() -> None:
    """The point of this family: the specialised DSP kernels really run on some stored model."""
    kernels = set()
    for case in FAMILY.cases:
        kernels.update(call.kernel for call in lower_all(parse_tflite(FAMILY.model(case)), LowerOptions(isa=("dsp",))))
    depthwise_3x3 = {k for k in kernels if k.startswith("mk_depthwise_conv_3x3")}
    assert depthwise_3x3 and "mk_conv_wide_s8_dsp" in kernels, kernels
    narrow = set()
    for case in FAMILY.cases:
        narrow.update(c.kernel for c in lower_all(parse_tflite(FAMILY.model(case)), LowerOptions(isa=("dsp",),
                                                                                           wide_weights=False)))
    assert "mk_conv_wide_w8_s8_dsp" in narrow and "mk_conv_wide_s8_dsp" not in narrow, narrow
