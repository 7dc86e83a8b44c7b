/* int8 MUL with broadcasting: the product of the two zero-centred inputs fits in 17 bits, so one requantization
 * (double rounding, as both references) takes it to the output scale. */
#include "mcukit/mk_elementwise.h"
#include "mcukit/mk_requant.h"
#include "mk_broadcast_iter.h"

mk_status mk_mul_s8(const mk_mul_params *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    const mk_broadcast *b = &p->bcast;
    if (!mk_broadcast_valid(b)) {
        return MK_ERR_ARG;
    }
    const int32_t inner = b->shape[b->dims - 1];
    const int32_t s1 = b->stride1[b->dims - 1];
    const int32_t s2 = b->stride2[b->dims - 1];
    mk_broadcast_iter it;
    mk_broadcast_begin(&it);
    do {
        const int8_t *x1 = input1 + it.offset1;
        const int8_t *x2 = input2 + it.offset2;
        for (int32_t i = 0; i < inner; ++i) {
            const int32_t prod = ((int32_t)x1[i * s1] + p->input1_offset) * ((int32_t)x2[i * s2] + p->input2_offset);
            const int32_t out = mk_requantize(prod, p->output_multiplier, p->output_shift) + p->output_offset;
            *output++ = (int8_t)MK_CLAMP(out, p->act_min, p->act_max);
        }
    } while (mk_broadcast_next(b, &it));
    return MK_OK;
}
