/* DEPTHWISE_CONV_2D, 3x3 filter, depth multiplier 1, no dilation, with Helium on compile-time forms.
 *
 * Eight channels per step: each tap loads 8 input bytes widened to int16 (VLDRB.S16) and the tap's 8 int16 weights,
 * and VMULLB.S16 / VMULLT.S16 give the int32 products of the even and odd channels, added to two int32x4
 * accumulators (6 instructions for 8 MACs; Helium has no int32 vector multiply-accumulate, and int16 sums of 9
 * int8 x int8 products could overflow).
 *
 * Forms (mcukit/codegen/ops/_isa.py mve_dw3x3_forms):
 *  - weights: int16, channels zero-padded to a multiple of 8, per group of 8 channels the 9 taps' 8 weights in
 *    tap order (fy, fx), so one pointer walks them;
 *  - table: per group of 8 channels MK_MVE_DW_RQ_WORDS = 40 int32, five pairs of 4-lane rows (even channels c,
 *    c+2, c+4, c+6, then odd ones) of bias' = bias + input_offset * sum(w) (the input offset folded), left =
 *    max(shift, 0), multiplier, emask = (shift < 0 ? -1 : 0), rneg = min(shift, 0).
 * Padding: a tap outside the image reads the input zero point (a constant vector): w * zp plus its share
 * input_offset * w of the folded bias is 0, as when the portable kernel skips the tap. So the accumulators equal
 * the portable kernel's (integer sums, exact in any order) and the requantization is mk_requantize lane by lane
 * (derivation in mk_mve_gemm.h). Windows wholly inside the image skip the per-tap checks. Pixels in raster order,
 * each finished before the next (the planner's in-place lag 0). */
#include "mcukit/mk_kernels_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>

#define MK_MVE_DW_RQ_WORDS 40

/* Requantize the even and odd channels' accumulators of one group, narrow them back into channel order (VMOVNB /
 * VMOVNT) and store the group's bytes (lanes enabled by pr). */
static inline void mk_mve_dw_store(int32x4_t ae, int32x4_t ao, const int32_t *t, int32_t oo, int32x4_t lo,
                                   int32x4_t hi, int8_t *out, mve_pred16_t pr, int partial)
{
    ae = vaddq_s32(ae, vldrwq_s32(t));
    ao = vaddq_s32(ao, vldrwq_s32(t + 4));
    ae = vshlq_s32(ae, vldrwq_s32(t + 8));
    ao = vshlq_s32(ao, vldrwq_s32(t + 12));
    ae = vqrdmulhq_s32(ae, vldrwq_s32(t + 16));
    ao = vqrdmulhq_s32(ao, vldrwq_s32(t + 20));
    ae = vaddq_s32(ae, vandq_s32(vshrq_n_s32(ae, 31), vldrwq_s32(t + 24)));
    ao = vaddq_s32(ao, vandq_s32(vshrq_n_s32(ao, 31), vldrwq_s32(t + 28)));
    ae = vrshlq_s32(ae, vldrwq_s32(t + 32));
    ao = vrshlq_s32(ao, vldrwq_s32(t + 36));
    ae = vminq_s32(vmaxq_s32(vaddq_n_s32(ae, oo), lo), hi);
    ao = vminq_s32(vmaxq_s32(vaddq_n_s32(ao, oo), lo), hi);
    int16x8_t n = vmovnbq_s32(vuninitializedq_s16(), ae);
    n = vmovntq_s32(n, ao);
    if (partial) {
        vstrbq_p_s16(out, n, pr);
    } else {
        vstrbq_s16(out, n);
    }
}

