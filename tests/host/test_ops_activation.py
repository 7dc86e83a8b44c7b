"""Bit-exactness of the int8 activations (LUT-based) and SOFTMAX against both reference interpreters.

Every unary model gets all 256 int8 inputs, so each lookup table is checked exhaustively, through the whole
pipeline (lowering -> generated C -> host build) and, separately, the Python tables alone. Models are stored
under tests/data/ops (no TensorFlow needed). What differs between the references is asserted, not assumed.
"""

from __future__ import annotations

import numpy as np
import pytest
from elementwise_cases import all_int8_values, case_info, cases, model
from harness import check_bit_exact, reference

from mcukit.codegen.kernel_call import LowerOptions
from mcukit.codegen.ops import activations
from mcukit.ir.reader import parse_tflite

UNARY = ("logistic", "tanh", "hard_swish", "leaky_relu", "relu", "relu6")
ROUNDINGS = ("tflm", "litert")

UNARY_CASES = [c for op in UNARY for c in cases(op)]


def _unary_inputs(buf: bytes) -> list[np.ndarray]:
    g = parse_tflite(buf)
    return [all_int8_values(g.input_tensors[0].shape, seed=7)]


@pytest.mark.parametrize("rounding", ROUNDINGS)
@pytest.mark.parametrize(("op", "name"), UNARY_CASES)
def test_unary_all_256_inputs_bit_exact(op: str, name: str, rounding: str) -> None:
    buf = model(op, name)
    check_bit_exact(buf, rounding=rounding, inputs=_unary_inputs(buf))


def _table_vs_oracle(buf: bytes, rounding: str, oracle: str) -> int:
    """Mismatches between the Python table and the oracle over all 256 inputs."""
    g = parse_tflite(buf)
    op = g.ops[0]
    x, y = g.tensors[op.inputs[0]], g.tensors[op.outputs[0]]
    table = activations.activation_table(op, x.quant.scale[0], x.quant.zero_point[0], y.quant.scale[0],
                                         y.quant.zero_point[0], rounding)
    xs = _unary_inputs(buf)
    expected = reference(buf, xs, oracle)[0].reshape(-1)
    got = table[xs[0].reshape(-1).astype(np.uint8)]
    return int(np.count_nonzero(expected != got))


@pytest.mark.parametrize(("op", "name"), UNARY_CASES)
def test_tables_match_both_oracles(op: str, name: str) -> None:
    buf = model(op, name)
    for rounding in ROUNDINGS:
        assert _table_vs_oracle(buf, rounding, oracle=rounding) == 0, rounding


def test_relu6_references_differ_and_each_mode_follows_its_own() -> None:
    """TFLite Micro's RELU6 clamps on the input scale; LiteRT requantizes. Each table must miss the other oracle."""
    differing = 0
    for op, name in cases("relu6"):
        buf = model(op, name)
        assert _table_vs_oracle(buf, "tflm", "tflm") == 0
        assert _table_vs_oracle(buf, "litert", "litert") == 0
        differing += _table_vs_oracle(buf, "tflm", "litert") > 0
    assert differing == len(cases("relu6")), "if the oracles now agree on RELU6, simplify activations.py"


@pytest.mark.parametrize(("op", "name"), cases("relu_n1_to_1"))
def test_relu_n1_to_1_litert_only(op: str, name: str) -> None:
    """TFLite Micro has no RELU_N1_TO_1 kernel, so only the LiteRT oracle can check it."""
    buf = model(op, name)
    check_bit_exact(buf, rounding="litert", inputs=_unary_inputs(buf))


def _softmax_inputs(buf: bytes, seed: int) -> list[np.ndarray]:
    g = parse_tflite(buf)
    shape = g.input_tensors[0].shape
    rng = np.random.default_rng(seed)
    wide = rng.integers(-128, 128, size=(6, *shape))
    narrow = rng.integers(-5, 6, size=(4, *shape)) + int(rng.integers(-100, 100))  # close logits: fine rounding
    flat = np.full((1, *shape), int(rng.integers(-128, 128)))  # a row of equal values: all maxima
    extremes = rng.choice(np.array([-128, 127]), size=(2, *shape))
    return [np.concatenate([wide, narrow, flat, extremes]).astype(np.int8)]


@pytest.mark.parametrize("rounding", ROUNDINGS)
@pytest.mark.parametrize(("op", "name"), cases("softmax"))
def test_softmax_bit_exact(op: str, name: str, rounding: str) -> None:
    buf = model(op, name)
    check_bit_exact(buf, rounding=rounding, inputs=_softmax_inputs(buf, seed=3))


def test_softmax_betas_and_scales_vary() -> None:
    """The sweep is only meaningful if beta and the input scale really vary across the stored cases."""
    betas = {case_info(op, n)["beta"] for op, n in cases("softmax")}
    scales = {parse_tflite(model(op, n)).input_tensors[0].quant.scale[0] for op, n in cases("softmax")}
    assert len(betas) >= 5 and len(scales) >= 10


def test_lowering_rejects_nothing_it_claims() -> None:
    """Every stored activation model lowers in both modes (guards the KINDS registration)."""
    from mcukit.codegen.ops import registry

    for op, name in UNARY_CASES + cases("softmax"):
        g = parse_tflite(model(op, name))
        for rounding in ROUNDINGS:
            call = registry()[g.ops[0].kind](g.ops[0], g, LowerOptions(rounding=rounding))
            assert call.kernel in ("mk_lut_s8", "mk_softmax_s8")
