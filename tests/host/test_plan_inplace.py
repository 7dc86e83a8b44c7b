"""Window ops written over their own input (mcukit.plan.inplace) give the same bytes as with separate buffers.

Random chains of CONV_2D / DEPTHWISE_CONV_2D / pooling ops are built directly as IR graphs (random weights, no
TensorFlow), generated twice -- with the planner (outputs over dying inputs where window_gap allows) and with
plan_naive (nothing shared) -- compiled with host gcc, portable and DSP kernels (C-emulated intrinsics), and run on
the same random inputs. Equal outputs mean every kernel's access order is what RASTER_KERNELS claims for these
shapes; the check also fails if the planner stops placing any output over its input (the test would prove nothing).
"""

from __future__ import annotations

import numpy as np
import pytest

from mcukit.codegen.generate import generate, lower_all, render
from mcukit.codegen.kernel_call import LowerOptions
from mcukit.hostbuild import load
from mcukit.ir.graph import Conv2DOptions, DepthwiseConv2DOptions, Graph, Op, Pool2DOptions, Quant, Tensor
from mcukit.plan import check_plan, plan_naive
from mcukit.plan.inplace import window_gap


def _out(padding: str, size: int, filt: int, stride: int, dil: int) -> int:
    eff = (filt - 1) * dil + 1
    return (size + stride - 1) // stride if padding == "SAME" else (size + stride - eff) // stride


def random_chain(seed: int, length: int = 6) -> Graph:
    rng = np.random.default_rng(seed)
    tensors: list[Tensor] = []
    ops: list[Op] = []

    def act(shape: tuple[int, ...], scale: float, zp: int) -> int:
        tensors.append(Tensor(len(tensors), f"a{len(tensors)}", shape, "int8", Quant((scale,), (zp,))))
        return len(tensors) - 1

    def const(arr: np.ndarray, dtype: str, quant: Quant) -> int:
        tensors.append(Tensor(len(tensors), f"w{len(tensors)}", arr.shape, dtype, quant, arr.tobytes()))
        return len(tensors) - 1

    h, w, c = int(rng.integers(3, 10)), int(rng.integers(3, 10)), int(rng.integers(1, 14))
    scale = 0.05
    x = act((1, h, w, c), scale, int(rng.integers(-20, 20)))
    first = x
    for _ in range(length):
        kind = str(rng.choice(["CONV_2D", "DEPTHWISE_CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D",
                               "MAX_POOL_2D"]))
        fh, fw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        stride = int(rng.choice([1, 1, 2])) if min(h, w) >= 4 else 1
        padding = str(rng.choice(["SAME", "SAME", "VALID"])) if min(h, w) >= 4 else "SAME"
        dil = int(rng.choice([1, 1, 1, 2])) if kind != "AVERAGE_POOL_2D" and kind != "MAX_POOL_2D" else 1
        oh, ow = _out(padding, h, fh, stride, dil), _out(padding, w, fw, stride, dil)
        out_scale = float(rng.uniform(0.02, 0.2))
        if kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            y = act((1, oh, ow, c), scale, tensors[x].quant.zero_point[0])
            opts = Pool2DOptions(padding, stride, stride, fh, fw, "NONE")
            ops.append(Op(len(ops), kind, (x,), (y,), opts))
        else:
            if kind == "CONV_2D":
                oc = int(rng.integers(1, 14))
                wts = rng.integers(-127, 128, size=(oc, fh, fw, c), dtype=np.int8)
                axis = 0
                opts = Conv2DOptions(padding, stride, stride, dil, dil, str(rng.choice(["NONE", "RELU"])))
            else:
                mult = int(rng.choice([1, 1, 2]))
                oc = c * mult
                wts = rng.integers(-127, 128, size=(1, fh, fw, oc), dtype=np.int8)
                axis = 3
                opts = DepthwiseConv2DOptions(padding, stride, stride, dil, dil, mult, "NONE")
            ws = tuple(float(v) for v in rng.uniform(0.002, 0.02, oc))
            wt = const(wts, "int8", Quant(ws, (0,) * oc, axis))
            bias = rng.integers(-2000, 2000, size=(oc,), dtype=np.int32)
            bt = const(bias, "int32", Quant(tuple(scale * s for s in ws), (0,) * oc, 0))
            y = act((1, oh, ow, oc), out_scale, int(rng.integers(-20, 20)))
            ops.append(Op(len(ops), kind, (x, wt, bt), (y,), opts))
            c, scale = oc, out_scale
        x, h, w = y, oh, ow
    return Graph(f"chain{seed}", tuple(tensors), tuple(ops), (first,), (x,), f"{seed:064x}")


def _run(gen, x: np.ndarray) -> bytes:
    return load(gen).run([x])[0].tobytes()


@pytest.mark.parametrize(("isa", "wide"), [((), True), (("dsp",), True), (("dsp",), False)],
                         ids=["portable", "dsp", "dsp-int8-weights"])
def test_window_ops_in_place_equal_separate_buffers(isa, wide):
    overlapped: dict[str, int] = {}
    for seed in (*range(6), 20):  # seed 20: a conv the Winograd kernel takes, written over its input
        graph = random_chain(seed)
        options = LowerOptions(isa=isa, wide_weights=wide)
        gen = generate(graph, options)
        calls = lower_all(graph, options)
        check_plan(graph, calls, gen.plan)
        naive = render(graph, calls, plan_naive(graph, calls), options)
        rng = np.random.default_rng(seed)
        x = rng.integers(-128, 128, size=(3, *graph.tensors[graph.inputs[0]].shape), dtype=np.int8)
        got, want = load(gen).run([x]), load(naive).run([x])
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w, err_msg=f"seed {seed}: in-place plan changed the outputs")
        for op, call in zip(graph.ops, calls):
            a, b = op.inputs[0], op.outputs[0]
            oa, ob = gen.plan.offsets[a], gen.plan.offsets[b]
            if window_gap(op, graph, call) is not None and oa < ob + graph.tensors[b].nbytes \
                    and ob < oa + graph.tensors[a].nbytes:
                overlapped[call.kernel] = overlapped.get(call.kernel, 0) + 1
    # The planner must really have overlapped outputs and inputs, for every family, or this test checks nothing.
    families = {"conv": 0, "depthwise": 0, "pool": 0}
    for kernel, n in overlapped.items():
        for fam in families:
            if fam in kernel:
                families[fam] += n
    assert all(families.values()), f"no in-place window op for some family: {overlapped}"
    if isa and wide:
        assert overlapped.get("mk_conv_wino_s8_dsp"), overlapped
