/* CONV_2D (no groups) as im2col + GEMM with the short epilogue: mk_conv_im2col_s8_dsp for layers whose
 * accumulators the code generator proved small (mcukit/codegen/ops/_isa.py gemm_rq_table). Same scratch (two
 * window rows, mk_conv_im2col_s8_dsp_scratch_bytes), same padding rule (padded taps hold the input zero point, so
 * they add 0 after the folded bias and stay inside the proof's bound: they are int8 like every input); bias,
 * requantization and output offset come from the per-channel table (mk_dsp_dot.h). multipliers/shifts in the
 * params are not read. Access order as mk_conv_im2col_s8_dsp. */
#include "mcukit/mk_kernels_dsp.h"
#include "mk_dsp_dot.h"

mk_status mk_conv_im2col_short_s8_dsp(const mk_conv_params *p, const int8_t *input, const int8_t *weights,
                                      const int32_t *table, int8_t *output, int8_t *scratch)
{
    if (p->filter_in_c != p->in_c || p->in_c < 1 || scratch == NULL || table == NULL || p->act_min < -128 ||
        p->act_max > 127) {
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
        mk_dsp_gemm_rows_short(p, weights, table, k, col_a, two ? col_b : NULL,
                               output + (size_t)px * (size_t)p->out_c);
    }
    return MK_OK;
}
