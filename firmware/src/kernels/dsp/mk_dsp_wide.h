/* Private to the DSP kernels that run GEMMs on int16 operands in the interleaved "wide" layout
 * (mk_conv_wide_s8_dsp, mk_conv_wino_s8_dsp): the inner step over one block of a pixel pair and a channel pair,
 * and the requantization of a channel pair's four accumulators.
 *
 * Layout of a block (docs/kernels.md): pixel rows a, b as the words {a02, a13, b02, b13}, channels c, c+1 as
 * {w[c] 02, w[c] 13, w[c+1] 02, w[c+1] 13}; "02" is the halfword pair of elements 0 and 2 of 4 (SXTB16 order).
 * The step and the epilogue use the caller's variables a0..a3 (a0, a1: channels c, c+1 for row a; a2, a3: row b).
 */
#ifndef MK_DSP_WIDE_H
#define MK_DSP_WIDE_H

#include "mk_dsp_dot.h"

/* One block of a channel pair against the pixel pair: acc0/acc1 += channels c, c+1 . row a, acc2/acc3 the same for
 * row b; x and w advance by one block. On DSP cores it is one asm block so that the loads are LDRD with
 * post-increment (GCC split them into eight LDR, one instruction per 2 MACs more) and the twelve live values stay
 * in registers: 4 LDRD + 8 SMLAD for 16 MACs. */
#if MK_DSP_NATIVE
#define MK_WIDE_STEP(w, x)                                                                                            \
    do {                                                                                                              \
        int32_t xa0_, xa1_, xb0_, xb1_, w0_, w1_;                                                                     \
        __asm__("ldrd %[xa0], %[xa1], [%[x]], #8\n\t"                                                                  \
                "ldrd %[w0], %[w1], [%[w]], #8\n\t"                                                                    \
                "smlad %[a0], %[w0], %[xa0], %[a0]\n\t"                                                                \
                "smlad %[a0], %[w1], %[xa1], %[a0]\n\t"                                                                \
                "ldrd %[xb0], %[xb1], [%[x]], #8\n\t"                                                                  \
                "smlad %[a2], %[w0], %[xb0], %[a2]\n\t"                                                                \
                "smlad %[a2], %[w1], %[xb1], %[a2]\n\t"                                                                \
                "ldrd %[w0], %[w1], [%[w]], #8\n\t"                                                                    \
                "smlad %[a1], %[w0], %[xa0], %[a1]\n\t"                                                                \
                "smlad %[a1], %[w1], %[xa1], %[a1]\n\t"                                                                \
                "smlad %[a3], %[w0], %[xb0], %[a3]\n\t"                                                                \
                "smlad %[a3], %[w1], %[xb1], %[a3]"                                                                     \
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w),             \
                  [xa0] "=&r"(xa0_), [xa1] "=&r"(xa1_), [xb0] "=&r"(xb0_), [xb1] "=&r"(xb1_), [w0] "=&r"(w0_),      \
                  [w1] "=&r"(w1_)                                                                                   \
                :                                                                                                     \
                : "memory");                                                                                          \
    } while (0)
#else
#define MK_WIDE_STEP(w, x)                                                                                            \
    do {                                                                                                              \
        a0 = __smlad((w)[1], (x)[1], __smlad((w)[0], (x)[0], a0));                                                    \
        a2 = __smlad((w)[1], (x)[3], __smlad((w)[0], (x)[2], a2));                                                    \
        a1 = __smlad((w)[3], (x)[1], __smlad((w)[2], (x)[0], a1));                                                    \
        a3 = __smlad((w)[3], (x)[3], __smlad((w)[2], (x)[2], a3));                                                    \
        (x) += 4;                                                                                                     \
        (w) += 4;                                                                                                     \
    } while (0)
#endif

