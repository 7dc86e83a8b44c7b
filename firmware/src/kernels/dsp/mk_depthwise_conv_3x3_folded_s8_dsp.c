/* DEPTHWISE_CONV_2D, 3x3, depth multiplier 1, undilated, on compile-time forms of its constants (the fast twin of
 * mk_depthwise_conv_3x3_s8_dsp; layouts in mk_kernels_dsp.h, built by mcukit/codegen/ops/_isa.py).
 *
 * Why it is faster: per group of 4 channels and tap, one LDR of the inputs, two SXTB16 (the input offset is folded
 * into the bias, so no SXTAB16 offset register), two loads of weights already widened to int16 and four
 * SMLABB/SMLATT. Weights, bias and the requantization table of a group are one stream of 34 words (one pointer).
 * The accumulators start from the folded bias. The code generator only emits these forms when it has proved every
 * accumulator small enough; then the left shift is pre-applied to weights and bias (int16 has room for it) and
 * the double rounding is mk_dsp_requantize_short: one SMMULR and three ALU instructions (mk_kernels_dsp.h). The output offset and
 * the clamp then run on two channels per instruction (QADD16, SSUB16/SEL) and four outputs go out as one word.
 *
 * Padding: a tap outside the image reads the input zero point (a row of it on the stack), which adds
 * w * zp = -w * input_offset and so cancels the folded term of that tap exactly as skipping it would.
 * Access order: pixel by pixel in raster order, all channels of a pixel before the next (in-place lag 0). */
#include "mcukit/mk_kernels_dsp.h"
#include "mk_dsp_dot.h"

#define MK_DW3_CHUNK 64 /* channels per pass over a border pixel: the length of the zero-point row; a multiple of 4 */

/* 1..4 input bytes of a group as a word (missing bytes 0; their weights are 0 too). */
static inline int32_t mk_dw3_load(const int8_t *x, int32_t n)
{
    if (n == 4) {
        return mk_read_s8x4(x);
    }
    int32_t v = 0;
    memcpy(&v, x, (size_t)n);
    return v;
}

/* mk_dsp_requantize_short of a pre-shifted accumulator (the weights and bias carry the 2^(left+1)), saturated to
 * int16 for the packed epilogue (the final clamp is inside int8, so saturating first changes nothing). */
static inline int32_t mk_dw3_requant(int32_t a, int32_t m, int32_t rnd, int32_t rsh)
{
    return __ssat(mk_dsp_requantize_short(a, m, 0, rnd, rsh), 16);
}

/* Requantize, offset, clamp and store four channels; t = the group's table (bias, multiplier, 2^e, e + 1 rows).
 * Even channels (0, 2) and odd ones (1, 3) form halfword pairs, as SXTB16 split them; UXTB16 and one ORR put the
 * bytes back in channel order for one store. */
static inline void mk_dw3_store(int32_t a0, int32_t a1, int32_t a2, int32_t a3, const int32_t *t, int32_t oo2,
                                int32_t lo2, int32_t hi2, int8_t *out, int32_t n)
{
    const int32_t r0 = mk_dw3_requant(a0, t[4], t[8], t[12]), r1 = mk_dw3_requant(a1, t[5], t[9], t[13]);
    const int32_t r2 = mk_dw3_requant(a2, t[6], t[10], t[14]), r3 = mk_dw3_requant(a3, t[7], t[11], t[15]);
    int32_t pe = __qadd16((int32_t)(((uint32_t)r0 & 0xFFFFu) | ((uint32_t)r2 << 16)), oo2);
    int32_t po = __qadd16((int32_t)(((uint32_t)r1 & 0xFFFFu) | ((uint32_t)r3 << 16)), oo2);
    (void)__ssub16(pe, lo2);
    pe = (int32_t)__sel((uint32_t)pe, (uint32_t)lo2);
    (void)__ssub16(pe, hi2);
    pe = (int32_t)__sel((uint32_t)hi2, (uint32_t)pe);
    (void)__ssub16(po, lo2);
    po = (int32_t)__sel((uint32_t)po, (uint32_t)lo2);
    (void)__ssub16(po, hi2);
    po = (int32_t)__sel((uint32_t)hi2, (uint32_t)po);
    const int32_t bytes = (int32_t)((uint32_t)__uxtb16(pe) | ((uint32_t)__uxtb16(po) << 8));
    if (n == 4) {
        mk_write_s8x4(out, bytes);
    } else {
        memcpy(out, &bytes, (size_t)n);
    }
}

