/* Differential self-check of the optimized kernels against the portable ones, for the host (DSP variants
 * compiled against mk_dsp_compat.h) and for emulated boards (the real instructions; Helium variants too when the
 * target has MVE). Used by tests/host/test_dsp_kernels_direct.py and tests/target/test_dsp_qemu.py.
 *
 * Each trial draws a random layer (shape, stride, dilation, padding, groups, depth multiplier, channel counts
 * that are and are not multiples of 4 / 16, offsets, per-channel multipliers and shifts, activation range,
 * broadcast pattern) from a seeded xorshift generator, fills inputs and weights with random int8, runs the
 * portable kernel and every variant that accepts the shape, and counts outputs that differ in any byte. The
 * portable kernels are themselves checked bit for bit against the reference interpreters by the op sweeps, so
 * equality here extends that to shapes the stored models do not cover (3x3 depthwise, odd channel tails...). */
#include <string.h>

#include "mcukit/mk_kernels.h"

#define SC_BUF 6144

enum {
    SC_CONV_DSP, SC_CONV1X1_DSP, SC_DW_DSP, SC_DW3X3_DSP, SC_FC_DSP, SC_AVG_DSP, SC_MAX_DSP, SC_ADD_DSP,
    SC_CONV_MVE, SC_DW_MVE, SC_FC_MVE, SC_CONV_IM2COL_DSP, SC_REQUANT_DSP, SC_DW3X3_FOLDED_DSP,
    SC_REQUANT_SHORT_DSP, SC_CONV_WIDE_DSP, SC_ADD_LUT_DSP, SC_FC_WIDE_DSP, SC_CONV_WIDE_W8_DSP, SC_CONV_WINO_DSP,
    SC_DW3X3_PAIRS_DSP, SC_DW3X3_PAIRS_RELU_DSP, SC_KERNELS
};

/* Per variant: trials run and trials whose output differed from the portable kernel. */
int32_t mk_sc_runs[SC_KERNELS];
int32_t mk_sc_fails[SC_KERNELS];

static uint32_t sc_state;
static int8_t sc_in[SC_BUF], sc_in2[SC_BUF], sc_w[SC_BUF], sc_ref[SC_BUF], sc_out[SC_BUF];
static int32_t sc_bias[256], sc_mult[256], sc_shift[256];

static uint32_t sc_rand(void)
{
    sc_state ^= sc_state << 13;
    sc_state ^= sc_state >> 17;
    sc_state ^= sc_state << 5;
    return sc_state;
}

static int32_t sc_range(int32_t lo, int32_t hi) /* inclusive */
{
    return lo + (int32_t)(sc_rand() % (uint32_t)(hi - lo + 1));
}

static void sc_fill(int8_t *buf, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        buf[i] = (int8_t)(sc_rand() & 0xFF);
    }
}

static void sc_requant(int32_t channels, int32_t *per_channel, int32_t *act_min, int32_t *act_max,
                       int32_t *out_off)
{
    *per_channel = (int32_t)(sc_rand() & 1);
    for (int32_t c = 0; c < channels; ++c) {
        sc_bias[c] = sc_range(-20000, 20000);
        sc_mult[c] = (int32_t)(0x40000000u + (sc_rand() & 0x3FFFFFFFu));
        sc_shift[c] = sc_range(-12, 1);
    }
    *out_off = sc_range(-128, 127);
    const int32_t kind = sc_range(0, 2);
    *act_min = kind == 0 ? -128 : sc_range(-128, 0);
    *act_max = kind == 0 ? 127 : sc_range(*act_min, 127);
}

static void sc_check(int kernel, mk_status st, int32_t n)
{
    mk_sc_runs[kernel] += 1;
    if (st != MK_OK || memcmp(sc_ref, sc_out, (size_t)n) != 0) {
        mk_sc_fails[kernel] += 1;
    }
}

static int32_t sc_out_size(int32_t in, int32_t filt, int32_t stride, int32_t dil, int same, int32_t *pad)
{
    const int32_t eff = (filt - 1) * dil + 1;
    const int32_t out = same ? (in + stride - 1) / stride : (in + stride - eff) / stride;
    const int32_t total = (out - 1) * stride + eff - in;
    *pad = total > 0 ? total / 2 : 0;
    return out;
}

/* The compile-time GEMM forms the 1x1 and im2col conv kernels read (mirror of gemm_weight_layout and
 * fold_input_offset in mcukit/codegen/ops/_isa.py; test_dsp_kernels.py checks the Python side by definition). */
static int8_t sc_wg[SC_BUF];
static int32_t sc_bias_f[256];

static void sc_gemm_forms(int32_t out_c, int32_t k, const int32_t *bias, int32_t input_offset)
{
    int32_t o = 0;
    for (int32_t c = 0; c + 1 < out_c; c += 2) {
        int32_t j = 0;
        for (; j + 4 <= k; j += 4) {
            for (int32_t q = 0; q < 8; ++q) {
                sc_wg[o++] = sc_w[(c + q / 4) * k + j + q % 4];
            }
        }
        for (; j < k; ++j) {
            sc_wg[o++] = sc_w[c * k + j];
            sc_wg[o++] = sc_w[(c + 1) * k + j];
        }
    }
    if (out_c % 2) {
        memcpy(sc_wg + o, sc_w + (out_c - 1) * k, (size_t)k);
    }
    for (int32_t c = 0; c < out_c; ++c) {
        uint32_t sum = 0;
        for (int32_t j = 0; j < k; ++j) {
            sum += (uint32_t)(int32_t)sc_w[c * k + j];
        }
        sc_bias_f[c] = (int32_t)((bias ? (uint32_t)bias[c] : 0u) + (uint32_t)input_offset * sum);
    }
}

