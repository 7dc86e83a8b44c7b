/* CONV_2D with a 1x1 filter and no groups as a Helium GEMM: every output pixel is a row of in_c input bytes (the
 * input pixel at the strides, read in place; a 1x1 window never reaches the padding), every output channel a row
 * of weights. Pairs of pixels x groups of 4 channels run through the 4x2 VMLADAVA block (mk_mve_gemm.h). The
 * pixel rows are read whole in 16-byte steps, so in_c must be a multiple of 16 (other depths take
 * mk_conv_im2col_s8_mve, whose copied rows are padded). Weights and table are the compile-time forms (16-byte chunks
 * of 4 channels interleaved, rows zero-padded; folded bias and requantization constants). Pixels are paired across
 * row and batch boundaries. */
#include "mcukit/mk_kernels_mve.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include "mk_mve_gemm.h"

mk_status mk_conv_1x1_s8_mve(const mk_conv_params *p, const int8_t *input, const int8_t *weights,
                             const int32_t *table, int8_t *output)
{
    if (p->filter_h != 1 || p->filter_w != 1 || p->filter_in_c != p->in_c || p->in_c < 16 || p->in_c % 16 != 0 ||
        p->pad_top != 0 || p->pad_left != 0 || table == NULL) {
        return MK_ERR_ARG;
    }
    const int32_t chunks = p->in_c / 16;
    const int32_t pixels = p->batches * p->out_h * p->out_w;
    const int contiguous = p->stride_h == 1 && p->stride_w == 1; /* then pixel q's row is input + q * in_c */
    mk_mve_gemm_loop_args args;
    const int fast = mk_mve_gemm_init(p, weights, table, chunks, &args);
    int32_t px = 0;
    if (contiguous && p->out_c % 4 == 0 && pixels >= 2) { /* every pair in one assembly loop */
        mk_mve_gemm_pairs(p, &args, fast, input, 2 * p->in_c, pixels / 2, output);
        px = pixels & ~1;
    }
    for (; px < pixels; px += 2) {
        const int two = px + 1 < pixels;
        const int8_t *xa, *xb;
        if (contiguous) {
            xa = input + (size_t)px * (size_t)p->in_c;
            xb = two ? xa + p->in_c : xa;
        } else {
            xa = mk_conv_pixel_1x1(p, input, px);
            xb = two ? mk_conv_pixel_1x1(p, input, px + 1) : xa;
        }
        mk_mve_gemm_rows(p, &args, fast, xa, xb, two, output + (size_t)px * (size_t)p->out_c);
    }
    return MK_OK;
}
#else
typedef int mk_conv_1x1_s8_mve_unavailable; /* not an MVE target: the kernel does not exist here */
#endif
