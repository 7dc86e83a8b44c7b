"""DEPTHWISE_CONV_2D (int8, any depth multiplier, per-channel or per-tensor weights) -> mk_depthwise_conv_s8.

Weights stay in TFLite's 1HWO layout; per-channel weight scales are along the last axis (quantized_dimension 3).
"""

from __future__ import annotations

from mcukit.codegen.kernel_call import SCRATCH, CArray, KernelCall, LowerOptions, array, tensor
from mcukit.codegen.ops._isa import (
    DW3X3_FOLDED_KERNEL,
    DW3X3_PAIRS_KERNEL,
    DW3X3_PAIRS_RELU_KERNEL,
    MVE_DW3X3_KERNEL,
    depthwise_kernel,
    dw3x3_forms,
    dw3x3_pairs_forms,
    dw3x3_pairs_scratch_bytes,
    dw3x3_scratch_bytes,
    mve_dw3x3_forms,
    mve_dw3x3_scratch_bytes,
)
from mcukit.codegen.ops.conv import (
    act_range,
    bias_arg,
    check_padding,
    check_shape,
    fields,
    multiplier_arrays,
    nhwc,
    out_size_and_padding,
    output_multipliers,
    scale_zp,
    unsupported,
    weighted_operands,
)
from mcukit.ir.graph import DepthwiseConv2DOptions, Graph, Op

KINDS = ("DEPTHWISE_CONV_2D",)


def lower(op: Op, graph: Graph, options: LowerOptions) -> KernelCall:
    opts = op.options
    assert isinstance(opts, DepthwiseConv2DOptions)
    x, w, y = weighted_operands(op, graph)
    check_padding(op, opts.padding)
    n, ih, iw, ic = nhwc(op, x, "input")
    if len(w.shape) != 4 or w.shape[0] != 1:
        raise unsupported(op, f"weights must be 1HWO, got shape {w.shape}")
    _, fh, fw, oc = (int(d) for d in w.shape)
    # The option can be 0 or stale in some exporters; TFLite derives the multiplier from the shapes too.
    if oc % ic != 0:
        raise unsupported(op, f"{oc} output channels is not a multiple of the {ic} input channels")
    mult = oc // ic
    oh, pad_top = out_size_and_padding(opts.padding, ih, fh, opts.stride_h, opts.dilation_h)
    ow, pad_left = out_size_and_padding(opts.padding, iw, fw, opts.stride_w, opts.dilation_w)
    check_shape(op, y, (n, oh, ow, oc), "output")
    xs, xz = scale_zp(x)
    ys, yz = scale_zp(y)
    mults, shifts, per_channel = output_multipliers(op, xs, w, ys, oc)
    lo, hi = act_range(op, opts.activation, y)
    m_arr, s_arr = multiplier_arrays(mults, shifts)
    params = fields(
        batches=n, in_h=ih, in_w=iw, in_c=ic, out_h=oh, out_w=ow, out_c=oc, depth_multiplier=mult, filter_h=fh,
        filter_w=fw, stride_h=opts.stride_h, stride_w=opts.stride_w, dilation_h=opts.dilation_h,
        dilation_w=opts.dilation_w, pad_top=pad_top, pad_left=pad_left, input_offset=-xz, output_offset=yz,
        act_min=lo, act_max=hi, per_channel=per_channel, multipliers=array("mult"), shifts=array("shift"),
    )
    kernel = depthwise_kernel(options, fh, fw, mult, opts.dilation_h, opts.dilation_w)
    args = (tensor(op.inputs[0]), tensor(op.inputs[1]), bias_arg(op, graph, 2, oc), tensor(op.outputs[0]))
    arrays = (m_arr, s_arr)
    bias_t = None if args[2] == "NULL" else graph.tensor(op.inputs[2])
    scratch = 0
    if kernel == MVE_DW3X3_KERNEL:
        if bias_t is not None and not bias_t.is_constant:
            kernel = "mk_depthwise_conv_3x3_s8_dsp"  # the bias cannot be folded at compile time
        else:  # int16 weights by 8 channels, folded bias + requantization table (docs/kernels.md)
            w16, table = mve_dw3x3_forms(w.array(), None if bias_t is None else bias_t.array(), -xz, mults, shifts,
                                         yz, lo, hi)
            arrays += (CArray("w_mve", "int16_t", w16), CArray("rq_mve", "int32_t", table))
            args = (args[0], array("w_mve"), array("rq_mve"), args[3], SCRATCH)
            scratch = mve_dw3x3_scratch_bytes(ic, ow, opts.stride_w)  # the ring of padded input rows
    if kernel == "mk_depthwise_conv_3x3_s8_dsp" and (bias_t is None or bias_t.is_constant):
        # Compile-time forms (int16 weight pairs, folded bias, requantization table: one stream) when the
        # accumulators are provably small enough for the short requantization (docs/kernels.md); else the generic
        # 3x3 kernel. The scratch holds the three padded input rows of an output row.
        # stride_w 1: the pixel-pair kernel (an int16 ring of widened rows; mk_depthwise_conv_3x3_pairs_s8_dsp.c).
        bias_a = None if bias_t is None else bias_t.array()
        pairs = dw3x3_pairs_forms(w.array(), bias_a, -xz, yz, mults, shifts) if opts.stride_w == 1 else None
        packed = None if pairs is not None else dw3x3_forms(w.array(), bias_a, -xz, yz, mults, shifts)
        if pairs is not None:
            kernel = DW3X3_PAIRS_RELU_KERNEL if lo >= yz else DW3X3_PAIRS_KERNEL
            arrays += (CArray("dw_packed", "int32_t", pairs),)
            args = (args[0], array("dw_packed"), args[3], SCRATCH)
            scratch = dw3x3_pairs_scratch_bytes(ow, ic)
        elif packed is not None:
            kernel = DW3X3_FOLDED_KERNEL
            arrays += (CArray("dw_packed", "int32_t", packed),)
            args = (args[0], array("dw_packed"), args[3], SCRATCH)
            scratch = dw3x3_scratch_bytes(ow, opts.stride_w, ic)
    return KernelCall(
        kernel=kernel,
        params_type="mk_depthwise_conv_params",
        params=params,
        args=args,
        arrays=arrays,
        macs=n * oh * ow * oc * fh * fw,
        scratch_bytes=scratch,
    )
