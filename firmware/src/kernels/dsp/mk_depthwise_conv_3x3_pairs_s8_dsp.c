/* DEPTHWISE_CONV_2D, 3x3, depth multiplier 1, undilated, stride_w 1, on compile-time forms of its constants (the
 * stride-1 twin of mk_depthwise_conv_3x3_folded_s8_dsp; stream layout in mk_kernels_dsp.h, built by
 * mcukit/codegen/ops/_isa.py dw3x3_pairs_forms).
 *
 * Why it is faster: the folded kernel turns int8 bytes into SMLAD operands (PKH + SXTB16) for every tap of every
 * output, 35 of its 90 instructions per 4 channels. Here each input row is widened once, into a ring whose words
 * are already SMLAD operands: H[k] = (x[2k], x[2k + 1]) as int16 halves, the two pixels of padded columns 2k and
 * 2k + 1 of one channel. Two neighbouring outputs (2k, 2k + 1) of one channel and one filter row then take two
 * words and four multiplies with the weight words Wa = (w0, w1) and Wb = (w1, w2):
 *   A += SMLAD(H[k], Wa) + SMLABT(H[k + 1], Wb)     (x0 w0 + x1 w1 + x2 w2)
 *   B += SMLATB(H[k], Wa) + SMLAD(H[k + 1], Wb)     (x1 w0 + x2 w1 + x3 w2)
 * so an output pair costs per channel one LDM of its six ring words (3 rows x H[k], H[k + 1]) and an ADD, 12
 * multiplies, the weight stream in three LDMs and 2 x 4 epilogue instructions: 25 instructions for 18 MACs plus half
 * a loop test (the folded kernel: 90 for 36); a last single output of an odd width 14. Each input row is widened
 * once (an assembly loop, 25 instructions per 8 channels of a pixel pair) and serves three output rows. A whole
 * output row is one assembly call. Measured on qemu-m4: a DS-CNN depthwise layer (25 x 5 x 64) 190,069 -> 130,829
 * instructions (docs/kernels.md).
 *
 * Ring: blocks of 3 output pairs; per block and channel 48 bytes = H[3b .. 3b + 3] x 3 ring slots (word 3 j + s
 * holds H[3b + j] of the padded row in slot s = row % 3), so the six words of an output pair are one LDM and the
 * channels of a block are 48 bytes apart (an immediate). H[3b + 3] is stored twice (it opens block b + 1). Pixel
 * pairs of padding only are the zero point's pair, written once per call. The three slots rotate: filter row r of
 * output row oy is in slot (oy stride_h + r) % 3, so each ring phase has its own copy of the loop (the weight stream
 * is one). Padded taps read the input zero point, which the folded bias cancels (as in the folded kernel).
 *
 * Epilogue per output: SSAT8((SMMLAR(a, m, R) [+ (a >> 31)]) >> e), the folded kernel's (derivation in
 * mk_kernels_dsp.h). The correction term only moves negative accumulators, whose outputs are <= the output zero
 * point either way; when act_min >= output_offset (ReLU, ReLU6) they all clamp to act_min, so those layers run
 * loops without it (mk_depthwise_conv_3x3_pairs_relu_s8_dsp: its own entry point and table, so a model links only
 * the loops it uses). A narrower activation range than int8 is applied to the finished output row.
 * Access order: output rows in raster order; a row's input is read (widened into the ring) before any of its
 * outputs is written, so the in-place contract of lag 0 holds. */
#include <stddef.h>

#include "mcukit/mk_kernels_dsp.h"
#include "mk_dsp_dot.h"

#define MK_DW3P_WORDS 10   /* per channel: bias, 3 x (Wa, Wb), m, R, e */
#define MK_DW3P_PAIRS 3    /* output pairs per block */
#define MK_DW3P_CWORDS 12  /* ring words per block and channel: 4 pixel pairs x 3 slots */

static int32_t mk_dw3p_blocks(const mk_depthwise_conv_params *p)
{
    const int32_t pairs = (p->out_w + 1) / 2;
    return (pairs + MK_DW3P_PAIRS - 1) / MK_DW3P_PAIRS;
}

/* One pixel-pair word of the fill, the same for every row: its columns' byte offsets in an input row (-1: padding)
 * and its ring words for slot 0 (dup -1: stored once), made once per call so that a row's fill is a few loads per
 * pair word besides the widening. */
typedef struct {
    int32_t a, b, dst, dup;
} mk_dw3p_src;

