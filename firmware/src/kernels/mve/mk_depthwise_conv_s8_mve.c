/* DEPTHWISE_CONV_2D with Helium. With depth_multiplier 1, input and weight channels line up, so each tap loads four
 * neighbouring channels widened to int32 lanes (VLDRB.S32, tail-predicated by VCTP32 so any channel count works),
 * adds the input offset and multiply-accumulates per lane. Deeper multipliers use the portable per-channel loop.
 * Padding taps are skipped and the requantization is the shared scalar one, so the bytes equal the portable
 * kernel's. */
#include "mcukit/mk_kernels_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>

#include "mcukit/mk_requant.h"

static inline int8_t mk_dw_out(const mk_depthwise_conv_params *p, const int32_t *bias, int32_t oc, int32_t acc)
{
    if (bias != NULL) {
        acc += bias[oc];
    }
    const int32_t c = p->per_channel ? oc : 0;
    acc = mk_requantize(acc, p->multipliers[c], p->shifts[c]) + p->output_offset;
    return (int8_t)MK_CLAMP(acc, p->act_min, p->act_max);
}

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

mk_status mk_depthwise_conv_s8_mve(const mk_depthwise_conv_params *p, const int8_t *input, const int8_t *weights,
                                   const int32_t *bias, int8_t *output)
{
    if (p->depth_multiplier < 1 || p->out_c != p->in_c * p->depth_multiplier) {
        return MK_ERR_ARG;
    }
    const size_t pix = (size_t)p->in_c;
    const size_t row = (size_t)p->in_w * pix;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)p->in_h * row;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                if (p->depth_multiplier != 1) {
                    for (int32_t oc = 0; oc < p->out_c; ++oc) {
                        *output++ = mk_dw_out(p, bias, oc, mk_dw_one(p, in_b, weights, y0, x0, oc));
                    }
                    continue;
                }
                for (int32_t c = 0; c < p->in_c; c += 4) {
                    const mve_pred16_t pr = vctp32q((uint32_t)(p->in_c - c));
                    int32x4_t acc = vdupq_n_s32(0);
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
                            const int32x4_t xv = vldrbq_z_s32(in_b + (size_t)iy * row + (size_t)ix * pix + (size_t)c,
                                                              pr);
                            const int32x4_t wv = vldrbq_z_s32(
                                weights + ((size_t)fy * (size_t)p->filter_w + (size_t)fx) * pix + (size_t)c, pr);
                            /* inactive lanes load w = 0, so they accumulate 0 */
                            acc = vaddq_s32(acc, vmulq_s32(vaddq_n_s32(xv, p->input_offset), wv));
                        }
                    }
                    int32_t lanes[4];
                    vst1q_s32(lanes, acc);
                    const int32_t live = MK_MIN(4, p->in_c - c);
                    for (int32_t k = 0; k < live; ++k) {
                        *output++ = mk_dw_out(p, bias, c + k, lanes[k]);
                    }
                }
            }
        }
    }
    return MK_OK;
}
#else
typedef int mk_depthwise_conv_s8_mve_unavailable; /* not an MVE target: the kernel does not exist here */
#endif
