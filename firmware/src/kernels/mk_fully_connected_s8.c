/* FULLY_CONNECTED, int8: one dot product per (row, output feature), then the shared requantization.
 * Accumulation order and the bias-before-requantize step follow TFLite Micro's reference kernel, which is what
 * makes the result bit-exact (int32 accumulation is exact, so only the requantization can differ). */
#include "mcukit/mk_conv.h"
#include "mcukit/mk_requant.h"

mk_status mk_fully_connected_s8(const mk_fully_connected_params *p, const int8_t *input, const int8_t *weights,
                                const int32_t *bias, int8_t *output)
{
    if (p->batches < 1 || p->in_features < 1 || p->out_features < 1) {
        return MK_ERR_ARG;
    }
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *row = input + (size_t)b * (size_t)p->in_features;
        int8_t *out = output + (size_t)b * (size_t)p->out_features;
        for (int32_t o = 0; o < p->out_features; ++o) {
            const int8_t *w = weights + (size_t)o * (size_t)p->in_features;
            int32_t acc = 0;
            for (int32_t i = 0; i < p->in_features; ++i) {
                acc += (int32_t)w[i] * ((int32_t)row[i] + p->input_offset);
            }
            if (bias != NULL) {
                acc += bias[o];
            }
            const int32_t c = p->per_channel ? o : 0;
            acc = mk_requantize_fc(acc, p->multipliers[c], p->shifts[c]) + p->output_offset;
            out[o] = (int8_t)MK_CLAMP(acc, p->act_min, p->act_max);
        }
    }
    return MK_OK;
}