size_t mk_depthwise_conv_3x3_pairs_s8_dsp_scratch_bytes(const mk_depthwise_conv_params *p)
{
    return (size_t)mk_dw3p_blocks(p) * (size_t)p->in_c * 4 * MK_DW3P_CWORDS +
           sizeof(mk_dw3p_src) * (size_t)((p->out_w + 1) / 2 + 1) + 4;
}

/* One output row, read (and its two counters written) by the assembly loops at fixed offsets. */
typedef struct {
    const int32_t *ring;   /* 0: the channel-0 words of pair 0: H[0], H[1] of slots 0-2 */
    const int32_t *packed; /* 4 */
    int8_t *out_a;         /* 8: output pixel 0, channel 0 */
    int8_t *out_b;         /* 12: output pixel 1, channel 0 */
    int32_t pix;           /* 16: bytes per pixel (the channel count) */
    int32_t bstride;       /* 20: ring bytes per block (48 per channel) */
    int32_t pairs;         /* 24: full output pairs (counted down) */
    int32_t j;             /* 28: the pair's place in its block, 0..2 */
    int32_t odd;           /* 32: odd channel count: the unrolled channel loops start at their second half */
    int32_t tail;          /* 36: a last single output */
} mk_dw3p_run;

#define MK_DW3P_CHECK(field, off) typedef char mk_dw3p_check_##field[offsetof(mk_dw3p_run, field) == (off) ? 1 : -1]
#if MK_DSP_NATIVE && UINTPTR_MAX == 0xFFFFFFFFu
MK_DW3P_CHECK(ring, 0);
MK_DW3P_CHECK(packed, 4);
MK_DW3P_CHECK(out_a, 8);
MK_DW3P_CHECK(out_b, 12);
MK_DW3P_CHECK(pix, 16);
MK_DW3P_CHECK(bstride, 20);
MK_DW3P_CHECK(pairs, 24);
MK_DW3P_CHECK(j, 28);
MK_DW3P_CHECK(odd, 32);
MK_DW3P_CHECK(tail, 36);
#endif

/* mk_requantize(a / 2) + output offset for the folded, doubled accumulator a and the channel's (m, R, e), with or
 * without the negative accumulators' correction, saturated to int8: the C twin of the assembly epilogue. */
static inline int32_t mk_dw3p_rq(int32_t a, const int32_t *t, int32_t fix)
{
    const int32_t h = (int32_t)(((int64_t)a * (int64_t)t[0] + (1LL << 31)) >> 32); /* SMMULR */
    const int32_t v = (int32_t)((uint32_t)h + (uint32_t)t[1] + (fix ? (uint32_t)(a >> 31) : 0u)) >> (t[2] & 0xFF);
    return MK_CLAMP(v, -128, 127);
}

static inline int32_t mk_dw3p_lo(int32_t v)
{
    return (int32_t)(int16_t)(uint16_t)((uint32_t)v & 0xFFFFu);
}

static inline int32_t mk_dw3p_hi(int32_t v)
{
    return (int32_t)(int16_t)(uint16_t)((uint32_t)v >> 16);
}

#if MK_DSP_NATIVE
/* Registers: r0-r5 the pair's ring words (r[s] = H[k] of slot s, r[3 + s] = H[k + 1]), r6 A, r9 B, r7 r8 and the
 * words of filter row 0 once it is done hold the weights, r10 ring, r11 weight stream, r12 out_a, lr out_b. The
 * loop ends on bit 8 of the last channel's e word (a shift by register reads bits 0-7 only). Naked, so that r7 (a
 * frame pointer in some builds) and the register order LDM needs are ours. */
#define MK_DW3P_ROW0(d, e) /* filter row 0: A starts at the bias (r6), B from it */                                 \
    "smlatb r9, " d ", r7, r6\n\t"                                                                                    \
    "smlad r6, " d ", r7, r6\n\t"                                                                                     \
    "smlabt r6, " e ", r8, r6\n\t"                                                                                    \
    "smlad r9, " e ", r8, r9\n\t"
#define MK_DW3P_ROW(d, e, wa, wb)                                                                                     \
    "smlatb r9, " d ", " wa ", r9\n\t"                                                                                \
    "smlad r6, " d ", " wa ", r6\n\t"                                                                                 \
    "smlabt r6, " e ", " wb ", r6\n\t"                                                                                \
    "smlad r9, " e ", " wb ", r9\n\t"
