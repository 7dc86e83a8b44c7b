/* QUANTIZE float32 -> int8 at a float model input. TFLite divides in float (not a multiply by 1/scale, which
 * rounds differently) and rounds half away from zero; both are reproduced without libm. */
#include "mcukit/mk_elementwise.h"

/* Beyond this many steps the result saturates anyway; clamping first keeps the int conversion defined. */
#define MK_QUANTIZE_LIMIT 16777216.0f

mk_status mk_quantize_f32_s8(const mk_quantize_params *p, const float *input, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        float v = input[i] / p->scale;
        if (!(v == v)) {
            v = -MK_QUANTIZE_LIMIT; /* NaN */
        }
        v = MK_CLAMP(v, -MK_QUANTIZE_LIMIT, MK_QUANTIZE_LIMIT);
        int32_t q = (int32_t)v;            /* truncates toward zero */
        const float frac = v - (float)q;   /* exact: |v| < 2^24 */
        if (frac >= 0.5f) {
            q += 1;
        } else if (frac <= -0.5f) {
            q -= 1;
        }
        q += p->zero_point;
        output[i] = (int8_t)MK_CLAMP(q, -128, 127);
    }
    return MK_OK;
}
