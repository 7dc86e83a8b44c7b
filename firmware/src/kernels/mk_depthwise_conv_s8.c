/* DEPTHWISE_CONV_2D, int8, any depth multiplier: output channel o = i * depth_multiplier + m filters input
 * channel i with weight column o of the 1HWO filter. Same padding/requantization rules as mk_conv_s8; the
 * per-pixel loop runs over output channels in memory order so the output is written sequentially. */
#include "mcukit/mk_conv.h"
#include "mcukit/mk_requant.h"

mk_status mk_depthwise_conv_s8(const mk_depthwise_conv_params *p, const int8_t *input, const int8_t *weights,
                               const int32_t *bias, int8_t *output)
{
    if (p->depth_multiplier < 1 || p->out_c != p->in_c * p->depth_multiplier) {
        return MK_ERR_ARG;
    }
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)p->in_h * (size_t)p->in_w * (size_t)p->in_c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    const int32_t ic = oc / p->depth_multiplier;
                    int32_t acc = 0;
                    for (int32_t fy = 0; fy < p->filter_h; ++fy) {
                        const int32_t iy = y0 + fy * p->dilation_h;
                        if (iy < 0 || iy >= p->in_h) {
                            continue;
                        }
                        for (int32_t fx = 0; fx < p->filter_w; ++fx) {
                            const int32_t ix = x0 + fx * p->dilation_w;
                            if (ix < 0 || ix >= p->in_w) {
                                continue;
                            }
                            const int32_t x = in_b[((size_t)iy * (size_t)p->in_w + (size_t)ix) * (size_t)p->in_c +
                                                   (size_t)ic];
                            const int32_t w = weights[((size_t)fy * (size_t)p->filter_w + (size_t)fx) *
                                                          (size_t)p->out_c + (size_t)oc];
                            acc += w * (x + p->input_offset);
                        }
                    }
                    if (bias != NULL) {
                        acc += bias[oc];
                    }
                    const int32_t c = p->per_channel ? oc : 0;
                    acc = mk_requantize(acc, p->multipliers[c], p->shifts[c]) + p->output_offset;
                    *output++ = (int8_t)MK_CLAMP(acc, p->act_min, p->act_max);
                }
            }
        }
    }
    return MK_OK;
}
