/* CONV_2D (no groups) as a GEMM on weights widened to int16 at compile time, for layers whose accumulators the code
 * generator proved small (its short epilogue); the int8 GEMM kernels (mk_conv_1x1_s8_dsp, mk_conv_im2col_s8_dsp)
 * take the other layers. On a board whose flash the int16 weights would crowd, mk_conv_wide_w8_s8_dsp (at the end
 * of this file) runs the same loops on int8 weights.
 *
 * Why it is faster: the int8 GEMM spends 4 SXTB16 per 16 MACs widening weights and 4 widening inputs, inside the
 * innermost loop. Here the weights are int16 in flash (twice the bytes: docs/kernels.md says where that pays) and
 * the two input rows of a pixel pair are widened once into `scratch`, then reused for every output channel. Both
 * rows of the pair are interleaved block by block so one pointer walks them, and the weights of a channel pair
 * likewise; all the channel pairs of a pixel pair run in one assembly function (mk_wide_pairs in mk_dsp_wide.h:
 * two LDM and eight SMLAD per 16 MACs, the epilogue in registers).
 *
 * Layouts (mcukit/codegen/ops/_isa.py wide_weight_layout): k = filter_h * filter_w * in_c rounded up to a
 * multiple of 4 with zero weights; for every 4 bytes x0..x3 of a row SXTB16 gives the halfword pairs (x0, x2) and
 * (x1, x3), so a block of rows a, b is the words {a02, a13, b02, b13} and a block of channels c, c+1 the words
 * {w[c] 02, w[c] 13, w[c+1] 02, w[c+1] 13}. An odd channel count is padded with a zero channel that is computed
 * and not stored. Bias, requantization and output offset come from gemm_rq_table (mk_dsp_dot.h).
 *
 * Padding of the image: taps outside it are written as the input zero point, which adds 0 after the folded bias.
 * Access order: output pixels in pairs, all channels of a pair after reading its windows (in-place lag as the
 * im2col kernels). scratch: mk_conv_wide_s8_dsp_scratch_bytes(p). */
#include "mcukit/mk_kernels_dsp.h"
#include "mk_dsp_dot.h"
#include "mk_dsp_wide.h"

static int32_t mk_wide_blocks(const mk_conv_params *p)
{
    return (p->filter_h * p->filter_w * p->in_c + 3) / 4;
}

static int mk_wide_is_1x1(const mk_conv_params *p)
{
    return p->filter_h == 1 && p->filter_w == 1 && p->pad_top == 0 && p->pad_left == 0;
}

/* Whether a tap can start inside a 4-byte block: the scratch then holds two int8 im2col rows too, for the windows
 * neither mk_wide_window_rows nor mk_wide_windows_gather take (those widen from the input directly). */
static int mk_wide_needs_im2col(const mk_conv_params *p)
{
    return !mk_wide_is_1x1(p) && p->in_c % 4 != 0;
}

size_t mk_conv_wide_s8_dsp_scratch_bytes(const mk_conv_params *p)
{
    const size_t blocks = (size_t)mk_wide_blocks(p);
    /* widened pair: 16 bytes per block; the two int8 im2col rows when needed: 4 bytes per block each */
    return blocks * 16u + (mk_wide_needs_im2col(p) ? blocks * 8u : 0u);
}

/* One block of the widened pair from the words a (row a) and b (row b). */
static inline void mk_wide_put(int32_t *dst, int32_t a, int32_t b)
{
    dst[0] = __sxtb16(a);
    dst[1] = mk_sxtb16_ror8(a);
    dst[2] = __sxtb16(b);
    dst[3] = mk_sxtb16_ror8(b);
}

/* n blocks of 4 int8 from src (4-byte aligned) widened into one row of the interleaved pair (every 4th word pair);
 * returns the next block's slot. On DSP cores two blocks per asm step - LDRD, 4 SXTB16, 2 STRD with post-increment
 * (GCC's separate word stores took 8 instructions per block): the widening is a visible share of the work in
 * layers with few output channels. */
