/* FULLY_CONNECTED on weights widened to int16 at compile time (the fast twin of mk_fully_connected_s8_dsp).
 *
 * Why it is faster: a fully connected layer with one row reads every weight once, so nothing amortizes widening
 * it; the int8 kernel spends 4 SXTB16 per 8 MACs on weights and 2 SXTAB16 on the input inside its loop. Here the
 * weights are int16 in flash (twice the bytes; mcukit/codegen/ops/_isa.py wide_weight_layout, the layout of
 * mk_conv_wide_s8_dsp: feature pairs, 4-weight blocks as halfword pairs (w0, w2), (w1, w3), zero padding to a
 * multiple of 4 and to an even feature count), a row is widened once into `scratch`, and the input offset is
 * folded into the bias (fold_input_offset), so the loop is 5 LDRD + 8 SMLAD for 16 MACs (four features).
 * Requantization is the shared mk_dsp_requantize_fc, whose rounding MK_SINGLE_ROUNDING selects as for the
 * portable kernel. scratch: mk_fully_connected_wide_s8_dsp_scratch_bytes(p), 4-byte aligned. */
#include "mcukit/mk_kernels_dsp.h"
#include "mk_dsp_dot.h"

size_t mk_fully_connected_wide_s8_dsp_scratch_bytes(const mk_fully_connected_params *p)
{
    return (size_t)((p->in_features + 3) / 4) * 8u;
}

/* One block of the row against the features of two pairs (w0: features f, f+1; w1: f+2, f+3). On DSP cores one
 * asm block, so the loads are LDRD with post-increment and nothing spills. */
#if MK_DSP_NATIVE
#define MK_FCW_STEP4()                                                                                                \
    do {                                                                                                              \
        int32_t x0_, x1_, v0_, v1_;                                                                                   \
        __asm__("ldrd %[x0], %[x1], [%[x]], #8\n\t"                                                                  \
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
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w0] "+r"(w0),           \
                  [w1] "+r"(w1), [x0] "=&r"(x0_), [x1] "=&r"(x1_), [v0] "=&r"(v0_), [v1] "=&r"(v1_)               \
                :                                                                                                     \
                : "memory");                                                                                          \
    } while (0)
#else
#define MK_FCW_STEP4()                                                                                                \
    do {                                                                                                              \
        a0 = __smlad(w0[1], x[1], __smlad(w0[0], x[0], a0));                                                          \
        a1 = __smlad(w0[3], x[1], __smlad(w0[2], x[0], a1));                                                          \
        a2 = __smlad(w1[1], x[1], __smlad(w1[0], x[0], a2));                                                          \
        a3 = __smlad(w1[3], x[1], __smlad(w1[2], x[0], a3));                                                          \
        x += 2;                                                                                                       \
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

mk_status mk_fully_connected_wide_s8_dsp(const mk_fully_connected_params *p, const int8_t *input,
                                         const int32_t *weights, const int32_t *bias, int8_t *output,
                                         int8_t *scratch)
{
    if (p->batches < 1 || p->in_features < 1 || p->out_features < 1 || bias == NULL || scratch == NULL) {
        return MK_ERR_ARG;
    }
    const int32_t n = p->in_features;
    const int32_t blocks = (n + 3) / 4;
    const int32_t pairs = (p->out_features + 1) / 2;
    int32_t *row = (int32_t *)(void *)scratch;
    for (int32_t b = 0; b < p->batches; ++b, input += n) {
        /* the row, widened once: (x0, x2), (x1, x3) per block, zeros past the end */
        int32_t i = 0;
        for (; i + 4 <= n; i += 4) {
            const int32_t v = mk_read_s8x4(input + i);
            row[i / 2] = __sxtb16(v);
            row[i / 2 + 1] = mk_sxtb16_ror8(v);
        }
        if (i < n) {
            int32_t v = 0;
            memcpy(&v, input + i, (size_t)(n - i));
            row[i / 2] = __sxtb16(v);
            row[i / 2 + 1] = mk_sxtb16_ror8(v);
        }
        int8_t *out = output + (size_t)b * (size_t)p->out_features;
        const int32_t *w0 = weights;
        int32_t pair = 0;
        for (; pair + 2 <= pairs; pair += 2) { /* four features: two pairs, two weight pointers */
            const int32_t *w1 = w0 + 4 * blocks;
            const int32_t *x = row;
            const int32_t *end = row + 2 * blocks;
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            if (blocks & 1) {
                MK_FCW_STEP4();
            }
            while (x != end) { /* two blocks per iteration: compare and branch are 2 of 28 instructions */
                MK_FCW_STEP4();
                MK_FCW_STEP4();
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
            for (int32_t k = 0; k < blocks; ++k, w0 += 4) {
                a0 = __smlad(w0[1], row[2 * k + 1], __smlad(w0[0], row[2 * k], a0));
                a1 = __smlad(w0[3], row[2 * k + 1], __smlad(w0[2], row[2 * k], a1));
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
