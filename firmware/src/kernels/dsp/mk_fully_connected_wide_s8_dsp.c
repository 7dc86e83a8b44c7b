/* FULLY_CONNECTED on weights widened to int16 at compile time (the fast twin of mk_fully_connected_s8_dsp).
 *
 * Why it is faster: a fully connected layer with one row reads every weight once, so nothing amortizes widening
 * it; the int8 kernel spends 4 SXTB16 per 8 MACs on weights and 2 SXTAB16 on the input inside its loop. Here the
 * weights are int16 in flash (twice the bytes; mcukit/codegen/ops/_isa.py wide_weight_layout, the layout of
 * mk_conv_wide_s8_dsp: feature pairs, 4-weight blocks as halfword pairs (w0, w2), (w1, w3), zero padding to a
 * multiple of 4 and to an even feature count) and the input offset is folded into the bias (fold_input_offset),
 * so four input bytes are widened by two plain SXTB16 and then serve four features: 1 LDR + 2 SXTB16 + 4 LDRD +
 * 8 SMLAD per 16 MACs. No scratch: widening the row into RAM first would save 2 instructions per 16 MACs but
 * cost 2 bytes of RAM per input feature. Requantization is the shared mk_dsp_requantize_fc, whose rounding
 * MK_SINGLE_ROUNDING selects as for the portable kernel. */
#include "mcukit/mk_kernels_dsp.h"
#include "mk_dsp_dot.h"

/* Four input bytes (the word v) against the features of two pairs (w0: features f, f+1; w1: f+2, f+3). On DSP
 * cores one asm block; each pair's four weight words come in by one LDM (its register list must ascend, hence the
 * fixed registers r8-r11 for them) and nothing spills: 2 SXTB16 + 2 LDM + 8 SMLAD per 16 MACs. */
#if MK_DSP_NATIVE
#define MK_FCW_ASM4(load, xin)                                                                                        \
    do {                                                                                                              \
        int32_t x0_, x1_;                                                                                             \
        register int32_t q0_ __asm__("r8");                                                                           \
        register int32_t q1_ __asm__("r9");                                                                           \
        register int32_t q2_ __asm__("r10");                                                                          \
        register int32_t q3_ __asm__("r11");                                                                          \
        __asm__(load                                                                                                  \
                "sxtb16 %[x1], %[x0], ror #8\n\t"                                                                    \
                "sxtb16 %[x0], %[x0]\n\t"                                                                            \
                "ldmia %[w0]!, {r8-r11}\n\t"                                                                         \
                "smlad %[a0], %[q0], %[x0], %[a0]\n\t"                                                               \
                "smlad %[a0], %[q1], %[x1], %[a0]\n\t"                                                               \
                "smlad %[a1], %[q2], %[x0], %[a1]\n\t"                                                               \
                "smlad %[a1], %[q3], %[x1], %[a1]\n\t"                                                               \
                "ldmia %[w1]!, {r8-r11}\n\t"                                                                         \
                "smlad %[a2], %[q0], %[x0], %[a2]\n\t"                                                               \
                "smlad %[a2], %[q1], %[x1], %[a2]\n\t"                                                               \
                "smlad %[a3], %[q2], %[x0], %[a3]\n\t"                                                               \
                "smlad %[a3], %[q3], %[x1], %[a3]"                                                                   \
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [w0] "+r"(w0), [w1] "+r"(w1),         \
                  [x0] "=&r"(x0_), [x1] "=&r"(x1_), [q0] "=&r"(q0_), [q1] "=&r"(q1_), [q2] "=&r"(q2_),            \
                  [q3] "=&r"(q3_), [x] "+r"(xin)                                                                      \
                :                                                                                                     \
                : "memory");                                                                                          \
    } while (0)
/* the next 4 input bytes at x (advanced), or the word v */
#define MK_FCW_LOAD_STEP4(x) MK_FCW_ASM4("ldr %[x0], [%[x]], #4\n\t", x)
#define MK_FCW_STEP4(v)                                                                                               \
    do {                                                                                                              \
        int32_t v_ = (v);                                                                                             \
        MK_FCW_ASM4("mov %[x0], %[x]\n\t", v_);                                                                     \
    } while (0)
