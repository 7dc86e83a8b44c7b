/* Every int8 -> int8 unary op: Python has already evaluated the reference arithmetic for all 256 inputs. */
#include "mcukit/mk_activation.h"

mk_status mk_lut_s8(const mk_lut_params *p, const int8_t *input, int8_t *output)
{
    const int8_t *table = p->table;
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = table[(uint8_t)input[i]];
    }
    return MK_OK;
}