/* The same block with int8 weights (mk_conv_wide_w8_s8_dsp): each channel's 4 bytes are widened by two SXTB16 in
 * the loop - 2 LDRD + 2 LDR + 4 SXTB16 + 8 SMLAD for 16 MACs instead of 4 LDRD + 8 SMLAD - for boards whose flash
 * the int16 weights would crowd. w advances by 2 words per block. */
#if MK_DSP_NATIVE
#define MK_WIDE8_STEP(w, x)                                                                                           \
    do {                                                                                                              \
        int32_t xa0_, xa1_, xb0_, xb1_, wv_, wo_;                                                                     \
        __asm__("ldrd %[xa0], %[xa1], [%[x]], #8\n\t"                                                                 \
                "ldrd %[xb0], %[xb1], [%[x]], #8\n\t"                                                                 \
                "ldr %[wv], [%[w]], #4\n\t"                                                                           \
                "sxtb16 %[wo], %[wv], ror #8\n\t"                                                                     \
                "sxtb16 %[wv], %[wv]\n\t"                                                                             \
                "smlad %[a0], %[wv], %[xa0], %[a0]\n\t"                                                               \
                "smlad %[a0], %[wo], %[xa1], %[a0]\n\t"                                                               \
                "smlad %[a2], %[wv], %[xb0], %[a2]\n\t"                                                               \
                "smlad %[a2], %[wo], %[xb1], %[a2]\n\t"                                                               \
                "ldr %[wv], [%[w]], #4\n\t"                                                                           \
                "sxtb16 %[wo], %[wv], ror #8\n\t"                                                                     \
                "sxtb16 %[wv], %[wv]\n\t"                                                                             \
                "smlad %[a1], %[wv], %[xa0], %[a1]\n\t"                                                               \
                "smlad %[a1], %[wo], %[xa1], %[a1]\n\t"                                                               \
                "smlad %[a3], %[wv], %[xb0], %[a3]\n\t"                                                               \
                "smlad %[a3], %[wo], %[xb1], %[a3]"                                                                     \
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w),             \
                  [xa0] "=&r"(xa0_), [xa1] "=&r"(xa1_), [xb0] "=&r"(xb0_), [xb1] "=&r"(xb1_), [wv] "=&r"(wv_),      \
                  [wo] "=&r"(wo_)                                                                                   \
                :                                                                                                     \
                : "memory");                                                                                          \
    } while (0)
#else
#define MK_WIDE8_STEP(w, x)                                                                                           \
    do {                                                                                                              \
        const int32_t c0_ = (w)[0], c1_ = (w)[1];                                                                     \
        const int32_t c0e_ = __sxtb16(c0_), c0o_ = mk_sxtb16_ror8(c0_);                                               \
        const int32_t c1e_ = __sxtb16(c1_), c1o_ = mk_sxtb16_ror8(c1_);                                               \
        a0 = __smlad(c0o_, (x)[1], __smlad(c0e_, (x)[0], a0));                                                        \
        a2 = __smlad(c0o_, (x)[3], __smlad(c0e_, (x)[2], a2));                                                        \
        a1 = __smlad(c1o_, (x)[1], __smlad(c1e_, (x)[0], a1));                                                        \
        a3 = __smlad(c1o_, (x)[3], __smlad(c1e_, (x)[2], a3));                                                        \
        (x) += 4;                                                                                                     \
        (w) += 2;                                                                                                     \
    } while (0)
#endif

/* Requantize a channel pair's four accumulators (a0, a2: channel c for rows a, b; a1, a3: channel c + 1) with
 * their two table rows at *t, advance *t past them, and return the int8 results packed as the bytes
 * {c row a, c+1 row a, c row b, c+1 row b}. Per output: MLA, SMMULR, two ADDs, ASR, SSAT (mk_dsp_rq8's arithmetic).
 * On DSP cores one asm block: the table rows come in by LDRD with post-increment and everything stays in
 * registers (GCC's version reloaded spilled loop state and took ~70 instructions per pair, this one 35). */
