"""FULLY_CONNECTED (int8; per-tensor or per-channel weights; optional bias; any number of rows) ->
mk_fully_connected_s8.

Rows = input elements / in_features, as TFLite flattens every leading dimension; keep_num_dims only decides the
output's shape, which the memory plan already has, so the kernel never sees it.

Rounding: this is the one op whose references differ (docs/reference-rounding.md): TFLite Micro rounds twice,
LiteRT's BUILTIN_REF once. The kernel calls mk_requantize_fc(), which the build flag MK_SINGLE_ROUNDING (set from
LowerOptions.rounding by the generator) switches; conv, depthwise and mean call mk_requantize() instead,
because both references round those twice.
"""

from __future__ import annotations

from mcukit.codegen.kernel_call import CArray, KernelCall, LowerOptions, array, tensor
from mcukit.codegen.ops._isa import (
    FC_WIDE_KERNEL,
    fold_input_offset,
    fully_connected_kernel,
    wide_weight_layout,
)
from mcukit.codegen.ops.conv import (
    act_range,
    bias_arg,
    fields,
    multiplier_arrays,
    output_multipliers,
    scale_zp,
    unsupported,
    weighted_operands,
)
from mcukit.ir.graph import FullyConnectedOptions, Graph, Op

KINDS = ("FULLY_CONNECTED",)


def lower(op: Op, graph: Graph, options: LowerOptions) -> KernelCall:
    opts = op.options
    assert isinstance(opts, FullyConnectedOptions)
    x, w, y = weighted_operands(op, graph)
    if len(w.shape) != 2:
        raise unsupported(op, f"weights must be [out, in], got shape {w.shape}")
    out_f, in_f = int(w.shape[0]), int(w.shape[1])
    if x.size % in_f != 0:
        raise unsupported(op, f"input of {x.size} values is not a whole number of rows of {in_f}")
    rows = x.size // in_f
    if y.size != rows * out_f:
        raise unsupported(op, f"output of {y.size} values, expected {rows} rows of {out_f}")
    xs, xz = scale_zp(x)
    ys, yz = scale_zp(y)
    mults, shifts, per_channel = output_multipliers(op, xs, w, ys, out_f)
    lo, hi = act_range(op, opts.activation, y)
    m_arr, s_arr = multiplier_arrays(mults, shifts)
    params = fields(
        batches=rows, in_features=in_f, out_features=out_f, input_offset=-xz, output_offset=yz, act_min=lo,
        act_max=hi, per_channel=per_channel, multipliers=array("mult"), shifts=array("shift"),
    )
    kernel = fully_connected_kernel(options)
    args = (tensor(op.inputs[0]), tensor(op.inputs[1]), bias_arg(op, graph, 2, out_f), tensor(op.outputs[0]))
    arrays = (m_arr, s_arr)
    bias_t = None if args[2] == "NULL" else graph.tensor(op.inputs[2])
    if kernel == "mk_fully_connected_s8_dsp" and options.wide_weights and (bias_t is None or bias_t.is_constant):
        # int16 weights and the input offset folded into the bias (docs/kernels.md, "Wide GEMM"); the original
        # weight and bias tensors are then not emitted.
        wv = w.array()
        folded = fold_input_offset(None if bias_t is None else bias_t.array(), wv, -xz)
        kernel = FC_WIDE_KERNEL
        arrays += (CArray("w_wide", "int32_t", wide_weight_layout(wv)), CArray("bias_folded", "int32_t", folded))
        args = (args[0], array("w_wide"), array("bias_folded"), args[3])
    return KernelCall(
        kernel=kernel,
        params_type="mk_fully_connected_params",
        params=params,
        args=args,
        arrays=arrays,
        macs=rows * in_f * out_f,
    )
