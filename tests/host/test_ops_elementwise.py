"""Bit-exactness of int8 ADD/MUL (broadcasting, fused activations) and QUANTIZE/DEQUANTIZE against both oracles.

Models: tests/data/ops/{add,mul,quantize} (gen_elementwise_models.py; varied shapes, broadcasting patterns,
constant operands, fused activations and input ranges, so scales and zero points vary).
"""

from __future__ import annotations

import numpy as np
import pytest
from elementwise_cases import case_info, cases, model
from harness import check_bit_exact

from mcukit.codegen.ops.binary import broadcast_plan
from mcukit.ir.reader import parse_tflite

ROUNDINGS = ("tflm", "litert")


@pytest.mark.parametrize("rounding", ROUNDINGS)
@pytest.mark.parametrize(("op", "name"), cases("add") + cases("mul"))
def test_binary_bit_exact(op: str, name: str, rounding: str) -> None:
    check_bit_exact(model(op, name), rounding=rounding, samples=12, seed=5)


def test_binary_sweep_covers_broadcasting_and_activations() -> None:
    infos = [case_info(op, n) for op, n in cases("add") + cases("mul")]
    assert {i["activation"] for i in infos} == {"NONE", "RELU", "RELU6", "RELU_N1_TO_1"}
    assert any(i["const_b"] for i in infos)
    assert sum(i["shapes"][0] != i["shapes"][1] for i in infos) >= 20


def _float_inputs(buf: bytes, seed: int) -> list[np.ndarray]:
    """Random floats over (and beyond) the input range, plus exact half-step ties to test the rounding."""
    g = parse_tflite(buf)
    t = g.input_tensors[0]
    q = g.tensors[g.ops[0].outputs[0]].quant
    scale, zp = q.scale[0], q.zero_point[0]
    rng = np.random.default_rng(seed)
    lo, hi = (-128 - zp) * scale, (127 - zp) * scale
    span = hi - lo
    rand = rng.uniform(lo - 0.1 * span, hi + 0.1 * span, size=(6, *t.shape))
    ties = ((rng.integers(-128, 128, size=(2, *t.shape)) - zp) + 0.5) * scale
    return [np.concatenate([rand, ties]).astype(np.float32)]


FLOAT_IO = [c for c in cases("quantize") if "int8_input" not in case_info(*c)]
REQUANT = [c for c in cases("quantize") if "int8_input" in case_info(*c)]


@pytest.mark.parametrize("rounding", ROUNDINGS)
@pytest.mark.parametrize(("op", "name"), FLOAT_IO)
def test_float_io_quantize_dequantize_bit_exact(op: str, name: str, rounding: str) -> None:
    buf = model(op, name)
    check_bit_exact(buf, rounding=rounding, inputs=_float_inputs(buf, seed=11))


@pytest.mark.parametrize("rounding", ROUNDINGS)
@pytest.mark.parametrize(("op", "name"), REQUANT)
def test_int8_requantize_all_256_inputs(op: str, name: str, rounding: str) -> None:
    buf = model(op, name)
    shape = parse_tflite(buf).input_tensors[0].shape
    xs = np.resize(np.arange(-128, 128, dtype=np.int8), int(np.prod(shape))).reshape((1, *shape))
    check_bit_exact(buf, rounding=rounding, inputs=[xs])


@pytest.mark.parametrize(
    ("a", "b", "out", "expected"),
    [
        ((1, 8, 8, 4), (1, 8, 8, 4), (1, 8, 8, 4), ([256], [1], [1])),
        ((1, 4, 4, 8), (8,), (1, 4, 4, 8), ([16, 8], [8, 1], [0, 1])),
        ((1, 5, 5, 3), (), (1, 5, 5, 3), ([75], [1], [0])),
        ((1,), (1, 6, 6, 2), (1, 6, 6, 2), ([72], [0], [1])),
        ((1, 1, 6, 3), (1, 4, 1, 3), (1, 4, 6, 3), ([4, 6, 3], [0, 3, 1], [3, 0, 1])),
        ((2, 3, 4), (3, 1), (2, 3, 4), ([2, 3, 4], [12, 4, 1], [0, 1, 0])),
        ((1,), (1,), (1,), ([1], [0], [0])),
    ],
)
def test_broadcast_plan(a, b, out, expected) -> None:
    assert broadcast_plan(a, b, out) == tuple(list(x) for x in expected)


def test_broadcast_plan_matches_numpy_indexing() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        nd = int(rng.integers(1, 6))
        out = tuple(int(x) for x in rng.integers(1, 4, size=nd))
        a = tuple(d if rng.random() < 0.6 else 1 for d in out)[int(rng.integers(0, nd)):]
        b = tuple(d if rng.random() < 0.6 else 1 for d in out)[int(rng.integers(0, nd)):]
        out = np.broadcast_shapes(a, b, (1,))
        shape, s1, s2 = broadcast_plan(a, b, out)
        A = np.arange(int(np.prod(a))).reshape(a)
        B = np.arange(int(np.prod(b))).reshape(b)
        idx = np.indices(shape).reshape(len(shape), -1)
        got_a = (idx * np.array(s1)[:, None]).sum(0)
        got_b = (idx * np.array(s2)[:, None]).sum(0)
        assert np.array_equal(got_a, np.broadcast_to(A, out).reshape(-1))
        assert np.array_equal(got_b, np.broadcast_to(B, out).reshape(-1))


def test_broadcast_plan_rejects_mismatch() -> None:
    with pytest.raises(ValueError):
        broadcast_plan((1, 3), (1, 4), (1, 4))
