/* DEPTHWISE_CONV_2D, 3x3 filter, depth multiplier 1, no dilation, with Helium on compile-time forms.
 *
 * Input rows go through a ring of three padded rows in the scratch: each input row is copied once, when the first
 * output row that needs it starts, into the layout [group of 8 channels][padded column][8 bytes] with the input zero
 * point in the padding columns (and in whole rows above/below the image). Every output pixel then reads a full 3x3
 * window from the ring: no border case, and within a group the column step is 8 bytes, so the taps are loads at
 * immediate offsets from three row pointers.
 *
 * Eight channels per vector step: a tap loads 8 input bytes widened to int16 (VLDRB.S16) and the tap's 8 int16
 * weights, and VMULLB.S16 / VMULLT.S16 give the int32 products of the even and odd channels, added to two int32x4
 * accumulators (Helium has no int32 vector multiply-accumulate, and int16 sums of 9 int8 x int8 products could
 * overflow). Two horizontally adjacent output pixels are computed together (strides 1 and 2): they share the input
 * columns of their overlapping windows and every weight load (stride 1: 12 input + 9 weight loads for 18 taps,
 * instead of 36); an odd last pixel, and strides > 2, run the single-pixel form.
 *
 * Forms (mcukit/codegen/ops/_isa.py mve_dw3x3_forms):
 *  - weights: int16, channels zero-padded to a multiple of 8, per group of 8 channels the 9 taps' 8 weights in
 *    tap order (fy, fx);
 *  - table: per group of 8 channels 40 int32, five pairs of 4-lane rows (even channels c,
 *    c+2, c+4, c+6, then odd ones) of bias' = bias + input_offset * sum(w) (the input offset folded), left =
 *    max(shift, 0), multiplier, emask = (shift < 0 ? -1 : 0), rneg = min(shift, 0), then 3 x 8 int16: the output
 *    offset, act_min and act_max (MK_MVE_DW_RQ_WORDS = 52 words per group); after the last group one flags word:
 *    bit 0 set when every channel's shift is < 0 (left = 0, emask = -1 everywhere), so the epilogue skips VSHL and
 *    the AND.
 * Padding: a padded tap reads the input zero point: w * zp plus its share input_offset * w of the folded bias is 0,
 * as when the portable kernel skips the tap. Padding lanes of a partial last group have zero weights and are not
 * stored. So the accumulators equal the portable kernel's (integer sums, exact in any order) and the requantization
 * is mk_requantize lane by lane (derivation in mk_mve_gemm.h); the output offset and clamp run on the 8 channels
 * narrowed to int16 with saturation (VQMOVNB/VQMOVNT, VQADD): a saturated value lies beyond the int8 clamp range on
 * the same side as the exact one, so the clamped result is the same.
 *
 * Order: batches, output rows, then within a row each group of 8 channels over the pixels. Before a row, the rows
 * of its windows have been copied to the ring; afterwards the kernel reads from the input tensor only rows below
 * the current windows, so an output written in place over the input (planner lag 0) never clobbers an unread
 * input byte. */
#include "mcukit/mk_kernels_mve.h"

/* The padded row: columns 0 .. wp-1 cover input columns -pad_left .. wp-1-pad_left. */
static int32_t mk_mve_dw_wp(const mk_depthwise_conv_params *p)
{
    return (p->out_w - 1) * p->stride_w + 3;
}

size_t mk_depthwise_conv_3x3_s8_mve_scratch_bytes(const mk_depthwise_conv_params *p)
{
    const size_t groups = (size_t)(p->in_c + 7) / 8u;
    return 3u * groups * (size_t)mk_mve_dw_wp(p) * 8u;
}

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>

#define MK_MVE_DW_RQ_WORDS 52

/* The pixel-pair loop below is one assembly block: the 8 vectors of a pair (4 accumulators, input, 2 weights,
 * product) are all of the Q registers, and from intrinsics GCC spilled bounds and table pointers to the stack.
 * Registers: q0/q1 = pixel a's even/odd channel accumulators, q2/q3 = pixel b's, q4 = input (then scratch in the
 * epilogue), q5/q6 = weights, q7 = product. */
