/* DEPTHWISE_CONV_2D, 3x3, depth multiplier 1, undilated, on compile-time forms of its constants (the fast twin of
 * mk_depthwise_conv_3x3_s8_dsp; stream layout in mk_kernels_dsp.h, built by mcukit/codegen/ops/_isa.py).
 *
 * Borders cost what the interior costs: `scratch` is a ring of three padded input rows (padded row yy in slot
 * yy % 3), each input row copied once with its padding columns as the input zero point (a padded tap then adds
 * w * zp = -w * input_offset, which cancels that tap's share of the input offset folded into the bias, exactly as
 * skipping it would); rows outside the image are all zero point. Every pixel of an output row then runs the same
 * loop from three row pointers. (The previous border path, a base pointer per tap, cost ~2x the interior one and
 * 56 of the 125 pixels of a DS-CNN layer took it.)
 *
 * Per group of 4 channels (36 MACs), on DSP cores one assembly loop per output row (mk_dw3_row_asm), 90
 * instructions:
 *  - taps are taken in pairs (0,1) (2,3) (4,5) (6,7): PKHBT/PKHTB put the two taps' words into [a0 a1 b0 b1] and
 *    [a2 a3 b2 b3], SXTB16 turns each into (tap k, tap k+1) halfword pairs of one channel, and one SMLAD does both
 *    taps against weights stored as the same pairs: 14 instructions per 8 MACs including loads (the first pair's
 *    weights come with the bias in one LDM); tap 8 alone uses SMLABB/SMLATT (8);
 *  - epilogue per channel: t = SMMLAR(acc, m, R) + (acc >> 31), t >>= e, SSAT #8 (5 with the table load), then
 *    three BFI pack the bytes and one STR stores them; a narrower activation range adds SSUB8/SEL on the word;
 *  - the loop ends on bit 8 of the last full group's last e word (a shift by register reads bits 0-7 only).
 * No register is left for an output pointer, so a group's 4 outputs replace its tap-0 word in the row-0 slot (read
 * already, read by no later pixel of the row, and that row is not needed by the next output row); the row is then
 * copied to the output. The accumulators start at the folded bias; weights and bias carry a factor 2 (SMMLAR's
 * doubling). With R = 2^(e-1) + output_offset 2^e this is mk_requantize's double rounding plus the output offset
 * (derivation in mk_kernels_dsp.h). Channels past the last multiple of 4, and every group on cores without the DSP
 * extension (the host tests), run the same arithmetic in C.
 * Access order: output rows in raster order; a row's input is read (copied) before any of its outputs is written,
 * so the in-place contract of lag 0 holds. */
#include <stddef.h>

#include "mcukit/mk_kernels_dsp.h"
#include "mk_dsp_dot.h"

#define MK_DW3_WORDS 34 /* per group: 4 bias, 4 x 4 tap pairs, 2 tap-8 words, 4 x (m, R, e) */

size_t mk_depthwise_conv_3x3_folded_s8_dsp_scratch_bytes(const mk_depthwise_conv_params *p)
{
    const size_t wp = (size_t)(p->out_w - 1) * (size_t)p->stride_w + 3;
    return 3 * wp * (size_t)p->in_c + 4; /* + 4: the tail group's word loads may run 3 bytes past the last row */
}

/* One output row's run, read by the assembly loop at fixed offsets (checked below). */
typedef struct {
    const int8_t *p0, *p1, *p2; /*  0, 4, 8: tap 0 of rows 0-2 of the first pixel, minus 4 (the loop pre-increments) */
    int32_t pix;                /* 12: bytes between the taps of a row (the channel count) */
    const int32_t *packed;      /* 16 */
    int32_t n;                  /* 20: pixels (>= 1) */
    int32_t pstep;              /* 24: to the next pixel's p0..p2 once its full groups advanced them */
    int32_t clamp;              /* 28: the activation range is narrower than int8 */
    int32_t lo4, hi4;           /* 32, 36: activation bounds in every byte */
} mk_dw3_run;

