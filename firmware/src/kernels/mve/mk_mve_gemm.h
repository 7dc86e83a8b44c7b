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
 * one pointer instead of deriving them from the params' multipliers/shifts (which the kernels do not read). After
 * the last group one flags word: bit 0 set when every shift is < 0 (the group loop's epilogue then leaves out the
 * VSHL by 0 and the AND with -1).
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

/* The whole groups of 4 channels of mk_mve_gemm_rows as one assembly loop: GCC kept the loop state of the C loop
 * around the block on the stack (about 30 instructions per group besides the block and the epilogue). Registers:
 * the block's 8 accumulators are the even registers (r0 .. r12, lr: a0..a3 = r0, r2, r4, r6 for row a, b0..b3 = r8,
 * r10, r12, lr for row b), the odd ones hold xa (r1), xb (r3), the weights (r5, walking on from group to group), the
 * chunk counter (r7), the table (r9) and the output offset (r11). q4 keeps the rows' start and the output
 * pointers, q7 the chunk count, the table's end (the group loop ends there), the pairs left and the argument
 * pointer (VMOV moves two lanes to two registers in one instruction), q5/q6 the activation bounds. The epilogue
 * is mk_mve_rq_pair's (top of this file); FAST: every shift < 0, so the VSHL by 0 and the AND with -1 are left
 * out. Row b's outputs are stored first, so when ob == o (one row) row a's identical ones overwrite them. */
typedef struct {
    const int8_t *xa, *xb, *wp; /* byte offsets 0, 4, 8 (the assembly reads the fields by offset) */
    int32_t chunks;             /* 12 */
    const int32_t *t;           /* 16 */
    int32_t oo;                 /* 20 */
    int8_t *o, *ob;             /* 24, 28 */
    int32_t groups, lo, hi;     /* 32, 36, 40 */
    int32_t pairs;              /* 44: pixel pairs (>= 1); after each, the rows step by xstep, the outputs by ostep */
    int32_t xstep, ostep;       /* 48, 52 (ostep: added to o/ob after they moved by 4 groups bytes) */
} mk_mve_gemm_loop_args;

#define MK_MVE_GEMM_STEP(OP)                                                                                        \
    "vldrb.8 q0, [r1], #16\n\t"                                                                                     \
    "vldrb.8 q1, [r3], #16\n\t"                                                                                     \
    "vldrb.8 q2, [r5, #16]\n\t"                                                                                     \
    "vldrb.8 q3, [r5, #32]\n\t" OP ".s8 r2, q2, q0\n\t" OP ".s8 r10, q2, q1\n\t"                                  \
    "vldrb.8 q2, [r5, #48]\n\t" OP ".s8 r4, q3, q0\n\t" OP ".s8 r12, q3, q1\n\t"                                  \
    "vldrb.8 q3, [r5], #64\n\t" OP ".s8 r6, q2, q0\n\t" OP ".s8 lr, q2, q1\n\t" OP ".s8 r0, q3, q0\n\t" OP          \
    ".s8 r8, q3, q1\n\t"
#define MK_MVE_GEMM_TIE_FAST_A "vshr.s32 q2, q0, #31\n\t" "vadd.i32 q0, q0, q2\n\t"
#define MK_MVE_GEMM_TIE_FAST_B "vshr.s32 q2, q1, #31\n\t" "vadd.i32 q1, q1, q2\n\t"
#define MK_MVE_GEMM_TIE_FAST MK_MVE_GEMM_TIE_FAST_A MK_MVE_GEMM_TIE_FAST_B
#define MK_MVE_GEMM_LEFT_AND_TIE                                                                                    \
    "vldrw.32 q2, [r9, #-64]\n\t"                                                                                   \
    "vshl.s32 q0, q0, q2\n\t"                                                                                       \
    "vshl.s32 q1, q1, q2\n\t"
#define MK_MVE_GEMM_TIE_GEN                                                                                         \
    "vldrw.32 q3, [r9, #-32]\n\t"                                                                                   \
    "vshr.s32 q2, q0, #31\n\t"                                                                                      \
    "vand q2, q2, q3\n\t"                                                                                           \
    "vadd.i32 q0, q0, q2\n\t"                                                                                       \
    "vshr.s32 q2, q1, #31\n\t"                                                                                      \
    "vand q2, q2, q3\n\t"                                                                                           \
    "vadd.i32 q1, q1, q2\n\t"
