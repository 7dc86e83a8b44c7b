/* Requantization: the one place int32 accumulators are scaled back to int8.
 *
 * Python "prepare" (mcukit/codegen/quantmath.py) turns each real multiplier M into (multiplier, shift) with
 * M ~= multiplier * 2^(shift - 31), multiplier in [2^30, 2^31). Every kernel calls mk_requantize_fc() with them.
 *
 * Two rounding conventions exist among the references, and an int8 deployment must match its oracle exactly:
 *  - MK_SINGLE_ROUNDING == 0 (default): TFLite Micro, gemmlowp and CMSIS-NN round twice - a saturating rounding
 *    doubling high multiply, then a rounding right shift (ties away from zero).
 *  - MK_SINGLE_ROUNDING == 1: one 64-bit multiply, add half, arithmetic shift (TFLite's TFLITE_SINGLE_ROUNDING).
 * The generated model.c refuses to compile when built with the other convention than it was generated for.
 */
#ifndef MK_REQUANT_H
#define MK_REQUANT_H

#include "mcukit/mk_types.h"

#ifndef MK_SINGLE_ROUNDING
#define MK_SINGLE_ROUNDING 0
#endif

/* round(a * b / 2^31) as gemmlowp defines it (a tie rounds up for positive products, toward +infinity for
 * negative ones: -0.5 -> 0); saturates the one overflow case INT32_MIN * INT32_MIN. */
static inline int32_t mk_sat_rounding_doubling_high_mul(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
    /* Division (not a shift) truncates toward zero; with the asymmetric nudge this is exactly gemmlowp's rule. */
    return (int32_t)((ab + nudge) / (1LL << 31));
}

/* x / 2^exponent rounded to nearest, ties away from zero. exponent in [0, 31]. */
static inline int32_t mk_rounding_divide_by_pot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)((1LL << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * multiplier * 2^(shift - 31) with double rounding. Every kernel uses this except FULLY_CONNECTED: both
 * references round twice for CONV_2D, DEPTHWISE_CONV_2D, MEAN, ADD and MUL (docs/reference-rounding.md).
 * shift in [-31, 30]. */
static inline int32_t mk_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    return mk_rounding_divide_by_pot(mk_sat_rounding_doubling_high_mul((int32_t)((uint32_t)x << left), multiplier),
                                     right);
}

/* FULLY_CONNECTED's requantization, the one place the references disagree: TFLite Micro rounds twice
 * (mk_requantize), ai-edge-litert's reference kernel rounds once with the full 31-bit multiplier. The build flag
 * MK_SINGLE_ROUNDING (set from the model's `--rounding`) picks which; the generated model.c checks it. */
static inline int32_t mk_requantize_fc(int32_t x, int32_t multiplier, int32_t shift)
{
#if MK_SINGLE_ROUNDING
    const int total_shift = 31 - shift;
    const int64_t round = (int64_t)1 << (total_shift - 1);
    return (int32_t)(((int64_t)x * multiplier + round) >> total_shift);
#else
    return mk_requantize(x, multiplier, shift);
#endif
}

#endif /* MK_REQUANT_H */