#define MK_DW3P_FIX(t, a) "add " t ", " t ", " a ", asr #31\n\t"
/* Rows 1 and 2's weights go to the registers row 0 freed (ascending, as LDM fills them). Phase f: filter row r in
 * ring slot (f + r) % 3. */
#define MK_DW3P_TAPS(R0, R, d0, e0, d1, e1, d2, e2)                                                                   \
    "ldm r10, {r0, r1, r2, r3, r4, r5}\n\t"                                                                           \
    "add r10, r10, #48\n\t"                                                                                           \
    "ldm r11!, {r6, r7, r8}\n\t"                                                                                      \
    R0(d0, e0)                                                                                                        \
    "ldm r11!, {" d0 ", " e0 ", r7, r8}\n\t"                                                                         \
    R(d1, e1, d0, e0)                                                                                                 \
    R(d2, e2, "r7", "r8")
#define MK_DW3P_PHASE0(R0, R) MK_DW3P_TAPS(R0, R, "r0", "r3", "r1", "r4", "r2", "r5")
#define MK_DW3P_PHASE1(R0, R) MK_DW3P_TAPS(R0, R, "r1", "r4", "r2", "r5", "r0", "r3")
#define MK_DW3P_PHASE2(R0, R) MK_DW3P_TAPS(R0, R, "r2", "r5", "r0", "r3", "r1", "r4")
/* One channel (no loop test): the pair's 2 outputs, or the single output's 1. */
#define MK_DW3P_EPI_PAIR(fix_a, fix_b)                                                                                \
    "ldm r11!, {r0, r1, r2}\n\t"                                                                                      \
    "smmlar r3, r6, r0, r1\n\t" fix_a                                                                                 \
    "asr r3, r3, r2\n\t"                                                                                              \
    "ssat r3, #8, r3\n\t"                                                                                             \
    "smmlar r4, r9, r0, r1\n\t" fix_b                                                                                 \
    "asr r4, r4, r2\n\t"                                                                                              \
    "ssat r4, #8, r4\n\t"                                                                                             \
    "strb r4, [lr], #1\n\t"                                                                                           \
    "strb r3, [r12], #1\n\t"
/* A whole output row: the full pairs, then a last single output. Channel loops are unrolled twice (the loop test,
 * bit 8 of the last channel's e word, only after the second copy; an odd count enters at the second copy). Between
 * pairs: outputs 2 pixels on, ring 12 bytes on within a block, to the next block after its third pair. */
#define MK_DW3P_FN(name, pair, one)                                                                                   \
    __attribute__((naked, noinline)) static void name(mk_dw3p_run *r __attribute__((unused)))                        \
    {                                                                                                                 \
        __asm__("push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"                                                     \
                "sub sp, sp, #4\n\t"                                                                                 \
                "str r0, [sp]\n\t"                                                                                   \
                "ldm r0, {r10, r11, r12, lr}\n\t"                                                                    \
                "ldr r1, [r0, #24]\n\t"                                                                              \
                "cmp r1, #0\n\t"                                                                                     \
                "beq 5f\n\t"                                                                                         \
                "1:\n\t"                                                                                             \
                "ldr r0, [sp]\n\t"                                                                                   \
                "ldr r11, [r0, #4]\n\t"                                                                              \
                "ldr r1, [r0, #32]\n\t"                                                                              \
                "cmp r1, #0\n\t"                                                                                     \
                "bne 3f\n\t"                                                                                         \
                "2:\n\t" pair "3:\n\t" pair                                                                          \
                "tst r2, #256\n\t"                                                                                   \
                "beq 2b\n\t"                                                                                         \
                "ldr r0, [sp]\n\t"                                                                                   \
                "ldrd r1, r3, [r0, #16]\n\t"                                                                         \
                "add r12, r12, r1\n\t"                                                                               \
                "add lr, lr, r1\n\t"                                                                                 \
                "sub r10, r10, r3\n\t"                                                                               \
                "add r10, r10, #12\n\t"                                                                              \
                "ldrd r4, r5, [r0, #24]\n\t"                                                                         \
                "add r5, r5, #1\n\t"                                                                                 \
                "cmp r5, #3\n\t"                                                                                     \
                "ittt eq\n\t"                                                                                        \
                "addeq r10, r10, r3\n\t"                                                                             \
                "subeq r10, r10, #36\n\t"                                                                            \
                "moveq r5, #0\n\t"                                                                                   \
                "subs r4, r4, #1\n\t"                                                                                \
                "strd r4, r5, [r0, #24]\n\t"                                                                         \
                "bne 1b\n\t"                                                                                         \
                "5:\n\t"                                                                                             \
                "ldr r0, [sp]\n\t"                                                                                   \
                "ldr r1, [r0, #36]\n\t"                                                                              \
                "cmp r1, #0\n\t"                                                                                     \
                "beq 9f\n\t"                                                                                         \
                "ldr r11, [r0, #4]\n\t"                                                                              \
                "ldr r1, [r0, #32]\n\t"                                                                              \
                "cmp r1, #0\n\t"                                                                                     \
                "bne 7f\n\t"                                                                                         \
                "6:\n\t" one "7:\n\t" one                                                                            \
                "tst r7, #256\n\t"                                                                                   \
                "beq 6b\n\t"                                                                                         \
                "9:\n\t"                                                                                             \
                "add sp, sp, #4\n\t"                                                                                 \
                "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n\t");                                                   \
    }
