"""When a window op (conv, depthwise conv, pooling) may write its output over its own input, and how far apart they must be.

A kernel that walks output pixels in raster order (batch, row, column; any order of channels inside a pixel) and,
for each output pixel, reads only the input pixels of that pixel's window, never needs an input pixel again once
every later output pixel's window lies past it. So the output can start G bytes *before* the input in one buffer:
writing output pixel p never touches an input byte that pixel p or a later pixel still reads, when

    G >= (p + 1) * out_c - min_{q >= p - lag} first_input_pixel(q) * in_c        for every output pixel p

(`first_input_pixel(q)` is the lowest flat input pixel index in q's clipped window; `lag` is how many output
pixels back a kernel may still read after writing pixel p, 0 for a kernel that finishes a pixel before starting the
next). The buffer is then max(out_bytes, G + in_bytes) long instead of out_bytes + in_bytes: for a stride-1 3x3
depthwise conv on a W-wide map that is about (W + 2) pixels more than one tensor instead of a second tensor.

The guarantee rests on each kernel's access order, so only kernels whose source was read are listed in
RASTER_KERNELS (kernel name -> lag). Everything else (unknown kernels, other ops, anything with a new loop order) is
never placed in place. tests/host/test_plan_inplace.py runs every listed host kernel in place against the same
kernel with separate buffers on random shapes; change a kernel's loop order and that test (and the op sweeps)
fail until the table is updated.
"""

from __future__ import annotations

from mcukit.codegen.kernel_call import KernelCall
from mcukit.ir.graph import Conv2DOptions, DepthwiseConv2DOptions, Graph, Op, Pool2DOptions

# Kernels read for their access order (firmware/src/kernels, dsp/, mve/) -> how many output pixels back they may
# still read after writing a pixel. All loop batch -> out row -> out column outermost. The portable kernels and the
# Helium ones finish one pixel (all its channels, in blocks of 1, 2, 4 or a vector) before starting the next: lag 0.
# The DSP conv kernels compute two neighbouring pixels together (2x2 register blocking; the 1x1 GEMM takes pixel
# pairs of the flattened map): lag 1.
RASTER_KERNELS: dict[str, int] = {
    "mk_conv_s8": 0,
    "mk_conv_s8_dsp": 1,
    "mk_conv_1x1_s8_dsp": 1,
    "mk_conv_im2col_s8_dsp": 1,  # copies a pixel pair's windows to scratch, then writes the pair
    "mk_conv_wide_s8_dsp": 1,  # widens a pixel pair's windows into scratch, then writes the pair
    "mk_conv_wide_w8_s8_dsp": 1,  # the same loops on int8 weights
    "mk_conv_wino_s8_dsp": 1,  # transforms two tiles (four pixels) into scratch before writing them; as the wide one
    "mk_conv_s8_mve": 0,
    "mk_conv_1x1_s8_mve": 1,  # pixel pairs like the DSP GEMMs (4 channels x 2 pixels per block)
    "mk_conv_im2col_s8_mve": 1,
    "mk_depthwise_conv_s8": 0,
    "mk_depthwise_conv_s8_dsp": 0,
    "mk_depthwise_conv_3x3_s8_dsp": 0,
    "mk_depthwise_conv_3x3_folded_s8_dsp": 0,  # raster rows; a row's input is copied to scratch before it is written
    "mk_depthwise_conv_3x3_pairs_s8_dsp": 0,  # raster rows; a row's input is widened to scratch before it is written
    "mk_depthwise_conv_3x3_pairs_relu_s8_dsp": 0,  # the same kernel
    "mk_depthwise_conv_s8_mve": 0,
    "mk_depthwise_conv_3x3_s8_mve": 0,  # raster pixels, all channels of a pixel before the next
    "mk_avg_pool_s8": 0,
    "mk_avg_pool_s8_dsp": 0,
    "mk_max_pool_s8": 0,
    "mk_max_pool_s8_dsp": 0,
}
# The optimized variants are the ones that get re-blocked for speed: give them two pixels of slack beyond what
# was read (a few hundred bytes at most), so blocking up to lag + 2 pixels stays safe. A change of loop order
# beyond that must update the table; tests/host/test_plan_inplace.py catches it for every host-built kernel.
OPTIMIZED_SLACK = 2