static inline int32_t *mk_wide_run(const int8_t *src, int32_t n, int32_t *dst)
{
    int32_t j = 0;
#if MK_DSP_NATIVE
    for (; j + 2 <= n; j += 2) {
        int32_t u, v, e, o;
        __asm__("ldrd %[u], %[v], [%[s]], #8\n\t"
                "sxtb16 %[e], %[u]\n\t"
                "sxtb16 %[o], %[u], ror #8\n\t"
                "strd %[e], %[o], [%[d]], #16\n\t"
                "sxtb16 %[e], %[v]\n\t"
                "sxtb16 %[o], %[v], ror #8\n\t"
                "strd %[e], %[o], [%[d]], #16"
                : [s] "+r"(src), [d] "+r"(dst), [u] "=&r"(u), [v] "=&r"(v), [e] "=&r"(e), [o] "=&r"(o)
                :
                : "memory");
    }
#else
    for (; j + 2 <= n; j += 2, src += 8, dst += 8) {
        const int32_t u = mk_read_s8x4(src), v = mk_read_s8x4(src + 4);
        dst[0] = __sxtb16(u);
        dst[1] = mk_sxtb16_ror8(u);
        dst[4] = __sxtb16(v);
        dst[5] = mk_sxtb16_ror8(v);
    }
#endif
    if (j < n) {
        const int32_t u = mk_read_s8x4(src);
        dst[0] = __sxtb16(u);
        dst[1] = mk_sxtb16_ror8(u);
        dst += 4;
    }
    return dst;
}

/* Rows xa and xb of k bytes -> the interleaved widened pair; the bytes past k of the last block are zero, or
 * whatever the rows hold there when `padded` (im2col rows, allocated to the block end: the weights of those bytes
 * are zero, and a word read costs less than two memcpy calls). */
static void mk_wide_rows(const int8_t *xa, const int8_t *xb, int32_t k, int32_t *dst, int padded)
{
    const int32_t n = k / 4;
    if ((((uintptr_t)xa | (uintptr_t)xb) & 3u) == 0) { /* LDRD needs word-aligned rows */
#if MK_DSP_NATIVE
        /* both rows at once, two blocks per step: 2 LDRD, 8 SXTB16, 4 STRD with post-increment (two mk_wide_run
         * calls took 20 instructions per two blocks with their loops) */
        for (int32_t j = 0; j + 2 <= n; j += 2) {
            int32_t ua, va, ub, vb, e, o;
            __asm__("ldrd %[ua], %[va], [%[xa]], #8\n\t"
                    "ldrd %[ub], %[vb], [%[xb]], #8\n\t"
                    "sxtb16 %[e], %[ua]\n\t"
                    "sxtb16 %[o], %[ua], ror #8\n\t"
                    "strd %[e], %[o], [%[d]], #8\n\t"
                    "sxtb16 %[e], %[ub]\n\t"
                    "sxtb16 %[o], %[ub], ror #8\n\t"
                    "strd %[e], %[o], [%[d]], #8\n\t"
                    "sxtb16 %[e], %[va]\n\t"
                    "sxtb16 %[o], %[va], ror #8\n\t"
                    "strd %[e], %[o], [%[d]], #8\n\t"
                    "sxtb16 %[e], %[vb]\n\t"
                    "sxtb16 %[o], %[vb], ror #8\n\t"
                    "strd %[e], %[o], [%[d]], #8"
                    : [xa] "+r"(xa), [xb] "+r"(xb), [d] "+r"(dst), [ua] "=&r"(ua), [va] "=&r"(va), [ub] "=&r"(ub),
                      [vb] "=&r"(vb), [e] "=&r"(e), [o] "=&r"(o)
                    :
                    : "memory");
        }
        if (n & 1) {
            mk_wide_put(dst, mk_read_s8x4(xa), mk_read_s8x4(xb));
            xa += 4;
            xb += 4;
            dst += 4;
        }
#else
        (void)mk_wide_run(xa, n, dst);
        (void)mk_wide_run(xb, n, dst + 2);
        xa += 4 * n;
        xb += 4 * n;
        dst += 4 * n;
#endif
    } else {
        for (int32_t j = 0; j < n; ++j, xa += 4, xb += 4, dst += 4) {
            mk_wide_put(dst, mk_read_s8x4(xa), mk_read_s8x4(xb));
        }
    }
    if (4 * n < k && padded) {
        mk_wide_put(dst, mk_read_s8x4(xa), mk_read_s8x4(xb));
    } else if (4 * n < k) {
        int32_t a = 0, b = 0;
        memcpy(&a, xa, (size_t)(k - 4 * n));
        memcpy(&b, xb, (size_t)(k - 4 * n));
        mk_wide_put(dst, a, b);
    }
}

