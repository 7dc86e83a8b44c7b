/* Data-movement kernels: PAD and CONCATENATION on int8 tensors. They copy bytes; no arithmetic on values.
 *
 * Both follow TFLite Micro's reference kernels: PAD fills with `pad_value` (the output zero point for PAD, the
 * constant operand for PADV2); CONCATENATION copies its inputs unchanged, because TFLite's int8 concatenation
 * requires every input to share the output's scale and zero point (the lowering rejects anything else). RESHAPE, SQUEEZE and EXPAND_DIMS need no kernel: the
 * generated code aliases the output to the input. No scratch memory, no heap.
 */
#ifndef MK_SHAPE_H
#define MK_SHAPE_H

#include "mcukit/mk_types.h"

#define MK_PAD_MAX_DIMS 5

typedef struct {
    int32_t in_dims[MK_PAD_MAX_DIMS];      /* input shape, left-extended with 1s to MK_PAD_MAX_DIMS */
    int32_t pad_before[MK_PAD_MAX_DIMS];   /* elements added before the data on each axis (>= 0) */
    int32_t pad_after[MK_PAD_MAX_DIMS];    /* elements added after the data on each axis (>= 0) */
    int32_t pad_value;                     /* int8 value written into the padding */
} mk_pad_params;

/* PAD / PADV2: output shape = in_dims + pad_before + pad_after, row-major. */
mk_status mk_pad_s8(const mk_pad_params *p, const int8_t *input, int8_t *output);

typedef struct {
    int32_t outer;                 /* product of the output dimensions before the concatenation axis */
    int32_t num_inputs;
    const int32_t *chunk;          /* per input: its axis size * product of the dimensions after the axis */
} mk_concatenation_params;

/* CONCATENATION: for each of `outer` slices, appends chunk[i] bytes of every input i in order.
 * inputs: array of num_inputs pointers. */
mk_status mk_concatenation_s8(const mk_concatenation_params *p, const int8_t *const *inputs, int8_t *output);

#endif /* MK_SHAPE_H */
