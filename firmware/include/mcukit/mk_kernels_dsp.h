/* Cortex-M DSP-extension variants of the hot kernels (firmware/src/kernels/dsp/, one public kernel per file).
 *
 * Contract: each _dsp kernel takes the SAME params struct as its portable twin (mk_conv.h, mk_pool.h,
 * mk_elementwise.h) and produces the SAME bytes - bit-exact in both rounding modes, because the integer
 * accumulations are exact and the requantization equals mk_requantize / mk_requantize_fc (mk_dsp_requantize below).
 * Exceptions to "same arguments": the GEMM conv kernels (mk_conv_1x1_s8_dsp, mk_conv_im2col_s8_dsp) read
 * compile-time forms of weights and bias (pair-interleaved weights, input offset folded into the bias; see
 * src/kernels/dsp/mk_dsp_dot.h and mcukit/codegen/ops/_isa.py), and the im2col kernel takes a scratch buffer.
 * They differ only in speed: SXTB16/SXTAB16 widen four int8 per 32-bit load, SMLAD does two multiply-accumulates,
 * and the conv family blocks 2 output channels x 2 pixels (or rows) per inner step. No heap.
 *
 * The code generator picks them when the board's ISA has "dsp" (mcukit/codegen/ops/_isa.py). On targets without
 * the DSP extension (host gcc, Cortex-M3) the same sources compile against the C emulation in mk_dsp_compat.h,
 * which is how the host tests prove bit-exactness.
 */
#ifndef MK_KERNELS_DSP_H
#define MK_KERNELS_DSP_H

#include "mcukit/mk_conv.h"
#include "mcukit/mk_elementwise.h"
#include "mcukit/mk_pool.h"
#include "mcukit/mk_requant.h"

/* mk_requantize (double rounding) in fewer instructions, equal to it for every x and every multiplier >= 0 -
 * which QuantizeMultiplier guarantees (its multipliers are 0 or in [2^30, 2^31)):
 *  - gemmlowp's doubling high multiply adds 2^30 to a non-negative product and 1 - 2^30 to a negative one, then
 *    divides by 2^31 truncating toward zero. For a negative product the sum is negative, and truncating a negative
 *    (p + 1 - 2^30) / 2^31 equals flooring (p + 1 - 2^30 + 2^31 - 1) / 2^31 = (p + 2^30) / 2^31; for a
 *    non-negative one truncation is flooring already. So both cases are floor((p + 2^30) / 2^31): one SMLAL-style
 *    64-bit multiply-add and a shift, no sign test. Its saturating case (INT32_MIN * INT32_MIN) needs a negative
 *    multiplier, which cannot occur.
 *  - the rounding shift keeps the portable mask/threshold form (no overflow for any x).
 * tests/host/dsp_selfcheck.c compares the two on random and edge values. */
static inline int32_t mk_dsp_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    const int64_t prod = (int64_t)(int32_t)((uint32_t)x << left) * (int64_t)multiplier + (1LL << 30);
    const int32_t h = (int32_t)(prod >> 31);
    const int32_t mask = (int32_t)((1u << right) - 1u);
    const int32_t threshold = (mask >> 1) + (h < 0 ? 1 : 0);
    return (h >> right) + ((h & mask) > threshold ? 1 : 0);
}

/* mk_requantize(acc, m, shift) in five instructions (SMMULR, shifts, adds) for a SMALL accumulator, with the
 * per-channel constants lsh = left + 1, rnd = 2^e, rsh = e + 1 (left = max(shift, 0), e = max(-shift, 0)).
 * Precondition (checked at compile time by the code generator): |acc| * 2^(left+1) < 2^30, e <= 29, m >= 0.
 *  - gemmlowp's doubling high multiply floor((a * m + 2^30) / 2^31) of a = acc << left equals the rounded high
 *    word SMMULR(2a, m) = floor((2a * m + 2^31) / 2^32), and 2a fits in int32;
 *  - its rounding divide by 2^e (ties away from zero) is floor((h + 2^(e-1) - [h < 0]) / 2^e) for e >= 1, which
 *    equals floor((2h + 2^e - [h < 0]) / 2^(e+1)) for every e >= 0: for e >= 1, 2h + 2^e is even, so subtracting
 *    1 instead of 2 never crosses a multiple of 2^(e+1); for e = 0 it is h. No intermediate overflows (|h| < 2^29).
 * tests/host/dsp_selfcheck.c compares it with mk_requantize over the whole precondition range. */