#define MK_DW_MAC(E, O, W)                                                                                          \
    "vmullb.s16 q7, q4, " W "\n\t"                                                                                  \
    "vadd.i32 " E ", " E ", q7\n\t"                                                                                 \
    "vmullt.s16 q7, q4, " W "\n\t"                                                                                  \
    "vadd.i32 " O ", " O ", q7\n\t"
#define MK_DW_SET(E, O, W)                                                                                          \
    "vmullb.s16 " E ", q4, " W "\n\t"                                                                               \
    "vmullt.s16 " O ", q4, " W "\n\t"
/* Input column loads: the first one post-increments the row pointer to the next pair (STEP bytes), the others are
 * addressed from the incremented pointer. */
#define MK_DW_LDX0(R, STEP) "vldrb.s16 q4, [%[" R "]], #" STEP "\n\t"
#define MK_DW_LDX(R, OFF) "vldrb.s16 q4, [%[" R "], #" OFF "]\n\t"
#define MK_DW_LDW(W, OFF) "vldrh.16 " W ", [%[wp], #" OFF "]\n\t"

/* Stride 1, window row R (weights at byte offsets W0, W0 + 16, W0 + 32): columns 0..3; pixel a uses columns 0..2,
 * pixel b columns 1..3 with the same three weights (q5/q6 hold two of them at a time). */
#define MK_DW_ROW_S1(R, W0, W1, W2, F)                                                                              \
    MK_DW_LDW("q5", W0) MK_DW_LDX0(R, "16") F("q0", "q1", "q5") MK_DW_LDX(R, "-8") F("q2", "q3", "q5")            \
        MK_DW_LDW("q6", W1) MK_DW_MAC("q0", "q1", "q6") MK_DW_LDX(R, "0") MK_DW_MAC("q2", "q3", "q6")               \
            MK_DW_LDW("q5", W2) MK_DW_MAC("q0", "q1", "q5") MK_DW_LDX(R, "8") MK_DW_MAC("q2", "q3", "q5")

/* Stride 2: columns 0..4; pixel a uses 0..2, pixel b 2..4. */
#define MK_DW_ROW_S2(R, W0, W1, W2, F)                                                                              \
    MK_DW_LDW("q5", W0) MK_DW_LDX0(R, "32") F("q0", "q1", "q5") MK_DW_LDW("q6", W1) MK_DW_LDX(R, "-24")           \
        MK_DW_MAC("q0", "q1", "q6") MK_DW_LDX(R, "-16") F("q2", "q3", "q5") MK_DW_LDW("q5", W2)                     \
            MK_DW_MAC("q0", "q1", "q5") MK_DW_LDX(R, "-8") MK_DW_MAC("q2", "q3", "q6") MK_DW_LDX(R, "0")            \
                MK_DW_MAC("q2", "q3", "q5")

#define MK_DW_TAPS(ROW)                                                                                             \
    ROW("r0", "0", "16", "32", MK_DW_SET) ROW("r1", "48", "64", "80", MK_DW_MAC) ROW("r2", "96", "112", "128", MK_DW_MAC)

/* Epilogue of a pair = mk_requantize lane by lane (mk_mve_gemm.h): + bias'; [VSHL by left]; VQRDMULH; + (x < 0 ?
 * -1 : 0) [AND emask]; VRSHL by rneg. Table byte offsets: bias 0/16, left 32/48, multiplier 64/80, emask 96/112,
 * rneg 128/144 (even/odd channels). FAST: every shift < 0 (left = 0, emask = -1). */