/* 8 channels of 3 taps along a window row into the even/odd accumulators: x at q, q + pix, q + 2 pix. */
#define MK_MVE_DW_ROW(q, LOAD)                                                                                      \
    do {                                                                                                            \
        const int8_t *q_ = (q);                                                                                     \
        _Pragma("GCC unroll 3") for (int fx_ = 0; fx_ < 3; ++fx_, q_ += pix, wp += 8) {                                                     \
            const int16x8_t x_ = LOAD(q_);                                                                          \
            const int16x8_t w_ = vldrhq_s16(wp);                                                                    \
            ae = vaddq_s32(ae, vmullbq_int_s16(x_, w_));                                                            \
            ao = vaddq_s32(ao, vmulltq_int_s16(x_, w_));                                                            \
        }                                                                                                           \
    } while (0)

/* One tap of a whole group inside the assembly below: 8 inputs widened to int16, 8 int16 weights (the pointer steps
 * to the next tap), even/odd products into the accumulators. */
#define MK_MVE_DW_TAP(PTR)                                                                                          \
    "vldrb.s16 q0, [" PTR "]\n\t"                                                                                   \
    "vldrh.16 q1, [%[wp]], #16\n\t"                                                                                 \
    "vmullb.s16 q2, q0, q1\n\t"                                                                                     \
    "vmullt.s16 q3, q0, q1\n\t"                                                                                     \
    "vadd.i32 %q[ae], %q[ae], q2\n\t"                                                                               \
    "vadd.i32 %q[ao], %q[ao], q3\n\t"

/* The 9 taps of one whole group of 8 channels; q: the window's top-left input pixel + the group's first channel.
 * In assembly because GCC hoists the 9 loads and spills them to the stack (about twice the instructions): here
 * each tap is an address add, 2 loads, 2 widening multiplies and 2 adds (the first tap initializes). */
static inline void mk_mve_dw_group9(const int8_t *q, size_t row, size_t pix, const int16_t **wpp, int32x4_t *pe,
                                    int32x4_t *po)
{
    const int16_t *wp = *wpp;
    const int8_t *r;
    int32x4_t ae, ao;
    __asm__("vldrb.s16 q0, [%[q]]\n\t"
            "vldrh.16 q1, [%[wp]], #16\n\t"
            "add %[r], %[q], %[pix]\n\t"
            "vmullb.s16 %q[ae], q0, q1\n\t"
            "vmullt.s16 %q[ao], q0, q1\n\t" MK_MVE_DW_TAP("%[r]") "add %[r], %[r], %[pix]\n\t" MK_MVE_DW_TAP("%[r]")
            "add %[q], %[q], %[row]\n\t" MK_MVE_DW_TAP("%[q]") "add %[r], %[q], %[pix]\n\t" MK_MVE_DW_TAP("%[r]")
            "add %[r], %[r], %[pix]\n\t" MK_MVE_DW_TAP("%[r]") "add %[q], %[q], %[row]\n\t" MK_MVE_DW_TAP("%[q]")
            "add %[r], %[q], %[pix]\n\t" MK_MVE_DW_TAP("%[r]") "add %[r], %[r], %[pix]\n\t" MK_MVE_DW_TAP("%[r]")
            : [ae] "=&w"(ae), [ao] "=&w"(ao), [q] "+r"(q), [r] "=&r"(r), [wp] "+r"(wp)
            : [row] "r"(row), [pix] "r"(pix)
            : "q0", "q1", "q2", "q3", "memory");
    *wpp = wp;
    *pe = ae;
    *po = ao;
}

/* An output pixel whose window lies inside the image: r0 = its top-left input pixel. */
static void mk_mve_dw_inner(const int8_t *r0, size_t row, size_t pix, int32_t in_c, const int16_t *w16,
                            const int32_t *table, int32_t oo, int32x4_t lo, int32x4_t hi, int8_t *out)
{
    const int16_t *wp = w16;
    const int32_t *t = table;
    const int32_t whole = in_c & ~7;
    int32_t c = 0;
    for (; c < whole; c += 8, t += MK_MVE_DW_RQ_WORDS) {
        int32x4_t ae, ao;
        mk_mve_dw_group9(r0 + c, row, pix, &wp, &ae, &ao);
        mk_mve_dw_store(ae, ao, t, oo, lo, hi, out + c, 0, 0);
    }
    if (c < in_c) { /* the last group: only its live channels are read and stored (its weights are zero-padded) */
        const mve_pred16_t pr = vctp16q((uint32_t)(in_c - c));
        int32x4_t ae = vdupq_n_s32(0), ao = vdupq_n_s32(0);
        const int8_t *q = r0 + c;
#define MK_LOAD_(ptr) vldrbq_z_s16(ptr, pr)
        MK_MVE_DW_ROW(q, MK_LOAD_);
        MK_MVE_DW_ROW(q + row, MK_LOAD_);
        MK_MVE_DW_ROW(q + 2 * row, MK_LOAD_);
#undef MK_LOAD_
        mk_mve_dw_store(ae, ao, t, oo, lo, hi, out + c, pr, 1);
    }
}