#else
#define MK_FCW_STEP4(v)                                                                                               \
    do {                                                                                                              \
        const int32_t x0_ = __sxtb16(v), x1_ = mk_sxtb16_ror8(v);                                                     \
        a0 = __smlad(w0[1], x1_, __smlad(w0[0], x0_, a0));                                                            \
        a1 = __smlad(w0[3], x1_, __smlad(w0[2], x0_, a1));                                                            \
        a2 = __smlad(w1[1], x1_, __smlad(w1[0], x0_, a2));                                                            \
        a3 = __smlad(w1[3], x1_, __smlad(w1[2], x0_, a3));                                                            \
        w0 += 4;                                                                                                      \
        w1 += 4;                                                                                                      \
    } while (0)
#define MK_FCW_LOAD_STEP4(x)                                                                                          \
    do {                                                                                                              \
        MK_FCW_STEP4(mk_read_s8x4(x));                                                                                \
        (x) += 4;                                                                                                     \
    } while (0)
#endif

static inline int8_t mk_fcw_out(const mk_fully_connected_params *p, const int32_t *bias, int32_t o, int32_t acc)
{
    const int32_t c = p->per_channel ? o : 0;
    acc = mk_dsp_requantize_fc(acc + bias[o], p->multipliers[c], p->shifts[c]) + p->output_offset;
    return (int8_t)MK_CLAMP(acc, p->act_min, p->act_max);
}

/* Input bytes 4j .. 4j + 3 of the row as a word; the last, partial block zero-filled (its weights are zero). */
static inline int32_t mk_fcw_word(const int8_t *row, int32_t n, int32_t j)
{
    if (4 * j + 4 <= n) {
        return mk_read_s8x4(row + 4 * j);
    }
    int32_t v = 0;
    memcpy(&v, row + 4 * j, (size_t)(n - 4 * j));
    return v;
}

mk_status mk_fully_connected_wide_s8_dsp(const mk_fully_connected_params *p, const int8_t *input,
                                         const int32_t *weights, const int32_t *bias, int8_t *output)
{
    if (p->batches < 1 || p->in_features < 1 || p->out_features < 1 || bias == NULL) {
        return MK_ERR_ARG;
    }
    const int32_t n = p->in_features;
    const int32_t full = n / 4, blocks = (n + 3) / 4;
    const int32_t pairs = (p->out_features + 1) / 2;
    for (int32_t b = 0; b < p->batches; ++b, input += n) {
        int8_t *out = output + (size_t)b * (size_t)p->out_features;
        const int32_t *w0 = weights;
        for (int32_t pair = 0; pair < pairs; pair += 2) {
            int32_t acc[4], count;
            if (pair + 2 <= pairs) { /* four features: two pairs, two weight pointers */
                const int32_t *w1 = w0 + 4 * blocks;
                int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                const int8_t *x = input;
                for (const int8_t *x_end = input + 4 * full; x != x_end;) {
                    MK_FCW_LOAD_STEP4(x);
                }
                if (full < blocks) {
                    const int32_t v = mk_fcw_word(input, n, full);
                    MK_FCW_STEP4(v);
                }
                w0 = w1;
                acc[0] = a0;
                acc[1] = a1;
                acc[2] = a2;
                acc[3] = a3;
                count = 4;
            } else { /* the last pair (its second feature may be the zero padding) */
                int32_t a0 = 0, a1 = 0;
                for (int32_t j = 0; j < blocks; ++j, w0 += 4) {
                    const int32_t v = mk_fcw_word(input, n, j);
                    const int32_t x0 = __sxtb16(v), x1 = mk_sxtb16_ror8(v);
                    a0 = __smlad(w0[1], x1, __smlad(w0[0], x0, a0));
                    a1 = __smlad(w0[3], x1, __smlad(w0[2], x0, a1));
                }
                acc[0] = a0;
                acc[1] = a1;
                count = 2;
            }
            /* four requantization sites for both paths (six, inlined, made the kernel 1.5 KB; a loop over the
             * outputs cost ~8 instructions per output) */
            const int32_t f = 2 * pair;
            out[f] = mk_fcw_out(p, bias, f, acc[0]);
            if (f + 1 < p->out_features) {
                out[f + 1] = mk_fcw_out(p, bias, f + 1, acc[1]);
            }
            if (count == 4) {
                out[f + 2] = mk_fcw_out(p, bias, f + 2, acc[2]);
                if (f + 3 < p->out_features) {
                    out[f + 3] = mk_fcw_out(p, bias, f + 3, acc[3]);
                }
            }
        }
    }
    return MK_OK;
}
