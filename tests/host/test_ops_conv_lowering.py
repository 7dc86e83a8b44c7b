"""Prepare-side maths of the conv/pool/shape lowerings, checked without compiling anything (pure Python)."""

from __future__ import annotations

import numpy as np
import pytest

from mcukit.codegen.kernel_call import LowerOptions
from mcukit.codegen.ops import conv, fully_connected, mean, registry
from mcukit.codegen.ops.conv import out_size_and_padding
from mcukit.codegen.quantmath import quantize_multiplier
from mcukit.errors import UnsupportedModelError
from mcukit.ir.graph import (
    Conv2DOptions,
    FullyConnectedOptions,
    Graph,
    Op,
    Quant,
    ReducerOptions,
    Tensor,
)


@pytest.mark.parametrize(
    ("padding", "size", "filt", "stride", "dil", "expected"),
    [
        ("SAME", 5, 2, 1, 1, (5, 0)),  # even kernel: the single padding pixel goes after the data
        ("SAME", 7, 4, 2, 1, (4, 1)),  # total 3: one before, two after
        ("SAME", 6, 3, 1, 2, (6, 2)),  # dilation widens the kernel to 5
        ("SAME", 4, 1, 3, 1, (2, 0)),
        ("VALID", 7, 3, 2, 1, (3, 0)),
        ("VALID", 9, 3, 1, 3, (3, 0)),
    ],
)
def test_output_size_and_padding_follow_tflite(padding, size, filt, stride, dil, expected):
    assert out_size_and_padding(padding, size, filt, stride, dil) == expected


@pytest.mark.parametrize(("ratio", "count"), [(1.0, 9), (0.37, 64), (2.5, 3), (1e-9, 1024), (0.9, 1)])
def test_mean_multiplier_folds_in_the_count(ratio, count):
    m, s = mean_mult = mean.mean_multiplier(ratio, 1.0, count)
    assert 0 < m < 2**31 and s >= -31, mean_mult
    m0, s0 = quantize_multiplier(ratio)
    k = min(count.bit_length() - 1, 32, 31 + s0)
    assert (m, s) == ((m0 << k) // count, s0 - k)
    assert m * 2.0 ** (s - 31) == pytest.approx(ratio / count, rel=2 ** -(30 - count.bit_length()))


def _q(scale: float, zp: int = 0) -> Quant:
    return Quant((scale,), (zp,))


def _fc_graph(dtype: str = "int8", act: str = "NONE") -> Graph:
    w = np.arange(12, dtype=np.int8).reshape(3, 4)
    tensors = (
        Tensor(0, "x", (2, 4), dtype, _q(0.5, -3)),
        Tensor(1, "w", (3, 4), "int8", Quant((0.1, 0.2, 0.3), (0, 0, 0)), w.tobytes()),
        Tensor(2, "y", (2, 3), "int8", _q(0.25, 5)),
    )
    op = Op(0, "FULLY_CONNECTED", (0, 1, -1), (2,), FullyConnectedOptions(act, False))
    return Graph("fc", tensors, (op,), (0,), (2,), "0" * 64)


def test_fully_connected_lowering_constants():
    g = _fc_graph()
    call = fully_connected.lower(g.ops[0], g, LowerOptions())
    p = dict(call.params)
    assert (p["batches"], p["in_features"], p["out_features"]) == ("2", "4", "3")
    assert (p["input_offset"], p["output_offset"], p["per_channel"]) == ("3", "5", "1")
    assert call.args[2] == "NULL" and call.macs == 2 * 4 * 3
    mults = {a.name: a.values for a in call.arrays}
    for c, ws in enumerate((0.1, 0.2, 0.3)):
        assert (int(mults["mult"][c]), int(mults["shift"][c])) == quantize_multiplier(0.5 * ws / 0.25)


@pytest.mark.parametrize(("graph", "match"), [(_fc_graph("int16"), "only int8"), (_fc_graph(act="TANH"), "TANH")])
def test_unsupported_fully_connected_is_a_user_error(graph, match):
    with pytest.raises(UnsupportedModelError, match=match):
        fully_connected.lower(graph.ops[0], graph, LowerOptions())


def test_conv_rejects_output_shape_that_tflite_would_not_produce():
    tensors = (
        Tensor(0, "x", (1, 5, 5, 2), "int8", _q(0.5)),
        Tensor(1, "w", (4, 3, 3, 2), "int8", _q(0.1), bytes(72)),
        Tensor(2, "y", (1, 5, 5, 4), "int8", _q(0.25)),  # VALID 3x3 gives 3x3, not 5x5
    )
    op = Op(0, "CONV_2D", (0, 1, -1), (2,), Conv2DOptions("VALID", 1, 1, 1, 1, "NONE"))
    g = Graph("c", tensors, (op,), (0,), (2,), "0" * 64)
    with pytest.raises(UnsupportedModelError, match="output shape"):
        conv.lower(op, g, LowerOptions())


def test_mean_over_non_adjacent_axes_is_rejected():
    tensors = (
        Tensor(0, "x", (1, 4, 4, 3), "int8", _q(0.5)),
        Tensor(1, "axes", (2,), "int32", None, np.array([1, 3], dtype=np.int32).tobytes()),
        Tensor(2, "y", (1, 4), "int8", _q(0.5)),
    )
    op = Op(0, "MEAN", (0, 1), (2,), ReducerOptions(False))
    g = Graph("m", tensors, (op,), (0,), (2,), "0" * 64)
    with pytest.raises(UnsupportedModelError, match="non-adjacent"):
        mean.lower(op, g, LowerOptions())


def test_every_kind_is_registered():
    kinds = set(registry())
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "MEAN", "PAD",
            "PADV2", "CONCATENATION", "RESHAPE", "SQUEEZE", "EXPAND_DIMS"} <= kinds
