/* AVERAGE_POOL_2D with the DSP extension: four channels per 32-bit load. SXTAB16 adds the even and the odd bytes
 * of each pixel word into two halfword-pair sums, which is exact while the window holds at most 256 pixels
 * (|sum| <= 128 * 256 fits int16); larger windows and leftover channels use 32-bit scalar sums. The division is
 * the portable kernel's (round half away from zero with integer division), so the bytes are identical. */
#include "mcukit/mk_kernels_dsp.h"
#include "mcukit/mk_dsp_compat.h"

static inline int8_t mk_avg_out(const mk_pool_params *p, int32_t sum, int32_t count)
{
    sum = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
    return (int8_t)MK_CLAMP(sum, p->act_min, p->act_max);
}

/* Optimized for size (cold): a pool layer is a few per cent of a model's instructions at most (DS-CNN's global
 * average pool 0.8 %), and the DS-CNN's runtime code is held to 16 KB. */
__attribute__((cold)) mk_status mk_avg_pool_s8_dsp(const mk_pool_params *p, const int8_t *input, int8_t *output)
{
    const size_t pix = (size_t)p->channels;
    const size_t row = (size_t)p->in_w * pix;
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
                if (fy1 <= fy0 || fx1 <= fx0) {
                    return MK_ERR_ARG;
                }
                const int32_t count = (fy1 - fy0) * (fx1 - fx0);
                int32_t c = 0;
                if (count <= 256) {
                    for (; c + 4 <= p->channels; c += 4) {
                        int32_t even = 0, odd = 0;
                        for (int32_t fy = fy0; fy < fy1; ++fy) {
                            for (int32_t fx = fx0; fx < fx1; ++fx) {
                                const int32_t v = mk_read_s8x4(in_b + (size_t)(y0 + fy) * row +
                                                               (size_t)(x0 + fx) * pix + (size_t)c);
                                even = __sxtab16(even, v);
                                odd = __sxtab16(odd, mk_ror(v, 8));
                            }
                        }
                        output[c] = mk_avg_out(p, (int16_t)(uint16_t)((uint32_t)even & 0xFFFFu), count);
                        output[c + 1] = mk_avg_out(p, (int16_t)(uint16_t)((uint32_t)odd & 0xFFFFu), count);
                        output[c + 2] = mk_avg_out(p, (int16_t)(uint16_t)((uint32_t)even >> 16), count);
                        output[c + 3] = mk_avg_out(p, (int16_t)(uint16_t)((uint32_t)odd >> 16), count);
                    }
                }
                for (; c < p->channels; ++c) {
                    int32_t sum = 0;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            sum += in_b[(size_t)(y0 + fy) * row + (size_t)(x0 + fx) * pix + (size_t)c];
                        }
                    }
                    output[c] = mk_avg_out(p, sum, count);
                }
                output += p->channels;
            }
        }
    }
    return MK_OK;
}
