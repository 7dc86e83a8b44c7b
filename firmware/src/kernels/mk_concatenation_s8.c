/* CONCATENATION, int8, any axis: the output is `outer` slices, each the inputs' chunks back to back. Values are
 * copied unchanged (see mk_shape.h for why there is no requantization). */
#include "mcukit/mk_shape.h"

#include <string.h>

mk_status mk_concatenation_s8(const mk_concatenation_params *p, const int8_t *const *inputs, int8_t *output)
{
    for (int32_t o = 0; o < p->outer; ++o) {
        for (int32_t i = 0; i < p->num_inputs; ++i) {
            const size_t n = (size_t)p->chunk[i];
            memcpy(output, inputs[i] + (size_t)o * n, n);
            output += n;
        }
    }
    return MK_OK;
}
