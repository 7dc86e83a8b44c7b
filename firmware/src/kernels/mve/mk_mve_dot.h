/* Private to the Helium kernels: tail-predicated int8 dot products.
 *
 * Per 16 lanes: one predicated load of the inputs (shared by both channels), one of each channel's weights,
 * VMLADAVA.S8 (sum of w * x into a scalar int32) and VADDVA.S8 (sum of w). Lanes beyond n are switched off by
 * the VCTP8 predicate, so there is no scalar tail loop. The caller adds input_offset * wsum afterwards:
 * sum(w * x) + offset * sum(w) == sum(w * (x + offset)) in int32, the portable kernels' accumulator. */
#ifndef MK_MVE_DOT_H
#define MK_MVE_DOT_H

#include <arm_mve.h>

#include "mcukit/mk_types.h"

/* acc[k] += w_k . x and wsum[k] += sum(w_k) for k = 0, 1 over n bytes. */
static inline void mk_mve_dot_2(const int8_t *w0, const int8_t *w1, const int8_t *x, int32_t n, int32_t acc[2],
                                int32_t wsum[2])
{
    int32_t a0 = acc[0], a1 = acc[1], s0 = wsum[0], s1 = wsum[1];
    for (int32_t i = 0; i < n; i += 16) {
        const mve_pred16_t pr = vctp8q((uint32_t)(n - i));
        const int8x16_t xv = vldrbq_z_s8(x + i, pr);
        const int8x16_t wa = vldrbq_z_s8(w0 + i, pr);
        const int8x16_t wb = vldrbq_z_s8(w1 + i, pr);
        a0 = vmladavaq_p_s8(a0, wa, xv, pr);
        s0 = vaddvaq_p_s8(s0, wa, pr);
        a1 = vmladavaq_p_s8(a1, wb, xv, pr);
        s1 = vaddvaq_p_s8(s1, wb, pr);
    }
    acc[0] = a0;
    acc[1] = a1;
    wsum[0] = s0;
    wsum[1] = s1;
}

/* One channel: returns acc + w . x, adds sum(w) to *wsum. */
static inline int32_t mk_mve_dot_1(const int8_t *w, const int8_t *x, int32_t n, int32_t acc, int32_t *wsum)
{
    int32_t s = *wsum;
    for (int32_t i = 0; i < n; i += 16) {
        const mve_pred16_t pr = vctp8q((uint32_t)(n - i));
        const int8x16_t xv = vldrbq_z_s8(x + i, pr);
        const int8x16_t wv = vldrbq_z_s8(w + i, pr);
        acc = vmladavaq_p_s8(acc, wv, xv, pr);
        s = vaddvaq_p_s8(s, wv, pr);
    }
    *wsum = s;
    return acc;
}

#endif /* MK_MVE_DOT_H */
