"""CONV_2D (int8, per-channel or per-tensor weights) -> mk_conv_s8, plus the helpers the conv family shares.

Prepare-side maths follows TFLite: the output shape and SAME padding come from ComputePaddingHeightWidth (the
odd pixel of an even total padding goes after the data, so only top/left are passed on), per-channel multipliers
are input_scale * weight_scale[c] / output_scale in double precision, fed to QuantizeMultiplier.
"""

from __future__ import annotations

import numpy as np

from mcukit.codegen.kernel_call import SCRATCH, CArray, KernelCall, LowerOptions, array, tensor
from mcukit.codegen.ops._isa import (
    GEMM_KERNELS,
    IM2COL_KERNELS,
    MVE_GEMM_KERNELS,
    MVE_IM2COL_KERNEL,
    WIDE_KERNEL,
    WIDE_W8_KERNEL,
    WINO_KERNEL,
    conv_kernel,
    fold_input_offset,
    gemm_rq_table,
    gemm_weight_layout,
    im2col_scratch_bytes,
    mve_gemm_rq_table,
    mve_gemm_weight_layout,
    mve_im2col_scratch_bytes,
    pad_rq_table,
    wide_scratch_bytes,
    wide_w8_weight_layout,
    wide_weight_layout,
    wino_applies,
    wino_rq_table,
    wino_scratch_bytes,
    wino_weight_layout,
)
from mcukit.codegen.quantmath import activation_range_s8, quantize_multiplier
from mcukit.errors import UnsupportedModelError
from mcukit.ir.graph import Conv2DOptions, Graph, Op, Tensor

KINDS = ("CONV_2D",)


# ---- helpers shared by conv, depthwise, fully_connected, pool, mean, pad, concatenation ----------------------


def unsupported(op: Op, what: str) -> UnsupportedModelError:
    return UnsupportedModelError(
        f"op {op.index} ({op.kind}): {what}",
        "mcukit runs fully int8-quantized models; re-quantize with `mcukit quantize` (int8 in, int8 out)",
    )


def require_int8(op: Op, t: Tensor | None, role: str) -> Tensor:
    if t is None:
        raise unsupported(op, f"missing {role} tensor")
    if t.dtype != "int8":
        raise unsupported(op, f"{role} tensor {t.name!r} is {t.dtype}, only int8 is supported")
    if t.quant is None:
        raise unsupported(op, f"{role} tensor {t.name!r} has no quantization parameters")
    return t


def weighted_operands(op: Op, graph: Graph) -> tuple[Tensor, Tensor, Tensor]:
    """Input, constant weights and output of a CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED op, all int8."""
    ins = graph.op_inputs(op)
    x = require_int8(op, ins[0], "input")
    w = require_int8(op, ins[1], "weights")
    y = require_int8(op, graph.op_outputs(op)[0], "output")
    if not w.is_constant:
        raise unsupported(op, "weights must be constant")
    return x, w, y


def scale_zp(t: Tensor) -> tuple[float, int]:
    """Per-tensor (scale, zero_point) of an activation tensor."""
    assert t.quant is not None
    return float(t.quant.scale[0]), int(t.quant.zero_point[0])


def output_multipliers(
    op: Op, input_scale: float, weight: Tensor, output_scale: float, channels: int
) -> tuple[list[int], list[int], bool]:
    """(multipliers, shifts, per_channel) for input_scale * weight_scale[c] / output_scale, as TFLite computes it.

    Both TFLite paths (per-channel PopulateConvolutionQuantizationParams and the per-tensor
    GetQuantizedConvolutionMultipler) multiply and divide the float32 scales as doubles, which Python floats are.
    """
    assert weight.quant is not None
    if any(z != 0 for z in weight.quant.zero_point):
        raise unsupported(op, "weights with a non-zero zero point (TFLite int8 weights are symmetric)")
    scales = weight.quant.scale
    per_channel = len(scales) > 1
    if per_channel and len(scales) != channels:
        raise unsupported(op, f"{len(scales)} weight scales for {channels} output channels")
    mults: list[int] = []
    shifts: list[int] = []
    for s in scales:
        m, sh = quantize_multiplier(input_scale * float(s) / output_scale)
        mults.append(m)
        shifts.append(sh)
    return mults, shifts, per_channel


