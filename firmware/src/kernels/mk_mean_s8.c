/* MEAN, int8, over the middle axis of an [outer][reduce][inner] view: the zero-point-corrected int32 sum is
 * requantized once with a multiplier that already folds in 1/reduce (TFLite's QuantizedMeanOrSum), so the only
 * division happens offline in the lowering. */
#include "mcukit/mk_pool.h"
#include "mcukit/mk_requant.h"

mk_status mk_mean_s8(const mk_mean_params *p, const int8_t *input, int8_t *output)
{
    if (p->reduce < 1) {
        return MK_ERR_ARG;
    }
    for (int32_t o = 0; o < p->outer; ++o) {
        const int8_t *in_o = input + (size_t)o * (size_t)p->reduce * (size_t)p->inner;
        for (int32_t i = 0; i < p->inner; ++i) {
            int32_t sum = 0;
            for (int32_t r = 0; r < p->reduce; ++r) {
                sum += in_o[(size_t)r * (size_t)p->inner + (size_t)i];
            }
            int32_t v = mk_requantize(sum - p->input_zero_point * p->reduce, p->multiplier, p->shift) +
                        p->output_zero_point;
            v = MK_CLAMP(v, -128, 127);
            output[(size_t)o * (size_t)p->inner + (size_t)i] = (int8_t)v;
        }
    }
    return MK_OK;
}