/* One tap of one group: four int8 inputs against the tap's two words of int16 weights (channels 0, 2 | 1, 3).
 * On DSP cores the six instructions are one asm block: as separate intrinsics GCC interleaved the nine taps and
 * ran out of registers (weights reloaded, accumulators spilled: ~180 instructions per group instead of ~120). */
#if MK_DSP_NATIVE
#define MK_DW3_TAP(xv, w)                                                                                             \
    do {                                                                                                              \
        int32_t xe_, xo_;                                                                                             \
        __asm__("sxtb16 %[xe], %[x]\n\t"                                                                              \
                "sxtb16 %[xo], %[x], ror #8\n\t"                                                                      \
                "smlabb %[a0], %[we], %[xe], %[a0]\n\t"                                                               \
                "smlatt %[a2], %[we], %[xe], %[a2]\n\t"                                                               \
                "smlabb %[a1], %[wo], %[xo], %[a1]\n\t"                                                               \
                "smlatt %[a3], %[wo], %[xo], %[a3]"                                                                   \
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xe] "=&r"(xe_), [xo] "=&r"(xo_)  \
                : [x] "r"(xv), [we] "r"((w)[0]), [wo] "r"((w)[1]));                                                 \
    } while (0)
#else
#define MK_DW3_TAP(xv, w)                                                                                             \
    do {                                                                                                              \
        const int32_t we_ = (w)[0], wo_ = (w)[1];                                                                     \
        const int32_t xe_ = __sxtb16(xv), xo_ = mk_sxtb16_ror8(xv);                                                   \
        a0 = __smlabb(we_, xe_, a0);                                                                                  \
        a2 = __smlatt(we_, xe_, a2);                                                                                  \
        a1 = __smlabb(wo_, xo_, a1);                                                                                  \
        a3 = __smlatt(wo_, xo_, a3);                                                                                  \
    } while (0)
#endif

#define MK_DW3_GROUP_WORDS 34 /* 9 taps x 2 weight words, then the 4 x 4 table */