#define MK_DW3_CHECK(field, off) typedef char mk_dw3_check_##field[offsetof(mk_dw3_run, field) == (off) ? 1 : -1]
#if MK_DSP_NATIVE && UINTPTR_MAX == 0xFFFFFFFFu
MK_DW3_CHECK(p0, 0);
MK_DW3_CHECK(p1, 4);
MK_DW3_CHECK(p2, 8);
MK_DW3_CHECK(pix, 12);
MK_DW3_CHECK(packed, 16);
MK_DW3_CHECK(n, 20);
MK_DW3_CHECK(pstep, 24);
MK_DW3_CHECK(clamp, 28);
MK_DW3_CHECK(lo4, 32);
MK_DW3_CHECK(hi4, 36);
#endif

/* mk_requantize(acc / 2) + output offset for the folded, doubled accumulator a and the channel's (m, R, e),
 * saturated to int8: the C twin of the assembly epilogue. */
static inline int32_t mk_dw3_rq(int32_t a, const int32_t *t)
{
    const int32_t h = (int32_t)(((int64_t)a * (int64_t)t[0] + (1LL << 31)) >> 32); /* SMMULR */
    const int32_t v = (int32_t)((uint32_t)h + (uint32_t)t[1] + (uint32_t)(a >> 31)) >> (t[2] & 0xFF);
    return MK_CLAMP(v, -128, 127);
}

/* Accumulators of one group of 4 channels at the tap-0 pointers x[0..2] of its rows (all four lanes; lanes past the
 * channel count read neighbouring bytes against zero weights). */
static inline void mk_dw3_group_c(const int8_t *const x[3], int32_t pix, const int32_t *w, int32_t acc[4])
{
    for (int32_t q = 0; q < 4; ++q) {
        acc[q] = w[q];
    }
    for (int32_t k = 0; k < 8; ++k) {
        const int8_t *t = x[k / 3] + (k % 3) * pix;
        const int32_t j = k / 2, half = k % 2;
        for (int32_t q = 0; q < 4; ++q) {
            acc[q] += (int32_t)t[q] * (int32_t)(int16_t)(uint16_t)((uint32_t)w[4 + 4 * j + q] >> (16 * half));
        }
    }
    const int8_t *t8 = x[2] + 2 * pix;
    for (int32_t q = 0; q < 4; ++q) { /* w[20] = (c0, c2), w[21] = (c1, c3) */
        acc[q] += (int32_t)t8[q] * (int32_t)(int16_t)(uint16_t)((uint32_t)w[20 + (q & 1)] >> (16 * (q >> 1)));
    }
}

/* Requantize, clamp and store n (1..4) channels of a group. */
static inline void mk_dw3_store_c(const int32_t acc[4], const int32_t *w, int32_t lo, int32_t hi, int8_t *out,
                                  int32_t n)
{
    for (int32_t q = 0; q < n; ++q) {
        const int32_t v = mk_dw3_rq(acc[q], w + 22 + 3 * q);
        out[q] = (int8_t)MK_CLAMP(v, lo, hi);
    }
}

#if MK_DSP_NATIVE
/* The full groups of r->n pixels; each group's 4 output bytes replace its tap-0 word in row 0 (read already, and
 * read by no later pixel). Registers: r0-r3 accumulators, r4-r6 rows 0-2, r7 weight stream, r8 pix, r9-r12 and lr
 * scratch. Stack: [sp] packed, [sp + 4] pixels left, [sp + 8] pstep, [sp + 12] lo4, [sp + 16] hi4. Naked, so that r7
 * (a frame pointer in some builds) and the register order LDM needs are ours. */
#define MK_DW3_PAIR(load_a, load_b) MK_DW3_PAIR_W(load_a, load_b, "ldrd r12, lr, [r7], #8")
/* load_w: the weights of channels 0 and 1 into r12, lr (the first pair gets them with the bias) */
#define MK_DW3_PAIR_W(load_a, load_b, load_w)                                                                         \
    load_a "\n\t" load_b "\n\t"                                                                                       \
           "pkhbt r11, r9, r10, lsl #16\n\t"                                                                          \
           "pkhtb r9, r10, r9, asr #16\n\t"                                                                           \
           load_w "\n\t"                                                                                               \
           "sxtb16 r10, r11\n\t"                                                                                      \
           "smlad r0, r10, r12, r0\n\t"                                                                               \
           "sxtb16 r11, r11, ror #8\n\t"                                                                              \
           "smlad r1, r11, lr, r1\n\t"                                                                                \
           "ldrd r12, lr, [r7], #8\n\t"                                                                               \
           "sxtb16 r10, r9\n\t"                                                                                       \
           "smlad r2, r10, r12, r2\n\t"                                                                               \
           "sxtb16 r9, r9, ror #8\n\t"                                                                                \
           "smlad r3, r9, lr, r3\n\t"

