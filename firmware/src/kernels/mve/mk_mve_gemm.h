/* Private to the Helium GEMM conv kernels (mk_conv_1x1_s8_mve, mk_conv_im2col_s8_mve): the register-blocked int8
 * GEMM, its vectorized requantization epilogue and the im2col fill.
 *
 * Weight layout (compile time, mcukit/codegen/ops/_isa.py mve_gemm_weight_layout): each OHWI row of k bytes is
 * zero-padded to kp = k rounded up to 16, out_c is zero-padded to a multiple of 4 channels, and each group of 4
 * channels stores its rows interleaved in 16-byte chunks - w[c][0:16], w[c+1][0:16], w[c+2][0:16], w[c+3][0:16],
 * w[c][16:32], ... - so the inner loop walks one pointer. The zero weights make the loop predication-free: whatever
 * the input holds in the padding lanes, it adds 0. The bias is the folded one, bias' = bias + input_offset * sum(w)
 * modulo 2^32 (fold_input_offset), so the inputs are used as they are (VMLADAVA.S8 sums int8 x int8 products).
 *
 * Requantization table (compile time, mve_gemm_rq_table): per group of 4 channels (out_c padded to a multiple of
 * 4 with zeros) MK_MVE_RQ_WORDS = 20 int32, four lanes each of bias', left = max(shift, 0), multiplier,
 * emask = (shift < 0 ? -1 : 0) and rneg = min(shift, 0), in that order: the epilogue loads them unpredicated with
 * one pointer instead of deriving them from the params' multipliers/shifts (which the kernels do not read).
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

#define MK_MVE_RQ_WORDS 20

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

/* The 4x2 block: *va = the 4 channels' weights . row a, *vb = the same with row b, over `chunks` >= 1 whole 16-byte
 * steps. wp: the group's interleaved weights. Written in assembly because 8 accumulators are all of VMLADAVA's
 * even registers (r0, r2, ..., r12, lr): GCC's allocator shuffles them through spare registers when the loop is in
 * intrinsics (22 instructions per step instead of 16). Here the loop counter is an ordinary register (SUBS/BNE: LE
 * would need lr), the first step initializes the accumulators (VMLADAV) and two VMOV Qd[2], Qd[0], Rt, Rt2 per row
 * put the four sums in a vector (GCC's lane inserts take four). */
static inline void mk_mve_block_4x2(const int8_t *wp, const int8_t *xa, const int8_t *xb, int32_t chunks,
                                    int32x4_t *va, int32x4_t *vb)
{
    int32_t a0, a1, a2, a3, b0, b1, b2, b3;
    int32x4_t ra, rb;
    __asm__(MK_MVE_STEP_4X2("vmladav") "subs %[n], %[n], #1\n\t"
                                       "beq 2f\n"
                                       "1:\n\t" MK_MVE_STEP_4X2("vmladava") "subs %[n], %[n], #1\n\t"
                                       "bne 1b\n"
                                       "2:\n\t"
                                       "vmov %q[ra][2], %q[ra][0], %[a0], %[a2]\n\t"
                                       "vmov %q[ra][3], %q[ra][1], %[a1], %[a3]\n\t"
                                       "vmov %q[rb][2], %q[rb][0], %[b0], %[b2]\n\t"
                                       "vmov %q[rb][3], %q[rb][1], %[b1], %[b3]\n"
            : [a0] "=&Te"(a0), [a1] "=&Te"(a1), [a2] "=&Te"(a2), [a3] "=&Te"(a3), [b0] "=&Te"(b0), [b1] "=&Te"(b1),
              [b2] "=&Te"(b2), [b3] "=&Te"(b3), [ra] "=&w"(ra), [rb] "=&w"(rb), [wp] "+r"(wp), [xa] "+r"(xa),
              [xb] "+r"(xb), [n] "+r"(chunks)
            :
            : "q0", "q1", "q2", "q3", "memory", "cc");
    *va = ra;
    *vb = rb;
}

/* The requantization of one group for rows a and b (equal to mk_requantize lane by lane, see the top of this file),
 * + output_offset, clamped to [lo, hi]. t: the group's MK_MVE_RQ_WORDS table words. The constants are loaded as
 * they are needed so that rows, bounds and one constant fit in the 8 Q registers. */