mk_status mk_depthwise_conv_3x3_folded_s8_dsp(const mk_depthwise_conv_params *p, const int8_t *input,
                                              const int32_t *packed, int8_t *output)
{
    if (p->depth_multiplier != 1 || p->out_c != p->in_c || p->filter_h != 3 || p->filter_w != 3 ||
        p->dilation_h != 1 || p->dilation_w != 1 || p->act_min < -128 || p->act_max > 127) {
        return MK_ERR_ARG;
    }
    const int32_t c_all = p->in_c;
    const int32_t full = c_all / 4, rem = c_all & 3;
    const size_t pix = (size_t)c_all;
    const size_t row = (size_t)p->in_w * pix;
    const int32_t oo2 = mk_pair16(p->output_offset);
    const int32_t lo2 = mk_pair16(p->act_min), hi2 = mk_pair16(p->act_max);
    int8_t zp[MK_DW3_CHUNK];
    memset(zp, (int)(int8_t)(-p->input_offset), sizeof zp);
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)p->in_h * row;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            const int row_in = y0 >= 0 && y0 + 3 <= p->in_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox, output += c_all) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                if (row_in && x0 >= 0 && x0 + 3 <= p->in_w) {
                    /* Interior: nine unrolled taps from one pointer, the row and the pixel strides. */
                    const int8_t *x = in_b + (size_t)y0 * row + (size_t)x0 * pix;
                    const int32_t *w = packed;
                    int8_t *out = output;
                    for (int32_t g = 0; g < full; ++g, x += 4, w += MK_DW3_GROUP_WORDS, out += 4) {
                        int32_t a0 = w[18], a1 = w[19], a2 = w[20], a3 = w[21];
                        const int8_t *xr = x;
                        MK_DW3_TAP(mk_read_s8x4(xr), w);
                        MK_DW3_TAP(mk_read_s8x4(xr + pix), w + 2);
                        MK_DW3_TAP(mk_read_s8x4(xr + 2 * pix), w + 4);
                        xr += row;
                        MK_DW3_TAP(mk_read_s8x4(xr), w + 6);
                        MK_DW3_TAP(mk_read_s8x4(xr + pix), w + 8);
                        MK_DW3_TAP(mk_read_s8x4(xr + 2 * pix), w + 10);
                        xr += row;
                        MK_DW3_TAP(mk_read_s8x4(xr), w + 12);
                        MK_DW3_TAP(mk_read_s8x4(xr + pix), w + 14);
                        MK_DW3_TAP(mk_read_s8x4(xr + 2 * pix), w + 16);
                        mk_dw3_store(a0, a1, a2, a3, w + 18, oo2, lo2, hi2, out, 4);
                    }
                    if (rem) {
                        int32_t a0 = w[18], a1 = w[19], a2 = w[20], a3 = w[21];
                        for (int32_t k = 0; k < 9; ++k) {
                            const int32_t xv = mk_dw3_load(x + (size_t)(k / 3) * row + (size_t)(k % 3) * pix, rem);
                            MK_DW3_TAP(xv, w + 2 * k);
                        }
                        mk_dw3_store(a0, a1, a2, a3, w + 18, oo2, lo2, hi2, out, rem);
                    }
                    continue;
                }
                /* Border pixel: per chunk of channels, each tap is a base pointer into the image or into the
                 * zero-point row, and the group loop indexes both the same way. */
                for (int32_t c0 = 0; c0 < c_all; c0 += MK_DW3_CHUNK) {
                    const int32_t n = MK_MIN(MK_DW3_CHUNK, c_all - c0);
                    const int8_t *base[9];
                    for (int32_t k = 0; k < 9; ++k) {
                        const int32_t y = y0 + k / 3, xx = x0 + k % 3;
                        base[k] = (y >= 0 && y < p->in_h && xx >= 0 && xx < p->in_w)
                                      ? in_b + (size_t)y * row + (size_t)xx * pix + (size_t)c0
                                      : zp;
                    }
                    const int32_t *w = packed + (c0 / 4) * MK_DW3_GROUP_WORDS;
                    int8_t *out = output + c0;
                    int32_t j = 0;
                    for (; j + 4 <= n; j += 4, w += MK_DW3_GROUP_WORDS, out += 4) {
                        int32_t a0 = w[18], a1 = w[19], a2 = w[20], a3 = w[21];
                        for (int32_t k = 0; k < 9; ++k) {
                            MK_DW3_TAP(mk_read_s8x4(base[k] + j), w + 2 * k);
                        }
                        mk_dw3_store(a0, a1, a2, a3, w + 18, oo2, lo2, hi2, out, 4);
                    }
                    if (j < n) {
                        int32_t a0 = w[18], a1 = w[19], a2 = w[20], a3 = w[21];
                        for (int32_t k = 0; k < 9; ++k) {
                            MK_DW3_TAP(mk_dw3_load(base[k] + j, n - j), w + 2 * k);
                        }
                        mk_dw3_store(a0, a1, a2, a3, w + 18, oo2, lo2, hi2, out, n - j);
                    }
                }
            }
        }
    }
    return MK_OK;
}
