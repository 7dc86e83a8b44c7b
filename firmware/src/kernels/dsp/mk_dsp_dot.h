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

#include "mcukit/mk_dsp_compat.h"
#include "mcukit/mk_requant.h"
#include "mcukit/mk_types.h"

/* acc[0] += w0 . (xa + off), acc[1] += w1 . (xa + off), acc[2] += w0 . (xb + off), acc[3] += w1 . (xb + off). */
static inline void mk_dsp_dot_2x2(const int8_t *w0, const int8_t *w1, const int8_t *xa, const int8_t *xb,
                                  int32_t n, int32_t input_offset, int32_t acc[4])
{
    const int32_t off2 = mk_pair16(input_offset);
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const int32_t wa = mk_read_s8x4(w0 + i);
        const int32_t wb = mk_read_s8x4(w1 + i);
        const int32_t va = mk_read_s8x4(xa + i);
        const int32_t vb = mk_read_s8x4(xb + i);
        const int32_t wa_e = __sxtb16(wa), wa_o = __sxtb16(mk_ror(wa, 8));
        const int32_t wb_e = __sxtb16(wb), wb_o = __sxtb16(mk_ror(wb, 8));
        const int32_t va_e = __sxtab16(off2, va), va_o = __sxtab16(off2, mk_ror(va, 8));
        const int32_t vb_e = __sxtab16(off2, vb), vb_o = __sxtab16(off2, mk_ror(vb, 8));
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
        const int32_t v_e = __sxtab16(off2, v), v_o = __sxtab16(off2, mk_ror(v, 8));
        a0 = __smlad(__sxtb16(wa), v_e, a0);
        a0 = __smlad(__sxtb16(mk_ror(wa, 8)), v_o, a0);
        a1 = __smlad(__sxtb16(wb), v_e, a1);
        a1 = __smlad(__sxtb16(mk_ror(wb, 8)), v_o, a1);
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
        acc = __smlad(__sxtb16(mk_ror(wv, 8)), __sxtab16(off2, mk_ror(v, 8)), acc);
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
    const int32_t x_e = __sxtab16(off2, xv), x_o = __sxtab16(off2, mk_ror(xv, 8));
    const int32_t w_e = __sxtb16(wv), w_o = __sxtb16(mk_ror(wv, 8));
    acc[0] = __smlabb(w_e, x_e, acc[0]);
    acc[1] = __smlabb(w_o, x_o, acc[1]);
    acc[2] = __smlatt(w_e, x_e, acc[2]);
    acc[3] = __smlatt(w_o, x_o, acc[3]);
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
    acc = mk_requantize(acc, mult[c], shift[c]) + output_offset;
    return (int8_t)MK_CLAMP(acc, act_min, act_max);
}

#endif /* MK_DSP_DOT_H */