static inline void mk_mve_rq_pair(int32x4_t *pa, int32x4_t *pb, const int32_t *t, int32_t oo, int32x4_t lo,
                                  int32x4_t hi)
{
    int32x4_t xa = *pa, xb = *pb;
    int32x4_t c = vldrwq_s32(t); /* bias' */
    xa = vaddq_s32(xa, c);
    xb = vaddq_s32(xb, c);
    c = vldrwq_s32(t + 4); /* left */
    xa = vshlq_s32(xa, c);
    xb = vshlq_s32(xb, c);
    c = vldrwq_s32(t + 8); /* multiplier */
    xa = vqrdmulhq_s32(xa, c);
    xb = vqrdmulhq_s32(xb, c);
    c = vldrwq_s32(t + 12); /* emask */
    xa = vaddq_s32(xa, vandq_s32(vshrq_n_s32(xa, 31), c));
    xb = vaddq_s32(xb, vandq_s32(vshrq_n_s32(xb, 31), c));
    c = vldrwq_s32(t + 16); /* rneg */
    xa = vrshlq_s32(xa, c);
    xb = vrshlq_s32(xb, c);
    *pa = vminq_s32(vmaxq_s32(vaddq_n_s32(xa, oo), lo), hi);
    *pb = vminq_s32(vmaxq_s32(vaddq_n_s32(xb, oo), lo), hi);
}

/* All out_c outputs of rows xa and xb (xb may equal xa: then only row a's outputs are stored, `two` == 0). Row a's
 * outputs go to out[0..out_c), row b's to out[out_c..2 out_c). chunks: the rows' length / 16 (>= 1). Whole groups
 * of 4 channels store unpredicated; a last partial group stores its live lanes only. */
static inline void mk_mve_gemm_rows(const mk_conv_params *p, const int8_t *weights, const int32_t *table,
                                    int32_t chunks, const int8_t *xa, const int8_t *xb, int two, int8_t *out)
{
    const int32_t out_c = p->out_c;
    const size_t group_bytes = 64u * (size_t)chunks;
    const int32_t oo = p->output_offset;
    const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
    const int8_t *wp = weights;
    const int32_t *t = table;
    int8_t *out_b = out + out_c;
    const int32_t whole = out_c & ~3;
    int32x4_t va, vb;
    for (int32_t oc = 0; oc < whole; oc += 4, wp += group_bytes, t += MK_MVE_RQ_WORDS) {
        mk_mve_block_4x2(wp, xa, xb, chunks, &va, &vb);
        mk_mve_rq_pair(&va, &vb, t, oo, lo, hi);
        vstrbq_s32(out + oc, va);
        if (two) {
            vstrbq_s32(out_b + oc, vb);
        }
    }
    if (whole < out_c) {
        const mve_pred16_t pr = vctp32q((uint32_t)(out_c - whole));
        mk_mve_block_4x2(wp, xa, xb, chunks, &va, &vb);
        mk_mve_rq_pair(&va, &vb, t, oo, lo, hi);
        vstrbq_p_s32(out + whole, va, pr);
        if (two) {
            vstrbq_p_s32(out_b + whole, vb, pr);
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

/* The receptive field of output pixel (oy, ox) of the batch at in_b as one row of filter_h * filter_w * in_c bytes
 * in the order of an OHWI weight row; taps outside the image are written as `pad` (the input zero point: with the
 * folded bias they add 0, as the portable kernel's skipped taps do). Without dilation along x each window row is
 * at most a zero-point run, one contiguous copy and another zero-point run. */
__attribute__((always_inline)) static inline void mk_mve_im2col_row(const mk_conv_params *p, const int8_t *in_b, int32_t oy, int32_t ox, int8_t pad,
                                     int8_t *dst)
{
    const int32_t c = p->in_c;
    const int32_t fw = p->filter_w;
    const int32_t tap_row = fw * c;
    const size_t row_bytes = (size_t)p->in_w * (size_t)c;
    const int32_t y0 = oy * p->stride_h - p->pad_top;
    const int32_t x0 = ox * p->stride_w - p->pad_left;
    if (p->dilation_w == 1) {
        const int32_t left = x0 < 0 ? MK_MIN(-x0, fw) : 0;
        const int32_t right = MK_MIN(MK_MAX(x0 + fw - p->in_w, 0), fw - left);
        const int32_t mid = (fw - left - right) * c;
        const int32_t lb = left * c, rb = right * c;
        const int8_t *src = in_b + (ptrdiff_t)(x0 + left) * c;
        for (int32_t fy = 0; fy < p->filter_h; ++fy, dst += tap_row) {
            const int32_t iy = y0 + fy * p->dilation_h;
            if (iy < 0 || iy >= p->in_h) {
                mk_mve_fill(dst, pad, tap_row);
                continue;
            }
            if (lb != 0) {
                mk_mve_fill(dst, pad, lb);
            }
            mk_mve_copy(dst + lb, src + (size_t)iy * row_bytes, mid);
            if (rb != 0) {
                mk_mve_fill(dst + lb + mid, pad, rb);
            }
        }
        return;
    }
    for (int32_t fy = 0; fy < p->filter_h; ++fy, dst += tap_row) {
        const int32_t iy = y0 + fy * p->dilation_h;
        if (iy < 0 || iy >= p->in_h) {
            mk_mve_fill(dst, pad, tap_row);
            continue;
        }
        const int8_t *row = in_b + (size_t)iy * row_bytes;
        for (int32_t fx = 0; fx < fw; ++fx) {
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
