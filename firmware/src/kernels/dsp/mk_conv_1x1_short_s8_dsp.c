/* CONV_2D with a 1x1 filter as a GEMM with the short epilogue: mk_conv_1x1_s8_dsp for layers whose accumulators the
 * code generator proved small (mcukit/codegen/ops/_isa.py gemm_rq_table). Same pixel pairs and pair-interleaved
 * weights; bias, requantization and output offset come from the per-channel table (mk_dsp_dot.h), four channels
 * are stored as one word. multipliers/shifts in the params are not read. Access order as mk_conv_1x1_s8_dsp. */
#include "mcukit/mk_kernels_dsp.h"
#include "mk_dsp_dot.h"

mk_status mk_conv_1x1_short_s8_dsp(const mk_conv_params *p, const int8_t *input, const int8_t *weights,
                                   const int32_t *table, int8_t *output)
{
    if (p->filter_h != 1 || p->filter_w != 1 || p->filter_in_c != p->in_c || p->pad_top != 0 || p->pad_left != 0 ||
        table == NULL || p->act_min < -128 || p->act_max > 127) {
        return MK_ERR_ARG;
    }
    const int32_t n = p->in_c;
    const int32_t pixels = p->batches * p->out_h * p->out_w;
    for (int32_t px = 0; px < pixels; px += 2) {
        const int two = px + 1 < pixels;
        const int8_t *xa = mk_dsp_pixel_1x1(p, input, px);
        const int8_t *xb = two ? mk_dsp_pixel_1x1(p, input, px + 1) : NULL;
        mk_dsp_gemm_rows_short(p, weights, table, n, xa, xb, output + (size_t)px * (size_t)p->out_c);
    }
    return MK_OK;
}