/* The short-epilogue table of mk_conv_wide_s8_dsp (mirror of gemm_rq_table in
 * mcukit/codegen/ops/_isa.py; layout in mk_kernels_dsp.h), from sc_bias_f. Returns 0 when the layer is not
 * eligible (where the Python side returns None). */
static int32_t sc_rq[5 * 258];

static int sc_rq_table(int32_t out_c, int32_t k, int32_t per_channel, int32_t output_offset)
{
    for (int32_t c = 0; c < out_c; ++c) {
        int64_t abs_sum = 0;
        for (int32_t j = 0; j < k; ++j) {
            const int32_t w = sc_w[c * k + j];
            abs_sum += w < 0 ? -w : w;
        }
        const int64_t folded = sc_bias_f[c];
        const int32_t shift = sc_shift[per_channel ? c : 0];
        const int32_t left = shift > 0 ? shift : 0, e = shift > 0 ? 0 : -shift;
        const int64_t bound = ((folded < 0 ? -folded : folded) + 128 * abs_sum) * ((int64_t)1 << (left + 1));
        if (bound >= (1LL << 30) || left > 7 || e > 21) {
            return 0;
        }
        int32_t *t = sc_rq + 5 * c;
        t[0] = (int32_t)(folded * ((int64_t)1 << (left + 1)));
        t[1] = 1 << (left + 1);
        t[2] = sc_mult[per_channel ? c : 0];
        t[3] = (int32_t)((int64_t)1 << e) + output_offset * (int32_t)(1 << (e + 1));
        t[4] = e + 1;
    }
    return 1;
}

/* mk_conv_wide_s8_dsp's int16 weight words (mirror of wide_weight_layout in mcukit/codegen/ops/_isa.py): rows
 * padded to a multiple of 4 and the channels to even with zeros; per channel pair and 4-weight block the words
 * (w0, w2), (w1, w3) of channel c then of c + 1, first of each pair in the low half. Also pads the table. */
static int32_t sc_ww[SC_BUF + 1024];

static int32_t sc_w_at(int32_t out_c, int32_t k, int32_t c, int32_t j)
{
    return c < out_c && j < k ? sc_w[c * k + j] : 0;
}

/* Element j of the int16 row of channel c that a wide-layout packing reads (0 past the channel count or the row). */
typedef int32_t (*sc_row_fn)(int32_t c, int32_t j);

/* The rows of the channel pair c, c + 1 in the wide block order at sc_ww[*o]: per 4-element block the words
 * (r0, r2), (r1, r3) of channel c then of c + 1, first of each pair in the low half. */
static void sc_pack_wide_pair(sc_row_fn row, int32_t c, int32_t blocks, int32_t *o)
{
    for (int32_t b = 0; b < blocks; ++b) {
        for (int32_t d = 0; d < 2; ++d) {
            for (int32_t h = 0; h < 2; ++h) {
                const uint32_t lo = (uint32_t)row(c + d, 4 * b + h) & 0xFFFFu;
                const uint32_t hi = (uint32_t)row(c + d, 4 * b + h + 2) & 0xFFFFu;
                sc_ww[(*o)++] = (int32_t)(lo | (hi << 16));
            }
        }
    }
}

/* The table padded to an even channel count with the last row (pad_rq_table). */
static void sc_pad_rq(int32_t out_c)
{
    if (out_c % 2) {
        memcpy(sc_rq + 5 * out_c, sc_rq + 5 * (out_c - 1), 5 * sizeof(int32_t));
    }
}

static int32_t sc_rows_out_c, sc_rows_k; /* the layer the row functions read */

static int32_t sc_wide_row(int32_t c, int32_t j)
{
    return sc_w_at(sc_rows_out_c, sc_rows_k, c, j);
}

static void sc_wide_forms(int32_t out_c, int32_t k)
{
    sc_rows_out_c = out_c;
    sc_rows_k = k;
    int32_t o = 0;
    for (int32_t c = 0; c < out_c; c += 2) {
        sc_pack_wide_pair(sc_wide_row, c, (k + 3) / 4, &o);
    }
    sc_pad_rq(out_c);
}

/* mk_conv_wide_w8_s8_dsp's int8 weight words (mirror of wide_w8_weight_layout): the same padding, per channel pair
 * and block the 4 bytes of channel c then of c + 1, little-endian words. */
static void sc_wide_w8_forms(int32_t out_c, int32_t k)
{
    const int32_t blocks = (k + 3) / 4;
    int32_t o = 0;
    for (int32_t c = 0; c < out_c; c += 2) {
        for (int32_t b = 0; b < blocks; ++b) {
            for (int32_t d = 0; d < 2; ++d) {
                uint32_t word = 0;
                for (int32_t j = 0; j < 4; ++j) {
                    word |= ((uint32_t)sc_w_at(out_c, k, c + d, 4 * b + j) & 0xFFu) << (8 * j);
                }
                sc_ww[o++] = (int32_t)word;
            }
        }
    }
}

/* mk_conv_wino_s8_dsp's transformed weights (mirror of wino_weight_layout in mcukit/codegen/ops/_isa.py) from the
 * OHWI sc_w with filter_w 3: per channel pair the six positions U0..U5 of every (filter row, input channel), each in
 * the wide block order; and the table's scale times 3^-1 mod 2^32 (wino_rq_table). Returns 0 where the generator
 * would not take the kernel (24 * 128 * sum|w| >= 2^31). Call after sc_rq_table. */
static int32_t sc_wino_fh, sc_wino_ic, sc_wino_pos; /* the layer and position sc_wino_row reads */

