"""MEAN (int8) over a contiguous run of axes, e.g. global average pooling over H, W -> mk_mean_s8.

Replicates the int8 path of TFLite's reference reduce.h (QuantizedMeanOrSum) that TFLite Micro runs:
QuantizeMultiplier(input_scale / output_scale) gives (M, s); with k = floor(log2(count)) clamped to
min(k, 32, 31 + s), the kernel uses M' = (M << k) // count and s' = s - k, and computes
requantize(sum - input_zp * count, M', s') + output_zp, clamped to int8, with double rounding.

Measured (tests/host/test_ops_pool.py, the equal_quant cases): both references take this path even when input and output share scale
and zero point. Older TFLite Micro sources divide the raw sum (truncating) in that case; the installed
tflite-micro and ai-edge-litert do not, so neither does mcukit. LiteRT's reference MEAN agrees bit for bit, so
both roundings use the same kernel.
"""

from __future__ import annotations

import numpy as np

from mcukit.codegen.kernel_call import KernelCall, LowerOptions, tensor
from mcukit.codegen.ops.conv import fields, require_int8, scale_zp, unsupported
from mcukit.codegen.quantmath import quantize_multiplier
from mcukit.ir.graph import Graph, Op, ReducerOptions

KINDS = ("MEAN",)


def mean_multiplier(input_scale: float, output_scale: float, count: int) -> tuple[int, int]:
    """TFLite Micro's (multiplier, shift) for a mean over `count` values (the 1/count factor folded in)."""
    mult, shift = quantize_multiplier(input_scale / output_scale)
    k = min(count.bit_length() - 1, 32, 31 + shift)
    return (mult << k) // count, shift - k


def reduced_axes(op: Op, graph: Graph, rank: int) -> list[int]:
    if len(op.inputs) < 2 or op.inputs[1] < 0:
        raise unsupported(op, "missing axis operand")
    axis_t = graph.tensor(op.inputs[1])
    if not axis_t.is_constant:
        raise unsupported(op, "the reduction axes must be constant")
    axes: list[int] = []
    for a in np.asarray(axis_t.array()).reshape(-1).tolist():
        a = int(a) + rank if int(a) < 0 else int(a)
        if not 0 <= a < rank:
            raise unsupported(op, f"axis {a} out of range for rank {rank}")
        if a not in axes:
            axes.append(a)
    return sorted(axes)


def lower(op: Op, graph: Graph, options: LowerOptions) -> KernelCall:
    opts = op.options
    x = require_int8(op, graph.op_inputs(op)[0], "input")
    y = require_int8(op, graph.op_outputs(op)[0], "output")
    keep_dims = opts.keep_dims if isinstance(opts, ReducerOptions) else False
    shape = [int(d) for d in x.shape]
    axes = reduced_axes(op, graph, len(shape))
    if axes and axes != list(range(axes[0], axes[-1] + 1)):
        raise unsupported(op, f"MEAN over non-adjacent axes {axes}; mcukit reduces one contiguous run of axes")
    first, last = (axes[0], axes[-1] + 1) if axes else (len(shape), len(shape))
    outer = int(np.prod(shape[:first], dtype=np.int64))
    count = int(np.prod(shape[first:last], dtype=np.int64))
    inner = int(np.prod(shape[last:], dtype=np.int64))
    if y.size != outer * inner:
        raise unsupported(op, f"output of {y.size} values, expected {outer * inner} (keep_dims={keep_dims})")
    if count < 1:
        raise unsupported(op, "MEAN over an empty axis")
    xs, xz = scale_zp(x)
    ys, yz = scale_zp(y)
    mult, shift = mean_multiplier(xs, ys, count)
    params = fields(
        outer=outer, reduce=count, inner=inner, input_zero_point=xz, output_zero_point=yz,
        multiplier=mult, shift=shift,
    )
    return KernelCall(
        kernel="mk_mean_s8",
        params_type="mk_mean_params",
        params=params,
        args=(tensor(op.inputs[0]), tensor(op.outputs[0])),
    )
