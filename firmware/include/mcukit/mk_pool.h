/* Pooling family: AVERAGE_POOL_2D, MAX_POOL_2D and MEAN on int8 NHWC activations.
 *
 * Contract (TFLite Micro's reference kernels, bit for bit):
 *  - pooling windows are clipped to the input: padding positions are neither summed nor counted (average) nor
 *    compared (max). pad_top/pad_left are TFLite's SAME padding; the remainder of an odd total goes after;
 *  - average = sum / count rounded half away from zero with integer division; no requantization (TFLite pools
 *    keep the input's scale and zero point), then clamped to [act_min, act_max] (the fused activation);
 *  - MEAN reduces the middle axis of an [outer][reduce][inner] view (e.g. H*W of NHWC for global average
 *    pooling); its constants come from mcukit/codegen/ops/mean.py, see mk_mean_params;
 *  - no scratch memory, no heap, no floats. All parameters are computed by the Python lowering.
 */
#ifndef MK_POOL_H
#define MK_POOL_H

#include "mcukit/mk_types.h"

typedef struct {
    int32_t batches;
    int32_t in_h, in_w, channels;
    int32_t out_h, out_w;
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t pad_top, pad_left;
    int32_t act_min, act_max;
} mk_pool_params;

/* AVERAGE_POOL_2D: input [batches][in_h][in_w][channels] -> output [batches][out_h][out_w][channels].
 * Returns MK_ERR_ARG if a window holds no input pixel (TFLite fails the same way; SAME/VALID never cause it). */
mk_status mk_avg_pool_s8(const mk_pool_params *p, const int8_t *input, int8_t *output);

/* MAX_POOL_2D: same shapes as mk_avg_pool_s8. */
mk_status mk_max_pool_s8(const mk_pool_params *p, const int8_t *input, int8_t *output);

typedef struct {
    int32_t outer, reduce, inner;  /* input viewed as [outer][reduce][inner]; output [outer][inner] */
    /* output = requantize(sum - input_zero_point * reduce) + output_zero_point, clamped to int8, where the
     * multiplier/shift already include the 1/reduce factor (TFLite's QuantizedMeanOrSum). */
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t multiplier, shift;     /* double rounding (both references round MEAN twice) */
} mk_mean_params;

/* MEAN over one contiguous run of axes (global average pooling over H, W among others). */
mk_status mk_mean_s8(const mk_mean_params *p, const int8_t *input, int8_t *output);

#endif /* MK_POOL_H */
