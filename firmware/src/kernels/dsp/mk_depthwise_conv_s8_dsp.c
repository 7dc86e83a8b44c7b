/* DEPTHWISE_CONV_2D with the DSP extension, any shape. With depth_multiplier 1 (almost every network) input and
 * weight channels line up, so each tap handles four channels per 32-bit load pair (mk_dsp_dw_mac4); leftover
 * channels and depth multipliers above 1 use the portable per-channel loop. Padding taps are skipped as in
 * mk_depthwise_conv_s8, and the requantization is the shared one, so the bytes are the same. */
#include "mcukit/mk_kernels_dsp.h"
#include "mk_dsp_dot.h"

static int32_t mk_dw_one(const mk_depthwise_conv_params *p, const int8_t *in_b, const int8_t *weights, int32_t y0,
                         int32_t x0, int32_t oc)
{
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
            const int32_t x = in_b[((size_t)iy * (size_t)p->in_w + (size_t)ix) * (size_t)p->in_c + (size_t)ic];
            const int32_t w = weights[((size_t)fy * (size_t)p->filter_w + (size_t)fx) * (size_t)p->out_c + (size_t)oc];
            acc += w * (x + p->input_offset);
        }
    }
    return acc;
}

mk_status mk_depthwise_conv_s8_dsp(const mk_depthwise_conv_params *p, const int8_t *input, const int8_t *weights,
                                   const int32_t *bias, int8_t *output)
{
    if (p->depth_multiplier < 1 || p->out_c != p->in_c * p->depth_multiplier) {
        return MK_ERR_ARG;
    }
    const int32_t off2 = mk_pair16(p->input_offset);
    const int32_t vec_c = p->depth_multiplier == 1 ? (p->out_c & ~3) : 0;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)p->in_h * (size_t)p->in_w * (size_t)p->in_c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                int32_t oc = 0;
                for (; oc < vec_c; oc += 4) {
                    int32_t acc[4] = {0, 0, 0, 0};
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
                            mk_dsp_dw_mac4(in_b + ((size_t)iy * (size_t)p->in_w + (size_t)ix) * (size_t)p->in_c +
                                               (size_t)oc,
                                           weights + ((size_t)fy * (size_t)p->filter_w + (size_t)fx) *
                                                         (size_t)p->out_c + (size_t)oc,
                                           off2, acc);
                        }
                    }
                    for (int32_t k = 0; k < 4; ++k) {
                        *output++ = mk_dsp_requant_out(acc[k], bias, oc + k, p->multipliers, p->shifts,
                                                       p->per_channel, p->output_offset, p->act_min, p->act_max);
                    }
                }
                for (; oc < p->out_c; ++oc) {
                    *output++ = mk_dsp_requant_out(mk_dw_one(p, in_b, weights, y0, x0, oc), bias, oc, p->multipliers,
                                                   p->shifts, p->per_channel, p->output_offset, p->act_min,
                                                   p->act_max);
                }
            }
        }
    }
    return MK_OK;
}