static int32_t sc_wino_row(int32_t c, int32_t kk)
{
    if (c >= sc_rows_out_c) {
        return 0;
    }
    const int32_t ic = sc_wino_ic;
    const int8_t *g = sc_w + ((size_t)c * (size_t)sc_wino_fh + (size_t)(kk / ic)) * 3u * (size_t)ic + (size_t)(kk % ic);
    const int32_t g0 = g[0], g1 = g[ic], g2 = g[2 * ic];
    const int32_t u[6] = {6 * g0, -4 * (g0 + g1 + g2), -4 * (g0 - g1 + g2), g0 + 2 * g1 + 4 * g2,
                          g0 - 2 * g1 + 4 * g2, 24 * g2};
    return u[sc_wino_pos];
}

static int sc_wino_forms(int32_t out_c, int32_t fh, int32_t ic)
{
    const int32_t kw = fh * ic, blocks = kw / 4;
    for (int32_t c = 0; c < out_c; ++c) {
        int64_t abs_sum = 0;
        for (int32_t j = 0; j < 3 * kw; ++j) {
            abs_sum += sc_w[c * 3 * kw + j] < 0 ? -sc_w[c * 3 * kw + j] : sc_w[c * 3 * kw + j];
        }
        if (24 * 128 * abs_sum >= (1LL << 31)) {
            return 0;
        }
    }
    sc_rows_out_c = out_c;
    sc_wino_fh = fh;
    sc_wino_ic = ic;
    int32_t o = 0;
    for (int32_t c = 0; c < out_c; c += 2) {
        for (sc_wino_pos = 0; sc_wino_pos < 6; ++sc_wino_pos) {
            sc_pack_wide_pair(sc_wino_row, c, blocks, &o);
        }
    }
    sc_pad_rq(out_c);
    for (int32_t c = 0; c < out_c + out_c % 2; ++c) {
        sc_rq[5 * c + 1] = (int32_t)((uint32_t)sc_rq[5 * c + 1] * 0xAAAAAAABu);
    }
    return 1;
}

/* Shapes the Winograd kernel takes (3-wide filters at stride 1 along the width, in_c a multiple of 4), which the
 * general draw below reaches about once in a hundred trials. */
static void sc_conv_wino(void)
{
    mk_conv_params p;
    memset(&p, 0, sizeof p);
    p.batches = sc_range(1, 2);
    p.in_h = sc_range(1, 6);
    p.in_w = sc_range(1, 11);
    p.in_c = p.filter_in_c = 4 * sc_range(1, 4);
    p.out_c = sc_range(1, 9);
    p.filter_h = sc_range(1, 4);
    p.filter_w = 3;
    p.stride_h = sc_range(1, 2);
    p.stride_w = 1;
    p.dilation_h = sc_range(1, 2);
    p.dilation_w = 1;
    int same = (int)(sc_rand() & 1);
    if (!same && ((p.filter_h - 1) * p.dilation_h + 1 > p.in_h || 3 > p.in_w)) {
        same = 1;
    }
    p.out_h = sc_out_size(p.in_h, p.filter_h, p.stride_h, p.dilation_h, same, &p.pad_top);
    p.out_w = sc_out_size(p.in_w, 3, 1, 1, same, &p.pad_left);
    const int32_t n_in = p.batches * p.in_h * p.in_w * p.in_c;
    const int32_t n_out = p.batches * p.out_h * p.out_w * p.out_c;
    const int32_t k = p.filter_h * 3 * p.in_c;
    if (n_in > SC_BUF || n_out > SC_BUF || p.out_c * k > SC_BUF) {
        return;
    }
    p.input_offset = sc_range(-127, 128);
    sc_requant(p.out_c, &p.per_channel, &p.act_min, &p.act_max, &p.output_offset);
    p.multipliers = sc_mult;
    p.shifts = sc_shift;
    sc_fill(sc_in, n_in);
    sc_fill(sc_w, p.out_c * k);
    const int32_t *bias = (sc_rand() & 3) == 0 ? NULL : sc_bias;
    (void)mk_conv_s8(&p, sc_in, sc_w, bias, sc_ref);
    sc_gemm_forms(p.out_c, k, bias, p.input_offset);
    static int8_t scratch[4 * 6 * 16 * 4 + 6 * 16] MK_ALIGNED(8); /* filter_h <= 4, in_c <= 16 */
    if (sc_rq_table(p.out_c, k, p.per_channel, p.output_offset) && sc_wino_forms(p.out_c, p.filter_h, p.in_c) &&
        mk_conv_wino_s8_dsp_scratch_bytes(&p) <= sizeof scratch) {
        memset(scratch, 0x5A, sizeof scratch); /* stale bytes must not leak into the sums */
        sc_check(SC_CONV_WINO_DSP, mk_conv_wino_s8_dsp(&p, sc_in, sc_ww, sc_rq, sc_out, scratch), n_out);
    }
}

