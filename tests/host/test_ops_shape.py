"""Bit-exact sweep of PAD, CONCATENATION and RESHAPE/SQUEEZE/EXPAND_DIMS against both references, and what the
references do with a CONCATENATION whose inputs are quantized differently from its output."""

from __future__ import annotations

from typing import Any

import pytest
from harness import random_inputs
from test_ops_conv import DATA, check_case, manifest, op_cases, params_of


@pytest.mark.parametrize(("family", "case", "rounding"), op_cases("pad", "concatenation", "reshape"))
def test_shape_family_bit_exact(family: str, case: dict[str, Any], rounding: str) -> None:
    check_case(family, case, rounding)


def test_sweep_covers_the_variants() -> None:
    concat = params_of("concatenation")
    assert {len(c["shapes"]) for c in concat} >= {2, 3}
    assert {len(c["shapes"][0]) for c in concat} == {2, 4}
    assert -1 in {c["axis"] for c in concat} and len({c["axis"] for c in concat}) >= 3
    assert any(any(c["channel_pads"]) for c in params_of("pad"))
    kinds = {c["op"] for c in manifest("reshape")["cases"]}
    assert "RESHAPE" in kinds


def _requantized_concat() -> bytes:
    """A stored CONCATENATION with input 0 given a different scale and zero point (the converter never does)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s

    case = manifest("concatenation")["cases"][0]
    buf = (DATA / "concatenation" / case["file"]).read_bytes()
    model = s.ModelT.InitFromObj(s.Model.GetRootAsModel(buf, 0))
    sg = model.subgraphs[0]
    q = sg.tensors[sg.operators[0].inputs[0]].quantization
    q.scale = [float(q.scale[0]) * 2.5]
    q.zeroPoint = [int(q.zeroPoint[0]) // 2 + 7]
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


@pytest.mark.parametrize("oracle", ["tflm", "litert"])
def test_references_refuse_concatenation_with_different_input_quantization(oracle: str) -> None:
    """Neither reference requantizes int8 CONCATENATION inputs: both refuse the model in Prepare."""
    from mcukit.reference import OracleError, run_reference

    model = _requantized_concat()
    with pytest.raises(OracleError):
        run_reference(model, random_inputs(model, 1, seed=3), oracle=oracle)


def test_mcukit_rejects_concatenation_with_different_input_quantization() -> None:
    from mcukit.codegen.generate import generate
    from mcukit.errors import UnsupportedModelError
    from mcukit.ir.reader import parse_tflite

    with pytest.raises(UnsupportedModelError, match="does not requantize"):
        generate(parse_tflite(_requantized_concat()))
