/* DEPTHWISE_CONV_2D, 3x3, depth multiplier 1, undilated, on compile-time forms of its constants (the fast twin of
 * mk_depthwise_conv_3x3_s8_dsp; layouts in mk_kernels_dsp.h, built by mcukit/codegen/ops/_isa.py).
 *
 * Why it is faster: per group of 4 channels and tap, one LDR of the inputs, two SXTB16 (the input offset is folded
 * into the bias, so no SXTAB16 offset register), one LDRD of weights already widened to int16 and four
 * SMLABB/SMLATT. The accumulators start from the folded bias. The requantization uses a per-channel table that the
 * code generator only emits when it has proved every accumulator small enough, so the double rounding is
 * mk_dsp_requantize_short (one SMMULR and four ALU instructions, mk_kernels_dsp.h). The output offset and
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

/* mk_dsp_requantize_short with this channel's table entries, saturated to int16 for the packed epilogue (the
 * final clamp is inside int8, so saturating first changes nothing). */
static inline int32_t mk_dw3_requant(int32_t acc, const int32_t *t)
{
    return __ssat(mk_dsp_requantize_short(acc, t[4], t[8], t[12], t[16]), 16);
}

/* Offset, clamp and store four channels. Even channels (0, 2) and odd ones (1, 3) form halfword pairs, as
 * SXTB16 split them; the bytes are put back in channel order for one store. */
static inline void mk_dw3_store(int32_t a0, int32_t a1, int32_t a2, int32_t a3, const int32_t *t, int32_t oo2,
                                int32_t lo2, int32_t hi2, int8_t *out, int32_t n)
{
    const int32_t r0 = mk_dw3_requant(a0, t), r1 = mk_dw3_requant(a1, t + 1);
    const int32_t r2 = mk_dw3_requant(a2, t + 2), r3 = mk_dw3_requant(a3, t + 3);
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
    const int32_t bytes = (int32_t)(((uint32_t)pe & 0x00FF00FFu) | (((uint32_t)po & 0x00FF00FFu) << 8));
    if (n == 4) {
        mk_write_s8x4(out, bytes);
    } else {
        memcpy(out, &bytes, (size_t)n);
    }
}

/* One tap of one group: four int8 inputs against four int16 weights (w[0..1] = channels 0, 2; w[2..3] = 1, 3). */
#define MK_DW3_TAP(xv, w)                                                                                             \
    do {                                                                                                              \
        int32_t we_, wo_;                                                                                             \
        memcpy(&we_, (w), 4);                                                                                         \
        memcpy(&wo_, (w) + 2, 4);                                                                                     \
        const int32_t xe_ = __sxtb16(xv), xo_ = mk_sxtb16_ror8(xv);                                                   \
        a0 = __smlabb(we_, xe_, a0);                                                                                  \
        a2 = __smlatt(we_, xe_, a2);                                                                                  \
        a1 = __smlabb(wo_, xo_, a1);                                                                                  \
        a3 = __smlatt(wo_, xo_, a3);                                                                                  \
    } while (0)

/* Four channels (n real ones) of one output pixel; tap k reads x + off[k]. */
static inline void mk_dw3_group(const int8_t *x, const size_t off[9], const int16_t *w, const int32_t *t,
                                int32_t oo2, int32_t lo2, int32_t hi2, int8_t *out, int32_t n)
{
    int32_t a0 = t[0], a1 = t[1], a2 = t[2], a3 = t[3];
    for (int32_t k = 0; k < 9; ++k) {
        const int32_t xv = mk_dw3_load(x + off[k], n);
        MK_DW3_TAP(xv, w + 4 * k);
    }
    mk_dw3_store(a0, a1, a2, a3, t, oo2, lo2, hi2, out, n);
}

/* Interior pixels: the nine taps from three row pointers and the pixel stride, unrolled. */
static inline void mk_dw3_inner(const int8_t *x, size_t pix, size_t row, const int16_t *w, const int32_t *t,
                                int32_t oo2, int32_t lo2, int32_t hi2, int8_t *out, int32_t groups)
{
    const int8_t *r0 = x, *r1 = x + row, *r2 = x + 2 * row;
    for (int32_t g = 0; g < groups; ++g) {
        int32_t a0 = t[0], a1 = t[1], a2 = t[2], a3 = t[3];
        MK_DW3_TAP(mk_read_s8x4(r0), w);
        MK_DW3_TAP(mk_read_s8x4(r0 + pix), w + 4);
        MK_DW3_TAP(mk_read_s8x4(r0 + 2 * pix), w + 8);
        MK_DW3_TAP(mk_read_s8x4(r1), w + 12);
        MK_DW3_TAP(mk_read_s8x4(r1 + pix), w + 16);
        MK_DW3_TAP(mk_read_s8x4(r1 + 2 * pix), w + 20);
        MK_DW3_TAP(mk_read_s8x4(r2), w + 24);
        MK_DW3_TAP(mk_read_s8x4(r2 + pix), w + 28);
        MK_DW3_TAP(mk_read_s8x4(r2 + 2 * pix), w + 32);
        mk_dw3_store(a0, a1, a2, a3, t, oo2, lo2, hi2, out, 4);
        r0 += 4;
        r1 += 4;
        r2 += 4;
        w += 36;
        t += 20;
        out += 4;
    }
}

mk_status mk_depthwise_conv_3x3_folded_s8_dsp(const mk_depthwise_conv_params *p, const int8_t *input,
                                              const int16_t *weights, const int32_t *table, int8_t *output)
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
                    const int8_t *x = in_b + (size_t)y0 * row + (size_t)x0 * pix;
                    mk_dw3_inner(x, pix, row, weights, table, oo2, lo2, hi2, output, full);
                    if (rem) {
                        const size_t off[9] = {0, pix, 2 * pix, row, row + pix, row + 2 * pix,
                                               2 * row, 2 * row + pix, 2 * row + 2 * pix};
                        mk_dw3_group(x + 4 * full, off, weights + 36 * full, table + 20 * full, oo2, lo2, hi2,
                                     output + 4 * full, rem);
                    }
                    continue;
                }
                /* Border pixel: per chunk of channels, each tap is a base pointer into the image or the
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
                    for (int32_t j = 0; j < n; j += 4) {
                        const int32_t g = (c0 + j) / 4;
                        const int32_t m = MK_MIN(4, n - j);
                        const int16_t *w = weights + 36 * g;
                        const int32_t *t = table + 20 * g;
                        int32_t a0 = t[0], a1 = t[1], a2 = t[2], a3 = t[3];
                        for (int32_t k = 0; k < 9; ++k) {
                            const int32_t xv = mk_dw3_load(base[k] + j, m);
                            MK_DW3_TAP(xv, w + 4 * k);
                        }
                        mk_dw3_store(a0, a1, a2, a3, t, oo2, lo2, hi2, output + c0 + j, m);
                    }
                }
            }
        }
    }
    return MK_OK;
}