static inline int32_t mk_dsp_requantize_short(int32_t acc, int32_t m, int32_t lsh, int32_t rnd, int32_t rsh)
{
    const int32_t a = (int32_t)((uint32_t)acc << lsh);
#if defined(__ARM_FEATURE_DSP) && !defined(MK_DSP_FORCE_EMULATION)
    int32_t h;
    __asm__("smmulr %0, %1, %2" : "=r"(h) : "r"(a), "r"(m));
#else
    const int32_t h = (int32_t)(((int64_t)a * (int64_t)m + (1LL << 31)) >> 32);
#endif
    return (h * 2 + rnd + (h >> 31)) >> rsh;
}

/* CONV_2D, any filter/stride/dilation/padding/groups, as mk_conv_s8. */
mk_status mk_conv_s8_dsp(const mk_conv_params *p, const int8_t *input, const int8_t *weights, const int32_t *bias,
                         int8_t *output);

/* CONV_2D with a 1x1 filter and no groups, as a GEMM: rows = output pixels (input pixels at the strides),
 * columns = output channels. Returns MK_ERR_ARG unless filter_h == filter_w == 1 and filter_in_c == in_c
 * (1x1 filters never pad). */
mk_status mk_conv_1x1_s8_dsp(const mk_conv_params *p, const int8_t *input, const int8_t *weights,
                             const int32_t *bias, int8_t *output);

/* CONV_2D without groups (filter_in_c == in_c), any filter/stride/dilation/padding, as im2col + GEMM: the windows
 * of two output pixels are copied to `scratch` (padding written as the input zero point, which adds 0) and one
 * long dot product per channel pair covers the whole window. scratch: mk_conv_im2col_s8_dsp_scratch_bytes(p)
 * bytes, 4-byte aligned. MK_ERR_ARG for grouped convolutions or a NULL scratch. */
size_t mk_conv_im2col_s8_dsp_scratch_bytes(const mk_conv_params *p);
mk_status mk_conv_im2col_s8_dsp(const mk_conv_params *p, const int8_t *input, const int8_t *weights,
                                const int32_t *bias, int8_t *output, int8_t *scratch);

/* CONV_2D without groups, any filter (1x1 included), as a GEMM on weights widened to int16 at compile time, for
 * layers whose accumulators the code generator proved small (mcukit/codegen/ops/_isa.py gemm_rq_table returns None
 * otherwise and the layer keeps the two kernels above). `table`: 5 int32 per output channel replacing bias,
 * multipliers, shifts and the output offset - { bias' 2^lsh, 2^lsh, multiplier, 2^e + output_offset 2^(e+1),
 * e + 1 } with lsh = left + 1, left = max(shift, 0), e = max(-shift, 0), bias' = bias + input_offset * sum(w) -
 * valid when (|bias'| + 128 * sum|w|) 2^lsh < 2^30, left <= 7 and e <= 21 for every channel (derivation in
 * src/kernels/dsp/mk_dsp_dot.h); multipliers/shifts in the params are not read. `weights` is mcukit/codegen/ops/_isa.py wide_weight_layout (channel pairs,
 * rows padded to a multiple of 4 with zeros, halfword pairs in SXTB16 order; an odd channel count padded with a
 * zero channel), `table` gemm_rq_table padded to an even channel count. The windows of two output pixels are
 * widened into `scratch` once and reused for every channel: mk_conv_wide_s8_dsp_scratch_bytes(p) bytes, 4-byte
 * aligned. MK_ERR_ARG for grouped convolutions, a NULL scratch or table, an activation range beyond int8. */
size_t mk_conv_wide_s8_dsp_scratch_bytes(const mk_conv_params *p);
mk_status mk_conv_wide_s8_dsp(const mk_conv_params *p, const int8_t *input, const int32_t *weights,
                              const int32_t *table, int8_t *output, int8_t *scratch);
/* mk_conv_wide_s8_dsp with int8 weights (wide_w8_weight_layout: the same channel pairs and padding, each block
 * 4 bytes of channel c then 4 of c + 1, packed in int32 words), widened in the loop: for boards whose flash the
 * int16 weights would crowd. Same table, scratch and access order. */
mk_status mk_conv_wide_w8_s8_dsp(const mk_conv_params *p, const int8_t *input, const int32_t *weights,
                                 const int32_t *table, int8_t *output, int8_t *scratch);

