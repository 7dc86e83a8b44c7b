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
 * cores one asm block, so the weight loads are LDRD with post-increment and nothing spills. */
#if MK_DSP_NATIVE
#define MK_FCW_STEP4(v)                                                                                               \
    do {                                                                                                              \
        int32_t x0_, x1_, v0_, v1_;                                                                                   \
        __asm__("sxtb16 %[x0], %[xv]\n\t"                                                                            \
                "sxtb16 %[x1], %[xv], ror #8\n\t"                                                                    \
                "ldrd %[v0], %[v1], [%[w0]], #8\n\t"                                                                 \
                "smlad %[a0], %[v0], %[x0], %[a0]\n\t"                                                               \
                "smlad %[a0], %[v1], %[x1], %[a0]\n\t"                                                               \
                "ldrd %[v0], %[v1], [%[w0]], #8\n\t"                                                                 \
                "smlad %[a1], %[v0], %[x0], %[a1]\n\t"                                                               \
                "smlad %[a1], %[v1], %[x1], %[a1]\n\t"                                                               \
                "ldrd %[v0], %[v1], [%[w1]], #8\n\t"                                                                 \
                "smlad %[a2], %[v0], %[x0], %[a2]\n\t"                                                               \
                "smlad %[a2], %[v1], %[x1], %[a2]\n\t"                                                               \
                "ldrd %[v0], %[v1], [%[w1]], #8\n\t"                                                                 \
                "smlad %[a3], %[v0], %[x0], %[a3]\n\t"                                                               \
                "smlad %[a3], %[v1], %[x1], %[a3]"                                                                   \
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [w0] "+r"(w0), [w1] "+r"(w1),         \
                  [x0] "=&r"(x0_), [x1] "=&r"(x1_), [v0] "=&r"(v0_), [v1] "=&r"(v1_)                              \
                : [xv] "r"(v)                                                                                         \
                : "memory");                                                                                          \
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
        int32_t pair = 0;
        for (; pair + 2 <= pairs; pair += 2) { /* four features: two pairs, two weight pointers */
            const int32_t *w1 = w0 + 4 * blocks;
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            const int8_t *x = input;
            for (int32_t j = 0; j < full; ++j, x += 4) {
                const int32_t v = mk_read_s8x4(x);
                MK_FCW_STEP4(v);
            }
            if (full < blocks) {
                const int32_t v = mk_fcw_word(input, n, full);
                MK_FCW_STEP4(v);
            }
            w0 = w1;
            const int32_t f = 2 * pair;
            out[f] = mk_fcw_out(p, bias, f, a0);
            out[f + 1] = mk_fcw_out(p, bias, f + 1, a1);
            out[f + 2] = mk_fcw_out(p, bias, f + 2, a2);
            if (f + 3 < p->out_features) {
                out[f + 3] = mk_fcw_out(p, bias, f + 3, a3);
            }
        }
        if (pair < pairs) { /* the last pair (its second feature may be the zero padding) */
            int32_t a0 = 0, a1 = 0;
            for (int32_t j = 0; j < blocks; ++j, w0 += 4) {
                const int32_t v = mk_fcw_word(input, n, j);
                const int32_t x0 = __sxtb16(v), x1 = mk_sxtb16_ror8(v);
                a0 = __smlad(w0[1], x1, __smlad(w0[0], x0, a0));
                a1 = __smlad(w0[3], x1, __smlad(w0[2], x0, a1));
            }
            const int32_t f = 2 * pair;
            out[f] = mk_fcw_out(p, bias, f, a0);
            if (f + 1 < p->out_features) {
                out[f + 1] = mk_fcw_out(p, bias, f + 1, a1);
            }
        }
    }
    return MK_OK;
}
