"""Which kernel variant an op gets on a board: portable C, the DSP-extension variant (`_dsp`) or Helium (`_mve`).

Every variant takes the same params struct and produces the same bytes as the portable kernel (see
firmware/include/mcukit/mk_kernels_dsp.h and mk_kernels_mve.h), so selection is purely a speed decision and the
lowerings only swap `KernelCall.kernel`. With an empty `LowerOptions.isa` nothing changes: the portable kernels.

Rules (docs/kernels.md):
  - "mve" in isa: the Helium kernel where one exists (conv, depthwise, fully connected), else the DSP one;
  - "dsp" in isa: the DSP kernel where one exists (conv, 1x1 conv, depthwise, 3x3 depthwise, fully connected,
    average/max pool, add);
  - specialisations (1x1 conv, 3x3 depthwise) only for the shapes their kernels accept.
"""

from __future__ import annotations

import numpy as np

from mcukit.codegen.kernel_call import LowerOptions


def pick(options: LowerOptions, portable: str, *, dsp: str | None = None, mve: str | None = None) -> str:
    """The kernel name for this board: `mve` if the ISA has MVE and one is given, else `dsp` likewise, else
    `portable`."""
    if mve is not None and "mve" in options.isa:
        return mve
    if dsp is not None and ("dsp" in options.isa or "mve" in options.isa):
        return dsp
    return portable


IM2COL_KERNELS = ("mk_conv_im2col_s8_dsp",)  # take a scratch buffer as their last argument
# Kernels that read the compile-time GEMM forms: gemm_weight_layout() weights and fold_input_offset() bias.
GEMM_KERNELS = ("mk_conv_1x1_s8_dsp", "mk_conv_im2col_s8_dsp")


def conv_kernel(options: LowerOptions, filter_h: int, filter_w: int, filter_in_c: int, in_c: int) -> str:
    """CONV_2D on DSP boards: the GEMM kernel for ungrouped 1x1 filters, im2col + GEMM for other ungrouped
    filters, the tap-by-tap kernel for grouped ones."""
    ungrouped = filter_in_c == in_c
    one_by_one = filter_h == 1 and filter_w == 1 and ungrouped
    dsp = "mk_conv_1x1_s8_dsp" if one_by_one else "mk_conv_im2col_s8_dsp" if ungrouped else "mk_conv_s8_dsp"
    # Helium: the GEMM kernels for ungrouped convs (1x1 reads pixel rows in place, so only for in_c % 16 == 0;
    # other depths get padded im2col rows); grouped convs keep the tap-by-tap mk_conv_s8_mve.
    mve = ("mk_conv_1x1_s8_mve" if one_by_one and in_c % 16 == 0 else "mk_conv_im2col_s8_mve") if ungrouped \
        else "mk_conv_s8_mve"
    return pick(options, "mk_conv_s8", dsp=dsp, mve=mve)


def im2col_scratch_bytes(filter_h: int, filter_w: int, in_c: int) -> int:
    """Mirror of mk_conv_im2col_s8_dsp_scratch_bytes(): two window rows, each rounded up to 4 bytes."""
    k = filter_h * filter_w * in_c
    return 2 * ((k + 3) & ~3)


WIDE_KERNEL = "mk_conv_wide_s8_dsp"  # GEMM on int16 weights, short epilogue: ungrouped convs on DSP cores
WIDE_W8_KERNEL = "mk_conv_wide_w8_s8_dsp"  # the same on int8 weights (LowerOptions.wide_weights off)
FC_WIDE_KERNEL = "mk_fully_connected_wide_s8_dsp"  # FULLY_CONNECTED on int16 weights, same layout


def wide_scratch_bytes(filter_h: int, filter_w: int, in_c: int, one_by_one: bool) -> int:
    """Mirror of mk_conv_wide_s8_dsp_scratch_bytes(): the widened pixel pair (16 bytes per 4-byte block of the
    window) plus the two int8 im2col rows (4 bytes per block each) when a tap can start inside a block (a filter
    other than 1x1 on an input depth that is not a multiple of 4)."""
    blocks = (filter_h * filter_w * in_c + 3) // 4
    return blocks * 16 + (0 if one_by_one or in_c % 4 == 0 else blocks * 8)


