/* Private to the DSP kernels: the int8 dot products every conv-family kernel is built from.
 *
 * Each step reads 4 int8 weights and 4 int8 inputs as 32-bit words and splits them into even bytes (0, 2) and odd
 * bytes (1, 3) with SXTB16 / SXTAB16, so one SMLAD does two multiply-accumulates. The input offset (-zero point)
 * is added by SXTAB16 while the input bytes are widened, which costs nothing extra, keeps x + offset in int16
 * (|x + offset| <= 255) and - unlike folding offset * sum(w) into the bias - lets padded taps be skipped exactly as
 * the portable kernels skip them. Register blocking: 2 output channels x 2 input rows (4 accumulators) per step,
 * so each widened weight pair is used twice and each widened input pair twice.
 *
 * Integer accumulation is exact modulo 2^32 in any order, so these sums equal the portable kernels' sums bit for
 * bit; the requantization afterwards is the shared mk_requantize / mk_requantize_fc.
 */
#ifndef MK_DSP_DOT_H
#define MK_DSP_DOT_H

#include "mcukit/mk_conv.h"
#include "mcukit/mk_dsp_compat.h"
#include "mcukit/mk_kernels_dsp.h"
#include "mcukit/mk_requant.h"
#include "mcukit/mk_types.h"

/* One 4-byte step of mk_dsp_dot_2x2 (4 loads, 8 widenings, 8 SMLADs for 16 MACs). */
static inline void mk_dsp_step_2x2(const int8_t *w0, const int8_t *w1, const int8_t *xa, const int8_t *xb,
                                   int32_t off2, int32_t *a0, int32_t *a1, int32_t *a2, int32_t *a3)
{
    const int32_t wa = mk_read_s8x4(w0);
    const int32_t wb = mk_read_s8x4(w1);
    const int32_t va = mk_read_s8x4(xa);
    const int32_t vb = mk_read_s8x4(xb);
    const int32_t wa_e = __sxtb16(wa), wa_o = mk_sxtb16_ror8(wa);
    const int32_t wb_e = __sxtb16(wb), wb_o = mk_sxtb16_ror8(wb);
    const int32_t va_e = __sxtab16(off2, va), va_o = mk_sxtab16_ror8(off2, va);
    const int32_t vb_e = __sxtab16(off2, vb), vb_o = mk_sxtab16_ror8(off2, vb);
    *a0 = __smlad(wa_o, va_o, __smlad(wa_e, va_e, *a0));
    *a1 = __smlad(wb_o, va_o, __smlad(wb_e, va_e, *a1));
    *a2 = __smlad(wa_o, vb_o, __smlad(wa_e, vb_e, *a2));
    *a3 = __smlad(wb_o, vb_o, __smlad(wb_e, vb_e, *a3));
}