#define MK_DW3_RQ(acc)                                                                                                \
    "ldm r7!, {r9, r10, r11}\n\t"                                                                                     \
    "smmlar r9, " acc ", r9, r10\n\t"                                                                                 \
    "add r9, r9, " acc ", asr #31\n\t"                                                                                \
    "asr r9, r9, r11\n\t"                                                                                             \
    "ssat " acc ", #8, r9\n\t"

#define MK_DW3_GROUP                                                                                                  \
    "ldm r7!, {r0, r1, r2, r3, r12, lr}\n\t"                                                                         \
    MK_DW3_PAIR_W("ldr r9, [r4, #4]!", "ldr r10, [r4, r8]", "")                                                      \
    MK_DW3_PAIR("ldr r9, [r4, r8, lsl #1]", "ldr r10, [r5, #4]!")                                                     \
    MK_DW3_PAIR("ldr r9, [r5, r8]", "ldr r10, [r5, r8, lsl #1]")                                                      \
    MK_DW3_PAIR("ldr r9, [r6, #4]!", "ldr r10, [r6, r8]")                                                             \
    "ldr r9, [r6, r8, lsl #1]\n\t"                                                                                    \
    "ldrd r12, lr, [r7], #8\n\t"                                                                                      \
    "sxtb16 r10, r9\n\t"                                                                                              \
    "sxtb16 r9, r9, ror #8\n\t"                                                                                       \
    "smlabb r0, r10, r12, r0\n\t"                                                                                     \
    "smlatt r2, r10, r12, r2\n\t"                                                                                     \
    "smlabb r1, r9, lr, r1\n\t"                                                                                       \
    "smlatt r3, r9, lr, r3\n\t"                                                                                       \
    MK_DW3_RQ("r0") MK_DW3_RQ("r1") MK_DW3_RQ("r2") MK_DW3_RQ("r3")                                                   \
    "bfi r0, r1, #8, #8\n\t"                                                                                          \
    "bfi r0, r2, #16, #8\n\t"                                                                                         \
    "bfi r0, r3, #24, #8\n\t"

/* After a pixel's groups: the next pixel's rows, or fall through. */
#define MK_DW3_NEXT(label)                                                                                            \
    "ldrd r10, r11, [sp, #4]\n\t"                                                                                    \
    "add r4, r4, r11\n\t"                                                                                             \
    "add r5, r5, r11\n\t"                                                                                             \
    "add r6, r6, r11\n\t"                                                                                             \
    "subs r10, r10, #1\n\t"                                                                                           \
    "str r10, [sp, #4]\n\t"                                                                                           \
    "bne " label "\n\t"

__attribute__((naked, noinline)) static void mk_dw3_row_asm(const mk_dw3_run *r __attribute__((unused)))
{
    __asm__(
        "push {r4, r5, r6, r7, r8, r9, r10, r11, lr}\n\t"
        "sub sp, sp, #20\n\t"
        "ldrd r1, r2, [r0, #16]\n\t"
        "ldr r3, [r0, #24]\n\t"
        "stm sp, {r1, r2, r3}\n\t"
        "ldrd r2, r3, [r0, #32]\n\t"
        "strd r2, r3, [sp, #12]\n\t"
        "ldr r1, [r0, #28]\n\t"
        "ldm r0, {r4, r5, r6, r8}\n\t"
        "cmp r1, #0\n\t"
        "bne 3f\n\t"
        /* no clamp: the SSAT #8 is the whole activation */
        "1:\n\t"
        "ldr r7, [sp]\n\t"
        "2:\n\t"
        MK_DW3_GROUP
        "str r0, [r4]\n\t"
        "tst r11, #256\n\t"
        "beq 2b\n\t"
        MK_DW3_NEXT("1b")
        "b 5f\n\t"
        /* clamp to [lo, hi] on the packed word */
        "3:\n\t"
        "ldr r7, [sp]\n\t"
        "4:\n\t"
        MK_DW3_GROUP
        "ldrd r9, r10, [sp, #12]\n\t"
        "ssub8 r12, r0, r9\n\t"
        "sel r0, r0, r9\n\t"
        "ssub8 r12, r0, r10\n\t"
        "sel r0, r10, r0\n\t"
        "str r0, [r4]\n\t"
        "tst r11, #256\n\t"
        "beq 4b\n\t"
        MK_DW3_NEXT("3b")
        "5:\n\t"
        "add sp, sp, #20\n\t"
        "pop {r4, r5, r6, r7, r8, r9, r10, r11, pc}\n\t");
}
#endif