/* The window of output pixel q widened straight from the input into one row of the interleaved pair (dst: word 0
 * of block 0 of that row; rows are 4 words apart), when in_c is a multiple of 4 so that every tap starts a block:
 * no int8 im2col copy (the windows mk_wide_windows_inside does not take: at the image's edge, or a lone pixel).
 * Taps outside the image get the zero point in both halves (pad2). */
/* Edge windows only, so cold (optimized for size): the DS-CNN's runtime code is held to 16 KB. */
static __attribute__((cold)) void mk_wide_window(const mk_conv_params *p, const int8_t *input, int32_t q,
                                                 int32_t pad2, int32_t *dst)
{
    const int32_t c4 = p->in_c / 4;
    const int32_t ox = q % p->out_w, oy = (q / p->out_w) % p->out_h, b = q / (p->out_w * p->out_h);
    const int32_t y0 = oy * p->stride_h - p->pad_top, x0 = ox * p->stride_w - p->pad_left;
    const int32_t span_w = (p->filter_w - 1) * p->dilation_w + 1;
    /* the common case: a window row is one contiguous run of filter_w taps, else one run per tap */
    const int whole_row = p->dilation_w == 1 && x0 >= 0 && x0 + span_w <= p->in_w;
    const int32_t runs = whole_row ? 1 : p->filter_w, run = whole_row ? p->filter_w * c4 : c4;
    for (int32_t fy = 0; fy < p->filter_h; ++fy) {
        const int32_t iy = y0 + fy * p->dilation_h;
        const int row_in = iy >= 0 && iy < p->in_h;
        const int8_t *row = input + ((size_t)b * (size_t)p->in_h + (size_t)iy) * (size_t)p->in_w * (size_t)p->in_c;
        for (int32_t r = 0, ix = x0; r < runs; ++r, ix += p->dilation_w) {
            if (!row_in || ix < 0 || ix >= p->in_w) {
                for (int32_t j = 0; j < run; ++j, dst += 4) {
                    dst[0] = pad2;
                    dst[1] = pad2;
                }
                continue;
            }
            dst = mk_wide_run(row + (size_t)ix * (size_t)p->in_c, run, dst);
        }
    }
}

/* The input row of window row 0 of output pixel q at its first tap, or NULL when the window reaches into the
 * padding (or dilation_w != 1). */
static const int8_t *mk_wide_window_start(const mk_conv_params *p, const int8_t *input, int32_t q)
{
    const int32_t ox = q % p->out_w, oy = (q / p->out_w) % p->out_h, b = q / (p->out_w * p->out_h);
    const int32_t x0 = ox * p->stride_w - p->pad_left, y0 = oy * p->stride_h - p->pad_top;
    if (p->dilation_w != 1 || x0 < 0 || x0 + p->filter_w > p->in_w || y0 < 0 ||
        y0 + (p->filter_h - 1) * p->dilation_h >= p->in_h) {
        return NULL;
    }
    return input + (((size_t)b * (size_t)p->in_h + (size_t)y0) * (size_t)p->in_w + (size_t)x0) * (size_t)p->in_c;
}

/* Both windows of pixels q, q + 1 widened into the interleaved pair when every window row is whole blocks (in_c
 * % 4 == 0, or mk_wide_row_blocks) and neither window reaches into the padding: per window row the two runs of
 * filter_w * in_c bytes are widened together (mk_wide_rows when word-aligned), about half the work of two
 * single-window calls. Returns 0, writing nothing, otherwise. */
