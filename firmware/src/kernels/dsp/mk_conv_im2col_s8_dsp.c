/* CONV_2D (no groups, any filter/stride/dilation/padding) as im2col + GEMM with the DSP extension.
 *
 * Why: the tap-by-tap kernel (mk_conv_s8_dsp) runs one dot product of filter_in_c bytes per tap, so with few input
 * channels (the first layer of KWS has in_c = 1: a 1-byte dot per tap) the loop and call overhead dwarfs the
 * MACs. Here the receptive fields of two output pixels are copied into the scratch buffer as two rows of
 * filter_h * filter_w * in_c bytes - exactly the order of an OHWI weight row - and one long 2x2 SMLAD dot product
 * per pair of output channels does the whole window.
 *
 * Padding: taps outside the image are written as the input zero point (-input_offset), so x + input_offset is 0
 * there and they add nothing, which is what skipping them (mk_conv_s8) does. The sums are therefore identical.
 * Weights and bias are the compile-time GEMM forms (pair-interleaved weights, input offset folded into the bias;
 * mk_dsp_dot.h): a padded tap holds the zero point, so w * zp + (folded -zp * w) still adds 0.
 * Scratch: mk_conv_im2col_s8_dsp_scratch_bytes() (mirrored by mcukit/codegen/ops/_isa.py). */
#include "mcukit/mk_kernels_dsp.h"
#include "mk_dsp_dot.h"

size_t mk_conv_im2col_s8_dsp_scratch_bytes(const mk_conv_params *p)
{
    const size_t k = (size_t)p->filter_h * (size_t)p->filter_w * (size_t)p->in_c;
    return 2u * ((k + 3u) & ~(size_t)3u);
}

mk_status mk_conv_im2col_s8_dsp(const mk_conv_params *p, const int8_t *input, const int8_t *weights,
                                const int32_t *bias, int8_t *output, int8_t *scratch)
{
    if (p->filter_in_c != p->in_c || p->in_c < 1 || scratch == NULL || bias == NULL) {
        return MK_ERR_ARG;
    }
    const int32_t k = p->filter_h * p->filter_w * p->in_c;
    const size_t row_bytes = ((size_t)k + 3u) & ~(size_t)3u;
    int8_t *col_a = scratch;
    int8_t *col_b = scratch + row_bytes;
    const int8_t pad = (int8_t)(-p->input_offset);
    const int32_t pixels = p->batches * p->out_h * p->out_w;
    for (int32_t px = 0; px < pixels; px += 2) {
        const int two = mk_dsp_im2col_pair(p, input, px, pixels, pad, col_a, col_b);
        mk_dsp_gemm_rows(p, weights, bias, k, col_a, two ? col_b : NULL, output + (size_t)px * (size_t)p->out_c);
    }
    return MK_OK;
}
