/* Helium (M-profile Vector Extension, Cortex-M55/M85) variants of the conv-family kernels
 * (firmware/src/kernels/mve/, one public kernel per file, names + _mve).
 *
 * Contract: the SAME params structs as the portable kernels in mk_conv.h and the SAME output bytes in both rounding
 * modes; the same arguments too, except for the GEMM conv and 3x3 depthwise kernels below, which read compile-time
 * forms of their constants. The inner products run 16 int8 lanes per instruction (VMLADAVA.S8) with tail
 * predication (VCTP8), so no channel count needs padding; the input offset is applied as offset * sum(weights)
 * with the weight sum taken over the same (unpadded) taps by VADDVA.S8, which equals sum(w * (x + offset))
 * exactly in int32. Requantization is the shared scalar mk_requantize / mk_requantize_fc.
 *
 * The kernels exist only where the compiler targets MVE (__ARM_FEATURE_MVE); the code generator selects them
 * for boards whose ISA has "mve" (mcukit/codegen/ops/_isa.py). They cannot run on the host: QEMU's mps3-an547
 * (tests/target/test_dsp_qemu.py) is where they are checked.
 */
#ifndef MK_KERNELS_MVE_H
#define MK_KERNELS_MVE_H

#include "mcukit/mk_conv.h"

/* CONV_2D, any filter/stride/dilation/padding/groups, as mk_conv_s8 (2 output channels per pass). */
mk_status mk_conv_s8_mve(const mk_conv_params *p, const int8_t *input, const int8_t *weights, const int32_t *bias,
                         int8_t *output);

/* CONV_2D without groups as GEMMs on compile-time forms (src/kernels/mve/mk_mve_gemm.h; mcukit/codegen/ops/_isa.py
 * mve_gemm_weight_layout and mve_gemm_rq_table): weights with each OHWI row zero-padded to a multiple of 16 bytes,
 * out_c zero-padded to a multiple of 4, each group of 4 channels' rows interleaved in 16-byte chunks; `table`: per
 * group of 4 channels 20 int32 (folded bias bias + input_offset * sum(w), max(shift, 0), multiplier,
 * shift < 0 ? -1 : 0, min(shift, 0); 4 lanes each), then one flags word (bit 0: every shift < 0), replacing bias,
 * multipliers and shifts (the params' arrays are not read). 4 output channels x 2 pixels per step (8 VMLADAVA.S8
 * per 16 bytes), the requantization vectorized over the 4 channels and equal to mk_requantize lane by lane (no
 * precondition).
 *  - mk_conv_1x1_s8_mve: 1x1 filters with in_c % 16 == 0 (pixel rows read in place). MK_ERR_ARG otherwise.
 *  - mk_conv_im2col_s8_mve: any filter/stride/dilation/padding; window rows of k = filter_h filter_w in_c bytes,
 *    each rounded up to 16, for up to 8 pixel pairs in `scratch` (mk_conv_im2col_s8_mve_scratch_bytes(p) bytes). */
size_t mk_conv_im2col_s8_mve_scratch_bytes(const mk_conv_params *p);
mk_status mk_conv_1x1_s8_mve(const mk_conv_params *p, const int8_t *input, const int8_t *weights,
                             const int32_t *bias, int8_t *output);
mk_status mk_conv_im2col_s8_mve(const mk_conv_params *p, const int8_t *input, const int8_t *weights,
                                const int32_t *bias, int8_t *output, int8_t *scratch);

/* DEPTHWISE_CONV_2D, any shape, as mk_depthwise_conv_s8 (4 channels per vector when depth_multiplier == 1). */
mk_status mk_depthwise_conv_s8_mve(const mk_depthwise_conv_params *p, const int8_t *input, const int8_t *weights,
                                   const int32_t *bias, int8_t *output);

/* DEPTHWISE_CONV_2D with 3x3 filters, depth multiplier 1, no dilation (any stride/padding) on compile-time forms
 * (src/kernels/mve/mk_depthwise_conv_3x3_s8_mve.c; mcukit/codegen/ops/_isa.py mve_dw3x3_forms): int16 weights
 * grouped by 8 channels and a requantization table with the folded bias (40 int32 per 8 channels, then a flags
 * word). 8 channels per vector step, two pixels per step along a row for strides 1 and 2. `scratch`:
 * mk_depthwise_conv_3x3_s8_mve_scratch_bytes(p) bytes, a ring of three zero-point-padded input rows. MK_ERR_ARG
 * for other shapes or an activation range beyond int8. */
size_t mk_depthwise_conv_3x3_s8_mve_scratch_bytes(const mk_depthwise_conv_params *p);
mk_status mk_depthwise_conv_3x3_s8_mve(const mk_depthwise_conv_params *p, const int8_t *input, const int16_t *w16,
                                       const int32_t *table, int8_t *output, int8_t *scratch);

/* FULLY_CONNECTED, as mk_fully_connected_s8 (2 output features per pass over the row). */
mk_status mk_fully_connected_s8_mve(const mk_fully_connected_params *p, const int8_t *input, const int8_t *weights,
                                    const int32_t *bias, int8_t *output);

#endif /* MK_KERNELS_MVE_H */