static int mk_wide_windows_inside(const mk_conv_params *p, const int8_t *input, int32_t q, int32_t *dst)
{
    const int8_t *xa = mk_wide_window_start(p, input, q);
    const int8_t *xb = xa != NULL ? mk_wide_window_start(p, input, q + 1) : NULL;
    if (xb == NULL) {
        return 0;
    }
    const int32_t run = p->filter_w * p->in_c; /* a multiple of 4 (mk_wide_windows_inside's callers) */
    const size_t step = (size_t)p->dilation_h * (size_t)p->in_w * (size_t)p->in_c;
    const int aligned = (((uintptr_t)xa | (uintptr_t)xb | step) & 3u) == 0;
    for (int32_t fy = 0; fy < p->filter_h; ++fy, xa += step, xb += step, dst += run) {
        if (aligned) {
            mk_wide_rows(xa, xb, run, dst, 0);
        } else { /* a run of a tap or two (DS-CNN's first layer: one block): no call */
            for (int32_t j = 0; j < run; j += 4) {
                mk_wide_put(dst + j, mk_read_s8x4(xa + j), mk_read_s8x4(xb + j));
            }
        }
    }
    return 1;
}

/* Whether every window row is a whole number of blocks though taps start inside them (in_c not a multiple of 4,
 * filter_w * in_c one; DS-CNN's first layer: in_c 1, 4 taps wide): mk_wide_windows_inside and mk_wide_window_rows
 * widen such windows straight from the input, a block per (unaligned) word, instead of the int8 im2col copy. */
static int mk_wide_row_blocks(const mk_conv_params *p)
{
    return !mk_wide_is_1x1(p) && p->in_c % 4 != 0 && p->dilation_w == 1 && (p->filter_w * p->in_c) % 4 == 0 &&
           p->in_w * p->in_c >= 4;
}

/* One block of a row of the interleaved pair from the int8 word v. */
static inline int32_t *mk_wide_put1(int32_t *dst, int32_t v)
{
    dst[0] = __sxtb16(v);
    dst[1] = mk_sxtb16_ror8(v);
    return dst + 4;
}

/* The window of output pixel q into one row of the interleaved pair (as mk_wide_window), when mk_wide_row_blocks:
 * a window row inside the image is filter_w * in_c contiguous bytes, read a word (unaligned) per block; rows
 * above or below the image are the zero point (pad2); in a row cut by the left or right edge the blocks across
 * the edge are the row's first or last word shifted, the zero point (pad) shifted in. */
static void mk_wide_window_rows(const mk_conv_params *p, const int8_t *input, int32_t q, int8_t pad, int32_t pad2,
                                int32_t *dst)
{
    const uint32_t pad4 = (uint32_t)mk_splat8(pad);
    const int32_t c = p->in_c, nb = p->filter_w * p->in_c / 4, fh = p->filter_h, dh = p->dilation_h;
    const int32_t in_h = p->in_h, n_row = p->in_w * c;
    const int32_t ox = q % p->out_w, oy = (q / p->out_w) % p->out_h, b = q / (p->out_w * p->out_h);
    const int32_t x0 = ox * p->stride_w - p->pad_left;
    const int whole_row = x0 >= 0 && x0 + p->filter_w <= p->in_w;
    const int8_t *plane = input + (size_t)b * (size_t)in_h * (size_t)n_row;
    int32_t iy = oy * p->stride_h - p->pad_top;
    for (int32_t fy = 0; fy < fh; ++fy, iy += dh) {
        if (iy < 0 || iy >= in_h) {
            for (int32_t j = 0; j < nb; ++j, dst += 4) {
                dst[0] = pad2;
                dst[1] = pad2;
            }
            continue;
        }
        const int8_t *row = plane + (size_t)iy * (size_t)n_row;
        for (int32_t j = 0, o = x0 * c; j < nb; ++j, o += 4) { /* byte o of the run is row[o] when 0 <= o < n_row */
            uint32_t v;
            if (whole_row || (o >= 0 && o + 4 <= n_row)) {
                v = (uint32_t)mk_read_s8x4(row + o);
            } else if (o <= -4 || o >= n_row) {
                v = pad4;
            } else if (o < 0) { /* the row's first word moved up past the -o padding bytes */
                const int32_t sh = -8 * o;
                v = ((uint32_t)mk_read_s8x4(row) << sh) | (pad4 & ((1u << sh) - 1u));
            } else { /* the row's last word moved down past the padding bytes (n_row >= 4: mk_wide_row_blocks) */
                const int32_t sh = 8 * (o + 4 - n_row);
                v = ((uint32_t)mk_read_s8x4(row + n_row - 4) >> sh) | (pad4 & ~(0xFFFFFFFFu >> sh));
            }
            dst = mk_wide_put1(dst, (int32_t)v);
        }
    }
}

