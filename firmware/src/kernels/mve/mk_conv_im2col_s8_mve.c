/* CONV_2D without groups (any filter/stride/dilation/padding) as im2col + Helium GEMM: the receptive fields of the
 * output pixels are copied into the scratch buffer as rows of k = filter_h * filter_w * in_c bytes (the order of an
 * OHWI weight row), each padded to kp = k rounded up to 16, for up to 8 pixel pairs at a time, and the 4x2
 * VMLADAVA block (mk_mve_gemm.h) runs over whole 16-byte chunks with no predication: the compile-time weights are
 * 0 in the padding columns.
 *
 * Padding taps are written as the input zero point (-input_offset); with the input offset folded into the bias,
 * w * zp + (-zp * w) adds 0 there, which is what skipping them (mk_conv_s8) does, so the sums are identical.
 * The padding columns of the scratch rows are zeroed once per call (any value would add 0; this keeps the reads
 * defined). Scratch: mk_conv_im2col_s8_mve_scratch_bytes() (mirrored by mcukit/codegen/ops/_isa.py). */
#include "mcukit/mk_kernels_mve.h"

/* Window rows are filled for up to MK_MVE_IM2COL_PAIRS pixel pairs at a time, so the GEMM's assembly loop runs over
 * several pairs per call: as many as fit in 512 bytes of rows, at least one (so the scratch is at most 512 bytes or
 * the two rows it always was: short windows - DS-CNN's and MobileNet's first layers - gain, and the scratch of
 * layers with long windows, which can decide the arena's peak, does not grow). */
#define MK_MVE_IM2COL_PAIRS 8
static int32_t mk_mve_im2col_pairs(int32_t kp)
{
    const int32_t n = 256 / kp;
    return n < 1 ? 1 : (n > MK_MVE_IM2COL_PAIRS ? MK_MVE_IM2COL_PAIRS : n);
}

size_t mk_conv_im2col_s8_mve_scratch_bytes(const mk_conv_params *p)
{
    const int32_t kp = (p->filter_h * p->filter_w * p->in_c + 15) & ~15;
    return 2u * (size_t)mk_mve_im2col_pairs(kp) * (size_t)kp;
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
    const int32_t batch = 2 * mk_mve_im2col_pairs(kp); /* window rows per fill */
    int8_t *col_a = scratch;
    int8_t *col_b = scratch + kp;
    for (int32_t r = 0; r < batch; ++r) {
        mk_mve_fill(scratch + r * kp + k, 0, kp - k);
    }
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
    const size_t row_bytes = (size_t)p->in_w * (size_t)p->in_c;
    const int32_t fh = p->filter_h, tap_row = p->filter_w * p->in_c;
    /* short window rows without dilation: two neighbouring windows inside the image are copied row by row in one
     * assembly loop (MobileNet's 3x3 stride-2 first layer: 3 rows of 9 bytes per window) */
    const int short_rows = p->dilation_h == 1 && p->dilation_w == 1 && tap_row <= 16;
    const int32_t pair_w = p->stride_w + p->filter_w; /* input columns two neighbouring windows cover */
    const int32_t b_off = p->stride_w * p->in_c;       /* window b starts this many bytes after window a */
    int32_t b = 0, oy = 0, ox = 0;                      /* the next pixel to fill, as coordinates */
    for (int32_t px = 0; px < pixels;) {
        const int32_t n = MK_MIN(batch, pixels - px); /* pixels in this fill */
        for (int32_t r = 0; r < n;) {
            int8_t *da = scratch + r * kp;
            const int32_t y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;
            int32_t step = 1;
            if (short_rows && r + 1 < n && ox + 1 < p->out_w && y0 >= 0 && y0 + fh <= p->in_h && x0 >= 0 &&
                x0 + pair_w <= p->in_w) {
                const int8_t *sa = input + (size_t)b * batch_bytes + (size_t)y0 * row_bytes + (size_t)x0 * p->in_c;
                const int8_t *sb = sa + b_off;
                int8_t *db = da + kp;
                int32_t rows = fh;
                __asm__ volatile("vctp.8 %[m]\n"
                                 "1:\n\t"
                                 "vpstttt\n\t"
                                 "vldrbt.8 q0, [%[sa]]\n\t"
                                 "vstrbt.8 q0, [%[da]]\n\t"
                                 "vldrbt.8 q1, [%[sb]]\n\t"
                                 "vstrbt.8 q1, [%[db]]\n\t"
                                 "add %[sa], %[sa], %[rs]\n\t"
                                 "add %[sb], %[sb], %[rs]\n\t"
                                 "add %[da], %[da], %[m]\n\t"
                                 "add %[db], %[db], %[m]\n\t"
                                 "subs %[n], %[n], #1\n\t"
                                 "bne 1b\n"
                                 : [sa] "+r"(sa), [sb] "+r"(sb), [da] "+r"(da), [db] "+r"(db), [n] "+r"(rows)
                                 : [m] "r"(tap_row), [rs] "r"(row_bytes)
                                 : "q0", "q1", "p0", "memory", "cc");
                step = 2;
            } else {
                mk_mve_im2col_row(p, input + (size_t)b * batch_bytes, oy, ox, pad, da);
            }
            r += step;
            ox += step; /* step 2 only when ox + 1 < out_w, so at most one row boundary is crossed */
            if (ox >= p->out_w) {
                ox = 0;
                if (++oy == p->out_h) {
                    oy = 0;
                    ++b;
                }
            }
        }
        const int32_t pairs = n / 2;
        int8_t *out = output + (size_t)px * (size_t)p->out_c;
        if (pairs > 0 && p->out_c % 4 == 0) { /* consecutive rows, consecutive outputs: one assembly loop */
            mk_mve_gemm_pairs(p, &args, fast, scratch, 2 * kp, pairs, out);
        } else {
            for (int32_t i = 0; i < pairs; ++i) {
                mk_mve_gemm_rows(p, &args, fast, scratch + 2 * i * kp, scratch + (2 * i + 1) * kp, 1,
                                 out + (size_t)(2 * i) * (size_t)p->out_c);
            }
        }
        if (n & 1) {
            const int8_t *last = scratch + (n - 1) * kp;
            mk_mve_gemm_rows(p, &args, fast, last, last, 0, out + (size_t)(n - 1) * (size_t)p->out_c);
        }
        px += n;
    }
    return MK_OK;
}
#endif