#if MK_DSP_NATIVE
#define MK_WIDE_RQ_CHANNEL(x, y)                                                                                      \
    "ldrd %[b], %[s], [%[t]], #8\n\t"                                                                                 \
    "ldrd %[m], %[r], [%[t]], #8\n\t"                                                                                 \
    "ldr %[e], [%[t]], #4\n\t"                                                                                        \
    "mla %[" x "], %[" x "], %[s], %[b]\n\t"                                                                          \
    "mla %[" y "], %[" y "], %[s], %[b]\n\t"                                                                          \
    "smmulr %[" x "], %[" x "], %[m]\n\t"                                                                             \
    "smmulr %[" y "], %[" y "], %[m]\n\t"                                                                             \
    "add %[s], %[r], %[" x "], lsl #1\n\t"                                                                            \
    "add %[" x "], %[s], %[" x "], asr #31\n\t"                                                                       \
    "add %[s], %[r], %[" y "], lsl #1\n\t"                                                                            \
    "add %[" y "], %[s], %[" y "], asr #31\n\t"                                                                       \
    "asr %[" x "], %[" x "], %[e]\n\t"                                                                                \
    "asr %[" y "], %[" y "], %[e]\n\t"                                                                                \
    "ssat %[" x "], #8, %[" x "]\n\t"                                                                                 \
    "ssat %[" y "], #8, %[" y "]\n\t"

static inline uint32_t mk_wide_epilogue(int32_t a0, int32_t a1, int32_t a2, int32_t a3, const int32_t **t)
{
    const int32_t *tp = *t;
    int32_t b, s, m, r, e;
    __asm__(MK_WIDE_RQ_CHANNEL("a0", "a2") MK_WIDE_RQ_CHANNEL("a1", "a3")
            "pkhbt %[a0], %[a0], %[a2], lsl #16\n\t"
            "pkhbt %[a1], %[a1], %[a3], lsl #16\n\t"
            "uxtb16 %[a0], %[a0]\n\t"
            "uxtb16 %[a1], %[a1]\n\t"
            "orr %[a0], %[a0], %[a1], lsl #8"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [t] "+r"(tp), [b] "=&r"(b), [s] "=&r"(s),
              [m] "=&r"(m), [r] "=&r"(r), [e] "=&r"(e)
            :
            : "memory");
    *t = tp;
    return (uint32_t)a0;
}
#else
static inline uint32_t mk_wide_epilogue(int32_t a0, int32_t a1, int32_t a2, int32_t a3, const int32_t **t)
{
    const int32_t *tp = *t;
    *t = tp + 2 * MK_DSP_RQ_WORDS;
    const uint32_t c0 = mk_dsp_bytes2(mk_dsp_rq8(a0, tp), mk_dsp_rq8(a2, tp)) & 0xFFFFu;
    const uint32_t c1 = mk_dsp_bytes2(mk_dsp_rq8(a1, tp + MK_DSP_RQ_WORDS), mk_dsp_rq8(a3, tp + MK_DSP_RQ_WORDS));
    /* c0: {c row a, c row b}; c1: {c+1 row a, c+1 row b} -> {c a, c+1 a, c b, c+1 b} */
    return (c0 & 0xFFu) | ((c1 & 0xFFu) << 8) | ((c0 & 0xFF00u) << 8) | ((c1 & 0xFF00u) << 16);
}
#endif

