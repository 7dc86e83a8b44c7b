/* PAD / PADV2, int8, up to 5-D. Writes the output once in row-major order; the innermost axis is a run of
 * pad bytes, the input row, and pad bytes again, so no per-element bounds test is needed there. */
#include "mcukit/mk_shape.h"

#include <string.h>

mk_status mk_pad_s8(const mk_pad_params *p, const int8_t *input, int8_t *output)
{
    int32_t out_dims[MK_PAD_MAX_DIMS];
    for (int d = 0; d < MK_PAD_MAX_DIMS; ++d) {
        if (p->pad_before[d] < 0 || p->pad_after[d] < 0 || p->in_dims[d] < 1) {
            return MK_ERR_ARG;
        }
        out_dims[d] = p->in_dims[d] + p->pad_before[d] + p->pad_after[d];
    }
    const int8_t pad = (int8_t)p->pad_value;
    const int L = MK_PAD_MAX_DIMS - 1;
    const size_t row_out = (size_t)out_dims[L];
    int32_t idx[MK_PAD_MAX_DIMS - 1] = {0};
    /* Iterate over every output row (all axes but the last). */
    for (;;) {
        int inside = 1;
        for (int d = 0; d < L; ++d) {
            const int32_t i = idx[d] - p->pad_before[d];
            if (i < 0 || i >= p->in_dims[d]) {
                inside = 0;
                break;
            }
        }
        if (inside) {
            memset(output, pad, (size_t)p->pad_before[L]);
            memcpy(output + p->pad_before[L], input, (size_t)p->in_dims[L]);
            memset(output + p->pad_before[L] + p->in_dims[L], pad, (size_t)p->pad_after[L]);
            input += p->in_dims[L];
        } else {
            memset(output, pad, row_out);
        }
        output += row_out;
        int d = L - 1;
        while (d >= 0 && ++idx[d] == out_dims[d]) {
            idx[d] = 0;
            --d;
        }
        if (d < 0) {
            break;
        }
    }
    return MK_OK;
}
