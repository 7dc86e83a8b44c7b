"""The compile-time path of the folded 3x3 depthwise kernel (mk_depthwise_conv_3x3_folded_s8_dsp).

dsp_selfcheck.c checks the kernel against a C mirror of the packing only and the stored models (dsp_special, dsp_dw3x3)
are a fixed set, so here the Python side (dw3x3_forms in mcukit/codegen/ops/_isa.py, the depthwise lowering) is
checked end to end on random layers: single-op IR graphs with random weights (no TensorFlow) are generated for a DSP
board and for the portable kernels, built with host gcc, run on the same random inputs and compared byte for byte.
The portable kernel is itself checked against the references by the op sweeps. Layers whose accumulators could
exceed the short requantization's range must keep the generic 3x3 kernel.
"""

from __future__ import annotations

import numpy as np
import pytest

from mcukit.codegen.generate import generate
from mcukit.codegen.kernel_call import LowerOptions
from mcukit.codegen.ops._isa import DW3X3_FOLDED_KERNEL, DW3X3_PAIRS_KERNEL, DW3X3_PAIRS_RELU_KERNEL

PAIRS = {DW3X3_PAIRS_KERNEL, DW3X3_PAIRS_RELU_KERNEL}
from mcukit.hostbuild import load
from mcukit.ir.graph import DepthwiseConv2DOptions, Graph, Op, Quant, Tensor


def dw_graph(seed: int, *, big_bias: bool = False, y_scale: float | None = None) -> Graph:
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    c = int(rng.choice([1, 3, 4, 5, 8, 13, 48, 67]))
    stride = int(rng.choice([1, 2]))
    padding = "SAME" if min(h, w) < 3 else str(rng.choice(["SAME", "VALID"]))
    oh = (h + stride - 1) // stride if padding == "SAME" else (h - 3) // stride + 1
    ow = (w + stride - 1) // stride if padding == "SAME" else (w - 3) // stride + 1
    x_scale = 0.05
    y_scale = float(rng.uniform(0.01, 0.3)) if y_scale is None else y_scale
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
    stride = graph.ops[0].options.stride_w
    (kernel,) = [c.kernel for c in dsp.calls]
    assert kernel in PAIRS if stride == 1 else kernel == DW3X3_FOLDED_KERNEL
    x = np.random.default_rng(seed).integers(-128, 128, size=(4, *graph.tensors[0].shape), dtype=np.int8)
    got = load(dsp).run([x])[0]
    want = load(generate(graph, LowerOptions())).run([x])[0]
    np.testing.assert_array_equal(got, want)


def test_no_right_shift_keeps_the_generic_kernel() -> None:
    """A multiplier >= 0.5 (shift >= 0, no rounding divide) is outside the folded epilogue: the generic kernel."""
    graph = dw_graph(5, y_scale=1e-5)
    dsp = generate(graph, LowerOptions(isa=("dsp",)))
    assert [c.kernel for c in dsp.calls] == ["mk_depthwise_conv_3x3_s8_dsp"]
    x = np.random.default_rng(5).integers(-128, 128, size=(2, *graph.tensors[0].shape), dtype=np.int8)
    np.testing.assert_array_equal(load(dsp).run([x])[0], load(generate(graph, LowerOptions())).run([x])[0])


def test_large_accumulators_keep_the_generic_kernel() -> None:
    graph = dw_graph(3, big_bias=True)
    dsp = generate(graph, LowerOptions(isa=("dsp",)))
    assert [c.kernel for c in dsp.calls] == ["mk_depthwise_conv_3x3_s8_dsp"]
    x = np.random.default_rng(3).integers(-128, 128, size=(2, *graph.tensors[0].shape), dtype=np.int8)
    np.testing.assert_array_equal(load(dsp).run([x])[0], load(generate(graph, LowerOptions())).run([x])[0])


