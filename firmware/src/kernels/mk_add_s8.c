/* int8 ADD with broadcasting: TFLite's general int8 path. Both inputs are brought to a common scale with 20 bits
 * of headroom (left_shift) before the sum, so the two rescalings lose almost nothing; every rounding step is the
 * reference's double rounding. */
#include "mcukit/mk_elementwise.h"
#include "mcukit/mk_requant.h"
#include "mk_broadcast_iter.h"

static inline int8_t mk_add_one(const mk_add_params *p, int32_t x1, int32_t x2)
{
    const int32_t a = mk_requantize((x1 + p->input1_offset) * (1 << p->left_shift), p->input1_multiplier,
                                           p->input1_shift);
    const int32_t b = mk_requantize((x2 + p->input2_offset) * (1 << p->left_shift), p->input2_multiplier,
                                           p->input2_shift);
    const int32_t out = mk_requantize(a + b, p->output_multiplier, p->output_shift) + p->output_offset;
    return (int8_t)MK_CLAMP(out, p->act_min, p->act_max);
}

mk_status mk_add_s8(const mk_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output)
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
            *output++ = mk_add_one(p, x1[i * s1], x2[i * s2]);
        }
    } while (mk_broadcast_next(b, &it));
    return MK_OK;
}
