/* ADD of two same-shape int8 tensors on a compile-time table (mcukit/codegen/ops/_isa.py add_lut_table).
 *
 * Why: mk_add_s8 does three double-rounding requantizations per element. The first two depend on one int8 input
 * each, so their 256 possible results are computed at compile time (exactly as the kernel would: the reference's
 * integer steps) and become two table lookups. The third - of the sum - is mk_dsp_requantize_short with the output
 * offset folded into its rounding term (mk_dsp_dot.h's short epilogue): the code generator proves
 * (max|T1| + max|T2|) * 2^lsh < 2^30, left <= 7 and e <= 21 first (else the layer keeps mk_add_s8_dsp), and
 * pre-multiplies both tables by 2^lsh, so the sum is already shifted. Four elements per step: one word of each
 * input, four lookups pairs, and one clamped word stored (SSUB8/SEL), in place safe (each word is read before the
 * same word is written).
 *
 * table: T1[256] (indexed by the input-1 byte as unsigned), T2[256], then multiplier, 2^e + output_offset 2^(e+1),
 * e + 1 of the output requantization. The multipliers and shifts in the params are not read. */
#include "mcukit/mk_kernels_dsp.h"
#include "mk_dsp_dot.h"

static inline int32_t mk_add_lut_one(const int32_t *t, uint32_t x1, uint32_t x2, int32_t m, int32_t rnd, int32_t rsh)
{
    return mk_dsp_rq_tail8(mk_dsp_smmulr(t[x1 & 0xFFu] + t[256 + (x2 & 0xFFu)], m), rnd, rsh);
}

mk_status mk_add_lut_s8_dsp(const mk_add_params *p, const int8_t *input1, const int8_t *input2,
                            const int32_t *table, int8_t *output)
{
    const mk_broadcast *bc = &p->bcast;
    if (bc->dims != 1 || bc->stride1[0] != 1 || bc->stride2[0] != 1 || bc->shape[0] < 0 || table == NULL ||
        p->act_min < -128 || p->act_max > 127) {
        return MK_ERR_ARG;
    }
    const int32_t n = bc->shape[0];
    const int32_t m = table[512], rnd = table[513], rsh = table[514];
    const int32_t lo = p->act_min, hi = p->act_max;
    const int32_t clamp = lo > -128 || hi < 127;
    const int32_t lo4 = mk_splat8(lo), hi4 = mk_splat8(hi);
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t a = (uint32_t)mk_read_s8x4(input1 + i), b = (uint32_t)mk_read_s8x4(input2 + i);
        const uint32_t v = mk_dsp_bytes2(mk_add_lut_one(table, a, b, m, rnd, rsh),
                                         mk_add_lut_one(table, a >> 8, b >> 8, m, rnd, rsh)) |
                           (mk_dsp_bytes2(mk_add_lut_one(table, a >> 16, b >> 16, m, rnd, rsh),
                                          mk_add_lut_one(table, a >> 24, b >> 24, m, rnd, rsh)) << 16);
        mk_dsp_store4(output + i, v, clamp, lo4, hi4);
    }
    for (; i < n; ++i) {
        const int32_t r = mk_add_lut_one(table, (uint8_t)input1[i], (uint8_t)input2[i], m, rnd, rsh);
        output[i] = (int8_t)MK_CLAMP(r, lo, hi);
    }
    return MK_OK;
}
