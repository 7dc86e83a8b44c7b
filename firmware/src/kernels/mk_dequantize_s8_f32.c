/* DEQUANTIZE int8 -> float32 at a float model output. scale (24-bit mantissa) times a 9-bit integer is exact in
 * double, so TFLite's double product cast to float equals this single float multiply, rounded once. */
#include "mcukit/mk_elementwise.h"

mk_status mk_dequantize_s8_f32(const mk_dequantize_params *p, const int8_t *input, float *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = p->scale * (float)((int32_t)input[i] - p->zero_point);
    }
    return MK_OK;
}
