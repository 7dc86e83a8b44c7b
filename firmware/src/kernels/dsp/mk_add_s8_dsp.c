/* ADD with the DSP extension. The arithmetic per element is the portable kernel's (three double-rounding
 * requantizations, so the bytes are the same); what changes is the data movement around it:
 *  - an operand broadcast along the innermost row (stride 0: per-channel or scalar operands) is rescaled once per
 *    row instead of once per element;
 *  - unit-stride rows are read and written four elements per 32-bit access, with SXTAB16 adding the input
 *    offsets to two elements at a time (the results are already clamped to int8, so packing needs no saturation). */
#include "mcukit/mk_kernels_dsp.h"
#include "mcukit/mk_dsp_compat.h"
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

/* Halfword k of a packed pair, sign-extended. */
static inline int32_t mk_half(int32_t v, int k)
{
    return (int32_t)(int16_t)(uint16_t)((uint32_t)v >> (16 * k));
}

static void mk_add_row_unit(const mk_add_params *p, const int8_t *x1, const int8_t *x2, int8_t *out, int32_t n)
{
    const int32_t o1 = mk_pair16(p->input1_offset), o2 = mk_pair16(p->input2_offset);
    const int32_t ls = p->left_shift;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const int32_t v1 = mk_read_s8x4(x1 + i), v2 = mk_read_s8x4(x2 + i);
        /* elements 0 and 2 in the even pairs, 1 and 3 in the odd pairs, offsets already added */
        const int32_t e1 = __sxtab16(o1, v1), d1 = __sxtab16(o1, mk_ror(v1, 8));
        const int32_t e2 = __sxtab16(o2, v2), d2 = __sxtab16(o2, mk_ror(v2, 8));
        int32_t r[4];
        for (int k = 0; k < 2; ++k) {
            const int32_t pe = mk_add_out(
                p, mk_add_scaled(mk_half(e1, k), ls, p->input1_multiplier, p->input1_shift),
                mk_add_scaled(mk_half(e2, k), ls, p->input2_multiplier, p->input2_shift));
            const int32_t po = mk_add_out(
                p, mk_add_scaled(mk_half(d1, k), ls, p->input1_multiplier, p->input1_shift),
                mk_add_scaled(mk_half(d2, k), ls, p->input2_multiplier, p->input2_shift));
            r[2 * k] = pe;
            r[2 * k + 1] = po;
        }
        const uint32_t packed = ((uint32_t)r[0] & 0xFFu) | (((uint32_t)r[1] & 0xFFu) << 8) |
                                (((uint32_t)r[2] & 0xFFu) << 16) | ((uint32_t)r[3] << 24);
        mk_write_s8x4(out + i, (int32_t)packed);
    }
    for (; i < n; ++i) {
        const int32_t a = mk_add_scaled(x1[i] + p->input1_offset, ls, p->input1_multiplier, p->input1_shift);
        const int32_t b = mk_add_scaled(x2[i] + p->input2_offset, ls, p->input2_multiplier, p->input2_shift);
        out[i] = (int8_t)mk_add_out(p, a, b);
    }
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
        if (s1 == 1 && s2 == 1) {
            mk_add_row_unit(p, x1, x2, output, inner);
        } else if (s2 == 0) {
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
