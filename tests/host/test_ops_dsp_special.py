"""The stored special-case models (tests/data/ops/dsp_special, made by gen_dsp_special_models.py): 3x3 depthwise with
multiplier 1, wide 1x1 convolutions and larger im2col convolutions - the shapes the optimized kernels specialise on
and the random sweep rarely draws. Checked bit for bit against both references with the portable kernels and with
the DSP kernels (host emulation of the intrinsics); the emulated boards run them through tests/target/dsp_sweep.py."""

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
from mcukit.hostbuild import compile_model
from mcukit.ir.reader import parse_tflite

FAMILY = Path(__file__).resolve().parents[1] / "data" / "ops" / "dsp_special"
CASES: list[dict[str, Any]] = json.loads((FAMILY / "manifest.json").read_text())["cases"]


def _model(case: dict[str, Any]) -> bytes:
    data = (FAMILY / case["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == case["sha256"], "stored model does not match its manifest"
    return data


@pytest.mark.parametrize(("isa", "wide"), [((), True), (("dsp",), True), (("dsp",), False)],
                         ids=["portable", "dsp", "dsp-int8-weights"])
@pytest.mark.parametrize("rounding", ["tflm", "litert"])
@pytest.mark.parametrize("case", CASES, ids=[c["file"][:-7] for c in CASES])
def test_bit_exact(case: dict[str, Any], rounding: str, isa: tuple[str, ...], wide: bool) -> None:
    model = _model(case)
    xs = random_inputs(model, 4, seed=zlib.crc32(case["file"].encode()))
    got = compile_model(model, rounding=rounding, isa=isa, wide_weights=wide).run(xs)
    bad = [d for d in compare(reference(model, xs, rounding), got) if d.mismatches]
    assert not bad, f"{case['file']} ({rounding}, {isa or 'portable'}): {bad}"


def test_special_kernels_are_reached() -> None:
    """The point of this family: the specialised DSP kernels really run on some stored model."""
    kernels = set()
    for case in CASES:
        kernels.update(call.kernel for call in lower_all(parse_tflite(_model(case)), LowerOptions(isa=("dsp",))))
    depthwise_3x3 = {k for k in kernels if k.startswith("mk_depthwise_conv_3x3")}
    assert depthwise_3x3 and "mk_conv_wide_s8_dsp" in kernels, kernels
    narrow = set()
    for case in CASES:
        narrow.update(c.kernel for c in lower_all(parse_tflite(_model(case)), LowerOptions(isa=("dsp",),
                                                                                           wide_weights=False)))
    assert "mk_conv_wide_w8_s8_dsp" in narrow and "mk_conv_wide_s8_dsp" not in narrow, narrow
