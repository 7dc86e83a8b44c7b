/* Elementwise family: ADD and MUL on int8 (with TFLite's broadcasting), QUANTIZE float32 -> int8 and DEQUANTIZE
 * int8 -> float32 at the float edges of a model.
 *
 * Contract shared by the kernels here (TFLite's int8 scheme; the kernels reproduce TFLite Micro's reference
 * kernels bit for bit, and ai-edge-litert's BUILTIN_REF kernels, which agree with them for these ops):
 *  - real = scale * (q - zero_point); every offset is prepared by Python: input_offset = -input_zero_point,
 *    output_offset = output_zero_point;
 *  - ADD and MUL requantize with mk_requantize (gemmlowp double rounding) because BOTH references round
 *    these ops twice, whatever MK_SINGLE_ROUNDING says for FULLY_CONNECTED (docs/kernels-elementwise.md);
 *  - [act_min, act_max] already holds the fused activation (NONE, RELU, RELU6, RELU_N1_TO_1);
 *  - the output may be the same buffer as an input whose shape equals the output's: each element is read before
 *    it is written. No scratch memory, no heap. Only QUANTIZE/DEQUANTIZE use floats (their data is float).
 * All constants come from the Python lowerings (mcukit/codegen/ops/binary.py, quantize.py).
 */
#ifndef MK_ELEMENTWISE_H
#define MK_ELEMENTWISE_H

#include "mcukit/mk_types.h"

#define MK_BROADCAST_MAX_DIMS 6

/* How two inputs map onto the output. Python merges adjacent dimensions that broadcast the same way, so
 * same-shape operands arrive as one dimension and a per-channel operand as two. Element (i0, ..., i_{d-1}) of the
 * output reads input 1 at sum(i_k * stride1[k]) and input 2 at sum(i_k * stride2[k]); a broadcast dimension has
 * stride 0. The output is contiguous, outermost dimension first. */
typedef struct {
    int32_t dims;                             /* 1 .. MK_BROADCAST_MAX_DIMS */
    int32_t shape[MK_BROADCAST_MAX_DIMS];     /* output extent per dimension */
    int32_t stride1[MK_BROADCAST_MAX_DIMS];   /* input 1 element strides (0 = broadcast) */
    int32_t stride2[MK_BROADCAST_MAX_DIMS];   /* input 2 element strides (0 = broadcast) */
} mk_broadcast;

typedef struct {
    mk_broadcast bcast;
    int32_t input1_offset, input2_offset, output_offset;
    int32_t left_shift;                       /* 20 for int8, as TFLite */
    int32_t input1_multiplier, input1_shift;  /* s1 / (2 max(s1, s2)), shift <= 0 */
    int32_t input2_multiplier, input2_shift;  /* s2 / (2 max(s1, s2)), shift <= 0 */
    int32_t output_multiplier, output_shift;  /* 2 max(s1, s2) / (2^left_shift * s_out) */
    int32_t act_min, act_max;
} mk_add_params;

/* ADD: out = clamp(R_out(R_1((x1 + off1) << left_shift) + R_2((x2 + off2) << left_shift)) + off_out), where R_k
 * is mk_requantize with the k-th multiplier. */
mk_status mk_add_s8(const mk_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);

typedef struct {
    mk_broadcast bcast;
    int32_t input1_offset, input2_offset, output_offset;
    int32_t output_multiplier, output_shift;  /* s1 * s2 / s_out */
    int32_t act_min, act_max;
} mk_mul_params;

/* MUL: out = clamp(R((x1 + off1) * (x2 + off2)) + off_out). */
mk_status mk_mul_s8(const mk_mul_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);

typedef struct {
    int32_t size;
    float scale;                              /* output scale */
    int32_t zero_point;                       /* output zero point */
} mk_quantize_params;

/* QUANTIZE float32 -> int8: out = clamp(round_half_away(x / scale) + zero_point, -128, 127), the division in
 * float as TFLite's AffineQuantize. NaN becomes -128; values beyond +-2^24 steps saturate. */
mk_status mk_quantize_f32_s8(const mk_quantize_params *p, const float *input, int8_t *output);

typedef struct {
    int32_t size;
    float scale;                              /* input scale */
    int32_t zero_point;                       /* input zero point */
} mk_dequantize_params;

/* DEQUANTIZE int8 -> float32: out = scale * (x - zero_point). One float multiply of exact operands rounds like
 * TFLite's double product cast to float. */
mk_status mk_dequantize_s8_f32(const mk_dequantize_params *p, const int8_t *input, float *output);

#endif /* MK_ELEMENTWISE_H */