#define MK_DW3P_PAIR(phase, epi) MK_DW3P_PHASE##phase(MK_DW3P_ROW0, MK_DW3P_ROW) epi
/* The single output has r9 and lr free: the weight stream in two LDMs (bias + rows 0-1 into r6-r9, lr; row 2 and
 * m/R/e into the five registers rows 0-1 freed, ascending), 14 instructions per channel. Phase f: rows 0, 1, 2 in
 * slots f, f + 1, f + 2 (mod 3); e always lands in r7, the result in r8. */
#define MK_DW3P_ONE_BODY(d0, e0, d1, e1, d2, e2, wa2, wb2, m, rr, fix)                                                \
    "ldm r10, {r0, r1, r2, r3, r4, r5}\n\t"                                                                           \
    "add r10, r10, #48\n\t"                                                                                           \
    "ldm r11!, {r6, r7, r8, r9, lr}\n\t"                                                                              \
    "smlad r6, " d0 ", r7, r6\n\t"                                                                                    \
    "smlabt r6, " e0 ", r8, r6\n\t"                                                                                   \
    "smlad r6, " d1 ", r9, r6\n\t"                                                                                    \
    "smlabt r6, " e1 ", lr, r6\n\t"                                                                                   \
    "ldm r11!, {" wa2 ", " wb2 ", " m ", " rr ", r7}\n\t"                                                              \
    "smlad r6, " d2 ", " wa2 ", r6\n\t"                                                                               \
    "smlabt r6, " e2 ", " wb2 ", r6\n\t"                                                                              \
    "smmlar r8, r6, " m ", " rr "\n\t" fix                                                                            \
    "asr r8, r8, r7\n\t"                                                                                              \
    "ssat r8, #8, r8\n\t"                                                                                             \
    "strb r8, [r12], #1\n\t"
#define MK_DW3P_ONE0(fix) MK_DW3P_ONE_BODY("r0", "r3", "r1", "r4", "r2", "r5", "r0", "r1", "r3", "r4", fix)
#define MK_DW3P_ONE1(fix) MK_DW3P_ONE_BODY("r1", "r4", "r2", "r5", "r0", "r3", "r1", "r2", "r4", "r5", fix)
#define MK_DW3P_ONE2(fix) MK_DW3P_ONE_BODY("r2", "r5", "r0", "r3", "r1", "r4", "r0", "r2", "r3", "r5", fix)
#define MK_DW3P_ONE(phase, fix) MK_DW3P_ONE##phase(fix)
#define MK_DW3P_PAIR_FIX MK_DW3P_EPI_PAIR(MK_DW3P_FIX("r3", "r6"), MK_DW3P_FIX("r4", "r9"))
#define MK_DW3P_ONE_FIX MK_DW3P_FIX("r8", "r6")
MK_DW3P_FN(mk_dw3p_row0, MK_DW3P_PAIR(0, MK_DW3P_PAIR_FIX), MK_DW3P_ONE(0, MK_DW3P_ONE_FIX))
MK_DW3P_FN(mk_dw3p_row1, MK_DW3P_PAIR(1, MK_DW3P_PAIR_FIX), MK_DW3P_ONE(1, MK_DW3P_ONE_FIX))
MK_DW3P_FN(mk_dw3p_row2, MK_DW3P_PAIR(2, MK_DW3P_PAIR_FIX), MK_DW3P_ONE(2, MK_DW3P_ONE_FIX))
MK_DW3P_FN(mk_dw3p_row0_relu, MK_DW3P_PAIR(0, MK_DW3P_EPI_PAIR("", "")), MK_DW3P_ONE(0, ""))
MK_DW3P_FN(mk_dw3p_row1_relu, MK_DW3P_PAIR(1, MK_DW3P_EPI_PAIR("", "")), MK_DW3P_ONE(1, ""))
MK_DW3P_FN(mk_dw3p_row2_relu, MK_DW3P_PAIR(2, MK_DW3P_EPI_PAIR("", "")), MK_DW3P_ONE(2, ""))

