/* MAX_POOL_2D, int8: the maximum over the window clipped to the image, then the fused-activation clamp. */
#include "mcukit/mk_pool.h"

mk_status mk_max_pool_s8(const mk_pool_params *p, const int8_t *input, int8_t *output)
{
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)p->in_h * (size_t)p->in_w * (size_t)p->channels;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            const int32_t fy0 = MK_MAX(0, -y0);
            const int32_t fy1 = MK_MIN(p->filter_h, p->in_h - y0);
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                const int32_t fx0 = MK_MAX(0, -x0);
                const int32_t fx1 = MK_MIN(p->filter_w, p->in_w - x0);
                for (int32_t c = 0; c < p->channels; ++c) {
                    int32_t m = -128;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        const int8_t *row = in_b + ((size_t)(y0 + fy) * (size_t)p->in_w) * (size_t)p->channels;
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            m = MK_MAX(m, (int32_t)row[(size_t)(x0 + fx) * (size_t)p->channels + (size_t)c]);
                        }
                    }
                    *output++ = (int8_t)MK_CLAMP(m, p->act_min, p->act_max);
                }
            }
        }
    }
    return MK_OK;
}
