/* CONV_2D, int8, NHWC input, OHWI weights, per-channel requantization.
 * The loop nest is TFLite Micro's reference order; taps that fall into the padding are skipped rather than read
 * as zero-point values, which is the same arithmetic (x + input_offset == 0 there) without a padded copy. */
#include "mcukit/mk_conv.h"
#include "mcukit/mk_requant.h"

mk_status mk_conv_s8(const mk_conv_params *p, const int8_t *input, const int8_t *weights, const int32_t *bias,
                     int8_t *output)
{
    if (p->filter_in_c < 1 || p->in_c % p->filter_in_c != 0) {
        return MK_ERR_ARG;
    }
    const int32_t groups = p->in_c / p->filter_in_c;
    if (p->out_c % groups != 0) {
        return MK_ERR_ARG;
    }
    const int32_t filters_per_group = p->out_c / groups;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)p->in_h * (size_t)p->in_w * (size_t)p->in_c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    const int32_t c0 = (oc / filters_per_group) * p->filter_in_c;
                    const int8_t *w_oc = weights + (size_t)oc * (size_t)p->filter_h * (size_t)p->filter_w *
                                                       (size_t)p->filter_in_c;
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
                            const int8_t *px = in_b + ((size_t)iy * (size_t)p->in_w + (size_t)ix) * (size_t)p->in_c +
                                               (size_t)c0;
                            const int8_t *w = w_oc + ((size_t)fy * (size_t)p->filter_w + (size_t)fx) *
                                                         (size_t)p->filter_in_c;
                            for (int32_t ic = 0; ic < p->filter_in_c; ++ic) {
                                acc += (int32_t)w[ic] * ((int32_t)px[ic] + p->input_offset);
                            }
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
