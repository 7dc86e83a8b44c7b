/* Private to the Helium GEMM conv kernels (mk_conv_1x1_s8_mve, mk_conv_im2col_s8_mve): the register-blocked int8
 * GEMM, its vectorized requantization epilogue and the im2col fill.
 *
 * Weight layout (compile time, mcukit/codegen/ops/_isa.py mve_gemm_weight_layout): each OHWI row of k bytes is
 * zero-padded to kp = k rounded up to 16, out_c is zero-padded to a multiple of 4 channels, and each group of 4
 * channels stores its rows interleaved in 16-byte chunks - w[c][0:16], w[c+1][0:16], w[c+2][0:16], w[c+3][0:16],
 * w[c][16:32], ... - so the inner loop walks one pointer. The zero weights make the loop predication-free: whatever
 * the input holds in the padding lanes, it adds 0. The bias is the folded one, bias + input_offset * sum(w)
 * modulo 2^32 (fold_input_offset), so the inputs are used as they are (VMLADAVA.S8 sums int8 x int8 products).
 *
 * Block: 4 output channels x 2 pixels per step of 16 bytes - 2 input loads, 4 weight loads, 8 VMLADAVA for 128
 * MACs. Integer accumulation is exact modulo 2^32 in any order, so the sums equal the portable kernel's.
 *
 * Epilogue: the 4 channels of a pixel are requantized as one int32x4 vector, equal to mk_requantize lane by lane:
 *  - x = (acc + bias') << left (VSHL by the per-lane shift, wrapping like the portable (uint32_t)x << left);
 *  - VQRDMULH.S32 x, m = sat(floor((2 x m + 2^31) / 2^32)) = floor((x m + 2^30) / 2^31) with the one saturating
 *    case INT32_MIN * INT32_MIN: exactly gemmlowp's SaturatingRoundingDoublingHighMul (for a negative product
 *    gemmlowp truncates (p + 1 - 2^30) / 2^31 toward zero, which is the same floor; mk_kernels_dsp.h derives it);
 *  - the rounding divide by 2^e (ties away from zero): VRSHL by -e computes floor((h + 2^(e-1)) / 2^e) in exact
 *    arithmetic (ties up); adding -1 to a negative h first (only when e > 0) turns negative ties down and changes
 *    nothing else, and cannot overflow: with m < 2^31, h >= -2^31 + 1;
 *  - + output_offset, clamp to [act_min, act_max], VSTRB.32 narrows the 4 lanes to 4 bytes (predicated for the
 *    last group when out_c is not a multiple of 4).
 */
#ifndef MK_MVE_GEMM_H
#define MK_MVE_GEMM_H

#include <arm_mve.h>
#include <string.h>

#include "mcukit/mk_conv.h"
#include "mcukit/mk_types.h"

/* The per-group requantization constants of 4 output channels. */
typedef struct {
    int32x4_t bias, left, mult, rneg, emask;
} mk_mve_rq4;

static inline mk_mve_rq4 mk_mve_rq4_load(const mk_conv_params *p, const int32_t *bias, int32_t oc)
{
    const mve_pred16_t pr = vctp32q((uint32_t)(p->out_c - oc));
    mk_mve_rq4 r;
    int32x4_t shift;
    r.bias = vldrwq_z_s32(bias + oc, pr);
    if (p->per_channel) {
        r.mult = vldrwq_z_s32(p->multipliers + oc, pr);
        shift = vldrwq_z_s32(p->shifts + oc, pr);
    } else {
        r.mult = vdupq_n_s32(p->multipliers[0]);
        shift = vdupq_n_s32(p->shifts[0]);
    }
    r.left = vmaxq_s32(shift, vdupq_n_s32(0));
    r.rneg = vminq_s32(shift, vdupq_n_s32(0));
    r.emask = vshrq_n_s32(r.rneg, 31); /* -1 where e > 0 */
    return r;
}

/* Four int32 in one vector: two VMOV Qd[2], Qd[0], Rt, Rt2 (GCC's lane inserts take four). */
static inline int32x4_t mk_mve_vec4(int32_t a, int32_t b, int32_t c, int32_t d)
{
    int32x4_t v;
    __asm__("vmov %q0[2], %q0[0], %1, %2\n\t"
            "vmov %q0[3], %q0[1], %3, %4"
            : "=w"(v)
            : "r"(a), "r"(c), "r"(b), "r"(d));
    return v;
}