def wide_weight_layout(w: np.ndarray) -> np.ndarray:
    """OHWI int8 weights -> the int32 words mk_conv_wide_s8_dsp reads: rows padded to a multiple of 4 (and the
    channel count to even) with zeros, widened to int16; per channel pair and 4-weight block the words
    (w[c][0], w[c][2]), (w[c][1], w[c][3]), (w[c+1][0], w[c+1][2]), (w[c+1][1], w[c+1][3]) with the first of each
    pair in the low halfword - the order SXTB16 splits the inputs into."""
    rows = np.asarray(w, dtype=np.int64).reshape(w.shape[0], -1)
    out_c, k = rows.shape
    blocks = (k + 3) // 4
    rows = np.pad(rows, ((0, out_c % 2), (0, blocks * 4 - k)))
    q = rows.reshape(-1, 2, blocks, 4)  # [pair][channel][block][byte]
    lo = q[..., [0, 1]] & 0xFFFF  # bytes 0, 1 -> low halves of the two words
    hi = q[..., [2, 3]] & 0xFFFF  # bytes 2, 3 -> high halves
    words = (lo | (hi << 16)).transpose(0, 2, 1, 3)  # [pair][block][channel][word]
    return words.reshape(-1).astype(np.uint32).view(np.int32)


WINO_KERNEL = "mk_conv_wino_s8_dsp"  # Winograd F(4, 3) along the rows: 3-wide filters at stride 1, in_c % 4 == 0


def wino_applies(w: np.ndarray, stride_w: int, dilation_w: int, out_w: int) -> bool:
    """Shapes mk_conv_wino_s8_dsp takes and where it pays (w: OHWI int8 weights): four outputs of a row share a
    tile, so rows of fewer than three outputs gain nothing; the input transform works on whole 4-channel blocks (a
    depth 3 past a multiple of 4, padded with a zero channel, lost with F(2, 3): ResNet-8's 3-channel first layer
    went from 998,337 to 1,132,011 instructions on qemu-m4); and 24 y - the kernel's sums before the exact
    division - must fit int32: 24 * 128 * sum|w| < 2^31 for every channel (raw int8 inputs)."""
    _, _, fw, in_c = w.shape
    if fw != 3 or stride_w != 1 or dilation_w != 1 or in_c % 4 != 0 or out_w < 3:
        return False
    sums = np.abs(np.asarray(w, dtype=np.int64)).reshape(w.shape[0], -1).sum(axis=1)
    return bool(np.all(24 * 128 * sums < 1 << 31))


