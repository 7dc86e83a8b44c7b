/* CONV_2D without groups (any filter/stride/dilation/padding) as im2col + Helium GEMM: the receptive fields of two
 * output pixels are copied into the scratch buffer as two rows of k = filter_h * filter_w * in_c bytes (the order of
 * an OHWI weight row), each padded to kp = k rounded up to 16, and the 4x2 VMLADAVA block (mk_mve_gemm.h) runs over
 * whole 16-byte chunks with no predication: the compile-time weights are 0 in the padding columns.
 *
 * Padding taps are written as the input zero point (-input_offset); with the input offset folded into the bias,
 * w * zp + (-zp * w) adds 0 there, which is what skipping them (mk_conv_s8) does, so the sums are identical.
 * The padding columns of the scratch rows are zeroed once per call (any value would add 0; this keeps the reads
 * defined). Scratch: mk_conv_im2col_s8_mve_scratch_bytes() (mirrored by mcukit/codegen/ops/_isa.py). */
#include "mcukit/mk_kernels_mve.h"

size_t mk_conv_im2col_s8_mve_scratch_bytes(const mk_conv_params *p)
{
    const size_t k = (size_t)p->filter_h * (size_t)p->filter_w * (size_t)p->in_c;
    return 2u * ((k + 15u) & ~(size_t)15u);
}

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include "mk_mve_gemm.h"

mk_status mk_conv_im2col_s8_mve(const mk_conv_params *p, const int8_t *input, const int8_t *weights,
                                const int32_t *table, int8_t *output, int8_t *scratch)
{
    if (p->filter_in_c != p->in_c || p->in_c < 1 || scratch == NULL || table == NULL) {
        return MK_ERR_ARG;
    }
    const int32_t k = p->filter_h * p->filter_w * p->in_c;
    const int32_t kp = (k + 15) & ~15;
    int8_t *col_a = scratch;
    int8_t *col_b = scratch + kp;
    mk_mve_fill(col_a + k, 0, kp - k);
    mk_mve_fill(col_b + k, 0, kp - k);
    const int8_t pad = (int8_t)(-p->input_offset);
    const int32_t pixels = p->batches * p->out_h * p->out_w;
    mk_mve_gemm_loop_args args;
    const int fast = mk_mve_gemm_init(p, weights, table, kp / 16, &args);
    if (p->filter_h == 1 && p->filter_w == 1 && p->stride_h == 1 && p->stride_w == 1) {
        /* 1x1 with in_c % 16 != 0 (MobileNet's in_c = 8 pointwise): pixel q's row is input + q in_c. Read in
         * place, a row's kp bytes run into the next pixel, which meets zero weights; so pairs are read in place
         * while their second row ends inside the input, (q + 1) in_c + kp <= pixels in_c, and the rest are copied
         * into the padded rows. */
        int32_t px = 0;
        const int32_t limit = pixels * p->in_c - kp; /* row q in place: q in_c <= limit */
        if (p->out_c % 4 == 0 && limit >= p->in_c) {
            const int32_t pairs = MK_MIN((limit / p->in_c - 1) / 2 + 1, pixels / 2);
            mk_mve_gemm_pairs(p, &args, fast, input, 2 * p->in_c, pairs, output);
            px = 2 * pairs;
        }
        for (; px < pixels; px += 2) {
            const int two = px + 1 < pixels;
            const int8_t *src = input + (size_t)px * (size_t)p->in_c;
            mk_mve_copy(col_a, src, p->in_c);
            if (two) {
                mk_mve_copy(col_b, src + p->in_c, p->in_c);
            }
            mk_mve_gemm_rows(p, &args, fast, col_a, two ? col_b : col_a, two,
                             output + (size_t)px * (size_t)p->out_c);
        }
        return MK_OK;
    }
    const size_t batch_bytes = (size_t)p->in_h * (size_t)p->in_w * (size_t)p->in_c;
    int32_t b = 0, oy = 0, ox = 0; /* pixel px, kept as coordinates (no divisions per pixel) */
    for (int32_t px = 0; px < pixels; px += 2) {
        const int two = px + 1 < pixels;
        mk_mve_im2col_row(p, input + (size_t)b * batch_bytes, oy, ox, pad, col_a);
        for (int j = 0; j <= two; ++j) { /* step to pixel px + 1, then px + 2 */
            if (++ox == p->out_w) {
                ox = 0;
                if (++oy == p->out_h) {
                    oy = 0;
                    ++b;
                }
            }
            if (j == 0 && two) {
                mk_mve_im2col_row(p, input + (size_t)b * batch_bytes, oy, ox, pad, col_b);
            }
        }
        mk_mve_gemm_rows(p, &args, fast, col_a, two ? col_b : col_a, two,
                         output + (size_t)px * (size_t)p->out_c);
    }
    return MK_OK;
}
#endif
