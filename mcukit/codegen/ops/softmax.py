"""SOFTMAX (int8 -> int8) -> mk_softmax_s8.

Measured (tests/host/test_ops_activation.py): both references - TFLite Micro's host interpreter and ai-edge-litert
BUILTIN_REF - compute int8 softmax in float32, not with gemmlowp fixed point: a table of expf(-s_in * beta * d) for
the 256 possible differences d = row max - x, a float32 sum of the row's entries in order, inv = 1 / (sum * s_out),
and out = round_half_away(exp * inv) + z_out. A gemmlowp re-implementation was off by up to 6 LSB on most rows.
So the table is built here (with the C library's expf, as the references) and the kernel repeats the float steps.
"""

from __future__ import annotations

import numpy as np

from mcukit.codegen.kernel_call import CArray, KernelCall, LowerOptions, array, tensor
from mcukit.codegen.ops._libm import expf
from mcukit.codegen.ops.conv import fields, require_int8, scale_zp, unsupported
from mcukit.codegen.ops.quantize import float_literal
from mcukit.ir.graph import Graph, Op, SoftmaxOptions

KINDS = ("SOFTMAX",)


def exp_table(beta: float, input_scale: float) -> np.ndarray:
    """float32[256]: entry d = expf((-input_scale * beta) * d), all in float32 as TFLite's table."""
    scale = np.float32(-np.float32(input_scale) * np.float32(beta))
    return expf(scale * np.arange(256, dtype=np.float32))


def lower(op: Op, graph: Graph, options: LowerOptions) -> KernelCall:
    opts = op.options
    beta = opts.beta if isinstance(opts, SoftmaxOptions) else 1.0
    x = require_int8(op, graph.op_inputs(op)[0], "input")
    y = require_int8(op, graph.op_outputs(op)[0], "output")
    if x.size != y.size:
        raise unsupported(op, "input and output sizes differ")
    depth = int(x.shape[-1]) if x.shape else 1
    if depth < 1:
        raise unsupported(op, "empty input")
    xs, _ = scale_zp(x)
    ys, yz = scale_zp(y)
    return KernelCall(
        kernel="mk_softmax_s8",
        params_type="mk_softmax_params",
        params=fields(rows=x.size // depth, depth=depth, output_scale=float_literal(ys), output_zero_point=yz,
                      exp_table=array("exp")),
        args=(tensor(op.inputs[0]), tensor(op.outputs[0])),
        arrays=(CArray("exp", "float", exp_table(beta, xs)),),
        inplace_inputs=(0,),
        macs=x.size,
    )