static void sc_conv(void)
{
    mk_conv_params p;
    memset(&p, 0, sizeof p);
    const int one = (sc_rand() & 3) == 0;
    p.batches = sc_range(1, 2);
    p.in_h = sc_range(1, 7);
    p.in_w = sc_range(1, 7);
    const int32_t groups = one ? 1 : ((sc_rand() & 3) == 0 ? sc_range(2, 3) : 1);
    p.filter_in_c = sc_range(1, 20);
    p.in_c = p.filter_in_c * groups;
    p.out_c = groups * sc_range(1, groups == 1 ? 10 : 6);
    p.filter_h = one ? 1 : sc_range(1, 4);
    p.filter_w = one ? 1 : sc_range(1, 4);
    p.stride_h = sc_range(1, 3);
    p.stride_w = sc_range(1, 3);
    p.dilation_h = one ? 1 : sc_range(1, 2);
    p.dilation_w = one ? 1 : sc_range(1, 2);
    int same = (int)(sc_rand() & 1);
    if (!same && ((p.filter_h - 1) * p.dilation_h + 1 > p.in_h || (p.filter_w - 1) * p.dilation_w + 1 > p.in_w)) {
        same = 1;
    }
    p.out_h = sc_out_size(p.in_h, p.filter_h, p.stride_h, p.dilation_h, same, &p.pad_top);
    p.out_w = sc_out_size(p.in_w, p.filter_w, p.stride_w, p.dilation_w, same, &p.pad_left);
    const int32_t n_in = p.batches * p.in_h * p.in_w * p.in_c;
    const int32_t n_out = p.batches * p.out_h * p.out_w * p.out_c;
    const int32_t n_w = p.out_c * p.filter_h * p.filter_w * p.filter_in_c;
    if (n_in > SC_BUF || n_out > SC_BUF || n_w > SC_BUF) {
        return;
    }
    p.input_offset = sc_range(-127, 128);
    sc_requant(p.out_c, &p.per_channel, &p.act_min, &p.act_max, &p.output_offset);
    p.multipliers = sc_mult;
    p.shifts = sc_shift;
    sc_fill(sc_in, n_in);
    sc_fill(sc_w, n_w);
    const int32_t *bias = (sc_rand() & 3) == 0 ? NULL : sc_bias;
    (void)mk_conv_s8(&p, sc_in, sc_w, bias, sc_ref);
    sc_check(SC_CONV_DSP, mk_conv_s8_dsp(&p, sc_in, sc_w, bias, sc_out), n_out);
    if (groups == 1) {
        sc_gemm_forms(p.out_c, p.filter_h * p.filter_w * p.in_c, bias, p.input_offset);
    }
    const int rq = groups == 1 && sc_rq_table(p.out_c, p.filter_h * p.filter_w * p.in_c, p.per_channel,
                                              p.output_offset);
    if (groups == 1) {
        static int8_t scratch[2 * SC_BUF + 8] MK_ALIGNED(8); /* the wide kernel reads it with LDRD */
        if (mk_conv_im2col_s8_dsp_scratch_bytes(&p) <= sizeof scratch) {
            memset(scratch, 0x5A, sizeof scratch); /* stale bytes must not leak into the sums */
            sc_check(SC_CONV_IM2COL_DSP, mk_conv_im2col_s8_dsp(&p, sc_in, sc_wg, sc_bias_f, sc_out, scratch),
                     n_out);
        }
        if (rq && mk_conv_wide_s8_dsp_scratch_bytes(&p) <= sizeof scratch) {
            sc_wide_forms(p.out_c, p.filter_h * p.filter_w * p.in_c);
            memset(scratch, 0x5A, sizeof scratch);
            sc_check(SC_CONV_WIDE_DSP, mk_conv_wide_s8_dsp(&p, sc_in, sc_ww, sc_rq, sc_out, scratch), n_out);
            sc_wide_w8_forms(p.out_c, p.filter_h * p.filter_w * p.in_c);
            memset(scratch, 0x5A, sizeof scratch);
            sc_check(SC_CONV_WIDE_W8_DSP, mk_conv_wide_w8_s8_dsp(&p, sc_in, sc_ww, sc_rq, sc_out, scratch), n_out);
        }
    }
    if (p.filter_h == 1 && p.filter_w == 1 && p.filter_in_c == p.in_c) {
        sc_check(SC_CONV1X1_DSP, mk_conv_1x1_s8_dsp(&p, sc_in, sc_wg, sc_bias_f, sc_out), n_out);
    }
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
    sc_check(SC_CONV_MVE, mk_conv_s8_mve(&p, sc_in, sc_w, bias, sc_out), n_out);
#endif
}

/* The packed stream of mk_depthwise_conv_3x3_folded_s8_dsp (mirror of dw3x3_forms in mcukit/codegen/ops/_isa.py;
 * layout in mk_kernels_dsp.h). Returns 0 when the layer is not eligible (where the Python side returns None). */
static int32_t sc_packed[34 * 64];

static int sc_dw3x3_forms(int32_t c_all, const int32_t *bias, int32_t input_offset, int32_t output_offset,
                          int32_t per_channel)
{
    const int32_t groups = (c_all + 3) / 4;
    if (groups > 64) {
        return 0;
    }
    memset(sc_packed, 0, sizeof(int32_t) * (size_t)(groups * 34));
    for (int32_t g = 0; g < groups; ++g) {
        for (int32_t q = 0; q < 4; ++q) {
            sc_packed[g * 34 + 24 + 3 * q] = 1; /* padded lanes: e = 1, everything else 0 */
        }
    }
    for (int32_t c = 0; c < c_all; ++c) {
        int64_t sum = 0, abs_sum = 0;
        for (int32_t t = 0; t < 9; ++t) {
            const int32_t w = sc_w[t * c_all + c];
            sum += w;
            abs_sum += w < 0 ? -w : w;
        }
        const int64_t folded = (bias ? bias[c] : 0) + (int64_t)input_offset * sum;
        const int32_t e = -sc_shift[per_channel ? c : 0];
        const int64_t bound = ((folded < 0 ? -folded : folded) + 128 * abs_sum) * 2;
        if (bound >= (1LL << 30) || e < 1 || e > 21) {
            return 0;
        }
        const int32_t g = c / 4, q = c % 4;
        int32_t *grp = sc_packed + g * 34;
        grp[q] = (int32_t)(folded * 2);
        for (int32_t t = 0; t < 8; ++t) {
            const uint32_t v = (uint32_t)(sc_w[t * c_all + c] * 2) & 0xFFFFu;
            grp[4 + 4 * (t / 2) + q] |= (int32_t)(v << (16 * (t % 2)));
        }
        const uint32_t v8 = (uint32_t)(sc_w[8 * c_all + c] * 2) & 0xFFFFu;
        grp[20 + (q & 1)] |= (int32_t)(v8 << (16 * (q >> 1)));
        grp[22 + 3 * q] = sc_mult[per_channel ? c : 0];
        grp[23 + 3 * q] = (int32_t)((1u << (e - 1)) + (uint32_t)output_offset * (1u << e));
        grp[24 + 3 * q] = e;
    }
    if (c_all >= 4) {
        sc_packed[(c_all / 4 - 1) * 34 + 33] |= 0x100; /* the last full group */
    }
    return 1;
}

