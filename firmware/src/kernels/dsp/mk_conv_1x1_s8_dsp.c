/* CONV_2D with a 1x1 filter as a GEMM: every output pixel is a row of in_c input bytes (the input pixel at the
 * strides; a 1x1 window never reaches the padding), every output channel a row of in_c weights. Pairs of pixels
 * x pairs of channels run through the 2x2 SMLAD block, so each 32-bit load of weights or inputs feeds two
 * accumulators. Pixels are paired across row and batch boundaries: only their addresses matter. */
#include "mcukit/mk_kernels_dsp.h"
#include "mk_dsp_dot.h"

static const int8_t *mk_pixel(const mk_conv_params *p, const int8_t *input, int32_t index)
{
    const int32_t ox = index % p->out_w;
    const int32_t rest = index / p->out_w;
    const int32_t oy = rest % p->out_h;
    const int32_t b = rest / p->out_h;
    const size_t iy = (size_t)oy * (size_t)p->stride_h;
    const size_t ix = (size_t)ox * (size_t)p->stride_w;
    return input + (((size_t)b * (size_t)p->in_h + iy) * (size_t)p->in_w + ix) * (size_t)p->in_c;
}

mk_status mk_conv_1x1_s8_dsp(const mk_conv_params *p, const int8_t *input, const int8_t *weights,
                             const int32_t *bias, int8_t *output)
{
    if (p->filter_h != 1 || p->filter_w != 1 || p->filter_in_c != p->in_c || p->pad_top != 0 || p->pad_left != 0) {
        return MK_ERR_ARG;
    }
    const int32_t n = p->in_c;
    const int32_t pixels = p->batches * p->out_h * p->out_w;
    for (int32_t px = 0; px < pixels; px += 2) {
        const int two = px + 1 < pixels;
        const int8_t *xa = mk_pixel(p, input, px);
        const int8_t *xb = two ? mk_pixel(p, input, px + 1) : xa;
        int8_t *out_a = output + (size_t)px * (size_t)p->out_c;
        int8_t *out_b = out_a + p->out_c;
        int32_t oc = 0;
        for (; oc + 2 <= p->out_c; oc += 2) {
            const int8_t *w0 = weights + (size_t)oc * (size_t)n;
            int32_t acc[4] = {0, 0, 0, 0};
            if (two) {
                mk_dsp_dot_2x2(w0, w0 + n, xa, xb, n, p->input_offset, acc);
            } else {
                mk_dsp_dot_2x1(w0, w0 + n, xa, n, p->input_offset, acc);
            }
            for (int32_t k = 0; k < 2; ++k) {
                out_a[oc + k] = mk_dsp_requant_out(acc[k], bias, oc + k, p->multipliers, p->shifts, p->per_channel,
                                                   p->output_offset, p->act_min, p->act_max);
                if (two) {
                    out_b[oc + k] = mk_dsp_requant_out(acc[2 + k], bias, oc + k, p->multipliers, p->shifts,
                                                       p->per_channel, p->output_offset, p->act_min, p->act_max);
                }
            }
        }
        if (oc < p->out_c) { /* odd channel count: the last channel for both pixels */
            const int8_t *w0 = weights + (size_t)oc * (size_t)n;
            out_a[oc] = mk_dsp_requant_out(mk_dsp_dot_1x1(w0, xa, n, p->input_offset, 0), bias, oc, p->multipliers,
                                           p->shifts, p->per_channel, p->output_offset, p->act_min, p->act_max);
            if (two) {
                out_b[oc] = mk_dsp_requant_out(mk_dsp_dot_1x1(w0, xb, n, p->input_offset, 0), bias, oc,
                                               p->multipliers, p->shifts, p->per_channel, p->output_offset,
                                               p->act_min, p->act_max);
            }
        }
    }
    return MK_OK;
}