typedef void (*mk_dw3p_fn)(mk_dw3p_run *);
/* [phase]; one table per entry point, so that a model links only the loops its layers use */
static const mk_dw3p_fn mk_dw3p_row_fns[3] = {mk_dw3p_row0, mk_dw3p_row1, mk_dw3p_row2};
static const mk_dw3p_fn mk_dw3p_row_relu_fns[3] = {mk_dw3p_row0_relu, mk_dw3p_row1_relu, mk_dw3p_row2_relu};
#define MK_DW3P_FNS(table) table
#else
#define MK_DW3P_FNS(table) NULL
typedef void (*mk_dw3p_fn)(mk_dw3p_run *);
#endif

#if !MK_DSP_NATIVE
/* One output pair's channels (two = 1) or a last single output's (two = 0): the C twin of the assembly loops. */
static void mk_dw3p_pair_c(const int32_t *ring, const int32_t *w, int8_t *out_a, int8_t *out_b, int32_t c_all,
                           int32_t phase, int32_t relu, int32_t two)
{
    for (int32_t c = 0; c < c_all; ++c, ring += MK_DW3P_CWORDS, w += MK_DW3P_WORDS) {
        int32_t a = w[0], b = w[0];
        for (int32_t row = 0; row < 3; ++row) {
            const int32_t s = (phase + row) % 3;
            const int32_t d = ring[s], e = ring[3 + s];
            const int32_t wa = w[1 + 2 * row], wb = w[2 + 2 * row];
            a += mk_dw3p_lo(d) * mk_dw3p_lo(wa) + mk_dw3p_hi(d) * mk_dw3p_hi(wa) + mk_dw3p_lo(e) * mk_dw3p_hi(wb);
            b += mk_dw3p_hi(d) * mk_dw3p_lo(wa) + mk_dw3p_lo(e) * mk_dw3p_lo(wb) + mk_dw3p_hi(e) * mk_dw3p_hi(wb);
        }
        out_a[c] = (int8_t)mk_dw3p_rq(a, w + 7, !relu);
        if (two) {
            out_b[c] = (int8_t)mk_dw3p_rq(b, w + 7, !relu);
        }
    }
}
#endif

/* Every output of a row: the assembly on DSP cores, the C twin elsewhere. */
static void mk_dw3p_row(mk_dw3p_run *r, int32_t out_w, int32_t phase, int32_t relu, const mk_dw3p_fn *fns)
{
#if MK_DSP_NATIVE
    (void)out_w;
    (void)relu;
    fns[phase](r);
#else
    (void)fns;
    const int32_t c_all = r->pix;
    for (int32_t kk = 0; 2 * kk < out_w; ++kk) {
        const int32_t *ring = (const int32_t *)((const int8_t *)r->ring + (size_t)(kk / MK_DW3P_PAIRS) *
                                                                            (size_t)r->bstride) +
                              3 * (kk % MK_DW3P_PAIRS);
        int8_t *out = r->out_a + (size_t)(2 * kk) * (size_t)c_all;
        mk_dw3p_pair_c(ring, r->packed, out, out + c_all, c_all, phase, relu, 2 * kk + 1 < out_w);
    }
#endif
}

/* Widen the channels of the padded columns at a and b into their pixel-pair words at dst[0], dst[12], ... (and
 * at dup[...] when the pair opens a block): the C path, for rows the assembly fill does not take (channel counts
 * that are not a multiple of 8, misaligned rows, hosts). Plain C, since no benchmark layer runs it: code size. */
static void mk_dw3p_widen_run(const int8_t *a, const int8_t *b, int32_t c_all, int32_t *dst, int32_t *dup)
{
    for (int32_t c = 0; c < c_all; ++c, dst += MK_DW3P_CWORDS) {
        const int32_t h = (int32_t)(((uint32_t)(int32_t)a[c] & 0xFFFFu) | ((uint32_t)(int32_t)b[c] << 16));
        *dst = h;
        if (dup != NULL) {
            *dup = h;
            dup += MK_DW3P_CWORDS;
        }
    }
}