#define MK_MVE_GEMM_LOOP(LEFT, TIE)                                                                                 \
    __asm__ volatile("ldr r1, [r0, #0]\n\t"                                                                         \
                     "ldr r3, [r0, #4]\n\t"                                                                         \
                     "ldr r5, [r0, #8]\n\t"                                                                         \
                     "ldr r7, [r0, #12]\n\t"                                                                        \
                     "ldr r9, [r0, #16]\n\t"                                                                        \
                     "ldr r11, [r0, #20]\n\t"                                                                       \
                     "ldr r2, [r0, #24]\n\t"                                                                        \
                     "ldr r4, [r0, #28]\n\t"                                                                        \
                     "ldr r6, [r0, #32]\n\t"                                                                        \
                     "ldr r8, [r0, #36]\n\t"                                                                        \
                     "ldr r10, [r0, #40]\n\t"                                                                       \
                     "vdup.32 q5, r8\n\t"                                                                           \
                     "vdup.32 q6, r10\n\t"                                                                          \
                     "vmov q4[2], q4[0], r1, r3\n\t"                                                                \
                     "vmov q4[3], q4[1], r2, r4\n\t"                                                                \
                     "movs r8, #80\n\t"                                                                             \
                     "mla r6, r6, r8, r9\n\t" /* the table's end: the group loop stops when t reaches it */        \
                     "vmov q7[2], q7[0], r7, r6\n\t"                                                                \
                     "ldr r12, [r0, #44]\n\t"                                                                       \
                     "vmov q7[3], q7[1], r12, r0\n"                                                                 \
                     "1:\n\t" MK_MVE_GEMM_STEP("vmladav") "subs r7, r7, #1\n\t"                                     \
                     "beq 3f\n"                                                                                     \
                     "2:\n\t" MK_MVE_GEMM_STEP("vmladava") "subs r7, r7, #1\n\t"                                    \
                     "bne 2b\n"                                                                                     \
                     "3:\n\t"                                                                                       \
                     "vmov q0[2], q0[0], r0, r4\n\t"                                                                \
                     "vmov q0[3], q0[1], r2, r6\n\t"                                                                \
                     "vmov q1[2], q1[0], r8, r12\n\t"                                                               \
                     "vmov q1[3], q1[1], r10, lr\n\t"                                                               \
                     "vldrw.32 q2, [r9], #80\n\t"                                                                   \
                     "vadd.i32 q0, q0, q2\n\t"                                                                      \
                     "vadd.i32 q1, q1, q2\n\t" LEFT "vldrw.32 q2, [r9, #-48]\n\t"                                   \
                     "vqrdmulh.s32 q0, q0, q2\n\t"                                                                  \
                     "vqrdmulh.s32 q1, q1, q2\n\t" TIE "vldrw.32 q2, [r9, #-16]\n\t"                                \
                     "vrshl.s32 q0, q0, q2\n\t"                                                                     \
                     "vrshl.s32 q1, q1, q2\n\t"                                                                     \
                     "vadd.i32 q0, q0, r11\n\t"                                                                     \
                     "vadd.i32 q1, q1, r11\n\t"                                                                     \
                     "vmax.s32 q0, q0, q5\n\t"                                                                      \
                     "vmax.s32 q1, q1, q5\n\t"                                                                      \
                     "vmin.s32 q0, q0, q6\n\t"                                                                      \
                     "vmin.s32 q1, q1, q6\n\t"                                                                      \
                     "vmov r0, r2, q4[3], q4[1]\n\t"                                                                \
                     "vstrb.32 q1, [r2], #4\n\t"                                                                    \
                     "vstrb.32 q0, [r0], #4\n\t"                                                                    \
                     "vmov q4[3], q4[1], r0, r2\n\t"                                                                \
                     "vmov r1, r3, q4[2], q4[0]\n\t"                                                                \
                     "vmov r0, r2, q7[2], q7[0]\n\t"                                                                \
                     "mov r7, r0\n\t"                                                                               \
                     "cmp r9, r2\n\t"                                                                               \
                     "bne 1b\n\t" /* next pixel pair: weights and table from the start, rows and outputs on */      \
                     "vmov r0, r2, q7[3], q7[1]\n\t"                                                                \
                     "subs r0, r0, #1\n\t"                                                                          \
                     "beq 4f\n\t"                                                                                   \
                     "vmov q7[3], q7[1], r0, r2\n\t"                                                                \
                     "ldr r5, [r2, #8]\n\t"                                                                         \
                     "ldr r9, [r2, #16]\n\t"                                                                        \
                     "ldr r4, [r2, #48]\n\t"                                                                        \
                     "ldr r6, [r2, #52]\n\t"                                                                        \
                     "add r1, r1, r4\n\t"                                                                           \
                     "add r3, r3, r4\n\t"                                                                           \
                     "vmov q4[2], q4[0], r1, r3\n\t"                                                                \
                     "vmov r0, r2, q4[3], q4[1]\n\t"                                                                \
                     "add r0, r0, r6\n\t"                                                                           \
                     "add r2, r2, r6\n\t"                                                                           \
                     "vmov q4[3], q4[1], r0, r2\n\t"                                                                \
                     "b 1b\n"                                                                                       \
                     "4:\n"                                                                                         \
                     : "+r"(args_)                                                                                  \
                     :                                                                                              \
                     : "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "q0",     \
                       "q1", "q2", "q3", "q4", "q5", "q6", "q7", "memory", "cc")

/* groups >= 1 whole groups of 4 channels for rows xa, xb (chunks >= 1 16-byte steps each); outputs of row a at o,
 * of row b at ob (ob == o: one row). Returns after the last group; the weights and table of the next group follow
 * at wp + 64 chunks groups and t + MK_MVE_RQ_WORDS groups. */
static __attribute__((noinline)) void mk_mve_gemm_groups(int fast, const mk_mve_gemm_loop_args *a)
{
    register const mk_mve_gemm_loop_args *args_ __asm__("r0") = a;
    if (fast) {
        MK_MVE_GEMM_LOOP("", MK_MVE_GEMM_TIE_FAST);
    } else {
        MK_MVE_GEMM_LOOP(MK_MVE_GEMM_LEFT_AND_TIE, MK_MVE_GEMM_TIE_GEN);
    }
}

/* The loop arguments that stay the same for every pixel pair of a call (weights, table, chunk and group counts,
 * offset and bounds), filled once; returns the table's flags bit (every shift < 0). */
static inline int mk_mve_gemm_init(const mk_conv_params *p, const int8_t *weights, const int32_t *table,
                                   int32_t chunks, mk_mve_gemm_loop_args *a)
{
    const mk_mve_gemm_loop_args init = {NULL, NULL, weights, chunks, table, p->output_offset, NULL, NULL,
                                        p->out_c / 4, p->act_min, p->act_max, 1, 0, 0};
    *a = init;
    return table[(p->out_c + 3) / 4 * MK_MVE_RQ_WORDS] & 1; /* the flags word after the groups */
}

/* All out_c outputs of rows xa and xb (xb may equal xa: then only row a's outputs are stored, `two` == 0). Row a's
 * outputs go to out[0..out_c), row b's to out[out_c..2 out_c). chunks: the rows' length / 16 (>= 1). Whole groups
 * of 4 channels run in the assembly loop (a: from mk_mve_gemm_init; only rows and outputs are set here); a last
 * partial group stores its live lanes only. */
static inline void mk_mve_gemm_rows(const mk_conv_params *p, mk_mve_gemm_loop_args *a, int fast,
                                    const int8_t *xa, const int8_t *xb, int two, int8_t *out)
{
    const int32_t out_c = p->out_c;
    const int32_t whole = out_c & ~3;
    int8_t *out_b = out + out_c;
    if (whole > 0) {
        a->xa = xa;
        a->xb = xb;
        a->o = out;
        a->ob = two ? out_b : out;
        mk_mve_gemm_groups(fast, a);
    }
    if (whole < out_c) {
        const mve_pred16_t pr = vctp32q((uint32_t)(out_c - whole));
        const int8_t *wp = a->wp + 64u * (size_t)a->chunks * (size_t)(whole / 4);
        const int32_t *t = a->t + MK_MVE_RQ_WORDS * (whole / 4);
        const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
        int32x4_t va, vb;
        mk_mve_block_4x2(wp, xa, xb, a->chunks, &va, &vb);
        mk_mve_rq_pair(&va, &vb, t, p->output_offset, lo, hi);
        vstrbq_p_s32(out + whole, va, pr);
        if (two) {
            vstrbq_p_s32(out_b + whole, vb, pr);
        }
    }
}

/* `pairs` >= 1 pixel pairs whose rows are read in place: pair i's rows at x + i xstep and x + i xstep + xstep / 2,
 * its outputs at out + 2 i out_c (row a) and the next out_c bytes (row b). Only for out_c % 4 == 0 (no partial
 * group): the whole loop is the assembly of mk_mve_gemm_groups. */
static inline void mk_mve_gemm_pairs(const mk_conv_params *p, const mk_mve_gemm_loop_args *a, int fast,
                                     const int8_t *x, int32_t xstep, int32_t pairs, int8_t *out)
{
    mk_mve_gemm_loop_args args = *a;
    args.xa = x;
    args.xb = x + xstep / 2;
    args.o = out;
    args.ob = out + p->out_c;
    args.pairs = pairs;
    args.xstep = xstep;
    args.ostep = p->out_c;
    mk_mve_gemm_groups(fast, &args);
}

/* n bytes from src to dst: whole 16-byte steps unpredicated, then one predicated step for the rest (im2col rows
 * are often a few bytes: DS-CNN's first layer copies 4-byte window rows). The predicate is set in assembly: from
 * intrinsics GCC moved it through a core register (VMRS, UXTH, VMSR) for every use. */
static inline void mk_mve_copy(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 16; n -= 16, src += 16, dst += 16) {
        vstrbq_s8(dst, vldrbq_s8(src));
    }
    if (n > 0) {
        __asm__ volatile("vctp.8 %[n]\n\t"
                         "vpstt\n\t"
                         "vldrbt.8 q0, [%[s]]\n\t"
                         "vstrbt.8 q0, [%[d]]\n"
                         :
                         : [n] "r"(n), [s] "r"(src), [d] "r"(dst)
                         : "q0", "p0", "memory");
    }
}