def multiplier_arrays(mults: list[int], shifts: list[int]) -> tuple[CArray, CArray]:
    return (
        CArray("mult", "int32_t", np.asarray(mults, dtype=np.int32)),
        CArray("shift", "int32_t", np.asarray(shifts, dtype=np.int32)),
    )


def out_size_and_padding(padding: str, in_size: int, filt: int, stride: int, dilation: int) -> tuple[int, int]:
    """(output size, padding before the data) as TFLite's ComputeOutSize + ComputePaddingWithOffset."""
    eff = (filt - 1) * dilation + 1
    if padding == "SAME":
        out = (in_size + stride - 1) // stride
    elif padding == "VALID":
        out = (in_size + stride - eff) // stride
    else:
        raise ValueError(padding)
    total = max(0, (out - 1) * stride + eff - in_size)
    return out, total // 2


def check_padding(op: Op, padding: str) -> None:
    if padding not in ("SAME", "VALID"):
        raise unsupported(op, f"padding {padding}")


def act_range(op: Op, activation: str, output: Tensor) -> tuple[int, int]:
    s, z = scale_zp(output)
    try:
        return activation_range_s8(activation, s, z)
    except ValueError as e:
        raise unsupported(op, f"fused activation {activation}") from e


def check_shape(op: Op, t: Tensor, expected: tuple[int, ...], role: str) -> None:
    if tuple(t.shape) != tuple(expected):
        raise unsupported(op, f"{role} shape {t.shape} does not match the expected {expected}")


def bias_arg(op: Op, graph: Graph, index: int, channels: int) -> str:
    """The bias argument: a pointer to the int32 constant, or NULL when the optional input is omitted."""
    if len(op.inputs) <= index or op.inputs[index] < 0:
        return "NULL"
    b = graph.tensor(op.inputs[index])
    if b.dtype != "int32":
        raise unsupported(op, f"bias is {b.dtype}, only int32 biases are supported with int8 activations")
    if b.size != channels:
        raise unsupported(op, f"bias has {b.size} values for {channels} output channels")
    return tensor(op.inputs[index])


def fields(**kw: object) -> tuple[tuple[str, str], ...]:
    """Designated initializers from keyword arguments: ints become C literals, strings stay expressions."""
    out: list[tuple[str, str]] = []
    for k, v in kw.items():
        if isinstance(v, bool):
            out.append((k, "1" if v else "0"))
        elif isinstance(v, (int, np.integer)):
            out.append((k, str(int(v))))
        else:
            out.append((k, str(v)))
    return tuple(out)


def nhwc(op: Op, t: Tensor, role: str) -> tuple[int, int, int, int]:
    if len(t.shape) != 4:
        raise unsupported(op, f"{role} must be 4-D NHWC, got shape {t.shape}")
    n, h, w, c = (int(d) for d in t.shape)
    return n, h, w, c


# ---- CONV_2D ---------------------------------------------------------------------------------------------------