WINDOW_KINDS = ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D")


def _pad_before(padding: str, in_size: int, out_size: int, filt: int, stride: int, dilation: int) -> int:
    # TFLite's ComputePaddingWithOffset: the smaller half of the total padding goes before the data.
    if padding != "SAME":
        return 0
    eff = (filt - 1) * dilation + 1
    return max(0, (out_size - 1) * stride + eff - in_size) // 2


def _geometry(op: Op, graph: Graph) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, int, int, int, int, int],
                                              str] | None:
    """(input NHWC, output NHWC, (filter_h, filter_w, stride_h, stride_w, dilation_h, dilation_w), padding)."""
    if not op.inputs or not op.outputs or op.inputs[0] < 0:
        return None
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if len(x.shape) != 4 or len(y.shape) != 4 or x.dtype != "int8" or y.dtype != "int8":
        return None
    opts = op.options
    if isinstance(opts, DepthwiseConv2DOptions):
        if len(op.inputs) < 2 or op.inputs[1] < 0:
            return None
        w = graph.tensors[op.inputs[1]]
        if len(w.shape) != 4:
            return None
        window = (int(w.shape[1]), int(w.shape[2]), opts.stride_h, opts.stride_w, opts.dilation_h, opts.dilation_w)
        return x.shape, y.shape, window, opts.padding
    if isinstance(opts, Conv2DOptions):
        if len(op.inputs) < 2 or op.inputs[1] < 0:
            return None
        w = graph.tensors[op.inputs[1]]  # OHWI
        if len(w.shape) != 4:
            return None
        window = (int(w.shape[1]), int(w.shape[2]), opts.stride_h, opts.stride_w, opts.dilation_h, opts.dilation_w)
        return x.shape, y.shape, window, opts.padding
    if isinstance(opts, Pool2DOptions):
        return x.shape, y.shape, (opts.filter_h, opts.filter_w, opts.stride_h, opts.stride_w, 1, 1), opts.padding
    return None


def window_gap(op: Op, graph: Graph, call: KernelCall) -> int | None:
    """Bytes the output must start before the input for `call` to run in place; None when it cannot (unknown
    kernel, not a window op, or shapes this analysis does not cover). The value is not aligned."""
    if op.kind not in WINDOW_KINDS or call.kernel not in RASTER_KERNELS or call.alias:
        return None
    geo = _geometry(op, graph)
    if geo is None:
        return None
    (n, ih, iw, ic), (n2, oh, ow, oc), (fh, fw, sh, sw, dh, dw), padding = geo
    if n != n2 or min(n, ih, iw, ic, oh, ow, oc, fh, fw, sh, sw, dh, dw) <= 0:
        return None
    lag = RASTER_KERNELS[call.kernel]
    if call.kernel.endswith(("_dsp", "_mve")):
        lag += OPTIMIZED_SLACK
    pt = _pad_before(padding, ih, oh, fh, sh, dh)
    pl = _pad_before(padding, iw, ow, fw, sw, dw)
    big = n * ih * iw  # "reads nothing": past every input pixel

    # First input row/column each output row/column reads (clipped window; a window entirely in padding reads
    # nothing).
    def first(o: int, stride: int, pad: int, filt: int, dil: int, size: int) -> int | None:
        start = o * stride - pad
        for k in range(filt):
            if 0 <= start + k * dil < size:
                return start + k * dil
        return None

    rows = [first(o, sh, pt, fh, dh, ih) for o in range(oh)]
    cols = [first(o, sw, pl, fw, dw, iw) for o in range(ow)]
    firsts = []
    for b in range(n):
        for r in rows:
            for c in cols:
                firsts.append(big if r is None or c is None else (b * ih + r) * iw + c)
    # suffix minimum: the lowest input pixel any output pixel from q on still reads
    suffix = firsts[:]
    for q in range(len(suffix) - 2, -1, -1):
        suffix[q] = min(suffix[q], suffix[q + 1])
    gap = 0
    for p in range(len(firsts)):
        gap = max(gap, (p + 1) * oc - suffix[max(0, p - lag)] * ic)
    return gap
