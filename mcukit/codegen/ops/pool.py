"""AVERAGE_POOL_2D and MAX_POOL_2D (int8) -> mk_avg_pool_s8 / mk_max_pool_s8.

TFLite's int8 pools do not requantize: the converter gives input and output the same scale and zero point and
the reference kernels average or compare the raw int8 values, as these kernels do. The fused activation becomes
the clamp range of the output's quantization. Both references agree on pools, so the rounding option is unused.
"""

from __future__ import annotations

from mcukit.codegen.kernel_call import KernelCall, LowerOptions, tensor
from mcukit.codegen.ops._isa import pool_kernel
from mcukit.codegen.ops.conv import (
    act_range,
    check_padding,
    check_shape,
    fields,
    nhwc,
    out_size_and_padding,
    require_int8,
    unsupported,
)
from mcukit.ir.graph import Graph, Op, Pool2DOptions

KINDS = ("AVERAGE_POOL_2D", "MAX_POOL_2D")


def lower(op: Op, graph: Graph, options: LowerOptions) -> KernelCall:
    opts = op.options
    assert isinstance(opts, Pool2DOptions)
    x = require_int8(op, graph.op_inputs(op)[0], "input")
    y = require_int8(op, graph.op_outputs(op)[0], "output")
    check_padding(op, opts.padding)
    if min(opts.filter_h, opts.filter_w, opts.stride_h, opts.stride_w) < 1:
        raise unsupported(op, "filter and stride must be at least 1")
    n, ih, iw, c = nhwc(op, x, "input")
    oh, pad_top = out_size_and_padding(opts.padding, ih, opts.filter_h, opts.stride_h, 1)
    ow, pad_left = out_size_and_padding(opts.padding, iw, opts.filter_w, opts.stride_w, 1)
    check_shape(op, y, (n, oh, ow, c), "output")
    lo, hi = act_range(op, opts.activation, y)
    params = fields(
        batches=n, in_h=ih, in_w=iw, channels=c, out_h=oh, out_w=ow, filter_h=opts.filter_h,
        filter_w=opts.filter_w, stride_h=opts.stride_h, stride_w=opts.stride_w, pad_top=pad_top,
        pad_left=pad_left, act_min=lo, act_max=hi,
    )
    return KernelCall(
        kernel=pool_kernel(options, op.kind),
        params_type="mk_pool_params",
        params=params,
        args=(tensor(op.inputs[0]), tensor(op.outputs[0])),
    )