def lower(op: Op, graph: Graph, options: LowerOptions) -> KernelCall:
    opts = op.options
    assert isinstance(opts, Conv2DOptions)
    x, w, y = weighted_operands(op, graph)
    check_padding(op, opts.padding)
    n, ih, iw, ic = nhwc(op, x, "input")
    if len(w.shape) != 4:
        raise unsupported(op, f"weights must be OHWI, got shape {w.shape}")
    oc, fh, fw, fic = (int(d) for d in w.shape)
    if fic < 1 or ic % fic != 0 or oc % (ic // fic) != 0:
        raise unsupported(op, f"input depth {ic} is not a multiple of the filter depth {fic}")
    oh, pad_top = out_size_and_padding(opts.padding, ih, fh, opts.stride_h, opts.dilation_h)
    ow, pad_left = out_size_and_padding(opts.padding, iw, fw, opts.stride_w, opts.dilation_w)
    check_shape(op, y, (n, oh, ow, oc), "output")
    xs, xz = scale_zp(x)
    ys, yz = scale_zp(y)
    mults, shifts, per_channel = output_multipliers(op, xs, w, ys, oc)
    lo, hi = act_range(op, opts.activation, y)
    m_arr, s_arr = multiplier_arrays(mults, shifts)
    params = fields(
        batches=n, in_h=ih, in_w=iw, in_c=ic, out_h=oh, out_w=ow, out_c=oc, filter_h=fh, filter_w=fw,
        filter_in_c=fic, stride_h=opts.stride_h, stride_w=opts.stride_w, dilation_h=opts.dilation_h,
        dilation_w=opts.dilation_w, pad_top=pad_top, pad_left=pad_left, input_offset=-xz, output_offset=yz,
        act_min=lo, act_max=hi, per_channel=per_channel, multipliers=array("mult"), shifts=array("shift"),
    )
    kernel = conv_kernel(options, fh, fw, fic, ic)
    args = (tensor(op.inputs[0]), tensor(op.inputs[1]), bias_arg(op, graph, 2, oc), tensor(op.outputs[0]))
    arrays = (m_arr, s_arr)
    bias_t = None if args[2] == "NULL" else graph.tensor(op.inputs[2])
    if kernel in GEMM_KERNELS + MVE_GEMM_KERNELS and bias_t is not None and not bias_t.is_constant:
        kernel = "mk_conv_s8_dsp"  # the bias cannot be folded at compile time
    if kernel in MVE_GEMM_KERNELS:
        # Helium GEMM: padded, 4-channel-interleaved weights; folded bias and requantization constants in one
        # table (the full requantization, vectorized: it costs what a short one would there; docs/kernels.md).
        # The original weight, bias, multiplier and shift arrays are then not read.
        wv = w.array()
        folded = fold_input_offset(None if bias_t is None else bias_t.array(), wv, -xz)
        arrays += (CArray("w_mve", "int8_t", mve_gemm_weight_layout(wv)),
                   CArray("rq_mve", "int32_t", mve_gemm_rq_table(folded, mults, shifts)))
        args = (args[0], array("w_mve"), array("rq_mve"), args[3])
    if kernel in GEMM_KERNELS:
        # Compile-time forms (docs/kernels.md): the input offset folded into the bias, the weights re-laid out for
        # the GEMM loop - widened to int16 where the short epilogue is provably exact - and the original weight
        # and bias tensors are then not emitted at all.
        wv = w.array()
        bias = None if bias_t is None else bias_t.array()
        folded = fold_input_offset(bias, wv, -xz)
        table = gemm_rq_table(wv, folded, mults, shifts, yz)
        if table is None:
            arrays += (CArray("w_gemm", "int8_t", gemm_weight_layout(wv)), CArray("bias_folded", "int32_t", folded))
            args = (args[0], array("w_gemm"), array("bias_folded"), args[3])
        elif options.wide_weights and options.winograd and wino_applies(wv, opts.stride_w, opts.dilation_w, ow):
            # 3-wide rows at stride 1: Winograd F(4, 3), 6 products per 12 (transformed int16 weights, twice the
            # wide kernel's bytes; docs/kernels.md)
            kernel = WINO_KERNEL
            arrays += (CArray("w_wino", "int32_t", wino_weight_layout(wv)),
                       CArray("rq_table", "int32_t", wino_rq_table(table)))
            args = (args[0], array("w_wino"), array("rq_table"), args[3])
        else:  # int16 weights, or int8 ones widened in the loop where the board's flash is tight
            kernel = WIDE_KERNEL if options.wide_weights else WIDE_W8_KERNEL
            layout = wide_weight_layout(wv) if options.wide_weights else wide_w8_weight_layout(wv)
            arrays += (CArray("w_wide", "int32_t", layout), CArray("rq_table", "int32_t", pad_rq_table(table)))
            args = (args[0], array("w_wide"), array("rq_table"), args[3])
    scratch = 0
    if kernel in (WIDE_KERNEL, WIDE_W8_KERNEL):
        args += (SCRATCH,)
        scratch = wide_scratch_bytes(fh, fw, ic, (fh, fw, pad_top, pad_left) == (1, 1, 0, 0))
    elif kernel == WINO_KERNEL:
        args += (SCRATCH,)
        scratch = wino_scratch_bytes(fh, ic)
    elif kernel in IM2COL_KERNELS:
        args += (SCRATCH,)
        scratch = im2col_scratch_bytes(fh, fw, ic)
    elif kernel == MVE_IM2COL_KERNEL:
        args += (SCRATCH,)
        scratch = mve_im2col_scratch_bytes(fh, fw, ic)
    return KernelCall(
        kernel=kernel,
        params_type="mk_conv_params",
        params=params,
        args=args,
        arrays=arrays,
        scratch_bytes=scratch,
        macs=n * oh * ow * oc * fh * fw * fic,
    )
