/* DEPTHWISE_CONV_2D for the 3x3, depth-multiplier-1, undilated case that dominates MobileNet-style networks.
 * Windows entirely inside the image (all but the border ring) run nine unrolled taps with no bounds checks,
 * four channels per 32-bit load pair (mk_dsp_dw_mac4); border windows check each tap and skip the padding as
 * mk_depthwise_conv_s8 does. Leftover channels (out_c not a multiple of 4) use a scalar loop. */
#include "mcukit/mk_kernels_dsp.h"
#include "mk_dsp_dot.h"

mk_status mk_depthwise_conv_3x3_s8_dsp(const mk_depthwise_conv_params *p, const int8_t *input,
                                       const int8_t *weights, const int32_t *bias, int8_t *output)
{
    if (p->depth_multiplier != 1 || p->out_c != p->in_c || p->filter_h != 3 || p->filter_w != 3 ||
        p->dilation_h != 1 || p->dilation_w != 1) {
        return MK_ERR_ARG;
    }
    const int32_t c_all = p->in_c;
    const int32_t vec_c = c_all & ~3;
    const size_t pix = (size_t)c_all;
    const size_t row = (size_t)p->in_w * pix;
    const int32_t off2 = mk_pair16(p->input_offset);
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)p->in_h * row;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            const int32_t fy0 = MK_MAX(0, -y0);
            const int32_t fy1 = MK_MIN(3, p->in_h - y0);
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                const int32_t fx0 = MK_MAX(0, -x0);
                const int32_t fx1 = MK_MIN(3, p->in_w - x0);
                const int inside = fy0 == 0 && fy1 == 3 && fx0 == 0 && fx1 == 3;
                /* Border windows: the in-image taps as (input, weight) offsets, found once per pixel rather than
                 * once per group of 4 channels. */
                size_t tap_x[9], tap_w[9];
                int32_t taps = 0;
                for (int32_t fy = fy0; fy < fy1; ++fy) {
                    for (int32_t fx = fx0; fx < fx1; ++fx, ++taps) {
                        tap_x[taps] = (size_t)(y0 + fy) * row + (size_t)(x0 + fx) * pix;
                        tap_w[taps] = (size_t)(fy * 3 + fx) * pix;
                    }
                }
                int32_t c = 0;
                for (; c < vec_c; c += 4) {
                    int32_t acc[4] = {0, 0, 0, 0};
                    if (inside) {
                        const int8_t *x = in_b + (size_t)y0 * row + (size_t)x0 * pix + (size_t)c;
                        const int8_t *w = weights + (size_t)c;
                        mk_dsp_dw_mac4(x, w, off2, acc);
                        mk_dsp_dw_mac4(x + pix, w + pix, off2, acc);
                        mk_dsp_dw_mac4(x + 2 * pix, w + 2 * pix, off2, acc);
                        mk_dsp_dw_mac4(x + row, w + 3 * pix, off2, acc);
                        mk_dsp_dw_mac4(x + row + pix, w + 4 * pix, off2, acc);
                        mk_dsp_dw_mac4(x + row + 2 * pix, w + 5 * pix, off2, acc);
                        mk_dsp_dw_mac4(x + 2 * row, w + 6 * pix, off2, acc);
                        mk_dsp_dw_mac4(x + 2 * row + pix, w + 7 * pix, off2, acc);
                        mk_dsp_dw_mac4(x + 2 * row + 2 * pix, w + 8 * pix, off2, acc);
                    } else {
                        for (int32_t t = 0; t < taps; ++t) {
                            mk_dsp_dw_mac4(in_b + tap_x[t] + (size_t)c, weights + tap_w[t] + (size_t)c, off2, acc);
                        }
                    }
                    for (int32_t k = 0; k < 4; ++k) {
                        *output++ = mk_dsp_requant_out(acc[k], bias, c + k, p->multipliers, p->shifts,
                                                       p->per_channel, p->output_offset, p->act_min, p->act_max);
                    }
                }
                for (; c < c_all; ++c) {
                    int32_t acc = 0;
                    for (int32_t t = 0; t < taps; ++t) {
                        acc += (int32_t)weights[tap_w[t] + (size_t)c] * (in_b[tap_x[t] + (size_t)c] + p->input_offset);
                    }
                    *output++ = mk_dsp_requant_out(acc, bias, c, p->multipliers, p->shifts, p->per_channel,
                                                   p->output_offset, p->act_min, p->act_max);
                }
            }
        }
    }
    return MK_OK;
}
