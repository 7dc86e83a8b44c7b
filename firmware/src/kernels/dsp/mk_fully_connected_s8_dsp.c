/* FULLY_CONNECTED with the DSP extension: 2 output features x 2 input rows per step through the SMLAD block
 * (mk_dsp_dot.h), then the FULLY_CONNECTED requantization mk_requantize_fc, whose rounding MK_SINGLE_ROUNDING
 * selects exactly as for the portable kernel. With one row (the common case) the 2x1 block still shares each
 * widened input word between two features. */
#include "mcukit/mk_kernels_dsp.h"
#include "mk_dsp_dot.h"

static inline int8_t mk_fc_out(const mk_fully_connected_params *p, const int32_t *bias, int32_t o, int32_t acc)
{
    if (bias != NULL) {
        acc += bias[o];
    }
    const int32_t c = p->per_channel ? o : 0;
    acc = mk_dsp_requantize_fc(acc, p->multipliers[c], p->shifts[c]) + p->output_offset;
    return (int8_t)MK_CLAMP(acc, p->act_min, p->act_max);
}

mk_status mk_fully_connected_s8_dsp(const mk_fully_connected_params *p, const int8_t *input, const int8_t *weights,
                                    const int32_t *bias, int8_t *output)
{
    if (p->batches < 1 || p->in_features < 1 || p->out_features < 1) {
        return MK_ERR_ARG;
    }
    const int32_t n = p->in_features;
    for (int32_t b = 0; b < p->batches; b += 2) {
        const int two = b + 1 < p->batches;
        const int8_t *ra = input + (size_t)b * (size_t)n;
        const int8_t *rb = ra + n;
        int8_t *out_a = output + (size_t)b * (size_t)p->out_features;
        int8_t *out_b = out_a + p->out_features;
        int32_t o = 0;
        for (; o + 2 <= p->out_features; o += 2) {
            const int8_t *w0 = weights + (size_t)o * (size_t)n;
            int32_t acc[4] = {0, 0, 0, 0};
            if (two) {
                mk_dsp_dot_2x2(w0, w0 + n, ra, rb, n, p->input_offset, acc);
            } else {
                mk_dsp_dot_2x1(w0, w0 + n, ra, n, p->input_offset, acc);
            }
            out_a[o] = mk_fc_out(p, bias, o, acc[0]);
            out_a[o + 1] = mk_fc_out(p, bias, o + 1, acc[1]);
            if (two) {
                out_b[o] = mk_fc_out(p, bias, o, acc[2]);
                out_b[o + 1] = mk_fc_out(p, bias, o + 1, acc[3]);
            }
        }
        if (o < p->out_features) {
            const int8_t *w0 = weights + (size_t)o * (size_t)n;
            out_a[o] = mk_fc_out(p, bias, o, mk_dsp_dot_1x1(w0, ra, n, p->input_offset, 0));
            if (two) {
                out_b[o] = mk_fc_out(p, bias, o, mk_dsp_dot_1x1(w0, rb, n, p->input_offset, 0));
            }
        }
    }
    return MK_OK;
}