/* The full groups of a row run (outputs into row 0's tap-0 words): the assembly loop on DSP cores, its C twin
 * elsewhere. */
static void mk_dw3_row(const mk_dw3_run *r, int32_t full)
{
#if MK_DSP_NATIVE
    (void)full;
    mk_dw3_row_asm(r);
#else
    const int32_t lo = r->clamp ? (int32_t)(int8_t)r->lo4 : -128;
    const int32_t hi = r->clamp ? (int32_t)(int8_t)r->hi4 : 127;
    for (int32_t i = 0; i < r->n; ++i) {
        const int32_t *w = r->packed;
        const int32_t step = i * (r->pstep + 4 * full) + 4;
        for (int32_t g = 0; g < full; ++g, w += MK_DW3_WORDS) {
            int8_t *row0 = (int8_t *)(uintptr_t)(r->p0 + step + 4 * g); /* the scratch row, as in the assembly */
            const int8_t *const x[3] = {row0, r->p1 + step + 4 * g, r->p2 + step + 4 * g};
            int32_t acc[4];
            mk_dw3_group_c(x, r->pix, w, acc);
            mk_dw3_store_c(acc, w, lo, hi, row0, 4);
        }
    }
#endif
}

/* memcpy for the row copies: on DSP cores 32 bytes per LDM/STM pair when both ends are word-aligned (newlib's
 * memcpy moves a word per LDR/STR pair, twice the instructions). */
static void mk_dw3_copy(int8_t *dst, const int8_t *src, size_t n)
{
#if MK_DSP_NATIVE
    if ((((uintptr_t)dst | (uintptr_t)src) & 3u) == 0 && n >= 32) {
        size_t body = n & ~(size_t)31;
        n -= body;
        __asm__ volatile("1:\n\t"
                         "ldmia %[s]!, {r4, r5, r6, r8, r9, r10, r11, r12}\n\t"
                         "stmia %[d]!, {r4, r5, r6, r8, r9, r10, r11, r12}\n\t"
                         "subs %[n], %[n], #32\n\t"
                         "bne 1b"
                         : [s] "+r"(src), [d] "+r"(dst), [n] "+r"(body)
                         :
                         : "r4", "r5", "r6", "r8", "r9", "r10", "r11", "r12", "cc", "memory");
    }
#endif
    if (n > 0) {
        memcpy(dst, src, n);
    }
}

/* Input row y, columns x0 .. x0 + wp - 1, into the scratch row dst. The right padding columns are written with the
 * zero point once per call and never overwritten (outputs land on tap-0 columns, which lie left of them); the left
 * ones get outputs, so they are rewritten with every row. */
static void mk_dw3_fill_row(const mk_depthwise_conv_params *p, const int8_t *in_b, int32_t y, int32_t x0, int32_t wp,
                            int8_t zp, int8_t *dst)
{
    const size_t pix = (size_t)p->in_c;
    const int32_t lo = MK_MAX(x0, 0), hi = MK_MIN(x0 + wp, p->in_w);
    if (y < 0 || y >= p->in_h || hi <= lo) {
        memset(dst, zp, (size_t)wp * pix);
        return;
    }
    if (lo > x0) {
        memset(dst, zp, (size_t)(lo - x0) * pix);
    }
    mk_dw3_copy(dst + (size_t)(lo - x0) * pix, in_b + ((size_t)y * (size_t)p->in_w + (size_t)lo) * pix,
                (size_t)(hi - lo) * pix);
}