/* The packed stream of mk_depthwise_conv_3x3_pairs_s8_dsp (mirror of dw3x3_pairs_forms in
 * mcukit/codegen/ops/_isa.py; layout in mk_kernels_dsp.h), from the folded stream sc_dw3x3_forms made (same
 * eligibility): per channel bias, (Wa, Wb) per filter row, m, R, e; then the zero-point pixel. */
static int32_t sc_pairs[10 * 256 + 64];
static int8_t sc_pairs_scratch[48 * 90 * 3 + 16 * 8 + 4 + 1]; /* <= 3 ring blocks of <= 90 channels; +1: misaligned */

static void sc_dw3x3_pairs_forms(int32_t c_all, int32_t input_offset)
{
    for (int32_t c = 0; c < c_all; ++c) {
        const int32_t *grp = sc_packed + (c / 4) * 34;
        const int32_t q = c % 4;
        int32_t w2[9];
        for (int32_t t = 0; t < 9; ++t) {
            w2[t] = sc_w[t * c_all + c] * 2;
        }
        int32_t *o = sc_pairs + 10 * c;
        o[0] = grp[q];
        for (int32_t r = 0; r < 3; ++r) {
            o[1 + 2 * r] = (int32_t)(((uint32_t)w2[3 * r] & 0xFFFFu) | ((uint32_t)w2[3 * r + 1] << 16));
            o[2 + 2 * r] = (int32_t)(((uint32_t)w2[3 * r + 1] & 0xFFFFu) | ((uint32_t)w2[3 * r + 2] << 16));
        }
        o[7] = grp[22 + 3 * q];
        o[8] = grp[23 + 3 * q];
        o[9] = grp[24 + 3 * q] & 0xFF;
    }
    sc_pairs[10 * (c_all - 1) + 9] |= 0x100; /* the last channel */
    const uint32_t zp = (uint32_t)(-input_offset) & 0xFFu;
    for (int32_t i = 0; i < (c_all + 3) / 4; ++i) {
        sc_pairs[10 * c_all + i] = (int32_t)(zp * 0x01010101u);
    }
}

static void sc_depthwise(void)
{
    mk_depthwise_conv_params p;
    memset(&p, 0, sizeof p);
    const int three = (sc_rand() & 1) == 0;
    p.batches = sc_range(1, 2);
    p.in_h = sc_range(1, 9);
    p.in_w = sc_range(1, 9);
    p.in_c = three && (sc_rand() & 3) == 0 ? sc_range(60, 90) : sc_range(1, 40); /* > 64: border chunks */
    p.depth_multiplier = three ? 1 : sc_range(1, 3);
    p.out_c = p.in_c * p.depth_multiplier;
    p.filter_h = three ? 3 : sc_range(1, 5);
    p.filter_w = three ? 3 : sc_range(1, 5);
    p.stride_h = sc_range(1, 2);
    p.stride_w = sc_range(1, 2);
    p.dilation_h = three ? 1 : sc_range(1, 2);
    p.dilation_w = three ? 1 : sc_range(1, 2);
    int same = (int)(sc_rand() & 1);
    if (!same && ((p.filter_h - 1) * p.dilation_h + 1 > p.in_h || (p.filter_w - 1) * p.dilation_w + 1 > p.in_w)) {
        same = 1;
    }
    p.out_h = sc_out_size(p.in_h, p.filter_h, p.stride_h, p.dilation_h, same, &p.pad_top);
    p.out_w = sc_out_size(p.in_w, p.filter_w, p.stride_w, p.dilation_w, same, &p.pad_left);
    const int32_t n_in = p.batches * p.in_h * p.in_w * p.in_c;
    const int32_t n_out = p.batches * p.out_h * p.out_w * p.out_c;
    const int32_t n_w = p.filter_h * p.filter_w * p.out_c;
    if (n_in > SC_BUF || n_out > SC_BUF || n_w > SC_BUF || p.out_c > 256) {
        return;
    }
    p.input_offset = sc_range(-127, 128);
    sc_requant(p.out_c, &p.per_channel, &p.act_min, &p.act_max, &p.output_offset);
    if (three && (sc_rand() & 3) != 0) { /* mostly right shifts 1..21: the folded 3x3 kernel's range */
        const int32_t deep = (sc_rand() & 7) == 0;
        for (int32_t c = 0; c < p.out_c; ++c) {
            sc_shift[c] = deep ? sc_range(-21, -13) : (sc_shift[c] > -1 ? -1 - (int32_t)(sc_rand() & 3) : sc_shift[c]);
        }
    }
    p.multipliers = sc_mult;
    p.shifts = sc_shift;
    sc_fill(sc_in, n_in);
    sc_fill(sc_w, n_w);
    const int32_t *bias = (sc_rand() & 3) == 0 ? NULL : sc_bias;
    (void)mk_depthwise_conv_s8(&p, sc_in, sc_w, bias, sc_ref);
    sc_check(SC_DW_DSP, mk_depthwise_conv_s8_dsp(&p, sc_in, sc_w, bias, sc_out), n_out);
    if (three && p.depth_multiplier == 1) {
        sc_check(SC_DW3X3_DSP, mk_depthwise_conv_3x3_s8_dsp(&p, sc_in, sc_w, bias, sc_out), n_out);
        static int8_t dw_scratch[3 * 19 * 90 + 4]; /* >= the scratch of any drawn shape (out_w <= 9, in_c < 91) */
        if (mk_depthwise_conv_3x3_folded_s8_dsp_scratch_bytes(&p) <= sizeof dw_scratch &&
            sc_dw3x3_forms(p.in_c, bias, p.input_offset, p.output_offset, p.per_channel)) {
            sc_check(SC_DW3X3_FOLDED_DSP,
                     mk_depthwise_conv_3x3_folded_s8_dsp(&p, sc_in, sc_packed, sc_out, dw_scratch), n_out);
            if (p.stride_w == 1 && mk_depthwise_conv_3x3_pairs_s8_dsp_scratch_bytes(&p) < sizeof sc_pairs_scratch) {
                sc_dw3x3_pairs_forms(p.in_c, p.input_offset);
                sc_check(SC_DW3X3_PAIRS_DSP,
                         mk_depthwise_conv_3x3_pairs_s8_dsp(&p, sc_in, sc_pairs, sc_out, sc_pairs_scratch + 1), n_out);
                if (p.act_min >= p.output_offset) {
                    sc_check(SC_DW3X3_PAIRS_RELU_DSP,
                             mk_depthwise_conv_3x3_pairs_relu_s8_dsp(&p, sc_in, sc_pairs, sc_out, sc_pairs_scratch),
                             n_out);
                }
            }
        }
    }
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
    sc_check(SC_DW_MVE, mk_depthwise_conv_s8_mve(&p, sc_in, sc_w, bias, sc_out), n_out);
#endif
}