/* ---- The whole channel-pair loop of one pixel pair (mk_wide_pairs, mk_wide8_pairs) ---------------------------------
 *
 * Everything mk_wide_gemm does for the channel pairs of a widened pixel pair: the GEMM of every pair, its epilogue
 * (the arithmetic of mk_wide_epilogue) and the two halfword stores; mk_wide_pairs for int16 weights, mk_wide8_pairs
 * for the int8 layout of MK_WIDE8_STEP. On DSP cores each is one assembly function whose fourteen registers hold
 * the two pointers, the four accumulators and the eight words of a block (the block end, the table and output
 * pointers wait in its stack frame), so nothing else is reloaded inside a pair (GCC's loop around MK_WIDE_STEP and
 * mk_wide_epilogue reloaded about 25 values from the stack per pair). Per block: one LDM of the pixel pair's 4 words
 * and one of the channel pair's (10 instructions for 16 MACs instead of 12; int8 weights: one LDRD and 4 SXTB16,
 * 14 instead of 16), eight blocks per compare and branch (int8: four; the first pass enters the loop part way),
 * the first block with SMUAD (no zeroing); per pair: the two table rows by one LDM of 8 words and one LDRD, and
 * each row's bytes joined by one BFI (no packing of a word; the clamp of ReLU-style ranges is the caller's).
 * Contract: blocks >= 2, out_end > out_a (at least one pair). */
typedef struct {
    int8_t *out_a;        /* row a's outputs of the first pair */
    int8_t *out_end;      /* out_a + 2 * pairs: where row a's outputs end */
    int32_t b_offset;     /* row b's outputs minus row a's; 0 for a single pixel (both rows then hold it: b is stored
                           * first) */
    const int32_t *wide;  /* the widened pixel pair, block 0 */
    const int32_t *end;   /* wide + 4 * blocks */
    int32_t entry;        /* mk_wide_pairs_entry(blocks, unroll): the block of the loop the first pass enters at */
    const int32_t *w;     /* the first pair's weights (4 * blocks words per pair; int8: 2 * blocks) */
    const int32_t *t;     /* its table rows (2 * MK_DSP_RQ_WORDS words per pair) */
} mk_wide_pairs_args;

/* unroll: MK_WIDE_PAIRS_UNROLL (mk_wide_pairs) or MK_WIDE8_PAIRS_UNROLL (mk_wide8_pairs) */
#define MK_WIDE_PAIRS_UNROLL 8
#define MK_WIDE8_PAIRS_UNROLL 4 /* its blocks are 56 bytes: four keep the int8-weight build's code in check */
static inline int32_t mk_wide_pairs_entry(int32_t blocks, int32_t unroll)
{
    return (unroll - (blocks - 1) % unroll) % unroll;
}

#if MK_DSP_NATIVE
/* One block; r12 = x, lr = w; r0-r3 the pixel pair's words {a02, a13, b02, b13}, r4-r7 the channel pair's
 * {c 02, c 13, c+1 02, c+1 13}; accumulators r8 (c, row a), r9 (c+1, row a), r10 (c, row b), r11 (c+1, row b).
 * `load` brings in r4-r7. Every instruction is 32 bits wide: a block is a fixed number of bytes (40 for int16
 * weights, 56 for int8), which the entry address computation relies on. */
#define MK_WIDE_ASM_BLOCK(load, mac, acc8, acc10, acc9, acc11)                                                        \
    "ldmia.w r12!, {r0-r3}\n\t" load                                                                                  \
    mac " r8, r4, r0" acc8 "\n\t"                                                                                     \
    "smlad r8, r5, r1, r8\n\t"                                                                                        \
    mac " r10, r4, r2" acc10 "\n\t"                                                                                   \
    "smlad r10, r5, r3, r10\n\t"                                                                                      \
    mac " r9, r6, r0" acc9 "\n\t"                                                                                     \
    "smlad r9, r7, r1, r9\n\t"                                                                                        \
    mac " r11, r6, r2" acc11 "\n\t"                                                                                   \
    "smlad r11, r7, r3, r11\n\t"
#define MK_WIDE_ASM_LOAD16 "ldmia.w lr!, {r4-r7}\n\t"
#define MK_WIDE_ASM_LOAD8                                                                                             \
    "ldrd r4, r6, [lr], #8\n\t" /* channel c's 4 int8 weights, then c+1's */                                         \
    "sxtb16 r5, r4, ror #8\n\t"                                                                                       \
    "sxtb16 r4, r4\n\t"                                                                                               \
    "sxtb16 r7, r6, ror #8\n\t"                                                                                       \
    "sxtb16 r6, r6\n\t"
