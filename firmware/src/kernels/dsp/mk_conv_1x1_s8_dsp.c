/* CONV_2D with a 1x1 filter as a GEMM: every output pixel is a row of in_c input bytes (the input pixel at the
 * strides; a 1x1 window never reaches the padding), every output channel a row of in_c weights. Pairs of pixels
 * x pairs of channels run through the 2x2 SMLAD block, so each 32-bit load of weights or inputs feeds two
 * accumulators. Pixels are paired across row and batch boundaries: only their addresses matter. Weights and bias
 * are the compile-time GEMM forms (pair-interleaved weights, input offset folded into the bias; mk_dsp_dot.h). */
#include "mcukit/mk_kernels_dsp.h"
#include "mk_dsp_dot.h"

mk_status mk_conv_1x1_s8_dsp(const mk_conv_params *p, const int8_t *input, const int8_t *weights,
                             const int32_t *bias, int8_t *output)
{
    if (p->filter_h != 1 || p->filter_w != 1 || p->filter_in_c != p->in_c || p->pad_top != 0 || p->pad_left != 0 ||
        bias == NULL) {
        return MK_ERR_ARG;
    }
    const int32_t n = p->in_c;
    const int32_t pixels = p->batches * p->out_h * p->out_w;
    for (int32_t px = 0; px < pixels; px += 2) {
        const int two = px + 1 < pixels;
        const int8_t *xa = mk_conv_pixel_1x1(p, input, px);
        const int8_t *xb = two ? mk_conv_pixel_1x1(p, input, px + 1) : xa;
        mk_dsp_gemm_rows(p, weights, bias, n, xa, two ? xb : NULL, output + (size_t)px * (size_t)p->out_c);
    }
    return MK_OK;
}