/* mk_depthwise_conv_3x3_pairs_s8_dsp on layers of its own shape (stride_w 1; widths up to 14, so rings of up to
 * 3 blocks; channel counts that are multiples of 8 half of the time, and word-aligned or misaligned inputs: the
 * assembly fill and its C fallback). */
static int32_t sc_in32[SC_BUF / 4 + 1];

static void sc_dw3x3_pairs(void)
{
    mk_depthwise_conv_params p;
    memset(&p, 0, sizeof p);
    p.batches = 1;
    p.in_h = sc_range(1, 6);
    p.in_w = sc_range(1, 14);
    p.in_c = (sc_rand() & 1) ? 8 * sc_range(1, 6) : sc_range(1, 40);
    p.depth_multiplier = 1;
    p.out_c = p.in_c;
    p.filter_h = 3;
    p.filter_w = 3;
    p.stride_h = sc_range(1, 2);
    p.stride_w = 1;
    p.dilation_h = 1;
    p.dilation_w = 1;
    const int same = (sc_rand() & 1) || p.in_h < 3 || p.in_w < 3;
    p.out_h = sc_out_size(p.in_h, 3, p.stride_h, 1, same, &p.pad_top);
    p.out_w = sc_out_size(p.in_w, 3, 1, 1, same, &p.pad_left);
    p.input_offset = sc_range(-127, 128);
    sc_requant(p.out_c, &p.per_channel, &p.act_min, &p.act_max, &p.output_offset);
    if (sc_rand() & 1) { /* half of the layers ReLU-like (act_min >= output offset): the relu entry point too */
        p.output_offset = sc_range(-128, p.act_min);
    }
    for (int32_t c = 0; c < p.out_c; ++c) { /* right shifts 1..21: the folded forms' range */
        sc_shift[c] = sc_shift[c] > -1 ? -1 - (int32_t)(sc_rand() & 3) : sc_shift[c];
    }
    p.multipliers = sc_mult;
    p.shifts = sc_shift;
    const int32_t n_in = p.in_h * p.in_w * p.in_c, n_out = p.out_h * p.out_w * p.out_c;
    int8_t *in = (int8_t *)sc_in32 + (sc_rand() & 1);
    sc_fill(in, n_in);
    sc_fill(sc_w, 9 * p.out_c);
    const int32_t *bias = (sc_rand() & 3) == 0 ? NULL : sc_bias;
    (void)mk_depthwise_conv_s8(&p, in, sc_w, bias, sc_ref);
    if (mk_depthwise_conv_3x3_pairs_s8_dsp_scratch_bytes(&p) < sizeof sc_pairs_scratch &&
        sc_dw3x3_forms(p.in_c, bias, p.input_offset, p.output_offset, p.per_channel)) {
        sc_dw3x3_pairs_forms(p.in_c, p.input_offset);
        sc_check(SC_DW3X3_PAIRS_DSP, mk_depthwise_conv_3x3_pairs_s8_dsp(&p, in, sc_pairs, sc_out, sc_pairs_scratch),
                 n_out);
        if (p.act_min >= p.output_offset) {
            sc_check(SC_DW3X3_PAIRS_RELU_DSP,
                     mk_depthwise_conv_3x3_pairs_relu_s8_dsp(&p, in, sc_pairs, sc_out, sc_pairs_scratch + 1), n_out);
        }
    }
}