/* Windows whose taps start inside blocks (MobileNet's first layer: in_c 3, 3x3), gathered without the im2col
 * copy: word j of a window's im2col row is bytes 4j..4j+3 of its filter_h runs of L = filter_w * in_c input bytes
 * one after the other. With L >= 4 a word touches at most two runs; where it crosses from run r into r + 1, it is
 * the low bytes of the word at run r's byte o and the high bytes of the word at run r + 1's byte o - L, under a
 * byte mask. The offsets (from the window's first byte) and masks are the same for every window. */
#define MK_WIDE_GATHER_WORDS 16
typedef struct {
    int32_t words;                     /* blocks; 0: the layer does not qualify */
    int32_t at[MK_WIDE_GATHER_WORDS];  /* word j's first byte */
    int32_t at2[MK_WIDE_GATHER_WORDS]; /* the word whose high bytes complete it, when mask != ~0 */
    uint32_t mask[MK_WIDE_GATHER_WORDS];
} mk_wide_gather_plan;

static __attribute__((cold)) void mk_wide_gather_init(const mk_conv_params *p, int32_t blocks, mk_wide_gather_plan *g)
{
    const int32_t run = p->filter_w * p->in_c, step = p->dilation_h * p->in_w * p->in_c;
    g->words = 0;
    if (p->dilation_w != 1 || run < 4 || blocks > MK_WIDE_GATHER_WORDS) {
        return;
    }
    for (int32_t j = 0; j < blocks; ++j) {
        const int32_t r = 4 * j / run, o = 4 * j - r * run; /* run r, byte o */
        g->at[j] = r * step + o;
        g->at2[j] = 0;
        g->mask[j] = 0xFFFFFFFFu;
        if (o + 4 > run && r + 1 < p->filter_h) { /* (the last run's excess bytes meet zero weights) */
            g->at2[j] = (r + 1) * step + o - run;
            g->mask[j] = (1u << (8 * (run - o))) - 1u;
        }
    }
    g->words = blocks;
}

/* Both windows of pixels q, q + 1 gathered into the interleaved pair when neither reaches into the padding and
 * their last words do not read past the input (`end`); returns 0, writing nothing, otherwise. The bytes read past
 * a run's end or before a run's start lie inside the input, between the window's rows. */
static int mk_wide_windows_gather(const mk_conv_params *p, const int8_t *input, const int8_t *end, int32_t q,
                                  const mk_wide_gather_plan *g, int32_t *dst)
{
    const int8_t *xa = mk_wide_window_start(p, input, q);
    const int8_t *xb = xa != NULL ? mk_wide_window_start(p, input, q + 1) : NULL;
    const int32_t n = g->words, last = g->at[n - 1] + 4;
    if (xb == NULL || end - xa < last || end - xb < last) {
        return 0;
    }
    for (int32_t j = 0; j < n; ++j, dst += 4) {
        uint32_t va = (uint32_t)mk_read_s8x4(xa + g->at[j]), vb = (uint32_t)mk_read_s8x4(xb + g->at[j]);
        const uint32_t m = g->mask[j];
        if (m != 0xFFFFFFFFu) {
            va = (va & m) | ((uint32_t)mk_read_s8x4(xa + g->at2[j]) & ~m);
            vb = (vb & m) | ((uint32_t)mk_read_s8x4(xb + g->at2[j]) & ~m);
        }
        mk_wide_put(dst, (int32_t)va, (int32_t)vb);
    }
    return 1;
}