/* CONV_2D without groups, filter_w 3, stride_w 1, dilation_w 1, in_c a multiple of 4 (any filter_h, stride_h,
 * dilation_h, padding): Winograd F(4, 3) along the rows, exact (derivation in src/kernels/dsp/mk_conv_wino_s8_dsp.c).
 * `weights`: mcukit/codegen/ops/_isa.py wino_weight_layout (per channel pair the six transformed positions, each
 * filter_h * in_c int16 in the wide layout); `table`: wino_rq_table (mk_conv_wide_s8_dsp's table with the
 * scale times the inverse of 3 modulo 2^32, padded to an even channel count). scratch:
 * mk_conv_wino_s8_dsp_scratch_bytes(p) bytes, 4-byte aligned.
 * MK_ERR_ARG for other shapes, a NULL scratch or table, an activation range beyond int8. */
size_t mk_conv_wino_s8_dsp_scratch_bytes(const mk_conv_params *p);
mk_status mk_conv_wino_s8_dsp(const mk_conv_params *p, const int8_t *input, const int32_t *weights,
                              const int32_t *table, int8_t *output, int8_t *scratch);

/* FULLY_CONNECTED on weights widened to int16 at compile time (mcukit/codegen/ops/_isa.py wide_weight_layout, as
 * mk_conv_wide_s8_dsp's) and the input offset folded into `bias` (fold_input_offset; never NULL). Same
 * requantization and rounding switch as mk_fully_connected_s8. MK_ERR_ARG for a NULL bias. */
mk_status mk_fully_connected_wide_s8_dsp(const mk_fully_connected_params *p, const int8_t *input,
                                         const int32_t *weights, const int32_t *bias, int8_t *output);

/* DEPTHWISE_CONV_2D, any shape, as mk_depthwise_conv_s8 (4 channels per step when depth_multiplier == 1). */
mk_status mk_depthwise_conv_s8_dsp(const mk_depthwise_conv_params *p, const int8_t *input, const int8_t *weights,
                                   const int32_t *bias, int8_t *output);

/* DEPTHWISE_CONV_2D specialised for 3x3 filters, depth_multiplier 1, dilation 1 (MobileNet/DS-CNN blocks):
 * unrolled taps, no bounds checks for windows inside the image. MK_ERR_ARG for other shapes. */
mk_status mk_depthwise_conv_3x3_s8_dsp(const mk_depthwise_conv_params *p, const int8_t *input,
                                       const int8_t *weights, const int32_t *bias, int8_t *output);

/* The same 3x3 depthwise conv on compile-time forms of its constants (mcukit/codegen/ops/_isa.py dw3x3_forms), for
 * layers whose accumulators the code generator proved small (dw3x3_forms returns None otherwise and the layer
 * keeps mk_depthwise_conv_3x3_s8_dsp). `packed`: per group of 4 channels (the last one zero-padded) 34 int32 words,
 * with e = -shift (the multiplier's right shift; eligible layers have 1 <= e <= 21, so no left shift):
 *  - words 0..3: (bias + input_offset * sum(w)) * 2 for c0..c3 (input offset folded; the 2 is the doubling of the
 *    high multiply), the accumulators' start;
 *  - words 4 + 4j + q (tap pair j: taps 2j, 2j+1 with tap k = 3 fy + fx; channel q): the int16 pair
 *    (w[2j][q] 2, w[2j+1][q] 2);
 *  - words 20, 21: tap 8 as int16 pairs (w[8][c0] 2, w[8][c2] 2) and (w[8][c1] 2, w[8][c3] 2);
 *  - words 22 + 3q, 23 + 3q, 24 + 3q: multiplier, R = 2^(e-1) + output_offset 2^e, e; bit 8 of channel 3's e word
 *    marks the last full group of 4 (shifts by a register read only bits 0-7).
 * Per channel the output is SSAT8((SMMLAR(a, m, R) + (a >> 31)) >> e) clamped to [act_min, act_max] for the
 * accumulator a = 2 acc, which is mk_requantize(acc, m, -e) + output_offset when |a| < 2^30: SMMLAR(a, m, 0) is
 * gemmlowp's doubling high multiply h (see mk_dsp_requantize_short), and floor((h + 2^(e-1) - [a < 0]) / 2^e) is
 * its rounding divide ([a < 0] equals [h < 0] except when h = 0, where both floors are 0). Valid when
 * (|bias + input_offset * sum(w)| + 128 * sum|w|) * 2 < 2^30, 1 <= e <= 21 and the multiplier >= 0 for every
 * channel. multipliers, shifts and output_offset in the params are not read. `scratch`:
 * mk_depthwise_conv_3x3_folded_s8_dsp_scratch_bytes(p) bytes (three padded input rows), any alignment. MK_ERR_ARG
 * for other shapes, an activation range beyond int8 or a NULL scratch. */