def dw_chain(seed: int) -> Graph:
    """Three 3x3 depthwise convs in a row (random strides, paddings, channel counts with tails), so the planner writes
    outputs over dying inputs."""
    rng = np.random.default_rng(seed)
    h, w, c = int(rng.integers(3, 12)), int(rng.integers(3, 12)), int(rng.choice([3, 4, 6, 8, 13, 20]))
    tensors: list[Tensor] = [Tensor(0, "x", (1, h, w, c), "int8", Quant((0.05,), (int(rng.integers(-30, 30)),)))]
    ops: list[Op] = []
    x = 0
    for _ in range(3):
        stride = int(rng.choice([1, 2])) if min(h, w) >= 4 else 1
        padding = str(rng.choice(["SAME", "VALID"])) if min(h, w) >= 4 else "SAME"
        oh = (h + stride - 1) // stride if padding == "SAME" else (h - 3) // stride + 1
        ow = (w + stride - 1) // stride if padding == "SAME" else (w - 3) // stride + 1
        ws = tuple(float(v) for v in rng.uniform(0.002, 0.02, c))
        weights = rng.integers(-127, 128, size=(1, 3, 3, c), dtype=np.int8)
        bias = rng.integers(-3000, 3000, size=(c,), dtype=np.int32)
        xq = tensors[x].quant.scale[0]
        n = len(tensors)
        tensors += [Tensor(n, f"w{n}", weights.shape, "int8", Quant(ws, (0,) * c, 3), weights.tobytes()),
                    Tensor(n + 1, f"b{n}", bias.shape, "int32", Quant(tuple(xq * s for s in ws), (0,) * c, 0),
                           bias.tobytes()),
                    Tensor(n + 2, f"y{n}", (1, oh, ow, c), "int8",
                           Quant((float(rng.uniform(0.02, 0.2)),), (int(rng.integers(-128, 0)),)))]
        act = str(rng.choice(["NONE", "RELU", "RELU6"]))
        ops.append(Op(len(ops), "DEPTHWISE_CONV_2D", (x, n, n + 1), (n + 2,),
                      DepthwiseConv2DOptions(padding, stride, stride, 1, 1, 1, act)))
        x, h, w = n + 2, oh, ow
    return Graph(f"dwchain{seed}", tuple(tensors), tuple(ops), (0,), (x,), f"{seed:064x}")


def test_folded_in_place_equals_separate_buffers() -> None:
    """The folded kernel reads its rows ahead into the scratch ring and writes outputs row by row: written over its
    own input (the planner's lag-0 placement) it must give the bytes it gives with separate buffers."""
    from mcukit.codegen.generate import lower_all, render
    from mcukit.plan import check_plan, plan_naive
    from mcukit.plan.inplace import window_gap

    overlapped = pairs_calls = 0
    for seed in range(8):
        graph = dw_chain(seed)
        options = LowerOptions(isa=("dsp",))
        gen = generate(graph, options)
        calls = lower_all(graph, options)
        assert {c.kernel for c in calls} <= {DW3X3_FOLDED_KERNEL, *PAIRS}
        pairs_calls += sum(c.kernel in PAIRS for c in calls)
        check_plan(graph, calls, gen.plan)
        naive = render(graph, calls, plan_naive(graph, calls), options)
        x = np.random.default_rng(seed).integers(-128, 128, size=(3, *graph.tensors[0].shape), dtype=np.int8)
        np.testing.assert_array_equal(load(gen).run([x])[0], load(naive).run([x])[0], err_msg=f"seed {seed}")
        for op, call in zip(graph.ops, calls):
            a, b = op.inputs[0], op.outputs[0]
            oa, ob = gen.plan.offsets[a], gen.plan.offsets[b]
            overlapped += window_gap(op, graph, call) is not None and oa < ob + graph.tensors[b].nbytes \
                and ob < oa + graph.tensors[a].nbytes
    assert overlapped >= 4, f"only {overlapped} in-place placements: the test would check little"
    assert pairs_calls >= 4, f"only {pairs_calls} pixel-pair kernel calls: the test would check little"
