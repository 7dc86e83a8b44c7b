/* Convolution family: CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED on int8 activations and int8 weights.
 *
 * Contract shared by every kernel here (it is TFLite's int8 scheme, and the kernels reproduce TFLite Micro's
 * reference kernels bit for bit):
 *  - activations are NHWC (FULLY_CONNECTED: rows of `in_features`), weights keep TFLite's layout and are
 *    symmetric (zero point 0), biases are int32 at scale input_scale * weight_scale[c];
 *  - acc = sum(w * (x + input_offset)) + bias[c], then mk_requantize(acc, multipliers[c], shifts[c]) +
 *    output_offset (FULLY_CONNECTED uses mk_requantize_fc, the one op whose rounding the references disagree on), clamped to [act_min, act_max] (which already holds the fused activation);
 *  - input_offset = -input_zero_point, output_offset = output_zero_point;
 *  - `multipliers`/`shifts` hold one entry per output channel, or a single entry when `per_channel` is 0;
 *  - positions outside the input (padding) contribute nothing, i.e. they behave as the input zero point;
 *  - `bias` may be NULL; every other pointer must be valid. No scratch memory, no heap, no floats.
 * All constants are computed offline by the Python lowering (mcukit/codegen/ops/conv.py, depthwise.py,
 * fully_connected.py); the kernels return MK_ERR_ARG only for parameters the lowering never emits.
 */
#ifndef MK_CONV_H
#define MK_CONV_H

#include "mcukit/mk_types.h"

typedef struct {
    int32_t batches;               /* N */
    int32_t in_h, in_w, in_c;      /* input H, W, C */
    int32_t out_h, out_w, out_c;   /* output H, W, C */
    int32_t filter_h, filter_w;
    int32_t filter_in_c;           /* input channels per group: in_c / groups (== in_c unless grouped) */
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_top, pad_left;     /* TFLite's SAME padding before the data; the rest goes after */
    int32_t input_offset, output_offset;
    int32_t act_min, act_max;
    int32_t per_channel;           /* 1: multipliers/shifts have out_c entries; 0: one entry */
    const int32_t *multipliers;
    const int32_t *shifts;
} mk_conv_params;

/* CONV_2D. weights: OHWI [out_c][filter_h][filter_w][filter_in_c]; bias: [out_c] or NULL.
 * input [batches][in_h][in_w][in_c] -> output [batches][out_h][out_w][out_c]. Grouped convolution when
 * filter_in_c < in_c: output channel c reads input channels of group c / (out_c / groups). */
mk_status mk_conv_s8(const mk_conv_params *p, const int8_t *input, const int8_t *weights, const int32_t *bias,
                     int8_t *output);

typedef struct {
    int32_t batches;
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;   /* out_c == in_c * depth_multiplier */
    int32_t depth_multiplier;
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_top, pad_left;
    int32_t input_offset, output_offset;
    int32_t act_min, act_max;
    int32_t per_channel;
    const int32_t *multipliers;
    const int32_t *shifts;
} mk_depthwise_conv_params;

/* DEPTHWISE_CONV_2D. weights: 1HWO [1][filter_h][filter_w][out_c], output channel o = i * depth_multiplier + m
 * reads input channel i. bias: [out_c] or NULL. Shapes as for mk_conv_s8. */
mk_status mk_depthwise_conv_s8(const mk_depthwise_conv_params *p, const int8_t *input, const int8_t *weights,
                               const int32_t *bias, int8_t *output);

typedef struct {
    int32_t batches;               /* rows: input elements / in_features */
    int32_t in_features;
    int32_t out_features;
    int32_t input_offset, output_offset;
    int32_t act_min, act_max;
    int32_t per_channel;           /* 1: multipliers/shifts have out_features entries; 0: one entry */
    const int32_t *multipliers;
    const int32_t *shifts;
} mk_fully_connected_params;

/* FULLY_CONNECTED. input [batches][in_features], weights [out_features][in_features], bias [out_features] or
 * NULL -> output [batches][out_features]. keep_num_dims only changes the output's shape, not its bytes. */
mk_status mk_fully_connected_s8(const mk_fully_connected_params *p, const int8_t *input, const int8_t *weights,
                                const int32_t *bias, int8_t *output);

/* Input row of output pixel `index` (flattened over batch, out_h, out_w) of a 1x1 conv: the pixel at the strides.
 * Shared by the GEMM kernels that read pixel rows in place (DSP and Helium). */
static inline const int8_t *mk_conv_pixel_1x1(const mk_conv_params *p, const int8_t *input, int32_t index)
{
    const int32_t ox = index % p->out_w;
    const int32_t rest = index / p->out_w;
    const int32_t oy = rest % p->out_h;
    const int32_t b = rest / p->out_h;
    const size_t iy = (size_t)oy * (size_t)p->stride_h;
    const size_t ix = (size_t)ox * (size_t)p->stride_w;
    return input + (((size_t)b * (size_t)p->in_h + iy) * (size_t)p->in_w + ix) * (size_t)p->in_c;
}

#endif /* MK_CONV_H */
