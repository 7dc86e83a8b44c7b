/* MAX_POOL_2D with the DSP extension: four channels per 32-bit word. SSUB8 compares the four signed bytes (its
 * GE flags say v >= m per byte) and SEL keeps the larger ones, so a window costs two instructions per pixel per
 * four channels; the fused-activation clamp is the same pair against the packed act_min/act_max. Leftover
 * channels use the portable scalar loop. */
#include "mcukit/mk_kernels_dsp.h"
#include "mcukit/mk_dsp_compat.h"

mk_status mk_max_pool_s8_dsp(const mk_pool_params *p, const int8_t *input, int8_t *output)
{
    const size_t pix = (size_t)p->channels;
    const size_t row = (size_t)p->in_w * pix;
    const int32_t lo4 = mk_splat8(p->act_min), hi4 = mk_splat8(p->act_max);
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)p->in_h * row;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            const int32_t fy0 = MK_MAX(0, -y0);
            const int32_t fy1 = MK_MIN(p->filter_h, p->in_h - y0);
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                const int32_t fx0 = MK_MAX(0, -x0);
                const int32_t fx1 = MK_MIN(p->filter_w, p->in_w - x0);
                int32_t c = 0;
                for (; c + 4 <= p->channels; c += 4) {
                    int32_t m = mk_splat8(-128);
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            m = mk_max8(mk_read_s8x4(in_b + (size_t)(y0 + fy) * row + (size_t)(x0 + fx) * pix +
                                                     (size_t)c),
                                        m);
                        }
                    }
                    mk_write_s8x4(output + c, mk_min8(mk_max8(m, lo4), hi4));
                }
                for (; c < p->channels; ++c) {
                    int32_t m = -128;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            m = MK_MAX(m, (int32_t)in_b[(size_t)(y0 + fy) * row + (size_t)(x0 + fx) * pix + (size_t)c]);
                        }
                    }
                    output[c] = (int8_t)MK_CLAMP(m, p->act_min, p->act_max);
                }
                output += p->channels;
            }
        }
    }
    return MK_OK;
}