mk_status mk_depthwise_conv_3x3_folded_s8_dsp(const mk_depthwise_conv_params *p, const int8_t *input,
                                              const int32_t *packed, int8_t *output, int8_t *scratch)
{
    if (p->depth_multiplier != 1 || p->out_c != p->in_c || p->filter_h != 3 || p->filter_w != 3 ||
        p->dilation_h != 1 || p->dilation_w != 1 || p->act_min < -128 || p->act_max > 127 || scratch == NULL ||
        p->out_w < 1) {
        return MK_ERR_ARG;
    }
    const int32_t c_all = p->in_c;
    const int32_t full = c_all / 4, rem = c_all & 3;
    const size_t pix = (size_t)c_all;
    const int32_t wp = (p->out_w - 1) * p->stride_w + 3;
    const size_t srow = (size_t)wp * pix;
    const size_t ostride = (size_t)p->stride_w * pix; /* scratch bytes between the outputs of neighbouring pixels */
    const int8_t zp = (int8_t)(-p->input_offset);
    const int32_t lo = p->act_min, hi = p->act_max;
    mk_dw3_run run;
    run.pix = c_all;
    run.packed = packed;
    run.n = p->out_w;
    run.pstep = p->stride_w * c_all - 4 * full;
    run.clamp = lo > -128 || hi < 127;
    run.lo4 = mk_splat8(lo);
    run.hi4 = mk_splat8(hi);
    const int32_t right = MK_MIN(p->in_w + p->pad_left, wp); /* first right padding column, if any */
    for (int32_t r = 0; r < 3 && right < wp; ++r) {
        memset(scratch + (size_t)r * srow + (size_t)right * pix, zp, (size_t)(wp - right) * pix);
    }
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)p->in_h * (size_t)p->in_w * pix;
        /* Ring of three padded rows: padded row yy (input row yy - pad_top) lives in slot yy % 3; held[s] is the row
         * slot s holds, -1 once outputs overwrote it. */
        int32_t held[3] = {-1, -1, -1};
        for (int32_t oy = 0; oy < p->out_h; ++oy, output += (size_t)p->out_w * pix) {
            const int32_t yy0 = oy * p->stride_h;
            int8_t *slot[3];
            for (int32_t r = 0; r < 3; ++r) {
                const int32_t s = (yy0 + r) % 3;
                slot[r] = scratch + (size_t)s * srow;
                if (held[s] != yy0 + r) {
                    mk_dw3_fill_row(p, in_b, yy0 + r - p->pad_top, -p->pad_left, wp, zp, slot[r]);
                    held[s] = yy0 + r;
                }
            }
            if (full > 0) {
                run.p0 = slot[0] - 4;
                run.p1 = slot[1] - 4;
                run.p2 = slot[2] - 4;
                mk_dw3_row(&run, full);
                held[yy0 % 3] = -1;
                if (p->stride_w == 1) {
                    mk_dw3_copy(output, slot[0], (size_t)p->out_w * pix);
                } else if (full <= 4) { /* a word at a time: cheaper than a call for a few words */
                    for (int32_t ox = 0; ox < p->out_w; ++ox) {
                        const int8_t *src = slot[0] + (size_t)ox * ostride;
                        int8_t *dst = output + (size_t)ox * pix;
                        for (int32_t g = 0; g < full; ++g) {
                            mk_write_s8x4(dst + 4 * g, mk_read_s8x4(src + 4 * g));
                        }
                    }
                } else {
                    for (int32_t ox = 0; ox < p->out_w; ++ox) {
                        mk_dw3_copy(output + (size_t)ox * pix, slot[0] + (size_t)ox * ostride, 4 * (size_t)full);
                    }
                }
            }
            if (rem) { /* the last channels read bytes the full groups did not overwrite */
                const int32_t *w = packed + (size_t)full * MK_DW3_WORDS;
                for (int32_t ox = 0; ox < p->out_w; ++ox) {
                    const size_t at = (size_t)ox * ostride + 4 * (size_t)full;
                    const int8_t *const x[3] = {slot[0] + at, slot[1] + at, slot[2] + at};
                    int32_t acc[4];
                    mk_dw3_group_c(x, c_all, w, acc);
                    mk_dw3_store_c(acc, w, lo, hi, output + (size_t)ox * pix + 4 * (size_t)full, rem);
                }
            }
        }
    }
    return MK_OK;
}