def wino_weight_layout(w: np.ndarray) -> np.ndarray:
    """OHWI int8 weights with W = 3 -> the int32 words mk_conv_wino_s8_dsp reads: the transformed taps of every
    filter row (scaled by 24 to be integer; the kernel's comment has the derivation) U0 = 6 g0, U1 = -4 (g0 + g1 +
    g2), U2 = -4 (g0 - g1 + g2), U3 = g0 + 2 g1 + 4 g2, U4 = g0 - 2 g1 + 4 g2, U5 = 24 g2, each position a k = H * I
    row in wide_weight_layout's block order, and per channel pair the six positions one after the other (the order
    the kernel streams them). |U| <= 3072 fits int16."""
    g = np.asarray(w, dtype=np.int64)
    g0, g1, g2 = g[:, :, 0, :], g[:, :, 1, :], g[:, :, 2, :]  # [out][filter row][in]
    u = [6 * g0, -4 * (g0 + g1 + g2), -4 * (g0 - g1 + g2), g0 + 2 * g1 + 4 * g2, g0 - 2 * g1 + 4 * g2, 24 * g2]
    out_c = g.shape[0]
    per_pos = [wide_weight_layout(ui).reshape((out_c + 1) // 2, -1) for ui in u]  # [pair][words]
    return np.concatenate(per_pos, axis=1).reshape(-1)


def wino_rq_table(table: np.ndarray) -> np.ndarray:
    """pad_rq_table(gemm_rq_table(...)) with the scale 2^lsh multiplied by the inverse of 3 modulo 2^32: the kernel
    feeds 3 y (its sums are 24 y, shifted right by 3) to the wide epilogue, and (3 y) (2^lsh 3^-1) = y 2^lsh modulo
    2^32, exact because the table's precondition keeps y 2^lsh + bias' in int32."""
    rows = pad_rq_table(table).reshape(-1, 5).astype(np.int64)
    rows[:, 1] = (rows[:, 1] * pow(3, -1, 1 << 32)) % (1 << 32)
    return rows.reshape(-1).astype(np.uint32).view(np.int32)


def wino_scratch_bytes(filter_h: int, in_c: int) -> int:
    """Mirror of mk_conv_wino_s8_dsp_scratch_bytes(): six positions of an interleaved tile pair, 16 bytes per
    4-channel block of each filter row, then six input columns of one filter row (the tiles at the image's edge)."""
    return filter_h * (in_c // 4) * 96 + 6 * in_c


def wide_w8_weight_layout(w: np.ndarray) -> np.ndarray:
    """OHWI int8 weights -> the int32 words mk_conv_wide_w8_s8_dsp reads: the padding of wide_weight_layout (rows to
    a multiple of 4, channels to even, with zeros), then per channel pair and 4-weight block the 4 bytes of channel
    c and the 4 of c + 1, each as one little-endian word (SXTB16 splits it in the loop). Int8 size plus padding."""
    rows = np.asarray(w, dtype=np.int8).reshape(w.shape[0], -1)
    out_c, k = rows.shape
    blocks = (k + 3) // 4
    rows = np.pad(rows, ((0, out_c % 2), (0, blocks * 4 - k)))
    q = rows.reshape(-1, 2, blocks, 4).transpose(0, 2, 1, 3)  # [pair][block][channel][byte]
    return np.ascontiguousarray(q).reshape(-1).view("<i4").astype(np.int32)


def pad_rq_table(table: np.ndarray) -> np.ndarray:
    """gemm_rq_table with the last row repeated for an odd channel count (the wide kernel's padding channel)."""
    rows = table.reshape(-1, 5)
    if len(rows) % 2:
        rows = np.concatenate([rows, rows[-1:]])
    return rows.reshape(-1)


# Helium GEMM conv kernels (firmware/src/kernels/mve/mk_mve_gemm.h): they read mve_gemm_weight_layout() weights and
# fold_input_offset() bias; the im2col one takes mve_im2col_scratch_bytes() of scratch as its last argument.
MVE_GEMM_KERNELS = ("mk_conv_1x1_s8_mve", "mk_conv_im2col_s8_mve")
MVE_IM2COL_KERNEL = "mk_conv_im2col_s8_mve"


def mve_im2col_scratch_bytes(filter_h: int, filter_w: int, in_c: int) -> int:
    """Mirror of mk_conv_im2col_s8_mve_scratch_bytes(): window rows of kp = k rounded up to 16 bytes, for
    max(1, min(8, 256 // kp)) pixel pairs (the rows of several pairs are filled before one GEMM call; at most 512
    bytes, or the two rows of one pair)."""
    kp = (filter_h * filter_w * in_c + 15) & ~15
    return 2 * max(1, min(8, 256 // kp)) * kp


def mve_gemm_weight_layout(w: np.ndarray) -> np.ndarray:
    """OHWI int8 weights -> the order the Helium GEMM block reads (firmware/src/kernels/mve/mk_mve_gemm.h): each
    row of k bytes zero-padded to a multiple of 16, out_c zero-padded to a multiple of 4, and each group of 4
    channels' rows interleaved in 16-byte chunks (w[c][0:16], w[c+1][0:16], w[c+2][0:16], w[c+3][0:16],
    w[c][16:32], ...). Larger than the weights by the padding: (ceil(k/16) 16) (ceil(out_c/4) 4) bytes."""
    rows = np.asarray(w, dtype=np.int8).reshape(w.shape[0], -1)
    out_c, k = rows.shape
    kp = (k + 15) & ~15
    ocp = (out_c + 3) & ~3
    padded = np.zeros((ocp, kp), np.int8)
    padded[:out_c, :k] = rows
    return padded.reshape(ocp // 4, 4, kp // 16, 16).transpose(0, 2, 1, 3).reshape(-1).copy()


def mve_gemm_rq_table(folded_bias: np.ndarray, multipliers: list[int], shifts: list[int]) -> np.ndarray:
    """The requantization table of the Helium GEMM kernels (layout in firmware/src/kernels/mve/mk_mve_gemm.h): per
    group of 4 channels (out_c zero-padded to a multiple of 4) 20 int32, four lanes each of folded bias,
    left = max(shift, 0), multiplier, emask = -1 if shift < 0 else 0, rneg = min(shift, 0); then one flags word, bit 0
    set when every shift is < 0 (the kernels then skip VSHL by 0 and AND with -1). `multipliers`/`shifts`: one entry
    per channel or one in all. Exact for every accumulator: the kernels' epilogue is mk_requantize."""
    folded = np.asarray(folded_bias, dtype=np.int64).reshape(-1)
    c = folded.size
    mult = np.broadcast_to(np.asarray(multipliers, dtype=np.int64), (c,))
    shift = np.broadcast_to(np.asarray(shifts, dtype=np.int64), (c,))
    rows = np.stack([folded, np.maximum(shift, 0), mult, np.where(shift < 0, -1, 0), np.minimum(shift, 0)])
    groups = (c + 3) // 4
    rows = np.pad(rows, ((0, 0), (0, groups * 4 - c))).reshape(5, groups, 4).transpose(1, 0, 2)
    flags = np.array([1 if bool((shift < 0).all()) else 0], np.int64)  # bit 0: the epilogue without VSHL/AND
    return (np.concatenate([rows.reshape(-1), flags]) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)


def depthwise_kernel(options: LowerOptions, filter_h: int, filter_w: int, depth_multiplier: int, dilation_h: int,
                     dilation_w: int) -> str:
    """DEPTHWISE_CONV_2D: the unrolled 3x3 kernel for 3x3, multiplier-1, undilated filters on DSP boards."""
    three = (filter_h, filter_w, depth_multiplier, dilation_h, dilation_w) == (3, 3, 1, 1, 1)
    return pick(options, "mk_depthwise_conv_s8",
                dsp="mk_depthwise_conv_3x3_s8_dsp" if three else "mk_depthwise_conv_s8_dsp",
                mve=MVE_DW3X3_KERNEL if three else "mk_depthwise_conv_s8_mve")


# Helium 3x3 depthwise on compile-time forms (firmware/src/kernels/mve/mk_depthwise_conv_3x3_s8_mve.c).
MVE_DW3X3_KERNEL = "mk_depthwise_conv_3x3_s8_mve"


def mve_dw3x3_forms(w: np.ndarray, bias: np.ndarray | None, input_offset: int, multipliers: list[int],
                    shifts: list[int], output_offset: int = 0, act_min: int = -128,
                    act_max: int = 127) -> tuple[np.ndarray, np.ndarray]:
    """1HWO 3x3 int8 weights, bias and requantization -> (int16 weights, int32 table) of
    mk_depthwise_conv_3x3_s8_mve: channels zero-padded to a multiple of 8; weights per group of 8 channels as
    9 taps x 8 int16; table per group 40 int32 = five pairs of 4-lane rows (even channels c, c+2, c+4, c+6, then
    odd ones) of bias + input_offset * sum(w) (mod 2^32, like the accumulator), max(shift, 0), multiplier,
    -1 if shift < 0 else 0, min(shift, 0), then 8 int16 each of output_offset, act_min and act_max (52 int32 per
    group); after the last group one flags word, bit 0 set when every shift is < 0 (the kernel then skips the
    identities VSHL by 0 and AND with -1). Exact for every accumulator: the epilogue is mk_requantize."""
    wt = np.asarray(w, dtype=np.int64).reshape(9, -1)  # [tap][channel]
    c = wt.shape[1]
    b = np.zeros(c, np.int64) if bias is None else np.asarray(bias, dtype=np.int64).reshape(-1)
    folded = b + int(input_offset) * wt.sum(axis=0)
    mult = np.broadcast_to(np.asarray(multipliers, dtype=np.int64), (c,))
    shift = np.broadcast_to(np.asarray(shifts, dtype=np.int64), (c,))
    groups = (c + 7) // 8
    pad = groups * 8 - c
    w16 = np.pad(wt, ((0, 0), (0, pad))).reshape(9, groups, 8).transpose(1, 0, 2).reshape(-1).astype(np.int16)
    rows = np.stack([folded, np.maximum(shift, 0), mult, np.where(shift < 0, -1, 0), np.minimum(shift, 0)])
    rows = np.pad(rows, ((0, 0), (0, pad))).reshape(5, groups, 4, 2)  # [param][group][lane][even/odd]
    table = rows.transpose(1, 0, 3, 2).reshape(groups, 40)  # [group][param][even/odd][lane]
    # then per group 8 int16 each of output offset, act_min, act_max (as int32 words, little-endian pairs)
    def halves(v: int) -> np.ndarray:
        return np.full(4, (v & 0xFFFF) | ((v & 0xFFFF) << 16), np.int64)

    consts = np.concatenate([halves(output_offset), halves(act_min), halves(act_max)])
    table = np.concatenate([table, np.broadcast_to(consts, (groups, 12))], axis=1).reshape(-1)
    flags = np.array([1 if bool((shift < 0).all()) else 0], np.int64)  # bit 0: the epilogue's cheaper form
    table = np.concatenate([table, flags])
    return w16, (table & 0xFFFFFFFF).astype(np.uint32).view(np.int32)


def mve_dw3x3_scratch_bytes(in_c: int, out_w: int, stride_w: int) -> int:
    """Mirror of mk_depthwise_conv_3x3_s8_mve_scratch_bytes(): three ring rows of ceil(in_c / 8) groups x
    ((out_w - 1) stride_w + 3) padded columns x 8 bytes."""
    return 3 * ((in_c + 7) // 8) * ((out_w - 1) * stride_w + 3) * 8


def fully_connected_kernel(options: LowerOptions) -> str:
    return pick(options, "mk_fully_connected_s8", dsp="mk_fully_connected_s8_dsp", mve="mk_fully_connected_s8_mve")


def pool_kernel(options: LowerOptions, kind: str) -> str:
    """AVERAGE_POOL_2D / MAX_POOL_2D."""
    base = "mk_avg_pool_s8" if kind == "AVERAGE_POOL_2D" else "mk_max_pool_s8"
    return pick(options, base, dsp=f"{base}_dsp")


def add_kernel(options: LowerOptions) -> str:
    return pick(options, "mk_add_s8", dsp="mk_add_s8_dsp")


def gemm_weight_layout(w: np.ndarray) -> np.ndarray:
    """OHWI int8 weights -> the flat order the DSP GEMM loop reads (firmware/src/kernels/dsp/mk_dsp_dot.h):
    channels in pairs, each pair's rows interleaved in 4-byte blocks (w[c][0:4], w[c+1][0:4], w[c][4:8], ...),
    then the k % 4 tail bytes alternating (w[c][j], w[c+1][j]); an odd last channel keeps its plain row.
    Same bytes as the weights, only reordered."""
    rows = np.asarray(w, dtype=np.int8).reshape(w.shape[0], -1)
    out_c, k = rows.shape
    body = k & ~3
    parts: list[np.ndarray] = []
    for c in range(0, out_c - 1, 2):
        pair = rows[c:c + 2]
        blocks = pair[:, :body].reshape(2, body // 4, 4).transpose(1, 0, 2).reshape(-1)
        tail = pair[:, body:].T.reshape(-1)
        parts += [blocks, tail]
    if out_c % 2:
        parts.append(rows[-1])
    return np.concatenate(parts).astype(np.int8) if parts else np.zeros(0, np.int8)


def fold_input_offset(bias: np.ndarray | None, w: np.ndarray, input_offset: int) -> np.ndarray:
    """bias[c] + input_offset * sum(w[c]) modulo 2^32, as the kernels' int32 accumulator wraps: then
    sum(w * x) + folded == sum(w * (x + input_offset)) + bias bit for bit. A missing bias counts as zeros."""
    rows = np.asarray(w, dtype=np.int64).reshape(w.shape[0], -1)
    b = np.zeros(rows.shape[0], np.int64) if bias is None else np.asarray(bias, dtype=np.int64).reshape(-1)
    folded = (b + int(input_offset) * rows.sum(axis=1)) & 0xFFFFFFFF
    return folded.astype(np.uint32).view(np.int32)


def gemm_rq_table(w: np.ndarray, folded_bias: np.ndarray, multipliers: list[int], shifts: list[int],
                  output_offset: int) -> np.ndarray | None:
    """The per-channel table of the short-epilogue GEMM kernels (5 int32 per output channel; layout in
    mk_kernels_dsp.h): (bias' 2^lsh, 2^lsh, multiplier, 2^e + output_offset 2^(e+1), e + 1), lsh = left + 1, or None
    when an accumulator could be too large: needs (|bias'| + 128 * sum|w|) * 2^lsh < 2^30 (inputs, and im2col's
    zero-point padding, are int8), left <= 7 and e <= 21 (the output offset folded before the shift must not
    overflow) for every channel. `folded_bias`: fold_input_offset()'s int32 values; `multipliers`/`shifts`: one
    entry per channel or one in all."""
    rows = np.asarray(w, dtype=np.int64).reshape(w.shape[0], -1)
    c = rows.shape[0]
    folded = np.asarray(folded_bias, dtype=np.int64).reshape(-1)
    mult = np.broadcast_to(np.asarray(multipliers, dtype=np.int64), (c,))
    shift = np.broadcast_to(np.asarray(shifts, dtype=np.int64), (c,))
    left = np.maximum(shift, 0)
    e = np.maximum(-shift, 0)
    bound = (np.abs(folded) + 128 * np.abs(rows).sum(axis=1)) << (left + 1)
    if np.any(bound >= 1 << 30) or np.any(left > 7) or np.any(e > 21) or np.any(mult < 0):
        return None
    rnd = np.left_shift(1, e) + int(output_offset) * np.left_shift(1, e + 1)
    table = np.stack([folded << (left + 1), np.left_shift(1, left + 1), mult, rnd, e + 1], axis=1)
    return table.reshape(-1).astype(np.int32)


ADD_LUT_KERNEL = "mk_add_lut_s8_dsp"


def add_lut_table(input_offsets: tuple[int, int], left_shift: int, input_mults: tuple[int, int],
                  input_shifts: tuple[int, int], output_mult: int, output_shift: int, output_offset: int
                  ) -> np.ndarray | None:
    """The 515-word table of mk_add_lut_s8_dsp (same-shape ADD): for k = 1, 2 and every int8 x (indexed by x as an
    unsigned byte) T_k[x] = mk_requantize((x + offset_k) << left_shift, mult_k, shift_k) * 2^lsh - the portable
    kernel's first two requantizations, double rounding as in every build - then the output requantization's
    multiplier, 2^e + output_offset 2^(e+1) and e + 1 (lsh = left + 1, left = max(output_shift, 0),
    e = max(-output_shift, 0)). None unless (max|T_1| + max|T_2|) * 2^lsh < 2^30, left <= 7 and e <= 21, the
    precondition of the kernel's short output requantization (mk_kernels_dsp.h mk_dsp_requantize_short)."""
    from mcukit.codegen.ops._fixedpoint import multiply_by_quantized_multiplier

    x = np.arange(256, dtype=np.int64)
    x = np.where(x >= 128, x - 256, x)
    tables = [multiply_by_quantized_multiplier((x + int(off)) << left_shift, int(m), int(sh), False)
              for off, m, sh in zip(input_offsets, input_mults, input_shifts)]
    left, e = max(output_shift, 0), max(-output_shift, 0)
    bound = (int(np.abs(tables[0]).max()) + int(np.abs(tables[1]).max())) << (left + 1)
    if bound >= 1 << 30 or left > 7 or e > 21 or output_mult < 0:
        return None
    tail = np.array([output_mult, (1 << e) + int(output_offset) * (1 << (e + 1)), e + 1], dtype=np.int64)
    return np.concatenate([tables[0] << (left + 1), tables[1] << (left + 1), tail]).astype(np.int32)


# Depthwise 3x3 on compile-time forms (mk_depthwise_conv_3x3_folded_s8_dsp; layouts in mk_kernels_dsp.h).
DW3X3_FOLDED_KERNEL = "mk_depthwise_conv_3x3_folded_s8_dsp"
DW3X3_LAST_GROUP = 0x100  # in the e word of channel 3 of the last full group of 4


def dw3x3_scratch_bytes(out_w: int, stride_w: int, channels: int) -> int:
    """Mirror of mk_depthwise_conv_3x3_folded_s8_dsp_scratch_bytes(): three padded input rows (+ 4 bytes)."""
    return 3 * ((out_w - 1) * stride_w + 3) * channels + 4


def _dw3x3_short(w: np.ndarray, bias: np.ndarray | None, input_offset: int, multipliers: list[int],
                 shifts: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """What both 3x3 depthwise stream layouts start from - the taps [tap][channel], the folded bias
    bias + input_offset * sum(w), the multipliers and e = -shift per channel - or None when their short
    requantization does not apply (the conditions in dw3x3_forms' docstring)."""
    wt = np.asarray(w, dtype=np.int64).reshape(9, -1)  # [tap][channel]
    c = wt.shape[1]
    b = np.zeros(c, np.int64) if bias is None else np.asarray(bias, dtype=np.int64).reshape(-1)
    folded = b + int(input_offset) * wt.sum(axis=0)
    mult = np.broadcast_to(np.asarray(multipliers, dtype=np.int64), (c,))
    e = -np.broadcast_to(np.asarray(shifts, dtype=np.int64), (c,))
    bound = (np.abs(folded) + 128 * np.abs(wt).sum(axis=0)) * 2
    if np.any(bound >= 1 << 30) or np.any(e < 1) or np.any(e > 21) or np.any(mult < 0):
        return None
    return wt, folded, mult, e


def _pair16(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Two int16 values as the halves of one word (low first)."""
    return (lo & 0xFFFF) | ((hi & 0xFFFF) << 16)


def dw3x3_forms(w: np.ndarray, bias: np.ndarray | None, input_offset: int, output_offset: int,
                multipliers: list[int], shifts: list[int]) -> np.ndarray | None:
    """1HWO 3x3 int8 weights, bias and requantization -> the packed int32 stream of the folded 3x3 depthwise kernel
    (34 words per group of 4 channels; layout in mk_kernels_dsp.h), or None when the kernel's short requantization
    does not apply: it needs (|bias'| + 128 * sum|w|) * 2 < 2^30, a right shift 1 <= e <= 21 (so no left shift)
    and a multiplier >= 0 for every channel, where bias' = bias + input_offset * sum(w) (the folded bias: padded
    taps read the zero point, which cancels it). `multipliers`/`shifts`: one entry per channel or one in all."""
    short = _dw3x3_short(w, bias, input_offset, multipliers, shifts)
    if short is None:
        return None
    wt, folded, mult, e = short
    c = wt.shape[1]
    groups = (c + 3) // 4
    pad = groups * 4 - c

    def lanes(v: np.ndarray, fill: int = 0) -> np.ndarray:  # [..., channel] -> [..., group, 4]
        widths = [(0, 0)] * (v.ndim - 1) + [(0, pad)]
        return np.pad(v, widths, constant_values=fill).reshape(*v.shape[:-1], groups, 4)

    ws = lanes(wt * 2)  # [tap][group][lane]
    taps = np.stack([_pair16(ws[2 * j], ws[2 * j + 1]) for j in range(4)], axis=1)  # [group][pair][lane]
    tap8 = np.stack([_pair16(ws[8][:, 0], ws[8][:, 2]), _pair16(ws[8][:, 1], ws[8][:, 3])], axis=1)  # [group][2]
    r = np.left_shift(1, e - 1) + int(output_offset) * np.left_shift(1, e)
    table = np.stack([lanes(mult), lanes(r), lanes(e, 1)], axis=2)  # [group][lane][m, R, e]
    full = c // 4
    if full:
        table[full - 1, 3, 2] |= DW3X3_LAST_GROUP
    words = np.concatenate([lanes(folded * 2), taps.reshape(groups, 16), tap8, table.reshape(groups, 12)], axis=1)
    return (words.reshape(-1) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)


# Depthwise 3x3, stride_w 1, on an int16 ring of pixel pairs (mk_depthwise_conv_3x3_pairs_s8_dsp; layouts in
# mk_kernels_dsp.h). Same eligibility as dw3x3_forms.
DW3X3_PAIRS_KERNEL = "mk_depthwise_conv_3x3_pairs_s8_dsp"
DW3X3_PAIRS_RELU_KERNEL = "mk_depthwise_conv_3x3_pairs_relu_s8_dsp"  # act_min >= output offset: no sign correction
DW3X3_PAIRS_WORDS = 10  # per channel: bias, 3 x (Wa, Wb), m, R, e
DW3X3_PAIRS_BLOCK = 3  # output pixel pairs per ring block


def dw3x3_pairs_scratch_bytes(out_w: int, channels: int) -> int:
    """Mirror of mk_depthwise_conv_3x3_pairs_s8_dsp_scratch_bytes(): ceil(ceil(out_w / 2) / 3) ring blocks of
    48 bytes per channel (4 pixel-pair words x 3 rows), the fill table (16 bytes per pixel-pair word) and 4 bytes
    to align the ring."""
    pairs = (out_w + 1) // 2
    blocks = (pairs + DW3X3_PAIRS_BLOCK - 1) // DW3X3_PAIRS_BLOCK
    return blocks * channels * 48 + 16 * (pairs + 1) + 4


def dw3x3_pairs_forms(w: np.ndarray, bias: np.ndarray | None, input_offset: int, output_offset: int,
                      multipliers: list[int], shifts: list[int]) -> np.ndarray | None:
    """1HWO 3x3 int8 weights, bias and requantization -> the packed int32 stream of the pixel-pair 3x3 depthwise
    kernel (10 words per channel, then a pixel of input zero points; layout in mk_kernels_dsp.h), or None under the
    conditions of dw3x3_forms (the same short requantization)."""
    short = _dw3x3_short(w, bias, input_offset, multipliers, shifts)
    if short is None:
        return None
    wt, folded, mult, e = short
    c = wt.shape[1]

    w2 = wt * 2
    cols = [folded * 2]
    for r in range(3):
        cols += [_pair16(w2[3 * r], w2[3 * r + 1]), _pair16(w2[3 * r + 1], w2[3 * r + 2])]
    r_word = np.left_shift(1, e - 1) + int(output_offset) * np.left_shift(1, e)
    e_word = e.copy()
    e_word[-1] |= DW3X3_LAST_GROUP  # the last channel ends the assembly loop
    cols += [mult, r_word, e_word]
    words = np.stack(cols, axis=1)  # [channel][10]
    zp = (-int(input_offset)) & 0xFF  # the padding pixel the kernel widens (in flash, not in the scratch)
    zeros = np.full((c + 3) // 4, zp * 0x01010101, np.int64)
    return (np.concatenate([words.reshape(-1), zeros]) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