/* All channel pairs for the widened pixel pair `wide`: row a's outputs to out_a, row b's to out_b (NULL: only one
 * pixel); narrow: int8 weights (a compile-time constant in both callers, so each gets its own loop). The clamp to
 * [act_min, act_max] is the caller's (one pass over the output). */
static inline __attribute__((always_inline)) void mk_wide_gemm(const int32_t *weights, const int32_t *wide,
                                                               int32_t blocks, const int32_t *t, int32_t out_c,
                                                               int8_t *out_a, int8_t *out_b, const int narrow)
{
    const int32_t *w = weights;
    int32_t oc = 0;
    if (blocks >= 2 && out_c >= 2) { /* the assembly loop: every full channel pair */
        const int32_t pairs = out_c / 2, words = (narrow ? 2 : 4) * blocks * pairs;
        const mk_wide_pairs_args args = {out_a,
                                         out_a + 2 * pairs,
                                         out_b != NULL ? (int32_t)(out_b - out_a) : 0,
                                         wide,
                                         wide + 4 * blocks,
                                         mk_wide_pairs_entry(blocks, narrow ? MK_WIDE8_PAIRS_UNROLL
                                                                            : MK_WIDE_PAIRS_UNROLL),
                                         weights,
                                         t};
        if (narrow) {
            mk_wide8_pairs(&args);
        } else {
            mk_wide_pairs(&args);
        }
        oc = 2 * pairs;
        w += words;
        t += 2 * MK_DSP_RQ_WORDS * pairs;
    }
    for (; oc < out_c; oc += 2) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        const int32_t *x = wide;
        const int32_t *end = wide + 4 * blocks;
        if (narrow) {
            while (x != end) {
                MK_WIDE8_STEP(w, x);
            }
        } else { /* the padding pair of an odd channel count, or one block: not worth unrolling */
            while (x != end) {
                MK_WIDE_STEP(w, x);
            }
        }
        /* bytes: row a channel c, row a channel c+1, row b channel c, row b channel c+1 */
        const uint32_t v = mk_wide_epilogue(a0, a1, a2, a3, &t);
        if (oc + 1 < out_c) {
            const uint16_t ha = (uint16_t)v, hb = (uint16_t)(v >> 16);
            memcpy(out_a + oc, &ha, 2);
            if (out_b != NULL) {
                memcpy(out_b + oc, &hb, 2);
            }
        } else { /* odd channel count: the padding channel's results are dropped */
            out_a[oc] = (int8_t)v;
            if (out_b != NULL) {
                out_b[oc] = (int8_t)(v >> 16);
            }
        }
    }
}

/* The int8 im2col copy of a pixel pair, for the windows the gather does not take (the image's edge, a lone pixel):
 * cold, so optimized for size, like mk_wide_window. */
static __attribute__((noinline, cold)) void mk_wide_im2col_edge(const mk_conv_params *p, const int8_t *input,
                                                                int32_t px, int32_t pixels, int8_t pad, int8_t *col_a,
                                                                int8_t *col_b)
{
    (void)mk_dsp_im2col_pair(p, input, px, pixels, pad, col_a, col_b);
}