/* The fill table of a layer (mk_dw3p_src); returns its length. Pixel pairs with no column in the image are not in
 * it: they hold the zero point's pair since the call began. */
static int32_t mk_dw3p_table(const mk_depthwise_conv_params *p, int32_t pairs, int32_t bwords, mk_dw3p_src *t)
{
    const int32_t c_all = p->in_c, in_w = p->in_w, pad = p->pad_left;
    const int32_t last = MK_MIN(pairs, (in_w - 1 + pad) / 2); /* pairs 0..last have a column in the image */
    int32_t n = 0;
    for (int32_t kk = 0; kk <= last; ++kk) {
        const int32_t x0 = 2 * kk - pad, blk = kk / MK_DW3P_PAIRS, j = kk % MK_DW3P_PAIRS;
        if (x0 + 1 < 0) {
            continue;
        }
        const int32_t dst = blk * bwords + 3 * j;
        const int32_t dup = j == 0 && kk > 0 ? (blk - 1) * bwords + 3 * MK_DW3P_PAIRS : -1;
        t[n].a = x0 >= 0 ? x0 * c_all : -1;
        t[n].b = x0 + 1 < in_w ? (x0 + 1) * c_all : -1;
        t[n].dst = kk == pairs && dup >= 0 ? dup : dst; /* the last pair word only closes the previous block */
        t[n].dup = kk == pairs ? -1 : dup;
        ++n;
    }
    return n;
}

#if MK_DSP_NATIVE
/* A whole input row's fill in one assembly loop, for word-aligned rows of a multiple of 8 channels (the C loop
 * around mk_dw3p_widen_run costs about 80 instructions per pixel-pair word, this one 20). */
typedef struct {
    const mk_dw3p_src *t; /* 0 */
    int32_t n;            /* 4: table entries (>= 1) */
    const int8_t *row;    /* 8 */
    const int8_t *zrow;   /* 12 */
    int32_t *slot;        /* 16: ring + s */
    int32_t n8;           /* 20: channels / 8 */
} mk_dw3p_fill_job;

#if UINTPTR_MAX == 0xFFFFFFFFu
typedef char mk_dw3p_check_job[offsetof(mk_dw3p_fill_job, n8) == 20 && sizeof(mk_dw3p_src) == 16 ? 1 : -1];
#endif

/* 8 channels of columns r7, r8 into ring words at r9 (and at r10 when `dup`). */
#define MK_DW3P_WIDEN8(dup)                                                                                           \
    "ldrd r0, r3, [r7], #8\n\t"                                                                                       \
    "ldrd r4, r6, [r8], #8\n\t"                                                                                       \
    "pkhbt r12, r0, r4, lsl #16\n\t"                                                                                  \
    "pkhtb r4, r4, r0, asr #16\n\t"                                                                                   \
    "sxtb16 r0, r12\n\t"                                                                                              \
    "sxtb16 r12, r12, ror #8\n\t"                                                                                     \
    "str r0, [r9]\n\t"                                                                                                \
    "str r12, [r9, #48]\n\t" dup("str r0, [r10]\n\t" "str r12, [r10, #48]\n\t")                                      \
    "sxtb16 r0, r4\n\t"                                                                                               \
    "sxtb16 r4, r4, ror #8\n\t"                                                                                       \
    "str r0, [r9, #96]\n\t"                                                                                           \
    "str r4, [r9, #144]\n\t" dup("str r0, [r10, #96]\n\t" "str r4, [r10, #144]\n\t")                                 \
    "pkhbt r12, r3, r6, lsl #16\n\t"                                                                                  \
    "pkhtb r6, r6, r3, asr #16\n\t"                                                                                   \
    "sxtb16 r3, r12\n\t"                                                                                              \
    "sxtb16 r12, r12, ror #8\n\t"                                                                                     \
    "str r3, [r9, #192]\n\t"                                                                                          \
    "str r12, [r9, #240]\n\t" dup("str r3, [r10, #192]\n\t" "str r12, [r10, #240]\n\t")                              \
    "sxtb16 r3, r6\n\t"                                                                                               \
    "sxtb16 r6, r6, ror #8\n\t"                                                                                       \
    "str r3, [r9, #288]\n\t"                                                                                          \
    "str r6, [r9, #336]\n\t" dup("str r3, [r10, #288]\n\t" "str r6, [r10, #336]\n\t" "add r10, r10, #384\n\t")     \
    "add r9, r9, #384\n\t"
