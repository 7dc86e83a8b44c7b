/* CONV_2D with the DSP extension: the portable loop nest, register-blocked as 2 output pixels (neighbours along
 * the row) x 2 output channels, so each tap's filter_in_c contiguous bytes feed four accumulators per 32-bit load
 * pair (mk_dsp_dot.h). Taps in the padding are skipped per pixel, as in mk_conv_s8; when only one of the two
 * pixels sees a tap, the 2x1 product runs for that pixel alone. No im2col copy, so no scratch memory. */
#include "mcukit/mk_kernels_dsp.h"
#include "mk_dsp_dot.h"

mk_status mk_conv_s8_dsp(const mk_conv_params *p, const int8_t *input, const int8_t *weights, const int32_t *bias,
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
            for (int32_t ox = 0; ox < p->out_w; ox += 2) {
                const int two = ox + 1 < p->out_w;
                const int32_t xa = ox * p->stride_w - p->pad_left;
                const int32_t xb = xa + p->stride_w;
                int8_t *out_a = output + (((size_t)b * (size_t)p->out_h + (size_t)oy) * (size_t)p->out_w +
                                          (size_t)ox) * (size_t)p->out_c;
                int8_t *out_b = out_a + p->out_c;
                int32_t oc = 0;
                while (oc < p->out_c) {
                    const int32_t g = oc / fpg;
                    const int pair = oc + 1 < p->out_c && (oc + 1) / fpg == g;
                    const int32_t c0 = g * n;
                    const int8_t *w_oc = weights + (size_t)oc * filter_size;
                    int32_t acc[4] = {0, 0, 0, 0}; /* pixel a: ch oc, oc+1; pixel b: ch oc, oc+1 */
                    for (int32_t fy = 0; fy < p->filter_h; ++fy) {
                        const int32_t iy = y0 + fy * p->dilation_h;
                        if (iy < 0 || iy >= p->in_h) {
                            continue;
                        }
                        const int8_t *row = in_b + (size_t)iy * row_bytes + (size_t)c0;
                        for (int32_t fx = 0; fx < p->filter_w; ++fx) {
                            const int32_t ia = xa + fx * p->dilation_w;
                            const int32_t ib = xb + fx * p->dilation_w;
                            const int va = ia >= 0 && ia < p->in_w;
                            const int vb = two && ib >= 0 && ib < p->in_w;
                            const int8_t *w0 = w_oc + ((size_t)fy * (size_t)p->filter_w + (size_t)fx) * (size_t)n;
                            if (pair) {
                                const int8_t *w1 = w0 + filter_size;
                                if (va && vb) {
                                    mk_dsp_dot_2x2(w0, w1, row + (size_t)ia * (size_t)p->in_c,
                                                   row + (size_t)ib * (size_t)p->in_c, n, p->input_offset, acc);
                                } else if (va) {
                                    mk_dsp_dot_2x1(w0, w1, row + (size_t)ia * (size_t)p->in_c, n, p->input_offset,
                                                   acc);
                                } else if (vb) {
                                    mk_dsp_dot_2x1(w0, w1, row + (size_t)ib * (size_t)p->in_c, n, p->input_offset,
                                                   acc + 2);
                                }
                            } else {
                                if (va) {
                                    acc[0] = mk_dsp_dot_1x1(w0, row + (size_t)ia * (size_t)p->in_c, n,
                                                            p->input_offset, acc[0]);
                                }
                                if (vb) {
                                    acc[2] = mk_dsp_dot_1x1(w0, row + (size_t)ib * (size_t)p->in_c, n,
                                                            p->input_offset, acc[2]);
                                }
                            }
                        }
                    }
                    for (int32_t k = 0; k <= pair; ++k) {
                        out_a[oc + k] = mk_dsp_requant_out(acc[k], bias, oc + k, p->multipliers, p->shifts,
                                                           p->per_channel, p->output_offset, p->act_min, p->act_max);
                        if (two) {
                            out_b[oc + k] = mk_dsp_requant_out(acc[2 + k], bias, oc + k, p->multipliers, p->shifts,
                                                               p->per_channel, p->output_offset, p->act_min,
                                                               p->act_max);
                        }
                    }
                    oc += pair ? 2 : 1;
                }
            }
        }
    }
    return MK_OK;
}