/* An output pixel whose window reaches outside the image: tap[k] points at tap k's input pixel, or is NULL there
 * (then the tap reads the zero point). */
static void mk_mve_dw_border(const int8_t *const tap[9], int32_t in_c, int16x8_t zpv, const int16_t *w16,
                             const int32_t *table, int32_t oo, int32x4_t lo, int32x4_t hi, int8_t *out)
{
    const int16_t *wp = w16;
    const int32_t *t = table;
    for (int32_t c = 0; c < in_c; c += 8, t += MK_MVE_DW_RQ_WORDS) {
        const mve_pred16_t pr = vctp16q((uint32_t)(in_c - c));
        int32x4_t ae = vdupq_n_s32(0), ao = vdupq_n_s32(0);
#pragma GCC unroll 9
        for (int k = 0; k < 9; ++k, wp += 8) {
            const int16x8_t x = tap[k] == NULL ? zpv : vldrbq_z_s16(tap[k] + c, pr);
            const int16x8_t w = vldrhq_s16(wp);
            ae = vaddq_s32(ae, vmullbq_int_s16(x, w));
            ao = vaddq_s32(ao, vmulltq_int_s16(x, w));
        }
        mk_mve_dw_store(ae, ao, t, oo, lo, hi, out + c, pr, 1);
    }
}

mk_status mk_depthwise_conv_3x3_s8_mve(const mk_depthwise_conv_params *p, const int8_t *input, const int16_t *w16,
                                       const int32_t *table, int8_t *output)
{
    if (p->filter_h != 3 || p->filter_w != 3 || p->depth_multiplier != 1 || p->dilation_h != 1 ||
        p->dilation_w != 1 || p->out_c != p->in_c || p->in_c < 1 || w16 == NULL || table == NULL ||
        p->act_min < -128 || p->act_max > 127) {
        return MK_ERR_ARG;
    }
    const int32_t c = p->in_c;
    const size_t pix = (size_t)c;
    const size_t row = (size_t)p->in_w * pix;
    const int16x8_t zpv = vdupq_n_s16((int16_t)(-p->input_offset));
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    const int32_t oo = p->output_offset;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)p->in_h * row;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            const int rows_in = y0 >= 0 && y0 + 3 <= p->in_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox, output += pix) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                if (rows_in && x0 >= 0 && x0 + 3 <= p->in_w) {
                    mk_mve_dw_inner(in_b + (size_t)y0 * row + (size_t)x0 * pix, row, pix, c, w16, table, oo, lo, hi,
                                    output);
                    continue;
                }
                const int8_t *tap[9];
                for (int32_t fy = 0; fy < 3; ++fy) {
                    const int32_t iy = y0 + fy;
                    for (int32_t fx = 0; fx < 3; ++fx) {
                        const int32_t ix = x0 + fx;
                        const int inside = iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w;
                        tap[3 * fy + fx] = inside ? in_b + (size_t)iy * row + (size_t)ix * pix : NULL;
                    }
                }
                mk_mve_dw_border(tap, c, zpv, w16, table, oo, lo, hi, output);
            }
        }
    }
    return MK_OK;
}
#else
typedef int mk_depthwise_conv_3x3_s8_mve_unavailable; /* not an MVE target: the kernel does not exist here */
#endif
