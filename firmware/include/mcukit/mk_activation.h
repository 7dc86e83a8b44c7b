/* Activation family: a generic int8 -> int8 lookup table (LOGISTIC, TANH, HARD_SWISH, LEAKY_RELU, RELU, RELU6,
 * RELU_N1_TO_1 and int8 -> int8 QUANTIZE all compile to it) and SOFTMAX.
 *
 * An int8 unary op has only 256 possible inputs, so Python computes its 256 outputs at compile time by
 * re-implementing the reference kernel's own arithmetic (integer or float, whichever the reference uses;
 * mcukit/codegen/ops/activations.py). The table then reproduces the reference exactly, at one load per element.
 * SOFTMAX needs a whole row, so only its exp() part is a table; the normalisation runs in C in float32, because
 * that is what both references do for int8 softmax (bit-exactness requires the same float steps).
 * No heap. The output may be the input buffer (every element of a row is read before the row is written).
 */
#ifndef MK_ACTIVATION_H
#define MK_ACTIVATION_H

#include "mcukit/mk_types.h"

typedef struct {
    int32_t size;
    const int8_t *table;       /* [256]: output for input x at table[(uint8_t)x] */
} mk_lut_params;

/* out[i] = table[(uint8_t)in[i]] for i < size. */
mk_status mk_lut_s8(const mk_lut_params *p, const int8_t *input, int8_t *output);

typedef struct {
    int32_t rows;              /* all dimensions but the last */
    int32_t depth;             /* the last dimension: softmax runs along it */
    float output_scale;
    int32_t output_zero_point;
    const float *exp_table;    /* [256]: expf(-s_in * beta * d) for d = row max - x, float32 as TFLite */
} mk_softmax_params;

/* SOFTMAX int8 -> int8 along the last dimension, TFLite's table-based algorithm in float32 (both references
 * use it for int8): sum = sum of table[max - x] in element order, inv = 1 / (sum * output_scale),
 * out = clamp(round_half_away(table[max - x] * inv) + output_zero_point). The kernel's only floats. */
mk_status mk_softmax_s8(const mk_softmax_params *p, const int8_t *input, int8_t *output);

#endif /* MK_ACTIVATION_H */