#define MK_DW_TIE_FAST(A) "vshr.s32 q4, " A ", #31\n\t" "vadd.i32 " A ", " A ", q4\n\t"
#define MK_DW_TIE_GEN(A, M) "vshr.s32 q4, " A ", #31\n\t" "vand q4, q4, " M "\n\t" "vadd.i32 " A ", " A ", q4\n\t"
#define MK_DW_RQ_HEAD                                                                                               \
    "vldrw.32 q4, [%[t]]\n\t"                                                                                       \
    "vldrw.32 q5, [%[t], #16]\n\t"                                                                                  \
    "vadd.i32 q0, q0, q4\n\t"                                                                                       \
    "vadd.i32 q2, q2, q4\n\t"                                                                                       \
    "vadd.i32 q1, q1, q5\n\t"                                                                                       \
    "vadd.i32 q3, q3, q5\n\t"
#define MK_DW_RQ_LEFT                                                                                               \
    "vldrw.32 q4, [%[t], #32]\n\t"                                                                                  \
    "vldrw.32 q5, [%[t], #48]\n\t"                                                                                  \
    "vshl.s32 q0, q0, q4\n\t"                                                                                       \
    "vshl.s32 q2, q2, q4\n\t"                                                                                       \
    "vshl.s32 q1, q1, q5\n\t"                                                                                       \
    "vshl.s32 q3, q3, q5\n\t"
#define MK_DW_RQ_MUL                                                                                                \
    "vldrw.32 q4, [%[t], #64]\n\t"                                                                                  \
    "vldrw.32 q5, [%[t], #80]\n\t"                                                                                  \
    "vqrdmulh.s32 q0, q0, q4\n\t"                                                                                   \
    "vqrdmulh.s32 q2, q2, q4\n\t"                                                                                   \
    "vqrdmulh.s32 q1, q1, q5\n\t"                                                                                   \
    "vqrdmulh.s32 q3, q3, q5\n\t"
#define MK_DW_RQ_TIE_FAST MK_DW_TIE_FAST("q0") MK_DW_TIE_FAST("q1") MK_DW_TIE_FAST("q2") MK_DW_TIE_FAST("q3")
#define MK_DW_RQ_TIE_GEN                                                                                            \
    "vldrw.32 q5, [%[t], #96]\n\t"                                                                                  \
    "vldrw.32 q6, [%[t], #112]\n\t" MK_DW_TIE_GEN("q0", "q5") MK_DW_TIE_GEN("q2", "q5") MK_DW_TIE_GEN("q1", "q6")   \
        MK_DW_TIE_GEN("q3", "q6")
/* VRSHL, then narrow each pixel's even/odd lanes into channel order with saturation (q4: pixel a, q5: pixel b),
 * + output offset (saturating), clamp, store 8 bytes per pixel, next pair. */
#define MK_DW_RQ_TAIL                                                                                               \
    "vldrw.32 q4, [%[t], #128]\n\t"                                                                                 \
    "vldrw.32 q5, [%[t], #144]\n\t"                                                                                 \
    "vrshl.s32 q0, q0, q4\n\t"                                                                                      \
    "vrshl.s32 q2, q2, q4\n\t"                                                                                      \
    "vrshl.s32 q1, q1, q5\n\t"                                                                                      \
    "vrshl.s32 q3, q3, q5\n\t"                                                                                      \
    "vqmovnb.s32 q4, q0\n\t"                                                                                        \
    "vqmovnt.s32 q4, q1\n\t"                                                                                        \
    "vqmovnb.s32 q5, q2\n\t"                                                                                        \
    "vqmovnt.s32 q5, q3\n\t"                                                                                        \
    "vldrh.16 q0, [%[t], #160]\n\t"                                                                                \
    "vqadd.s16 q4, q4, q0\n\t"                                                                                      \
    "vqadd.s16 q5, q5, q0\n\t"                                                                                      \
    "vldrh.16 q0, [%[t], #176]\n\t"                                                                                \
    "vldrh.16 q1, [%[t], #192]\n\t"                                                                                \
    "vmax.s16 q4, q4, q0\n\t"                                                                                       \
    "vmax.s16 q5, q5, q0\n\t"                                                                                       \
    "vmin.s16 q4, q4, q1\n\t"                                                                                       \
    "vmin.s16 q5, q5, q1\n\t"                                                                                       \
    "vstrb.16 q4, [%[o]]\n\t"                                                                                       \
    "add %[o], %[o], %[pix]\n\t"                                                                                    \
    "vstrb.16 q5, [%[o]]\n\t"                                                                                       \
    "add %[o], %[o], %[pix]\n\t"