/* acc[0] += w0 . (xa + off), acc[1] += w1 . (xa + off), acc[2] += w0 . (xb + off), acc[3] += w1 . (xb + off). */
static inline void mk_dsp_dot_2x2(const int8_t *w0, const int8_t *w1, const int8_t *xa, const int8_t *xb,
                                  int32_t n, int32_t input_offset, int32_t acc[4])
{
    const int32_t off2 = mk_pair16(input_offset);
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t i = 0;
    /* Two 4-byte steps per iteration: halves the loop overhead, which is a fifth of the body otherwise. */
    for (; i + 8 <= n; i += 8) {
        mk_dsp_step_2x2(w0 + i, w1 + i, xa + i, xb + i, off2, &a0, &a1, &a2, &a3);
        mk_dsp_step_2x2(w0 + i + 4, w1 + i + 4, xa + i + 4, xb + i + 4, off2, &a0, &a1, &a2, &a3);
    }
    for (; i + 4 <= n; i += 4) {
        const int32_t wa = mk_read_s8x4(w0 + i);
        const int32_t wb = mk_read_s8x4(w1 + i);
        const int32_t va = mk_read_s8x4(xa + i);
        const int32_t vb = mk_read_s8x4(xb + i);
        const int32_t wa_e = __sxtb16(wa), wa_o = mk_sxtb16_ror8(wa);
        const int32_t wb_e = __sxtb16(wb), wb_o = mk_sxtb16_ror8(wb);
        const int32_t va_e = __sxtab16(off2, va), va_o = mk_sxtab16_ror8(off2, va);
        const int32_t vb_e = __sxtab16(off2, vb), vb_o = mk_sxtab16_ror8(off2, vb);
        a0 = __smlad(wa_e, va_e, a0);
        a0 = __smlad(wa_o, va_o, a0);
        a1 = __smlad(wb_e, va_e, a1);
        a1 = __smlad(wb_o, va_o, a1);
        a2 = __smlad(wa_e, vb_e, a2);
        a2 = __smlad(wa_o, vb_o, a2);
        a3 = __smlad(wb_e, vb_e, a3);
        a3 = __smlad(wb_o, vb_o, a3);
    }
    for (; i < n; ++i) {
        const int32_t x0 = (int32_t)xa[i] + input_offset, x1 = (int32_t)xb[i] + input_offset;
        a0 += (int32_t)w0[i] * x0;
        a1 += (int32_t)w1[i] * x0;
        a2 += (int32_t)w0[i] * x1;
        a3 += (int32_t)w1[i] * x1;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* acc[0] += w0 . (x + off), acc[1] += w1 . (x + off). */
static inline void mk_dsp_dot_2x1(const int8_t *w0, const int8_t *w1, const int8_t *x, int32_t n,
                                  int32_t input_offset, int32_t acc[2])
{
    const int32_t off2 = mk_pair16(input_offset);
    int32_t a0 = acc[0], a1 = acc[1];
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const int32_t wa = mk_read_s8x4(w0 + i);
        const int32_t wb = mk_read_s8x4(w1 + i);
        const int32_t v = mk_read_s8x4(x + i);
        const int32_t v_e = __sxtab16(off2, v), v_o = mk_sxtab16_ror8(off2, v);
        a0 = __smlad(__sxtb16(wa), v_e, a0);
        a0 = __smlad(mk_sxtb16_ror8(wa), v_o, a0);
        a1 = __smlad(__sxtb16(wb), v_e, a1);
        a1 = __smlad(mk_sxtb16_ror8(wb), v_o, a1);
    }
    for (; i < n; ++i) {
        const int32_t v = (int32_t)x[i] + input_offset;
        a0 += (int32_t)w0[i] * v;
        a1 += (int32_t)w1[i] * v;
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* w . (x + off) for one channel and one row. */
static inline int32_t mk_dsp_dot_1x1(const int8_t *w, const int8_t *x, int32_t n, int32_t input_offset, int32_t acc)
{
    const int32_t off2 = mk_pair16(input_offset);
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const int32_t wv = mk_read_s8x4(w + i);
        const int32_t v = mk_read_s8x4(x + i);
        acc = __smlad(__sxtb16(wv), __sxtab16(off2, v), acc);
        acc = __smlad(mk_sxtb16_ror8(wv), mk_sxtab16_ror8(off2, v), acc);
    }
    for (; i < n; ++i) {
        acc += (int32_t)w[i] * ((int32_t)x[i] + input_offset);
    }
    return acc;
}

/* Depthwise step: four neighbouring channels of one tap, acc[k] += w[k] * (x[k] + off) for k = 0..3. SXTB16 puts
 * channels 0/2 (even bytes) and 1/3 (odd bytes) into halfword pairs; SMLABB/SMLATT multiply matching halfwords
 * (SMLAD would add two channels together). off2 = mk_pair16(input_offset). */
static inline void mk_dsp_dw_mac4(const int8_t *x, const int8_t *w, int32_t off2, int32_t acc[4])
{
    const int32_t xv = mk_read_s8x4(x);
    const int32_t wv = mk_read_s8x4(w);
    const int32_t x_e = __sxtab16(off2, xv), x_o = mk_sxtab16_ror8(off2, xv);
    const int32_t w_e = __sxtb16(wv), w_o = mk_sxtb16_ror8(wv);
    acc[0] = __smlabb(w_e, x_e, acc[0]);
    acc[1] = __smlabb(w_o, x_o, acc[1]);
    acc[2] = __smlatt(w_e, x_e, acc[2]);
    acc[3] = __smlatt(w_o, x_o, acc[3]);
}

/* FULLY_CONNECTED's requantization: mk_requantize_fc with the double-rounding case done by mk_dsp_requantize. */
static inline int32_t mk_dsp_requantize_fc(int32_t x, int32_t multiplier, int32_t shift)
{
#if MK_SINGLE_ROUNDING
    return mk_requantize_fc(x, multiplier, shift);
#else
    return mk_dsp_requantize(x, multiplier, shift);
#endif
}

/* Bias, requantization (double rounding: every conv-family op but FULLY_CONNECTED), output offset and clamp for
 * output channel oc - the portable kernels' epilogue, shared so it cannot drift. */
static inline int8_t mk_dsp_requant_out(int32_t acc, const int32_t *bias, int32_t oc, const int32_t *mult,
                                        const int32_t *shift, int32_t per_channel, int32_t output_offset,
                                        int32_t act_min, int32_t act_max)
{
    if (bias != NULL) {
        acc += bias[oc];
    }
    const int32_t c = per_channel ? oc : 0;
    acc = mk_dsp_requantize(acc, mult[c], shift[c]) + output_offset;
    return (int8_t)MK_CLAMP(acc, act_min, act_max);
}

/* ---- GEMM on compile-time re-laid-out weights with the input offset folded into the bias ------------------------
 *
 * Layout (mcukit/codegen/ops/_isa.py gemm_weight_layout): output channels in pairs; a pair's k-byte rows are
 * interleaved in 4-byte blocks - w[c][0..3], w[c+1][0..3], w[c][4..7], w[c+1][4..7], ... - then the k % 4 tail
 * bytes as w[c][j], w[c+1][j]; an odd last channel is its plain row. So the inner loop walks one weight pointer
 * forward, and with bias'[c] = bias[c] + input_offset * sum(w[c]) (folded at compile time, modulo 2^32 like the
 * accumulator) the inputs are widened by a plain SXTB16: sum(w * x) + bias' == sum(w * (x + offset)) + bias.
 * Both free registers, which is what lets the 2x2 block run without spilling accumulators to the stack. */

/* acc[0..1] += channel pair . xa, acc[2..3] += channel pair . xb. wp: the pair's interleaved block. */
static inline void mk_dsp_pair_dot_2x2(const int8_t *wp, const int8_t *xa, const int8_t *xb, int32_t k,
                                       int32_t acc[4])
{
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    const int8_t *end = xa + (k & ~3);
    while (xa != end) {
        const int32_t wa = mk_read_s8x4(wp), wb = mk_read_s8x4(wp + 4);
        const int32_t va = mk_read_s8x4(xa), vb = mk_read_s8x4(xb);
        wp += 8;
        xa += 4;
        xb += 4;
        const int32_t va_e = __sxtb16(va), va_o = mk_sxtb16_ror8(va);
        const int32_t vb_e = __sxtb16(vb), vb_o = mk_sxtb16_ror8(vb);
        const int32_t wa_e = __sxtb16(wa), wa_o = mk_sxtb16_ror8(wa);
        a0 = __smlad(wa_e, va_e, a0);
        a2 = __smlad(wa_e, vb_e, a2);
        a0 = __smlad(wa_o, va_o, a0);
        a2 = __smlad(wa_o, vb_o, a2);
        const int32_t wb_e = __sxtb16(wb), wb_o = mk_sxtb16_ror8(wb);
        a1 = __smlad(wb_e, va_e, a1);
        a3 = __smlad(wb_e, vb_e, a3);
        a1 = __smlad(wb_o, va_o, a1);
        a3 = __smlad(wb_o, vb_o, a3);
    }
    for (int32_t j = 0; j < (k & 3); ++j) {
        const int32_t w0 = wp[2 * j], w1 = wp[2 * j + 1];
        a0 += w0 * xa[j];
        a1 += w1 * xa[j];
        a2 += w0 * xb[j];
        a3 += w1 * xb[j];
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* acc[0..1] = channel pair . x. */
static inline void mk_dsp_pair_dot_2x1(const int8_t *wp, const int8_t *x, int32_t k, int32_t acc[2])
{
    int32_t a0 = 0, a1 = 0;
    const int8_t *end = x + (k & ~3);
    while (x != end) {
        const int32_t wa = mk_read_s8x4(wp), wb = mk_read_s8x4(wp + 4);
        const int32_t v = mk_read_s8x4(x);
        wp += 8;
        x += 4;
        const int32_t v_e = __sxtb16(v), v_o = mk_sxtb16_ror8(v);
        a0 = __smlad(mk_sxtb16_ror8(wa), v_o, __smlad(__sxtb16(wa), v_e, a0));
        a1 = __smlad(mk_sxtb16_ror8(wb), v_o, __smlad(__sxtb16(wb), v_e, a1));
    }
    for (int32_t j = 0; j < (k & 3); ++j) {
        a0 += wp[2 * j] * x[j];
        a1 += wp[2 * j + 1] * x[j];
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* Bias' (never NULL: the folded bias), requantization, output offset and clamp. */
static inline int8_t mk_dsp_out_folded(int32_t acc, int32_t bias, int32_t mult, int32_t shift, int32_t output_offset,
                                       int32_t act_min, int32_t act_max)
{
    acc = mk_dsp_requantize(acc + bias, mult, shift) + output_offset;
    return (int8_t)MK_CLAMP(acc, act_min, act_max);
}

/* out_c outputs for one row xa (xb == NULL) or two rows xa, xb of k bytes; row xa's outputs go to out[0..out_c),
 * row xb's to out[out_c..2 out_c). Weights in the pair layout above, bias folded. */
static inline void mk_dsp_gemm_rows(const mk_conv_params *p, const int8_t *weights, const int32_t *bias, int32_t k,
                                    const int8_t *xa, const int8_t *xb, int8_t *out)
{
    const int32_t out_c = p->out_c;
    const int32_t step = p->per_channel ? 1 : 0;
    const int32_t *mult = p->multipliers, *shift = p->shifts;
    const int32_t oo = p->output_offset, lo = p->act_min, hi = p->act_max;
    int8_t *out_b = out + out_c;
    const int8_t *wp = weights;
    int32_t oc = 0;
    for (; oc + 2 <= out_c; oc += 2, wp += 2 * k) {
        int32_t acc[4];
        const int32_t m0 = mult[oc * step], m1 = mult[(oc + 1) * step];
        const int32_t s0 = shift[oc * step], s1 = shift[(oc + 1) * step];
        if (xb != NULL) {
            mk_dsp_pair_dot_2x2(wp, xa, xb, k, acc);
            out_b[oc] = mk_dsp_out_folded(acc[2], bias[oc], m0, s0, oo, lo, hi);
            out_b[oc + 1] = mk_dsp_out_folded(acc[3], bias[oc + 1], m1, s1, oo, lo, hi);
        } else {
            mk_dsp_pair_dot_2x1(wp, xa, k, acc);
        }
        out[oc] = mk_dsp_out_folded(acc[0], bias[oc], m0, s0, oo, lo, hi);
        out[oc + 1] = mk_dsp_out_folded(acc[1], bias[oc + 1], m1, s1, oo, lo, hi);
    }
    if (oc < out_c) { /* odd channel count: the last row is plain, offset folded like the others */
        const int32_t m = mult[oc * step], s = shift[oc * step];
        out[oc] = mk_dsp_out_folded(mk_dsp_dot_1x1(wp, xa, k, 0, 0), bias[oc], m, s, oo, lo, hi);
        if (xb != NULL) {
            out_b[oc] = mk_dsp_out_folded(mk_dsp_dot_1x1(wp, xb, k, 0, 0), bias[oc], m, s, oo, lo, hi);
        }
    }
}

/* ---- The short GEMM epilogue (mk_conv_wide_s8_dsp) --------------------------------------------------------------------
 *
 * For layers whose accumulators the code generator proved small (gemm_rq_table in mcukit/codegen/ops/_isa.py), the
 * bias, requantization, output offset and the int8 part of the clamp come from a table of MK_DSP_RQ_WORDS int32 per
 * output channel: { bias' * 2^lsh, 2^lsh, multiplier, 2^e + output_offset * 2^(e+1), e + 1 } with lsh = left + 1,
 * left = max(shift, 0), e = max(-shift, 0) and bias' the folded bias. Valid when
 * (|bias'| + 128 * sum|w|) * 2^lsh < 2^30, left <= 7 and e <= 21 for every channel. Then, per output:
 *  - MLA: a = acc * 2^lsh + bias' * 2^lsh = (acc + bias') << lsh, exact (|a| < 2^30);
 *  - SMMULR and the rounding shift of mk_dsp_requantize_short (proof in mk_kernels_dsp.h), with the output offset
 *    added before the shift as output_offset * 2^(e+1): floor((y + o 2^(e+1)) / 2^(e+1)) = floor(y / 2^(e+1)) + o
 *    exactly, and |2h + 2^e + 128 * 2^(e+1)| < 2^30 + 2^30 for e <= 21, so nothing overflows;
 *  - SSAT #8: the clamp to int8, which every activation range lies inside;
 * and four channels' bytes are packed into one word, clamped to [act_min, act_max] with SSUB8/SEL (skipped when the
 * range is all of int8) and stored with one STR. About 8 instructions per output instead of ~25. */
#define MK_DSP_RQ_WORDS 5

/* SMMULR: the high word of a * b, rounded (+2^31 before the shift). */
static inline int32_t mk_dsp_smmulr(int32_t a, int32_t b)
{
#if MK_DSP_NATIVE
    int32_t h;
    __asm__("smmulr %0, %1, %2" : "=r"(h) : "r"(a), "r"(b));
    return h;
#else
    return (int32_t)(((int64_t)a * (int64_t)b + (1LL << 31)) >> 32);
#endif
}

/* The rounding shift of mk_dsp_requantize_short on h = SMMULR(2a, m), with rnd = 2^e + output_offset 2^(e+1) and
 * rsh = e + 1, saturated to int8. */
static inline int32_t mk_dsp_rq_tail8(int32_t h, int32_t rnd, int32_t rsh)
{
    return __ssat((h * 2 + rnd + (h >> 31)) >> rsh, 8);
}

/* requantize(acc + bias) + output_offset, saturated to int8, for the channel whose table row is t. */
static inline int32_t mk_dsp_rq8(int32_t acc, const int32_t *t)
{
    const int32_t a = (int32_t)((uint32_t)acc * (uint32_t)t[1] + (uint32_t)t[0]);
    return mk_dsp_rq_tail8(mk_dsp_smmulr(a, t[2]), t[3], t[4]);
}

/* Two int8-range values as the low two bytes of a word (upper bytes: don't care). */
static inline uint32_t mk_dsp_bytes2(int32_t r0, int32_t r1)
{
    return ((uint32_t)r0 & 0xFFu) | (((uint32_t)r1 & 0xFFu) << 8);
}

/* Clamp four packed int8 to [lo, hi] (lo4, hi4: the bounds in every byte) and store them. */
static inline void mk_dsp_store4(int8_t *out, uint32_t v, int32_t clamp, int32_t lo4, int32_t hi4)
{
    if (clamp) {
        v = (uint32_t)mk_min8(mk_max8((int32_t)v, lo4), hi4);
    }
    mk_write_s8x4(out, (int32_t)v);
}

/* n bytes from src to dst, n small (a window row or one tap of a thin input): words while they last, then bytes.
 * Larger runs go to the library routine.
 * Inline because the library memcpy/memset calls cost more than the copy for the 1-16 bytes of a tap: on DS-CNN's
 * first layer (in_c = 1, 10x4) they were a quarter of the layer. Unaligned word accesses are allowed on the cores
 * with the DSP extension (and mk_read_s8x4 is memcpy-based on the host). */
#define MK_DSP_SMALL_COPY 32 /* above this many bytes the library routines win */

static inline void mk_dsp_copy_small(int8_t *dst, const int8_t *src, size_t n)
{
    if (n > MK_DSP_SMALL_COPY) {
        memcpy(dst, src, n);
        return;
    }
    for (; n >= 4; n -= 4, dst += 4, src += 4) {
        mk_write_s8x4(dst, mk_read_s8x4(src));
    }
    for (; n > 0; --n) {
        *dst++ = *src++;
    }
}

static inline void mk_dsp_fill_small(int8_t *dst, int8_t value, size_t n)
{
    if (n > MK_DSP_SMALL_COPY) {
        memset(dst, value, n);
        return;
    }
    const int32_t word = mk_splat8(value);
    for (; n >= 4; n -= 4, dst += 4) {
        mk_write_s8x4(dst, word);
    }
    for (; n > 0; --n) {
        *dst++ = value;
    }
}

/* The receptive field of output pixel (b, oy, ox) as one row of filter_h * filter_w * in_c bytes; taps outside
 * the image are written as `pad` (the input zero point). */
static inline void mk_dsp_im2col_row(const mk_conv_params *p, const int8_t *input, int32_t b, int32_t oy,
                                     int32_t ox, int8_t pad, int8_t *dst)
{
    const size_t c = (size_t)p->in_c;
    const size_t tap_row = (size_t)p->filter_w * c;
    const int32_t y0 = oy * p->stride_h - p->pad_top;
    const int32_t x0 = ox * p->stride_w - p->pad_left;
    const int32_t span_w = (p->filter_w - 1) * p->dilation_w + 1;
    const int whole_row = p->dilation_w == 1 && x0 >= 0 && x0 + span_w <= p->in_w;
    for (int32_t fy = 0; fy < p->filter_h; ++fy, dst += tap_row) {
        const int32_t iy = y0 + fy * p->dilation_h;
        if (iy < 0 || iy >= p->in_h) {
            mk_dsp_fill_small(dst, pad, tap_row);
            continue;
        }
        const int8_t *row = input + (((size_t)b * (size_t)p->in_h + (size_t)iy) * (size_t)p->in_w) * c;
        if (whole_row) { /* the common case: the window's row is one contiguous run of the input */
            mk_dsp_copy_small(dst, row + (size_t)x0 * c, tap_row);
            continue;
        }
        for (int32_t fx = 0; fx < p->filter_w; ++fx) {
            const int32_t ix = x0 + fx * p->dilation_w;
            if (ix < 0 || ix >= p->in_w) {
                mk_dsp_fill_small(dst + (size_t)fx * c, pad, c);
            } else {
                mk_dsp_copy_small(dst + (size_t)fx * c, row + (size_t)ix * c, c);
            }
        }
    }
}

/* The im2col rows of output pixels px and px + 1 (flattened over batch, rows, columns) into col_a and col_b, for the
 * two-pixel GEMMs; returns 1 when pixel px + 1 exists (else only col_a is written). */
static inline int mk_dsp_im2col_pair(const mk_conv_params *p, const int8_t *input, int32_t px, int32_t pixels,
                                     int8_t pad, int8_t *col_a, int8_t *col_b)
{
    const int two = px + 1 < pixels;
    for (int32_t j = 0; j <= two; ++j) {
        const int32_t q = px + j;
        const int32_t ox = q % p->out_w;
        const int32_t oy = (q / p->out_w) % p->out_h;
        const int32_t b = q / (p->out_w * p->out_h);
        mk_dsp_im2col_row(p, input, b, oy, ox, pad, j ? col_b : col_a);
    }
    return two;
}

#endif /* MK_DSP_DOT_H */
