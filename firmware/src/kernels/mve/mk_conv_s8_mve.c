/* CONV_2D with Helium: the portable loop nest with two output channels per pass; each in-image tap contributes a
 * tail-predicated dot product over its filter_in_c contiguous bytes (mk_mve_dot.h). Padding taps are skipped, and
 * the weight sum used for the input offset covers exactly the taps that were summed, so the accumulator equals
 * the portable kernel's. */
#include "mcukit/mk_kernels_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include "mcukit/mk_requant.h"
#include "mk_mve_dot.h"

static inline int8_t mk_conv_out(const mk_conv_params *p, const int32_t *bias, int32_t oc, int32_t acc, int32_t wsum)
{
    acc = (int32_t)((uint32_t)acc + (uint32_t)p->input_offset * (uint32_t)wsum);
    if (bias != NULL) {
        acc += bias[oc];
    }
    const int32_t c = p->per_channel ? oc : 0;
    acc = mk_requantize(acc, p->multipliers[c], p->shifts[c]) + p->output_offset;
    return (int8_t)MK_CLAMP(acc, p->act_min, p->act_max);
}

mk_status mk_conv_s8_mve(const mk_conv_params *p, const int8_t *input, const int8_t *weights, const int32_t *bias,
                         int8_t *output)
{
    if (p->filter_in_c < 1 || p->in_c % p->filter_in_c != 0) {
        return MK_ERR_ARG;
    }
    const int32_t groups = p->in_c / p->filter_in_c;
    if (p->out_c % groups != 0) {
        return MK_ERR_ARG;
    }
    const int32_t fpg = p->out_c / groups;
    const int32_t n = p->filter_in_c;
    const size_t filter_size = (size_t)p->filter_h * (size_t)p->filter_w * (size_t)n;
    const size_t row_bytes = (size_t)p->in_w * (size_t)p->in_c;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)p->in_h * row_bytes;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                int32_t oc = 0;
                while (oc < p->out_c) {
                    const int32_t g = oc / fpg;
                    const int pair = oc + 1 < p->out_c && (oc + 1) / fpg == g;
                    const int8_t *w_oc = weights + (size_t)oc * filter_size;
                    int32_t acc[2] = {0, 0}, wsum[2] = {0, 0};
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
                            const int8_t *x = in_b + (size_t)iy * row_bytes + (size_t)ix * (size_t)p->in_c +
                                              (size_t)(g * n);
                            const int8_t *w0 = w_oc + ((size_t)fy * (size_t)p->filter_w + (size_t)fx) * (size_t)n;
                            if (pair) {
                                mk_mve_dot_2(w0, w0 + filter_size, x, n, acc, wsum);
                            } else {
                                acc[0] = mk_mve_dot_1(w0, x, n, acc[0], &wsum[0]);
                            }
                        }
                    }
                    *output++ = mk_conv_out(p, bias, oc, acc[0], wsum[0]);
                    if (pair) {
                        *output++ = mk_conv_out(p, bias, oc + 1, acc[1], wsum[1]);
                    }
                    oc += pair ? 2 : 1;
                }
            }
        }
    }
    return MK_OK;
}
#else
typedef int mk_conv_s8_mve_unavailable; /* not an MVE target: the kernel does not exist here */
#endif
