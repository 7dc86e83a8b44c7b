/* ADD on DSP boards. The arithmetic per element is the portable kernel's (three double-rounding requantizations,
 * so the bytes are the same), and those 64-bit multiplies dominate: SIMD unpacking of the int8 inputs was
 * measured 7% SLOWER than the plain loop under QEMU (docs/kernels.md), so it is not used. What helps is
 * hoisting: an operand broadcast along the innermost row (stride 0: per-channel or scalar operands) is rescaled
 * once per row instead of once per element. */
#include "mcukit/mk_kernels_dsp.h"
#include "mcukit/mk_requant.h"
#include "../mk_broadcast_iter.h"

/* One input's contribution: R_k((x + offset) << left_shift) for an already offset-corrected x. */
static inline int32_t mk_add_scaled(int32_t x_plus_offset, int32_t left_shift, int32_t mult, int32_t shift)
{
    return mk_requantize(x_plus_offset * (1 << left_shift), mult, shift);
}

static inline int32_t mk_add_out(const mk_add_params *p, int32_t a, int32_t b)
{
    const int32_t out = mk_requantize(a + b, p->output_multiplier, p->output_shift) + p->output_offset;
    return MK_CLAMP(out, p->act_min, p->act_max);
}

mk_status mk_add_s8_dsp(const mk_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    const mk_broadcast *bc = &p->bcast;
    if (!mk_broadcast_valid(bc)) {
        return MK_ERR_ARG;
    }
    const int32_t inner = bc->shape[bc->dims - 1];
    const int32_t s1 = bc->stride1[bc->dims - 1];
    const int32_t s2 = bc->stride2[bc->dims - 1];
    const int32_t ls = p->left_shift;
    mk_broadcast_iter it;
    mk_broadcast_begin(&it);
    do {
        const int8_t *x1 = input1 + it.offset1;
        const int8_t *x2 = input2 + it.offset2;
        if (s2 == 0) {
            const int32_t b = mk_add_scaled(x2[0] + p->input2_offset, ls, p->input2_multiplier, p->input2_shift);
            for (int32_t i = 0; i < inner; ++i) {
                const int32_t a = mk_add_scaled(x1[i * s1] + p->input1_offset, ls, p->input1_multiplier,
                                                p->input1_shift);
                output[i] = (int8_t)mk_add_out(p, a, b);
            }
        } else if (s1 == 0) {
            const int32_t a = mk_add_scaled(x1[0] + p->input1_offset, ls, p->input1_multiplier, p->input1_shift);
            for (int32_t i = 0; i < inner; ++i) {
                const int32_t b = mk_add_scaled(x2[i * s2] + p->input2_offset, ls, p->input2_multiplier,
                                                p->input2_shift);
                output[i] = (int8_t)mk_add_out(p, a, b);
            }
        } else {
            for (int32_t i = 0; i < inner; ++i) {
                const int32_t a = mk_add_scaled(x1[i * s1] + p->input1_offset, ls, p->input1_multiplier,
                                                p->input1_shift);
                const int32_t b = mk_add_scaled(x2[i * s2] + p->input2_offset, ls, p->input2_multiplier,
                                                p->input2_shift);
                output[i] = (int8_t)mk_add_out(p, a, b);
            }
        }
        output += inner;
    } while (mk_broadcast_next(bc, &it));
    return MK_OK;
}