static void sc_fc(void)
{
    mk_fully_connected_params p;
    memset(&p, 0, sizeof p);
    p.batches = sc_range(1, 5);
    p.in_features = sc_range(1, 80);
    p.out_features = sc_range(1, 40);
    if (p.batches * p.in_features > SC_BUF || p.in_features * p.out_features > SC_BUF) {
        return;
    }
    const int32_t n_out = p.batches * p.out_features;
    p.input_offset = sc_range(-127, 128);
    sc_requant(p.out_features, &p.per_channel, &p.act_min, &p.act_max, &p.output_offset);
    p.multipliers = sc_mult;
    p.shifts = sc_shift;
    sc_fill(sc_in, p.batches * p.in_features);
    sc_fill(sc_w, p.in_features * p.out_features);
    const int32_t *bias = (sc_rand() & 3) == 0 ? NULL : sc_bias;
    (void)mk_fully_connected_s8(&p, sc_in, sc_w, bias, sc_ref);
    sc_check(SC_FC_DSP, mk_fully_connected_s8_dsp(&p, sc_in, sc_w, bias, sc_out), n_out);
    sc_gemm_forms(p.out_features, p.in_features, bias, p.input_offset); /* the folded bias, sc_bias_f */
    sc_wide_forms(p.out_features, p.in_features);
    sc_check(SC_FC_WIDE_DSP, mk_fully_connected_wide_s8_dsp(&p, sc_in, sc_ww, sc_bias_f, sc_out), n_out);
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
    sc_check(SC_FC_MVE, mk_fully_connected_s8_mve(&p, sc_in, sc_w, bias, sc_out), n_out);
#endif
}

static void sc_pool(void)
{
    mk_pool_params p;
    memset(&p, 0, sizeof p);
    p.batches = sc_range(1, 2);
    p.in_h = sc_range(1, 9);
    p.in_w = sc_range(1, 9);
    p.channels = sc_range(1, 24);
    p.filter_h = sc_range(1, 4);
    p.filter_w = sc_range(1, 4);
    p.stride_h = sc_range(1, 3);
    p.stride_w = sc_range(1, 3);
    int same = (int)(sc_rand() & 1);
    if (!same && (p.filter_h > p.in_h || p.filter_w > p.in_w)) {
        same = 1;
    }
    p.out_h = sc_out_size(p.in_h, p.filter_h, p.stride_h, 1, same, &p.pad_top);
    p.out_w = sc_out_size(p.in_w, p.filter_w, p.stride_w, 1, same, &p.pad_left);
    const int32_t n_in = p.batches * p.in_h * p.in_w * p.channels;
    const int32_t n_out = p.batches * p.out_h * p.out_w * p.channels;
    if (n_in > SC_BUF || n_out > SC_BUF) {
        return;
    }
    int32_t dummy_pc, dummy_off;
    sc_requant(1, &dummy_pc, &p.act_min, &p.act_max, &dummy_off);
    sc_fill(sc_in, n_in);
    (void)mk_avg_pool_s8(&p, sc_in, sc_ref);
    sc_check(SC_AVG_DSP, mk_avg_pool_s8_dsp(&p, sc_in, sc_out), n_out);
    (void)mk_max_pool_s8(&p, sc_in, sc_ref);
    sc_check(SC_MAX_DSP, mk_max_pool_s8_dsp(&p, sc_in, sc_out), n_out);
}

/* The table of mk_add_lut_s8_dsp (mirror of add_lut_table in mcukit/codegen/ops/_isa.py). 0 when not eligible. */
static int32_t sc_lut[515];

static int sc_add_lut(const mk_add_params *p)
{
    const int32_t shift = p->output_shift;
    const int32_t left = shift > 0 ? shift : 0, e = shift > 0 ? 0 : -shift;
    int64_t max1 = 0, max2 = 0;
    for (int32_t i = 0; i < 256; ++i) {
        const int32_t x = (int32_t)(int8_t)(uint8_t)i;
        sc_lut[i] = mk_requantize((x + p->input1_offset) * (1 << p->left_shift), p->input1_multiplier,
                                  p->input1_shift);
        sc_lut[256 + i] = mk_requantize((x + p->input2_offset) * (1 << p->left_shift), p->input2_multiplier,
                                        p->input2_shift);
        max1 = MK_MAX(max1, sc_lut[i] < 0 ? -(int64_t)sc_lut[i] : sc_lut[i]);
        max2 = MK_MAX(max2, sc_lut[256 + i] < 0 ? -(int64_t)sc_lut[256 + i] : sc_lut[256 + i]);
    }
    if (((max1 + max2) << (left + 1)) >= (1LL << 30) || left > 7 || e > 21) {
        return 0;
    }
    for (int32_t i = 0; i < 512; ++i) {
        sc_lut[i] *= 1 << (left + 1);
    }
    sc_lut[512] = p->output_multiplier;
    sc_lut[513] = (1 << e) + p->output_offset * (1 << (e + 1));
    sc_lut[514] = e + 1;
    return 1;
}