#define MK_DW3P_YES(x) x
#define MK_DW3P_NO(x)

/* Registers: r1 table, r2 entries left, r5 slot, r7 r8 the columns, r9 r10 the ring words, r11 groups left; r0 r3
 * r4 r6 r12 scratch; [sp] the job. */
__attribute__((naked, noinline)) static void mk_dw3p_fill_asm(const mk_dw3p_fill_job *job __attribute__((unused)))
{
    __asm__("push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
            "sub sp, sp, #4\n\t"
            "str r0, [sp]\n\t"
            "ldrd r1, r2, [r0]\n\t"
            "ldr r5, [r0, #16]\n\t"
            "1:\n\t"
            "ldr r0, [sp]\n\t"
            "ldm r1!, {r7, r8, r9, r10}\n\t"
            "ldrd r3, r4, [r0, #8]\n\t"
            "ldr r11, [r0, #20]\n\t"
            "cmp r7, #0\n\t"
            "ite lt\n\t"
            "movlt r7, r4\n\t"
            "addge r7, r7, r3\n\t"
            "cmp r8, #0\n\t"
            "ite lt\n\t"
            "movlt r8, r4\n\t"
            "addge r8, r8, r3\n\t"
            "add r9, r5, r9, lsl #2\n\t"
            "cmp r10, #0\n\t"
            "blt 3f\n\t"
            "add r10, r5, r10, lsl #2\n\t"
            "2:\n\t" MK_DW3P_WIDEN8(MK_DW3P_YES) "subs r11, r11, #1\n\t"
            "bne 2b\n\t"
            "b 4f\n\t"
            "3:\n\t" MK_DW3P_WIDEN8(MK_DW3P_NO) "subs r11, r11, #1\n\t"
            "bne 3b\n\t"
            "4:\n\t"
            "subs r2, r2, #1\n\t"
            "bne 1b\n\t"
            "add sp, sp, #4\n\t"
            "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n\t");
}
#endif

/* Padded row `row` (an input row, or NULL: zero point outside the image) into ring slot s. */
static void mk_dw3p_fill(const mk_dw3p_src *t, int32_t n, const int8_t *row, int32_t s, const int8_t *zrow,
                         int32_t *ring, int32_t c_all)
{
    int32_t *slot = ring + s;
#if MK_DSP_NATIVE
    if (row != NULL && n > 0 && (c_all & 7) == 0 && ((uintptr_t)row & 3u) == 0) {
        const mk_dw3p_fill_job job = {t, n, row, zrow, slot, c_all / 8};
        mk_dw3p_fill_asm(&job);
        return;
    }
#endif
    if (row == NULL) { /* a padding row: the zero point's pair everywhere */
        const int32_t zz = (int32_t)(((uint32_t)(int32_t)zrow[0] & 0xFFFFu) * 0x10001u);
        for (; n > 0; --n, ++t) {
            for (int32_t copy = 0; copy < 2; ++copy) {
                int32_t *w = copy == 0 ? slot + t->dst : (t->dup < 0 ? NULL : slot + t->dup);
                for (int32_t c = 0; w != NULL && c < c_all; ++c, w += MK_DW3P_CWORDS) {
                    *w = zz;
                }
            }
        }
        return;
    }
    for (; n > 0; --n, ++t) {
        const int8_t *a = t->a >= 0 ? row + t->a : zrow;
        const int8_t *b = t->b >= 0 ? row + t->b : zrow;
        mk_dw3p_widen_run(a, b, c_all, slot + t->dst, t->dup < 0 ? NULL : slot + t->dup);
    }
}