#define MK_DW_LOOP(BODY)                                                                                            \
    __asm__ volatile("1:\n\t" BODY "subs %[n], %[n], #1\n\t"                                                        \
                     "bne 1b\n"                                                                                     \
                     : [r0] "+l"(r0), [r1] "+l"(r1), [r2] "+l"(r2), [o] "+l"(o), [n] "+r"(n)                        \
                     : [wp] "r"(wp), [t] "r"(t), [pix] "r"(pix)                                                     \
                     : "q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "memory", "cc")

/* n >= 1 pixel pairs of one whole group of 8 channels along an output row: row pointers r0..r2 at the pair's first
 * window column in the group's ring rows, wp/t the group's weights and table, o the first pixel's output. */
static __attribute__((noinline)) void mk_mve_dw_pairs(int fast, int s2, int32_t n, const int8_t *r0,
                                                       const int8_t *r1, const int8_t *r2, const int16_t *wp,
                                                       const int32_t *t, int8_t *o, size_t pix)
{
    if (fast && !s2) {
        MK_DW_LOOP(MK_DW_TAPS(MK_DW_ROW_S1) MK_DW_RQ_HEAD MK_DW_RQ_MUL MK_DW_RQ_TIE_FAST MK_DW_RQ_TAIL);
    } else if (fast) {
        MK_DW_LOOP(MK_DW_TAPS(MK_DW_ROW_S2) MK_DW_RQ_HEAD MK_DW_RQ_MUL MK_DW_RQ_TIE_FAST MK_DW_RQ_TAIL);
    } else if (!s2) {
        MK_DW_LOOP(MK_DW_TAPS(MK_DW_ROW_S1) MK_DW_RQ_HEAD MK_DW_RQ_LEFT MK_DW_RQ_MUL MK_DW_RQ_TIE_GEN MK_DW_RQ_TAIL);
    } else {
        MK_DW_LOOP(MK_DW_TAPS(MK_DW_ROW_S2) MK_DW_RQ_HEAD MK_DW_RQ_LEFT MK_DW_RQ_MUL MK_DW_RQ_TIE_GEN MK_DW_RQ_TAIL);
    }
}

/* One pixel (q0/q1 its even/odd accumulators), window row R: columns 0..2 at immediate offsets. */
#define MK_DW_ROW_1(R, W0, W1, W2, F)                                                                               \
    MK_DW_LDW("q5", W0) MK_DW_LDX(R, "0") F("q0", "q1", "q5") MK_DW_LDW("q5", W1) MK_DW_LDX(R, "8")              \
        MK_DW_MAC("q0", "q1", "q5") MK_DW_LDW("q5", W2) MK_DW_LDX(R, "16") MK_DW_MAC("q0", "q1", "q5")
#define MK_DW_ONE_RQ_HEAD                                                                                           \
    "vldrw.32 q4, [%[t]]\n\t"                                                                                       \
    "vldrw.32 q5, [%[t], #16]\n\t"                                                                                  \
    "vadd.i32 q0, q0, q4\n\t"                                                                                       \
    "vadd.i32 q1, q1, q5\n\t"
#define MK_DW_ONE_RQ_LEFT                                                                                           \
    "vldrw.32 q4, [%[t], #32]\n\t"                                                                                  \
    "vldrw.32 q5, [%[t], #48]\n\t"                                                                                  \
    "vshl.s32 q0, q0, q4\n\t"                                                                                       \
    "vshl.s32 q1, q1, q5\n\t"
#define MK_DW_ONE_RQ_MUL                                                                                            \
    "vldrw.32 q4, [%[t], #64]\n\t"                                                                                  \
    "vldrw.32 q5, [%[t], #80]\n\t"                                                                                  \
    "vqrdmulh.s32 q0, q0, q4\n\t"                                                                                   \
    "vqrdmulh.s32 q1, q1, q5\n\t"
#define MK_DW_ONE_TIE_FAST MK_DW_TIE_FAST("q0") MK_DW_TIE_FAST("q1")
#define MK_DW_ONE_TIE_GEN                                                                                           \
    "vldrw.32 q5, [%[t], #96]\n\t"                                                                                  \
    "vldrw.32 q6, [%[t], #112]\n\t" MK_DW_TIE_GEN("q0", "q5") MK_DW_TIE_GEN("q1", "q6")
/* VRSHL, narrow, offset, clamp, store with post-increment to the next group's 8 channels; then the next group's
 * ring rows, weights (9 x 16 bytes) and table (160 bytes). */
#define MK_DW_ONE_TAIL                                                                                              \
    "vldrw.32 q4, [%[t], #128]\n\t"                                                                                 \
    "vldrw.32 q5, [%[t], #144]\n\t"                                                                                 \
    "vrshl.s32 q0, q0, q4\n\t"                                                                                      \
    "vrshl.s32 q1, q1, q5\n\t"                                                                                      \
    "vqmovnb.s32 q4, q0\n\t"                                                                                        \
    "vqmovnt.s32 q4, q1\n\t"                                                                                        \
    "vldrh.16 q0, [%[t], #160]\n\t"                                                                                \
    "vqadd.s16 q4, q4, q0\n\t"                                                                                      \
    "vldrh.16 q0, [%[t], #176]\n\t"                                                                                \
    "vldrh.16 q1, [%[t], #192]\n\t"                                                                                \
    "vmax.s16 q4, q4, q0\n\t"                                                                                       \
    "vmin.s16 q4, q4, q1\n\t"                                                                                       \
    "vstrb.16 q4, [%[o]], #8\n\t"                                                                                   \
    "add %[r0], %[r0], %[gs]\n\t"                                                                                   \
    "add %[r1], %[r1], %[gs]\n\t"                                                                                   \
    "add %[r2], %[r2], %[gs]\n\t"                                                                                   \
    "add %[wp], %[wp], #144\n\t"                                                                                    \
    "add %[t], %[t], #208\n\t"
#define MK_DW_ONE_LOOP(BODY)                                                                                        \
    __asm__ volatile("1:\n\t" MK_DW_ROW_1("r0", "0", "16", "32", MK_DW_SET) MK_DW_ROW_1("r1", "48", "64", "80",     \
                     MK_DW_MAC) MK_DW_ROW_1("r2", "96", "112", "128", MK_DW_MAC) BODY MK_DW_ONE_TAIL                \
                     "subs %[n], %[n], #1\n\t"                                                                      \
                     "bne 1b\n"                                                                                     \
                     : [r0] "+l"(r0), [r1] "+l"(r1), [r2] "+l"(r2), [o] "+l"(o), [n] "+r"(n), [wp] "+r"(wp),        \
                       [t] "+r"(t)                                                                                  \
                     : [gs] "r"(gs)                                                                                   \
                     : "q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "memory", "cc")

/* One output pixel over n >= 1 whole groups of 8 channels: r0..r2 at its window's first column in the first group's
 * ring rows (the next group's are gs bytes further), wp/t the first group's weights and table, o its output. */
static __attribute__((noinline)) void mk_mve_dw_pixel(int fast, int32_t n, const int8_t *r0, const int8_t *r1,
                                                       const int8_t *r2, size_t gs, const int16_t *wp,
                                                       const int32_t *t, int8_t *o)
{
    if (fast) {
        MK_DW_ONE_LOOP(MK_DW_ONE_RQ_HEAD MK_DW_ONE_RQ_MUL MK_DW_ONE_TIE_FAST);
    } else {
        MK_DW_ONE_LOOP(MK_DW_ONE_RQ_HEAD MK_DW_ONE_RQ_LEFT MK_DW_ONE_RQ_MUL MK_DW_ONE_TIE_GEN);
    }
}

/* The single-pixel and partial-group paths, in intrinsics (an odd last pixel of a row, strides > 2, a last group
 * of fewer than 8 channels). */
#define MK_DW_C_ROW(q, E, O)                                                                                        \
    do {                                                                                                            \
        _Pragma("GCC unroll 3") for (int fx_ = 0; fx_ < 3; ++fx_, wq += 8) {                                        \
            const int16x8_t x_ = vldrbq_s16((q) + 8 * fx_);                                                         \
            const int16x8_t w_ = vldrhq_s16(wq);                                                                    \
            E = vaddq_s32(E, vmullbq_int_s16(x_, w_));                                                              \
            O = vaddq_s32(O, vmulltq_int_s16(x_, w_));                                                              \
        }                                                                                                           \
    } while (0)

static inline void mk_mve_dw_one(const int8_t *r0, const int8_t *r1, const int8_t *r2, const int16_t *wp,
                                 int32x4_t acc[2])
{
    int32x4_t ae = vdupq_n_s32(0), ao = vdupq_n_s32(0);
    const int16_t *wq = wp;
    MK_DW_C_ROW(r0, ae, ao);
    MK_DW_C_ROW(r1, ae, ao);
    MK_DW_C_ROW(r2, ae, ao);
    acc[0] = ae;
    acc[1] = ao;
}

/* mk_requantize of the even (ae) and odd (ao) channels' accumulators without the output offset (table t: see the
 * top of the file); `fast`: every shift < 0, so left = 0 and emask = -1 (VSHL and the AND are identities). */
static inline __attribute__((always_inline)) void mk_mve_dw_rq(int fast, const int32_t *t, int32x4_t *pe,
                                                               int32x4_t *po)
{
    int32x4_t ae = vaddq_s32(*pe, vldrwq_s32(t));
    int32x4_t ao = vaddq_s32(*po, vldrwq_s32(t + 4));
    if (!fast) {
        ae = vshlq_s32(ae, vldrwq_s32(t + 8));
        ao = vshlq_s32(ao, vldrwq_s32(t + 12));
    }
    ae = vqrdmulhq_s32(ae, vldrwq_s32(t + 16));
    ao = vqrdmulhq_s32(ao, vldrwq_s32(t + 20));
    if (fast) {
        ae = vaddq_s32(ae, vshrq_n_s32(ae, 31));
        ao = vaddq_s32(ao, vshrq_n_s32(ao, 31));
    } else {
        ae = vaddq_s32(ae, vandq_s32(vshrq_n_s32(ae, 31), vldrwq_s32(t + 24)));
        ao = vaddq_s32(ao, vandq_s32(vshrq_n_s32(ao, 31), vldrwq_s32(t + 28)));
    }
    *pe = vrshlq_s32(ae, vldrwq_s32(t + 32));
    *po = vrshlq_s32(ao, vldrwq_s32(t + 36));
}

/* Narrow the requantized even/odd lanes back into channel order with saturation, add the output offset, clamp and
 * store the group's bytes (the live channels only when `live` < 8). */
static inline __attribute__((always_inline)) void mk_mve_dw_out(int32x4_t ae, int32x4_t ao, int16_t oo,
                                                                int16x8_t lo, int16x8_t hi, int8_t *out,
                                                                int32_t live)
{
    int16x8_t n = vqmovnbq_s32(vuninitializedq_s16(), ae);
    n = vqmovntq_s32(n, ao);
    n = vminq_s16(vmaxq_s16(vqaddq_n_s16(n, oo), lo), hi);
    if (live >= 8) {
        vstrbq_s16(out, n);
    } else {
        vstrbq_p_s16(out, n, vctp16q((uint32_t)live));
    }
}

/* Copy input row `src` (NULL: a row of the padding) into ring row `dst` in the padded group layout. */
static void mk_mve_dw_fill_row(const mk_depthwise_conv_params *p, const int8_t *src, int32_t wp, int8_t zp,
                               int8_t *dst)
{
    const int32_t c = p->in_c;
    const int32_t groups = (c + 7) / 8;
    const size_t gstride = (size_t)wp * 8u;
    const int16x8_t zv = vdupq_n_s16(zp);
    const int32_t first = src == NULL ? wp : MK_MIN(p->pad_left, wp);
    const int32_t last = src == NULL ? wp : MK_MIN(p->pad_left + p->in_w, wp); /* columns [first, last) are real */
    for (int32_t g = 0; g < groups; ++g) {
        int8_t *d = dst + (size_t)g * gstride;
        for (int32_t x = 0; x < first; ++x) {
            vstrbq_s16(d + 8 * x, zv);
        }
        for (int32_t x = last; x < wp; ++x) {
            vstrbq_s16(d + 8 * x, zv);
        }
    }
    if (src == NULL) {
        return;
    }
    const int32_t whole = c / 8;
    const int32_t n = last - first;
    if (n <= 0) {
        return;
    }
    src += (ptrdiff_t)(first - p->pad_left) * c; /* input column of the first real slot (0 unless wp < pad_left) */
    /* group by group, the real columns: 8 bytes from each input pixel to consecutive 8-byte slots (a low-overhead
     * loop in assembly: 4 instructions per column, GCC's loop took about 15) */
    for (int32_t g = 0; g < whole; ++g) {
        const int8_t *s = src + 8 * g;
        int8_t *d = dst + (size_t)g * gstride + 8 * first;
        __asm__ volatile("dls lr, %[n]\n"
                         "1:\n\t"
                         "vldrb.s16 q0, [%[s]]\n\t"
                         "add %[s], %[s], %[c]\n\t"
                         "vstrb.16 q0, [%[d]], #8\n\t"
                         "le lr, 1b\n"
                         : [s] "+l"(s), [d] "+l"(d)
                         : [n] "r"(n), [c] "r"(c)
                         : "q0", "lr", "memory");
    }
    if (whole < groups) { /* the lanes past the channels are zeroed: they meet zero weights */
        const mve_pred16_t tail = vctp16q((uint32_t)(c - whole * 8));
        const int8_t *s = src + 8 * whole;
        int8_t *d = dst + (size_t)whole * gstride + 8 * first;
        for (int32_t x = 0; x < n; ++x, s += c, d += 8) {
            vstrbq_s16(d, vldrbq_z_s16(s, tail));
        }
    }
}

/* One output row: every group over the row's pixels. rows[k]: ring row of window row k. */
static inline __attribute__((always_inline)) void mk_mve_dw_row(int fast, const mk_depthwise_conv_params *p,
                                                                int8_t *const rows[3], int32_t wp,
                                                                const int16_t *w16, const int32_t *table,
                                                                int8_t *out)
{
    const int32_t c = p->in_c;
    const int32_t whole = c / 8;
    const int32_t ow = p->out_w;
    const int32_t sw = p->stride_w;
    const int32_t pairs = sw <= 2 ? ow / 2 : 0;
    const size_t gstride = (size_t)wp * 8u;
    const size_t pix = (size_t)c;
    /* whole groups: pixel pairs group by group, then the pixels left over (an odd last one, or every pixel for
     * strides > 2) over all whole groups at once */
    for (int32_t g = 0; g < whole && pairs > 0; ++g) {
        const size_t goff = (size_t)g * gstride;
        mk_mve_dw_pairs(fast, sw == 2, pairs, rows[0] + goff, rows[1] + goff, rows[2] + goff, w16 + 72 * g,
                        table + MK_MVE_DW_RQ_WORDS * g, out + 8 * g, pix);
    }
    for (int32_t ox = 2 * pairs; ox < ow && whole > 0; ++ox) {
        const size_t xoff = (size_t)(ox * sw) * 8u;
        mk_mve_dw_pixel(fast, whole, rows[0] + xoff, rows[1] + xoff, rows[2] + xoff, gstride, w16, table,
                        out + (size_t)ox * pix);
    }
    if (whole * 8 == c) {
        return;
    }
    /* the partial last group, pixel by pixel: its live channels are stored, the others are padding */
    const size_t goff = (size_t)whole * gstride;
    const int8_t *r0 = rows[0] + goff, *r1 = rows[1] + goff, *r2 = rows[2] + goff;
    const int16_t *wq = w16 + 72 * whole;
    const int32_t *t = table + MK_MVE_DW_RQ_WORDS * whole;
    const int16_t oo = (int16_t)p->output_offset;
    const int16x8_t lo = vdupq_n_s16((int16_t)p->act_min), hi = vdupq_n_s16((int16_t)p->act_max);
    int8_t *o = out + 8 * whole;
    for (int32_t ox = 0; ox < ow; ++ox, r0 += 8 * sw, r1 += 8 * sw, r2 += 8 * sw, o += pix) {
        int32x4_t acc[2];
        mk_mve_dw_one(r0, r1, r2, wq, acc);
        mk_mve_dw_rq(fast, t, &acc[0], &acc[1]);
        mk_mve_dw_out(acc[0], acc[1], oo, lo, hi, o, c - 8 * whole);
    }
}

mk_status mk_depthwise_conv_3x3_s8_mve(const mk_depthwise_conv_params *p, const int8_t *input, const int16_t *w16,
                                       const int32_t *table, int8_t *output, int8_t *scratch)
{
    if (p->filter_h != 3 || p->filter_w != 3 || p->depth_multiplier != 1 || p->dilation_h != 1 ||
        p->dilation_w != 1 || p->out_c != p->in_c || p->in_c < 1 || p->out_w < 1 || p->stride_w < 1 ||
        p->stride_h < 1 || w16 == NULL || table == NULL || scratch == NULL || p->act_min < -128 || p->act_max > 127) {
        return MK_ERR_ARG;
    }
    const int32_t c = p->in_c;
    const int32_t groups = (c + 7) / 8;
    const int32_t wp = mk_mve_dw_wp(p);
    const size_t ring_row = (size_t)groups * (size_t)wp * 8u;
    const size_t in_row = (size_t)p->in_w * (size_t)c;
    const size_t out_row = (size_t)p->out_w * (size_t)c;
    const int8_t zp = (int8_t)(-p->input_offset);
    const int fast = (table[groups * MK_MVE_DW_RQ_WORDS] & 1) != 0;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)p->in_h * in_row;
        int32_t next = -p->pad_top; /* the next input row to copy into the ring */
        for (int32_t oy = 0; oy < p->out_h; ++oy, output += out_row) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            next = MK_MAX(next, y0);
            for (; next <= y0 + 2; ++next) {
                const int8_t *src = next >= 0 && next < p->in_h ? in_b + (size_t)next * in_row : NULL;
                mk_mve_dw_fill_row(p, src, wp, zp, scratch + (size_t)((next + p->pad_top) % 3) * ring_row);
            }
            int8_t *rows[3];
            for (int32_t k = 0; k < 3; ++k) {
                rows[k] = scratch + (size_t)((y0 + k + p->pad_top) % 3) * ring_row;
            }
            if (fast) {
                mk_mve_dw_row(1, p, rows, wp, w16, table, output);
            } else {
                mk_mve_dw_row(0, p, rows, wp, w16, table, output);
            }
        }
    }
    return MK_OK;
}
#else
typedef int mk_depthwise_conv_3x3_s8_mve_unavailable; /* not an MVE target: the kernel does not exist here */
#endif