static void sc_add(void)
{
    mk_add_params p;
    memset(&p, 0, sizeof p);
    const int32_t outer = sc_range(1, 6), inner = sc_range(1, 70);
    const int32_t kind = sc_range(0, 3); /* same shape, per-channel in2, per-channel in1, scalar in2 */
    p.bcast.dims = 2;
    p.bcast.shape[0] = outer;
    p.bcast.shape[1] = inner;
    p.bcast.stride1[0] = kind == 2 ? 0 : inner;
    p.bcast.stride1[1] = 1;
    p.bcast.stride2[0] = (kind == 1 || kind == 3) ? 0 : inner;
    p.bcast.stride2[1] = kind == 3 ? 0 : 1;
    p.input1_offset = sc_range(-127, 128);
    p.input2_offset = sc_range(-127, 128);
    p.output_offset = sc_range(-128, 127);
    p.left_shift = 20;
    p.input1_multiplier = (int32_t)(0x40000000u + (sc_rand() & 0x3FFFFFFFu));
    p.input2_multiplier = (int32_t)(0x40000000u + (sc_rand() & 0x3FFFFFFFu));
    p.output_multiplier = (int32_t)(0x40000000u + (sc_rand() & 0x3FFFFFFFu));
    p.input1_shift = sc_range(-6, 0);
    p.input2_shift = sc_range(-6, 0);
    p.output_shift = sc_range(-22, -14);
    const int32_t lo = sc_range(-128, 0);
    p.act_min = (sc_rand() & 1) ? -128 : lo;
    p.act_max = (sc_rand() & 1) ? 127 : sc_range(p.act_min, 127);
    sc_fill(sc_in, outer * inner);
    sc_fill(sc_in2, outer * inner);
    (void)mk_add_s8(&p, sc_in, sc_in2, sc_ref);
    sc_check(SC_ADD_DSP, mk_add_s8_dsp(&p, sc_in, sc_in2, sc_out), outer * inner);
    if (kind == 0 && sc_add_lut(&p)) {
        mk_add_params q = p; /* same shape as one dimension, as the code generator merges it */
        q.bcast.dims = 1;
        q.bcast.shape[0] = outer * inner;
        q.bcast.stride1[0] = 1;
        q.bcast.stride2[0] = 1;
        sc_check(SC_ADD_LUT_DSP, mk_add_lut_s8_dsp(&q, sc_in, sc_in2, sc_lut, sc_out), outer * inner);
    }
}

/* mk_dsp_requantize vs mk_requantize: 64 random (x, multiplier, shift) per trial, x from the whole int32 range and
 * from small accumulators, multipliers from QuantizeMultiplier's range [2^30, 2^31) plus 0, every shift in
 * [-31, 30]; one trial also walks the edge values of x. A trial fails if any pair differs. */
static void sc_requantize(void)
{
    static const int32_t edges[] = {0, 1, -1, 2, -2, INT32_MAX, INT32_MIN, INT32_MIN + 1, INT32_MAX - 1,
                                    0x40000000, -0x40000000, 0x3FFFFFFF, -0x3FFFFFFF};
    int32_t bad = 0;
    for (int32_t i = 0; i < 64; ++i) {
        const uint32_t r = sc_rand();
        const int32_t x = (r & 1u) ? (int32_t)sc_rand() : sc_range(-70000, 70000);
        const int32_t mult = (r & 0x3Eu) == 0 ? 0 : (int32_t)(0x40000000u + (sc_rand() & 0x3FFFFFFFu));
        const int32_t shift = sc_range(-31, 30);
        const int32_t xs[2] = {x, edges[(r >> 8) % (sizeof edges / sizeof edges[0])]};
        for (int j = 0; j < 2; ++j) {
            bad |= mk_dsp_requantize(xs[j], mult, shift) != mk_requantize(xs[j], mult, shift);
        }
    }
    mk_sc_runs[SC_REQUANT_DSP] += 1;
    mk_sc_fails[SC_REQUANT_DSP] += bad ? 1 : 0;
}

/* mk_dsp_requantize_short vs mk_requantize over its precondition: 64 random (acc, multiplier, shift) per trial
 * with |acc| * 2^(left+1) < 2^30 and e <= 29, acc drawn from the whole allowed range, from small values and from
 * the range's edges, multipliers from [2^30, 2^31) plus 0. Ties (acc * m exactly half-way) are rare at random, so
 * every fourth pair uses m = 2^30 with an odd acc, which makes the rounding shift see exact halves. */
static void sc_requantize_short(void)
{
    int32_t bad = 0;
    for (int32_t i = 0; i < 64; ++i) {
        const uint32_t r = sc_rand();
        const int32_t shift = sc_range(-29, 8);
        const int32_t left = shift > 0 ? shift : 0, e = shift > 0 ? 0 : -shift;
        const int32_t lim = (int32_t)((1u << (29 - left)) - 1u); /* |acc| <= lim: |acc| << (left+1) < 2^30 */
        int32_t acc;
        switch (r & 3u) {
        case 0: acc = sc_range(-lim, lim); break;
        case 1: acc = sc_range(-70000, 70000); acc = acc > lim ? lim : (acc < -lim ? -lim : acc); break;
        case 2: acc = (r & 4u) ? lim - (int32_t)(sc_rand() & 7u) : -lim + (int32_t)(sc_rand() & 7u); break;
        default: acc = sc_range(-lim, lim) | 1; break;
        }
        const int32_t mult = (r & (0x3u << 4)) == 0 ? 0x40000000
                             : (r & (0x3Fu << 6)) == 0 ? 0
                                                      : (int32_t)(0x40000000u + (sc_rand() & 0x3FFFFFFFu));
        bad |= mk_dsp_requantize_short(acc, mult, left + 1, (int32_t)(1u << e), e + 1) !=
               mk_requantize(acc, mult, shift);
    }
    mk_sc_runs[SC_REQUANT_SHORT_DSP] += 1;
    mk_sc_fails[SC_REQUANT_SHORT_DSP] += bad ? 1 : 0;
}

/* Run `trials` random trials of every family from `seed`; returns the number of failed comparisons. */
int32_t mk_dsp_selfcheck(uint32_t seed, int32_t trials)
{
    sc_state = seed ? seed : 1u;
    for (int k = 0; k < SC_KERNELS; ++k) {
        mk_sc_runs[k] = 0;
        mk_sc_fails[k] = 0;
    }
    for (int32_t t = 0; t < trials; ++t) {
        sc_conv();
        sc_conv_wino();
        sc_depthwise();
        sc_fc();
        sc_pool();
        sc_add();
        sc_requantize();
        sc_requantize_short();
        sc_dw3x3_pairs();
    }
    int32_t fails = 0;
    for (int k = 0; k < SC_KERNELS; ++k) {
        fails += mk_sc_fails[k];
    }
    return fails;
}