/* relu: the loops without the negative accumulators' correction (fns), for act_min >= output_offset only. */
__attribute__((noinline)) static mk_status mk_dw3p_conv(const mk_depthwise_conv_params *p, const int8_t *input,
                                                        const int32_t *packed, int8_t *output, int8_t *scratch,
                                                        int32_t relu, const mk_dw3p_fn *fns)
{
    if (p->depth_multiplier != 1 || p->out_c != p->in_c || p->filter_h != 3 || p->filter_w != 3 ||
        p->dilation_h != 1 || p->dilation_w != 1 || p->stride_w != 1 || p->act_min < -128 || p->act_max > 127 ||
        scratch == NULL || p->out_w < 1 || p->in_c < 1) {
        return MK_ERR_ARG;
    }
    const int32_t c_all = p->in_c;
    const size_t pix = (size_t)c_all;
    const int32_t pairs = (p->out_w + 1) / 2, blocks = mk_dw3p_blocks(p);
    const size_t bwords = pix * MK_DW3P_CWORDS;
    int32_t *ring = (int32_t *)(((uintptr_t)scratch + 3u) & ~(uintptr_t)3u);
    const int8_t *zrow = (const int8_t *)(packed + (size_t)c_all * MK_DW3P_WORDS); /* a pixel of zero points */
    const int8_t zp = (int8_t)(-p->input_offset);
    mk_dw3p_src *table = (mk_dw3p_src *)(void *)(ring + (size_t)blocks * bwords);
    const int32_t entries = mk_dw3p_table(p, pairs, (int32_t)bwords, table);
    /* Pixel pairs of padding only (right of the image) hold the zero point's pair for good. */
    const int32_t zz = (int32_t)(((uint32_t)(int32_t)zp & 0xFFFFu) * 0x10001u);
    for (int32_t kk = 0; kk <= pairs; ++kk) {
        const int32_t x0 = 2 * kk - p->pad_left;
        if ((x0 >= 0 && x0 < p->in_w) || (x0 + 1 >= 0 && x0 + 1 < p->in_w)) {
            continue;
        }
        const int32_t blk = kk / MK_DW3P_PAIRS, j = kk % MK_DW3P_PAIRS;
        for (int32_t copy = 0; copy < 2; ++copy) { /* its words, and its copy closing the previous block */
            int32_t *w = copy == 0 ? (blk < blocks ? ring + (size_t)blk * bwords + 3 * j : NULL)
                                   : (j == 0 && blk > 0 ? ring + (size_t)(blk - 1) * bwords + 3 * MK_DW3P_PAIRS : NULL);
            for (int32_t c = 0; w != NULL && c < c_all; ++c, w += MK_DW3P_CWORDS) {
                w[0] = zz;
                w[1] = zz;
                w[2] = zz;
            }
        }
    }
    const int32_t clamp = p->act_min > -128 || p->act_max < 127;
    const size_t row_bytes = (size_t)p->in_w * pix;
    mk_dw3p_run run;
    for (int32_t bt = 0; bt < p->batches; ++bt) {
        const int8_t *in_b = input + (size_t)bt * (size_t)p->in_h * row_bytes;
        int32_t held[3] = {-1, -1, -1}; /* the padded row each slot holds */
        for (int32_t oy = 0; oy < p->out_h; ++oy, output += (size_t)p->out_w * pix) {
            const int32_t yy0 = oy * p->stride_h;
            const int32_t phase = yy0 % 3;
            for (int32_t r = 0, s = phase; r < 3; ++r, s = s == 2 ? 0 : s + 1) {
                if (held[s] != yy0 + r) {
                    const int32_t y = yy0 + r - p->pad_top;
                    mk_dw3p_fill(table, entries, y >= 0 && y < p->in_h ? in_b + (size_t)y * row_bytes : NULL, s, zrow,
                                 ring, c_all);
                    held[s] = yy0 + r;
                }
            }
            run.ring = ring;
            run.packed = packed;
            run.out_a = output;
            run.out_b = output + pix;
            run.pix = c_all;
            run.bstride = (int32_t)(bwords * 4);
            run.pairs = p->out_w / 2;
            run.j = 0;
            run.odd = c_all & 1;
            run.tail = p->out_w & 1;
            mk_dw3p_row(&run, p->out_w, phase, relu, fns);
            if (clamp) {
                for (size_t i = 0; i < (size_t)p->out_w * pix; ++i) {
                    output[i] = (int8_t)MK_CLAMP((int32_t)output[i], p->act_min, p->act_max);
                }
            }
        }
    }
    return MK_OK;
}

mk_status mk_depthwise_conv_3x3_pairs_s8_dsp(const mk_depthwise_conv_params *p, const int8_t *input,
                                             const int32_t *packed, int8_t *output, int8_t *scratch)
{
    return mk_dw3p_conv(p, input, packed, output, scratch, 0, MK_DW3P_FNS(mk_dw3p_row_fns));
}

mk_status mk_depthwise_conv_3x3_pairs_relu_s8_dsp(const mk_depthwise_conv_params *p, const int8_t *input,
                                                  const int32_t *packed, int8_t *output, int8_t *scratch)
{
    if (p->act_min < p->output_offset) {
        return MK_ERR_ARG;
    }
    return mk_dw3p_conv(p, input, packed, output, scratch, 1, MK_DW3P_FNS(mk_dw3p_row_relu_fns));
}