/* n bytes of value v at dst. */
static inline void mk_mve_fill(int8_t *dst, int8_t v, int32_t n)
{
    const int8x16_t vv = vdupq_n_s8(v);
    for (; n >= 16; n -= 16, dst += 16) {
        vstrbq_s8(dst, vv);
    }
    if (n > 0) {
        __asm__ volatile("vctp.8 %[n]\n\t"
                         "vpst\n\t"
                         "vstrbt.8 %q[v], [%[d]]\n"
                         :
                         : [n] "r"(n), [v] "w"(vv), [d] "r"(dst)
                         : "p0", "memory");
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
    if (p->dilation_w == 1 && p->dilation_h == 1 && tap_row <= 16) {
        /* Short window rows (DS-CNN's 10x4 first layer: 4 bytes; 3x3 on 3 channels: 9): the rows above and below
         * the image are two contiguous zero-point runs, and each row inside is one predicated copy (plus one
         * predicated zero-point store under it when the window is clipped on the left or right), in assembly
         * (from intrinsics GCC re-derived the predicate through core registers for every row). */
        const int32_t left = x0 < 0 ? MK_MIN(-x0, fw) : 0;
        const int32_t right = MK_MIN(MK_MAX(x0 + fw - p->in_w, 0), fw - left);
        const int32_t mid = (fw - left - right) * c;
        const int32_t fh = p->filter_h;
        const int32_t fy0 = MK_MIN(MK_MAX(-y0, 0), fh);
        const int32_t fy1 = MK_MAX(MK_MIN(p->in_h - y0, fh), fy0);
        if (fy0 > 0) {
            mk_mve_fill(dst, pad, fy0 * tap_row);
        }
        if (fy1 < fh) {
            mk_mve_fill(dst + fy1 * tap_row, pad, (fh - fy1) * tap_row);
        }
        int32_t rows = fy1 - fy0;
        if (rows == 0) {
            return;
        }
        const int8_t *src = in_b + (ptrdiff_t)(y0 + fy0) * (ptrdiff_t)row_bytes + (ptrdiff_t)(x0 + left) * c;
        int8_t *d = dst + fy0 * tap_row;
        if (left == 0 && right == 0) {
            __asm__ volatile("vctp.8 %[m]\n"
                             "1:\n\t"
                             "vpstt\n\t"
                             "vldrbt.8 q0, [%[s]]\n\t"
                             "vstrbt.8 q0, [%[d]]\n\t"
                             "add %[s], %[s], %[rs]\n\t"
                             "add %[d], %[d], %[ts]\n\t"
                             "subs %[n], %[n], #1\n\t"
                             "bne 1b\n"
                             : [s] "+r"(src), [d] "+r"(d), [n] "+r"(rows)
                             : [m] "r"(mid), [rs] "r"(row_bytes), [ts] "r"(tap_row)
                             : "q0", "p0", "memory", "cc");
        } else {
            int8_t *dm = d + left * c;
            const int8x16_t zv = vdupq_n_s8(pad);
            __asm__ volatile("1:\n\t"
                             "vctp.8 %[t]\n\t"
                             "vpst\n\t"
                             "vstrbt.8 %q[z], [%[d]]\n\t"
                             "vctp.8 %[m]\n\t"
                             "vpstt\n\t"
                             "vldrbt.8 q0, [%[s]]\n\t"
                             "vstrbt.8 q0, [%[dm]]\n\t"
                             "add %[s], %[s], %[rs]\n\t"
                             "add %[d], %[d], %[t]\n\t"
                             "add %[dm], %[dm], %[t]\n\t"
                             "subs %[n], %[n], #1\n\t"
                             "bne 1b\n"
                             : [s] "+r"(src), [d] "+r"(d), [dm] "+r"(dm), [n] "+r"(rows)
                             : [m] "r"(mid), [rs] "r"(row_bytes), [t] "r"(tap_row), [z] "w"(zv)
                             : "q0", "p0", "memory", "cc");
        }
        return;
    }
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