/* mk_requantize(acc + bias, m, shift) + output_offset, clamped, stored as bytes (lanes enabled by pr). */
static inline void mk_mve_rq4_store(int32x4_t acc, const mk_mve_rq4 *r, int32_t output_offset, int32_t act_min,
                                    int32_t act_max, int8_t *out, mve_pred16_t pr)
{
    int32x4_t x = vshlq_s32(vaddq_s32(acc, r->bias), r->left);
    x = vqrdmulhq_s32(x, r->mult);
    x = vaddq_s32(x, vandq_s32(vshrq_n_s32(x, 31), r->emask));
    x = vrshlq_s32(x, r->rneg);
    x = vaddq_n_s32(x, output_offset);
    x = vminq_s32(vmaxq_s32(x, vdupq_n_s32(act_min)), vdupq_n_s32(act_max));
    vstrbq_p_s32(out, x, pr);
}

/* One 16-byte step of the 4x2 block; OP is vmladav (first step: sets the accumulators) or vmladava. The three
 * weight chunks at +16/+32/+48 are loaded first and the one at +0 last, with the post-increment to the next step. */
#define MK_MVE_STEP_4X2(OP)                                                                                         \
    "vldrb.8 q0, [%[xa]], #16\n\t"                                                                                  \
    "vldrb.8 q1, [%[xb]], #16\n\t"                                                                                  \
    "vldrb.8 q2, [%[wp], #16]\n\t"                                                                                  \
    "vldrb.8 q3, [%[wp], #32]\n\t" OP ".s8 %[a1], q2, q0\n\t" OP ".s8 %[b1], q2, q1\n\t"                          \
    "vldrb.8 q2, [%[wp], #48]\n\t" OP ".s8 %[a2], q3, q0\n\t" OP ".s8 %[b2], q3, q1\n\t"                          \
    "vldrb.8 q3, [%[wp]], #64\n\t" OP ".s8 %[a3], q2, q0\n\t" OP ".s8 %[b3], q2, q1\n\t" OP                      \
    ".s8 %[a0], q3, q0\n\t" OP ".s8 %[b0], q3, q1\n\t"

/* The 4x2 block: acc[j] = channel j's weights . row a, acc[4 + j] = the same with row b, over `chunks` >= 1 whole
 * 16-byte steps. wp: the group's interleaved weights. Written in assembly because 8 accumulators are all of
 * VMLADAVA's even registers (r0, r2, ..., r12, lr): GCC's allocator shuffles them through spare registers when
 * the loop is in intrinsics (22 instructions per step instead of 16); here the loop counter is an ordinary
 * register (SUBS/BNE: LE would need lr) and the first step initializes the accumulators (VMLADAV). */
static inline void mk_mve_block_4x2(const int8_t *wp, const int8_t *xa, const int8_t *xb, int32_t chunks,
                                    int32_t acc[8])
{
    int32_t a0, a1, a2, a3, b0, b1, b2, b3;
    __asm__ volatile(MK_MVE_STEP_4X2("vmladav") "subs %[n], %[n], #1\n\t"
                                                "beq 2f\n"
                                                "1:\n\t" MK_MVE_STEP_4X2("vmladava") "subs %[n], %[n], #1\n\t"
                                                "bne 1b\n"
                                                "2:\n"
                     : [a0] "=&Te"(a0), [a1] "=&Te"(a1), [a2] "=&Te"(a2), [a3] "=&Te"(a3), [b0] "=&Te"(b0),
                       [b1] "=&Te"(b1), [b2] "=&Te"(b2), [b3] "=&Te"(b3), [wp] "+r"(wp), [xa] "+r"(xa),
                       [xb] "+r"(xb), [n] "+r"(chunks)
                     :
                     : "q0", "q1", "q2", "q3", "memory", "cc");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    acc[4] = b0;
    acc[5] = b1;
    acc[6] = b2;
    acc[7] = b3;
}

