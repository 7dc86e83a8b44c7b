/* FULLY_CONNECTED with Helium: two output features per pass over the input row, 16 lanes per step with tail
 * predication (mk_mve_dot.h), then the FULLY_CONNECTED requantization mk_requantize_fc (MK_SINGLE_ROUNDING picks
 * its rounding exactly as for the portable kernel). */
#include "mcukit/mk_kernels_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include "mcukit/mk_requant.h"
#include "mk_mve_dot.h"

static inline int8_t mk_fc_out(const mk_fully_connected_params *p, const int32_t *bias, int32_t o, int32_t acc,
                               int32_t wsum)
{
    /* sum(w * x) + offset * sum(w), modulo 2^32 like the portable int32 accumulator */
    acc = (int32_t)((uint32_t)acc + (uint32_t)p->input_offset * (uint32_t)wsum);
    if (bias != NULL) {
        acc += bias[o];
    }
    const int32_t c = p->per_channel ? o : 0;
    acc = mk_requantize_fc(acc, p->multipliers[c], p->shifts[c]) + p->output_offset;
    return (int8_t)MK_CLAMP(acc, p->act_min, p->act_max);
}

mk_status mk_fully_connected_s8_mve(const mk_fully_connected_params *p, const int8_t *input, const int8_t *weights,
                                    const int32_t *bias, int8_t *output)
{
    if (p->batches < 1 || p->in_features < 1 || p->out_features < 1) {
        return MK_ERR_ARG;
    }
    const int32_t n = p->in_features;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *row = input + (size_t)b * (size_t)n;
        int8_t *out = output + (size_t)b * (size_t)p->out_features;
        int32_t o = 0;
        for (; o + 2 <= p->out_features; o += 2) {
            const int8_t *w0 = weights + (size_t)o * (size_t)n;
            int32_t acc[2] = {0, 0}, wsum[2] = {0, 0};
            mk_mve_dot_2(w0, w0 + n, row, n, acc, wsum);
            out[o] = mk_fc_out(p, bias, o, acc[0], wsum[0]);
            out[o + 1] = mk_fc_out(p, bias, o + 1, acc[1], wsum[1]);
        }
        if (o < p->out_features) {
            int32_t wsum = 0;
            const int32_t acc = mk_mve_dot_1(weights + (size_t)o * (size_t)n, row, n, 0, &wsum);
            out[o] = mk_fc_out(p, bias, o, acc, wsum);
        }
    }
    return MK_OK;
}
#else
typedef int mk_fully_connected_s8_mve_unavailable; /* not an MVE target: the kernel does not exist here */
#endif
