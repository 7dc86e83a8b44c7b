"""Bit-exact sweep of the conv family (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED) against both references.

The single-op int8 models under tests/data/ops/<family>/ were generated once by tests/host/gen_conv_models.py
(seeded; TensorFlow/Keras versions in each manifest.json), so this test needs no TensorFlow. Every model is
compiled for the host with the mcukit code generator and run on random int8 inputs for both roundings:
"tflm" against the TFLite Micro host interpreter and "litert" against ai-edge-litert's BUILTIN_REF kernels.
The helpers here are shared by test_ops_pool.py and test_ops_shape.py.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from harness import check_bit_exact

DATA = Path(__file__).resolve().parents[1] / "data" / "ops"
ROUNDINGS = ("tflm", "litert")
SAMPLES = 4


def manifest(family: str) -> dict[str, Any]:
    return json.loads((DATA / family / "manifest.json").read_text())


def op_cases(*families: str) -> list[Any]:
    """pytest params (family, case, rounding) over the stored models of `families`."""
    out = []
    for fam in families:
        for case in manifest(fam)["cases"]:
            for rounding in ROUNDINGS:
                out.append(pytest.param(fam, case, rounding, id=f"{case['file'][:-7]}-{rounding}"))
    return out


def check_case(family: str, case: dict[str, Any], rounding: str) -> None:
    model = (DATA / family / case["file"]).read_bytes()
    assert hashlib.sha256(model).hexdigest() == case["sha256"], "stored model does not match its manifest"
    seed = zlib.crc32(case["file"].encode())
    check_bit_exact(model, rounding=rounding, samples=SAMPLES, seed=seed)


def params_of(family: str) -> list[dict[str, Any]]:
    return [c["params"] for c in manifest(family)["cases"]]


@pytest.mark.parametrize(("family", "case", "rounding"), op_cases("fully_connected", "conv", "depthwise"))
def test_conv_family_bit_exact(family: str, case: dict[str, Any], rounding: str) -> None:
    check_case(family, case, rounding)


def test_sweep_covers_the_variants() -> None:
    """The stored sweep must keep exercising what the kernels special-case (guards against a weaker regeneration)."""
    fc = params_of("fully_connected")
    assert {c["layout"] for c in fc} == {"vector", "rows3d", "batch2d"}
    assert {c["per_channel"] for c in fc} == {True, False}
    assert {c["bias"] for c in fc} == {True, False}
    for fam in ("fully_connected", "conv", "depthwise"):
        assert {c["act"] for c in params_of(fam)} == {"NONE", "RELU", "RELU6"}, fam
    for fam in ("conv", "depthwise"):
        ps = params_of(fam)
        assert {c["padding"] for c in ps} == {"same", "valid"}
        assert any(max(c["strides"]) > 1 for c in ps)
        assert any(max(c["dilation"]) > 1 for c in ps)
        assert any(c["kernel"][0] % 2 == 0 or c["kernel"][1] % 2 == 0 for c in ps)  # even kernels: SAME offset
        assert any(c["batch"] > 1 for c in ps)
        assert {c["per_channel"] for c in ps} == {True, False}
    assert any(c["groups"] > 1 for c in params_of("conv"))
    assert {c["depth_multiplier"] for c in params_of("depthwise")} >= {1, 2, 3}
    # Input ranges vary, so scales and zero points do: at least 10 distinct ranges per family.
    for fam in ("fully_connected", "conv", "depthwise"):
        assert len({tuple(c["ranges"][0]) for c in params_of(fam)}) >= 10


def test_references_really_differ_on_fully_connected() -> None:
    """The litert sweep is only meaningful if the two references disagree on some FC model (single vs double
    rounding); if they ever stop differing, docs/reference-rounding.md and MK_SINGLE_ROUNDING need revisiting."""
    import numpy as np
    from harness import random_inputs

    from mcukit.reference import run_reference

    differing = 0
    for case in manifest("fully_connected")["cases"]:
        model = (DATA / "fully_connected" / case["file"]).read_bytes()
        xs = random_inputs(model, 16, seed=1)
        a = run_reference(model, xs, oracle="tflm")
        b = run_reference(model, xs, oracle="litert")
        differing += any(not np.array_equal(x, y) for x, y in zip(a, b))
    assert differing > 0