/* All out_c outputs of rows xa and xb (xb may equal xa: then only row a's outputs are stored, `two` == 0). Row a's
 * outputs go to out[0..out_c), row b's to out[out_c..2 out_c). chunks: the rows' length / 16 (>= 1). */
static inline void mk_mve_gemm_rows(const mk_conv_params *p, const int8_t *weights, const int32_t *bias,
                                    int32_t chunks, const int8_t *xa, const int8_t *xb, int two, int8_t *out)
{
    const int32_t out_c = p->out_c;
    const size_t group_bytes = 64u * (size_t)chunks;
    const int32_t oo = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int8_t *wp = weights;
    for (int32_t oc = 0; oc < out_c; oc += 4, wp += group_bytes) {
        int32_t acc[8];
        mk_mve_block_4x2(wp, xa, xb, chunks, acc);
        const mk_mve_rq4 r = mk_mve_rq4_load(p, bias, oc);
        const mve_pred16_t pr = vctp32q((uint32_t)(out_c - oc));
        mk_mve_rq4_store(mk_mve_vec4(acc[0], acc[1], acc[2], acc[3]), &r, oo, lo, hi, out + oc, pr);
        if (two) {
            mk_mve_rq4_store(mk_mve_vec4(acc[4], acc[5], acc[6], acc[7]), &r, oo, lo, hi, out + out_c + oc, pr);
        }
    }
}

/* n bytes from src to dst, 16 per step (the last step predicated). */
static inline void mk_mve_copy(int8_t *dst, const int8_t *src, int32_t n)
{
    for (int32_t i = 0; i < n; i += 16) {
        const mve_pred16_t pr = vctp8q((uint32_t)(n - i));
        vstrbq_p_s8(dst + i, vldrbq_z_s8(src + i, pr), pr);
    }
}

/* n bytes of value v at dst. */
static inline void mk_mve_fill(int8_t *dst, int8_t v, int32_t n)
{
    const int8x16_t vv = vdupq_n_s8(v);
    for (int32_t i = 0; i < n; i += 16) {
        vstrbq_p_s8(dst + i, vv, vctp8q((uint32_t)(n - i)));
    }
}

/* The receptive field of output pixel q (flattened over batch, out_h, out_w) as one row of
 * filter_h * filter_w * in_c bytes in the order of an OHWI weight row; taps outside the image are written as `pad`
 * (the input zero point: with the folded bias they add 0, as the portable kernel's skipped taps do). */
static inline void mk_mve_im2col_row(const mk_conv_params *p, const int8_t *input, int32_t q, int8_t pad,
                                     int8_t *dst)
{
    const int32_t ox = q % p->out_w;
    const int32_t oy = (q / p->out_w) % p->out_h;
    const int32_t b = q / (p->out_w * p->out_h);
    const int32_t c = p->in_c;
    const int32_t tap_row = p->filter_w * c;
    const int32_t y0 = oy * p->stride_h - p->pad_top;
    const int32_t x0 = ox * p->stride_w - p->pad_left;
    const int32_t span_w = (p->filter_w - 1) * p->dilation_w + 1;
    const int whole_row = p->dilation_w == 1 && x0 >= 0 && x0 + span_w <= p->in_w;
    for (int32_t fy = 0; fy < p->filter_h; ++fy, dst += tap_row) {
        const int32_t iy = y0 + fy * p->dilation_h;
        if (iy < 0 || iy >= p->in_h) {
            mk_mve_fill(dst, pad, tap_row);
            continue;
        }
        const int8_t *row = input + (((size_t)b * (size_t)p->in_h + (size_t)iy) * (size_t)p->in_w) * (size_t)c;
        if (whole_row) { /* the common case: the window's row is one contiguous run of the input */
            mk_mve_copy(dst, row + (size_t)x0 * (size_t)c, tap_row);
            continue;
        }
        for (int32_t fx = 0; fx < p->filter_w; ++fx) {
            const int32_t ix = x0 + fx * p->dilation_w;
            if (ix < 0 || ix >= p->in_w) {
                mk_mve_fill(dst + (size_t)fx * (size_t)c, pad, c);
            } else {
                mk_mve_copy(dst + (size_t)fx * (size_t)c, row + (size_t)ix * (size_t)c, c);
            }
        }
    }
}

#endif /* MK_MVE_GEMM_H */
