/* int8 SOFTMAX as both references compute it: in float32 (TFLite's table-based int8 softmax), not in gemmlowp
 * fixed point - measured, see mcukit/codegen/ops/softmax.py. Python supplies expf(-s_in * beta * d) for every
 * difference d to the row maximum; the sum runs in element order and no multiply feeds an add, so no compiler
 * contraction (FMA) can change a rounding. */
#include "mcukit/mk_activation.h"

/* roundf (half away from zero) for |x| < 2^23 without libm. */
static inline int32_t mk_round_half_away(float x)
{
    int32_t q = (int32_t)x;
    const float frac = x - (float)q;
    if (frac >= 0.5f) {
        q += 1;
    } else if (frac <= -0.5f) {
        q -= 1;
    }
    return q;
}

mk_status mk_softmax_s8(const mk_softmax_params *p, const int8_t *input, int8_t *output)
{
    const float *table = p->exp_table;
    for (int32_t r = 0; r < p->rows; ++r) {
        const int8_t *in = input + (size_t)r * (size_t)p->depth;
        int8_t *out = output + (size_t)r * (size_t)p->depth;
        int32_t max_in_row = -128;
        for (int32_t c = 0; c < p->depth; ++c) {
            max_in_row = MK_MAX(max_in_row, (int32_t)in[c]);
        }
        float sum = 0.0f;
        for (int32_t c = 0; c < p->depth; ++c) {
            sum += table[max_in_row - (int32_t)in[c]];
        }
        const float denominator = sum * p->output_scale;
        const float inv = 1.0f / denominator;
        for (int32_t c = 0; c < p->depth; ++c) {
            const float prob = table[max_in_row - (int32_t)in[c]] * inv;
            /* prob <= 1 / output_scale: far inside the exact-conversion range */
            const int32_t q = mk_round_half_away(prob) + p->output_zero_point;
            out[c] = (int8_t)MK_CLAMP(q, -128, 127);
        }
    }
    return MK_OK;
}