#define MK_WIDE_ASM_FIRST(load) MK_WIDE_ASM_BLOCK(load, "smuad", "", "", "", "")
#define MK_WIDE_ASM_NEXT(load) MK_WIDE_ASM_BLOCK(load, "smlad", ", r8", ", r10", ", r9", ", r11")

/* The function body around the blocks; `size` the block's bytes as an immediate, `blocks` the loop's blocks. */
#define MK_WIDE_ASM_NEXT4(load)                                                                                       \
    MK_WIDE_ASM_NEXT(load) MK_WIDE_ASM_NEXT(load) MK_WIDE_ASM_NEXT(load) MK_WIDE_ASM_NEXT(load)
#define MK_WIDE_ASM_PAIRS(load, size, blocks)                                                                         \
    "push {r4-r11, lr}\n\t"                                                                                           \
    "ldm r0, {r1-r8}\n\t" /* out_a, out_end, b_offset, wide, end, entry block, w, t */                                \
    "adr.w r9, 3f\n\t"                                                                                                \
    "movs r10, " size "\n\t"                                                                                          \
    "mla r6, r6, r10, r9\n\t"                                                                                         \
    "orr r6, r6, #1\n\t" /* a Thumb address for LDR PC */                                                            \
    "mov lr, r7\n\t"                                                                                                  \
    "push {r1-r6, r8}\n\t" /* the frame: [sp] out_a, out_end, b_offset, wide, end, entry address, t */               \
    "1:\n\t"                                                                                                          \
    "ldr r12, [sp, #12]\n\t" /* x = wide */                                                                           \
    MK_WIDE_ASM_FIRST(load)                                                                                           \
    "ldr pc, [sp, #20]\n\t"                                                                                           \
    ".p2align 2\n\t"                                                                                                  \
    "3:\n\t"                                                                                                          \
    blocks                                                                                                            \
    "ldr r0, [sp, #16]\n\t"                                                                                           \
    "cmp r12, r0\n\t"                                                                                                 \
    "bne 3b\n\t"                                                                                                      \
    /* epilogue: r0-r4 channel c's {b, s, m, r, e}, r5-r7 channel c+1's {b, s, m}, then r0/r1 its {r, e} */           \
    "ldr r12, [sp, #24]\n\t"                                                                                          \
    "ldmia r12!, {r0-r7}\n\t"                                                                                         \
    "mla r8, r8, r1, r0\n\t"                                                                                          \
    "mla r10, r10, r1, r0\n\t"                                                                                        \
    "mla r9, r9, r6, r5\n\t"                                                                                          \
    "mla r11, r11, r6, r5\n\t"                                                                                        \
    "smmulr r8, r8, r2\n\t"                                                                                           \
    "smmulr r10, r10, r2\n\t"                                                                                         \
    "smmulr r9, r9, r7\n\t"                                                                                           \
    "smmulr r11, r11, r7\n\t"                                                                                         \
    "ldrd r0, r1, [r12], #8\n\t"                                                                                      \
    "str r12, [sp, #24]\n\t"                                                                                          \
    "add r2, r3, r8, lsl #1\n\t"                                                                                      \
    "add r8, r2, r8, asr #31\n\t"                                                                                     \
    "add r2, r3, r10, lsl #1\n\t"                                                                                     \
    "add r10, r2, r10, asr #31\n\t"                                                                                   \
    "add r2, r0, r9, lsl #1\n\t"                                                                                      \
    "add r9, r2, r9, asr #31\n\t"                                                                                     \
    "add r2, r0, r11, lsl #1\n\t"                                                                                     \
    "add r11, r2, r11, asr #31\n\t"                                                                                   \
    "asr r8, r8, r4\n\t"                                                                                              \
    "asr r10, r10, r4\n\t"                                                                                            \
    "asr r9, r9, r1\n\t"                                                                                              \
    "asr r11, r11, r1\n\t"                                                                                            \
    "ssat r8, #8, r8\n\t"                                                                                             \
    "ssat r10, #8, r10\n\t"                                                                                           \
    "ssat r9, #8, r9\n\t"                                                                                             \
    "ssat r11, #8, r11\n\t"                                                                                           \
    "bfi r8, r9, #8, #8\n\t"   /* row a: {c, c+1} */                                                                  \
    "bfi r10, r11, #8, #8\n\t" /* row b */                                                                            \
    "ldmia sp, {r0-r2}\n\t"    /* out_a, out_end, b_offset */                                                         \
    "strh r10, [r0, r2]\n\t"                                                                                          \
    "strh r8, [r0], #2\n\t"                                                                                           \
    "str r0, [sp]\n\t"                                                                                                \
    "cmp r0, r1\n\t"                                                                                                  \
    "bne 1b\n\t"                                                                                                      \
    "add sp, #28\n\t"                                                                                                 \
    "pop {r4-r11, pc}"