static inline __attribute__((always_inline)) mk_status mk_conv_wide_impl(const mk_conv_params *p,
                                                                          const int8_t *input,
                                                                          const int32_t *weights,
                                                                          const int32_t *table, int8_t *output,
                                                                          int8_t *scratch, const int narrow)
{
    if (p->filter_in_c != p->in_c || p->in_c < 1 || scratch == NULL || table == NULL || p->act_min < -128 ||
        p->act_max > 127) {
        return MK_ERR_ARG;
    }
    const int32_t k = p->filter_h * p->filter_w * p->in_c;
    const int32_t blocks = mk_wide_blocks(p);
    const int one = mk_wide_is_1x1(p);
    int32_t *wide = (int32_t *)(void *)scratch;
    int8_t *col_a = scratch + (size_t)blocks * 16u;
    int8_t *col_b = col_a + (size_t)blocks * 4u;
    const int8_t pad = (int8_t)(-p->input_offset);
    const int32_t pad2 = (int32_t)(((uint32_t)(uint16_t)(int16_t)pad) * 0x00010001u);
    const int dense = one && p->stride_h == 1 && p->stride_w == 1 && p->in_h == p->out_h && p->in_w == p->out_w;
    const int direct = !one && !mk_wide_needs_im2col(p);  /* widen straight from the input */
    const int row_blocks = mk_wide_row_blocks(p);          /* the same, a block per window-row word */
    const int32_t lo = p->act_min, hi = p->act_max;
    const int32_t clamp = lo > -128 || hi < 127;  /* ReLU-style ranges; the full int8 range is SSAT's alone */
    const int32_t lo4 = mk_splat8(lo), hi4 = mk_splat8(hi);
    const int32_t out_c = p->out_c;
    const int8_t *in_end = input + (size_t)p->batches * (size_t)p->in_h * (size_t)p->in_w * (size_t)p->in_c;
    const int32_t pixels = p->batches * p->out_h * p->out_w;
    mk_wide_gather_plan gather;
    gather.words = 0;
    if (!one && !direct && !row_blocks) {
        mk_wide_gather_init(p, blocks, &gather);
    }
    for (int32_t px = 0; px < pixels; px += 2) {
        const int8_t *xa, *xb;
        int two;
        if (dense) { /* 1x1, stride 1: pixel q's input row is row q */
            two = px + 1 < pixels;
            xa = input + (size_t)px * (size_t)p->in_c;
            xb = two ? xa + p->in_c : xa;
        } else if (one) {
            two = px + 1 < pixels;
            xa = mk_conv_pixel_1x1(p, input, px);
            xb = two ? mk_conv_pixel_1x1(p, input, px + 1) : xa;
        } else if (row_blocks) {
            two = px + 1 < pixels;
            if (!two || !mk_wide_windows_inside(p, input, px, wide)) {
                mk_wide_window_rows(p, input, px, pad, pad2, wide);
                mk_wide_window_rows(p, input, two ? px + 1 : px, pad, pad2, wide + 2);
            }
            xa = xb = NULL;
        } else if (direct) {
            two = px + 1 < pixels;
            if (!two || !mk_wide_windows_inside(p, input, px, wide)) {
                mk_wide_window(p, input, px, pad2, wide);
                mk_wide_window(p, input, two ? px + 1 : px, pad2, wide + 2);
            }
            xa = xb = NULL;
        } else {
            two = px + 1 < pixels;
            xa = xb = NULL;
            if (!two || gather.words == 0 || !mk_wide_windows_gather(p, input, in_end, px, &gather, wide)) {
                mk_wide_im2col_edge(p, input, px, pixels, pad, col_a, col_b);
                xa = col_a;
                xb = two ? col_b : col_a;
            }
        }
        if (xa != NULL) {
            mk_wide_rows(xa, xb, k, wide, !one);
        }
        int8_t *out_a = output + (size_t)px * (size_t)out_c;
        mk_wide_gemm(weights, wide, blocks, table, out_c, out_a, two ? out_a + out_c : NULL, narrow);
    }
    if (clamp) { /* after the GEMM, which then has no per-pair branch: ReLU-style ranges are rare past SSAT's */
        mk_wide_clamp(output, (size_t)pixels * (size_t)out_c, lo4, hi4);
    }
    return MK_OK;
}

mk_status mk_conv_wide_s8_dsp(const mk_conv_params *p, const int8_t *input, const int32_t *weights,
                              const int32_t *table, int8_t *output, int8_t *scratch)
{
    return mk_conv_wide_impl(p, input, weights, table, output, scratch, 0);
}

mk_status mk_conv_wide_w8_s8_dsp(const mk_conv_params *p, const int8_t *input, const int32_t *weights,
                                 const int32_t *table, int8_t *output, int8_t *scratch)
{
    return mk_conv_wide_impl(p, input, weights, table, output, scratch, 1);
}