size_t mk_depthwise_conv_3x3_folded_s8_dsp_scratch_bytes(const mk_depthwise_conv_params *p);
mk_status mk_depthwise_conv_3x3_folded_s8_dsp(const mk_depthwise_conv_params *p, const int8_t *input,
                                              const int32_t *packed, int8_t *output, int8_t *scratch);

/* The stride_w 1 layers of mk_depthwise_conv_3x3_folded_s8_dsp, on an int16 ring of pixel pairs (two outputs of a
 * channel per step; mk_depthwise_conv_3x3_pairs_s8_dsp.c says why). `packed` (mcukit/codegen/ops/_isa.py
 * dw3x3_pairs_forms, eligible under the folded kernel's conditions): per channel 10 int32 words
 *  - (bias + input_offset * sum(w)) * 2 (the folded, doubled bias, as in the folded kernel);
 *  - per filter row r = 0, 1, 2: the int16 pairs Wa = (w[r][0] 2, w[r][1] 2) and Wb = (w[r][1] 2, w[r][2] 2);
 *  - multiplier, R = 2^(e-1) + output_offset 2^e, e; bit 8 of the last channel's e word marks the last channel;
 * then ceil(in_c / 4) words holding the input zero point -input_offset in every byte (the padding pixel).
 * The output is the folded kernel's; multipliers, shifts and output_offset in the params are not read.
 * `scratch`: mk_depthwise_conv_3x3_pairs_s8_dsp_scratch_bytes(p) bytes, any alignment. MK_ERR_ARG for other shapes
 * (stride_w != 1 included), an activation range beyond int8 or a NULL scratch. */
size_t mk_depthwise_conv_3x3_pairs_s8_dsp_scratch_bytes(const mk_depthwise_conv_params *p);
mk_status mk_depthwise_conv_3x3_pairs_s8_dsp(const mk_depthwise_conv_params *p, const int8_t *input,
                                             const int32_t *packed, int8_t *output, int8_t *scratch);
/* The same for layers with act_min >= output_offset (ReLU, ReLU6; output_offset in the params must be the layer's,
 * MK_ERR_ARG otherwise): an epilogue without the negative accumulators' correction, which only moves outputs that
 * are <= the output zero point and so clamp to act_min either way. A separate entry point so that a model links
 * only the loops it uses. */
mk_status mk_depthwise_conv_3x3_pairs_relu_s8_dsp(const mk_depthwise_conv_params *p, const int8_t *input,
                                                  const int32_t *packed, int8_t *output, int8_t *scratch);

/* FULLY_CONNECTED, as mk_fully_connected_s8 (2 output features x 2 rows per step). */
mk_status mk_fully_connected_s8_dsp(const mk_fully_connected_params *p, const int8_t *input, const int8_t *weights,
                                    const int32_t *bias, int8_t *output);

/* AVERAGE_POOL_2D / MAX_POOL_2D, as mk_avg_pool_s8 / mk_max_pool_s8 (4 channels per 32-bit word). */
mk_status mk_avg_pool_s8_dsp(const mk_pool_params *p, const int8_t *input, int8_t *output);
mk_status mk_max_pool_s8_dsp(const mk_pool_params *p, const int8_t *input, int8_t *output);

/* ADD, as mk_add_s8 (an operand broadcast along the innermost row is rescaled once per row). */
mk_status mk_add_s8_dsp(const mk_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);

/* ADD of two same-shape tensors (one broadcast dimension, both strides 1) on a compile-time table of 515 int32
 * (mcukit/codegen/ops/_isa.py add_lut_table; layout in src/kernels/dsp/mk_add_lut_s8_dsp.c), for layers where the
 * code generator proved the short output requantization exact; as mk_add_s8 otherwise. MK_ERR_ARG for other
 * shapes or an activation range beyond int8. */
mk_status mk_add_lut_s8_dsp(const mk_add_params *p, const int8_t *input1, const int8_t *input2,
                            const int32_t *table, int8_t *output);

#endif /* MK_KERNELS_DSP_H */