__attribute__((naked, noinline, unused)) static void mk_wide_pairs(const mk_wide_pairs_args *args)
{
    (void)args;
    __asm__ volatile(MK_WIDE_ASM_PAIRS(MK_WIDE_ASM_LOAD16, "#40",
                                       MK_WIDE_ASM_NEXT4(MK_WIDE_ASM_LOAD16) MK_WIDE_ASM_NEXT4(MK_WIDE_ASM_LOAD16)));
}

__attribute__((naked, noinline, unused)) static void mk_wide8_pairs(const mk_wide_pairs_args *args)
{
    (void)args;
    __asm__ volatile(MK_WIDE_ASM_PAIRS(MK_WIDE_ASM_LOAD8, "#56", MK_WIDE_ASM_NEXT4(MK_WIDE_ASM_LOAD8)));
}
#else
#define MK_WIDE_PAIRS_C(name, step)                                                                                   \
    __attribute__((unused)) static void name(const mk_wide_pairs_args *args)                                          \
    {                                                                                                                 \
        const int32_t *w = args->w, *t = args->t;                                                                     \
        for (int8_t *out = args->out_a; out != args->out_end; out += 2) {                                             \
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;                                                                   \
            const int32_t *x = args->wide;                                                                            \
            while (x != args->end) {                                                                                  \
                step(w, x);                                                                                           \
            }                                                                                                         \
            const uint32_t v = mk_wide_epilogue(a0, a1, a2, a3, &t);                                                  \
            const uint16_t ha = (uint16_t)v, hb = (uint16_t)(v >> 16);                                                \
            memcpy(out + args->b_offset, &hb, 2);                                                                     \
            memcpy(out, &ha, 2);                                                                                      \
        }                                                                                                             \
    }
MK_WIDE_PAIRS_C(mk_wide_pairs, MK_WIDE_STEP)
MK_WIDE_PAIRS_C(mk_wide8_pairs, MK_WIDE8_STEP)
#endif

/* n int8 outputs clamped to [lo, hi] (lo4, hi4: the bounds in every byte), four per SSUB8/SEL pair: one pass
 * after a GEMM that wrote them unclamped (ReLU-style ranges narrower than SSAT's int8), so the GEMM has no per-pair
 * branch. */
static inline void mk_wide_clamp(int8_t *out, size_t n, int32_t lo4, int32_t hi4)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        mk_write_s8x4(out + i, mk_min8(mk_max8(mk_read_s8x4(out + i), lo4), hi4));
    }
    const int32_t lo = (int8_t)lo4, hi = (int8_t)hi4;
    for (; i < n; ++i) {
        out[i] = (int8_t)MK_CLAMP(out[i], lo, hi);
    }
}

#endif /* MK_DSP_WIDE_H */
