"""The compile-time path of the folded 3x3 depthwise kernel (mk_depthwise_conv_3x3_folded_s8_dsp).

No stored sweep model is a 3x3, multiplier-1 depthwise conv, and dsp_selfcheck.c checks the kernel against a C
mirror of the packing only, so here the Python side (dw3x3_forms in mcukit/codegen/ops/_isa.py, the depthwise
lowering) is checked end to end: single-op IR graphs with random weights (no TensorFlow) are generated for a DSP
board and for the portable kernels, built with host gcc, run on the same random inputs and compared byte for byte.
The portable kernel is itself checked against the references by the op sweeps. Layers whose accumulators could
exceed the short requantization's range must keep the generic 3x3 kernel.
"""

from __future__ import annotations

import numpy as np
import pytest

from mcukit.codegen.generate import generate
from mcukit.codegen.kernel_call import LowerOptions
from mcukit.codegen.ops._isa import DW3X3_FOLDED_KERNEL
from mcukit.hostbuild import load
from mcukit.ir.graph import DepthwiseConv2DOptions, Graph, Op, Quant, Tensor


def dw_graph(seed: int, *, big_bias: bool = False) -> Graph:
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    c = int(rng.choice([1, 3, 4, 5, 8, 13, 48, 67]))
    stride = int(rng.choice([1, 2]))
    padding = "SAME" if min(h, w) < 3 else str(rng.choice(["SAME", "VALID"]))
    oh = (h + stride - 1) // stride if padding == "SAME" else (h - 3) // stride + 1
    ow = (w + stride - 1) // stride if padding == "SAME" else (w - 3) // stride + 1
    x_scale, y_scale = 0.05, float(rng.uniform(0.01, 0.3))
    per_channel = bool(rng.integers(0, 2))
    ws = tuple(float(v) for v in rng.uniform(0.002, 0.03, c if per_channel else 1))
    weights = rng.integers(-128, 128, size=(1, 3, 3, c), dtype=np.int8)
    bias = rng.integers(-30000, 30000, size=(c,), dtype=np.int32)
    if big_bias:
        bias[c // 2] = 1 << 29  # past the folded kernel's bound
    act = str(rng.choice(["NONE", "RELU", "RELU6"]))
    tensors = (
        Tensor(0, "x", (1, h, w, c), "int8", Quant((x_scale,), (int(rng.integers(-128, 128)),))),
        Tensor(1, "w", weights.shape, "int8", Quant(ws, (0,) * len(ws), 3), weights.tobytes()),
        Tensor(2, "b", bias.shape, "int32", Quant(tuple(x_scale * s for s in ws), (0,) * len(ws), 0),
               bias.tobytes()),
        Tensor(3, "y", (1, oh, ow, c), "int8", Quant((y_scale,), (int(rng.integers(-128, 128)),))),
    )
    op = Op(0, "DEPTHWISE_CONV_2D", (0, 1, 2), (3,), DepthwiseConv2DOptions(padding, stride, stride, 1, 1, 1, act))
    return Graph(f"dw{seed}", tensors, (op,), (0,), (3,), f"{seed:064x}")


@pytest.mark.parametrize("seed", range(8))
def test_folded_dw3x3_equals_portable(seed: int) -> None:
    graph = dw_graph(seed)
    dsp = generate(graph, LowerOptions(isa=("dsp",)))
    assert [c.kernel for c in dsp.calls] == [DW3X3_FOLDED_KERNEL]
    x = np.random.default_rng(seed).integers(-128, 128, size=(4, *graph.tensors[0].shape), dtype=np.int8)
    got = load(dsp).run([x])[0]
    want = load(generate(graph, LowerOptions())).run([x])[0]
    np.testing.assert_array_equal(got, want)


def test_large_accumulators_keep_the_generic_kernel() -> None:
    graph = dw_graph(3, big_bias=True)
    dsp = generate(graph, LowerOptions(isa=("dsp",)))
    assert [c.kernel for c in dsp.calls] == ["mk_depthwise_conv_3x3_s8_dsp"]
    x = np.random.default_rng(3).integers(-128, 128, size=(2, *graph.tensors[0].shape), dtype=np.int8)
    np.testing.assert_array_equal(load(dsp).run([x])[0], load(generate(graph, LowerOptions())).run([x])[0])
