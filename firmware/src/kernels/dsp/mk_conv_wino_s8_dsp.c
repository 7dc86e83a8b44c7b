/* CONV_2D with 3-wide filters at stride 1 along the width, as Winograd F(4, 3) along each filter row: four
 * neighbouring outputs of a row from 6 products per tap row and channel instead of 12. The arithmetic is integer and
 * exact, so the accumulators equal the direct convolution's bit for bit.
 *
 * The identity (d0..d5: six neighbouring input columns, g0..g2: the three taps of one filter row; the interpolation
 * points 0, 1, -1, 2, -2 and infinity, with the filter transform scaled by 24 so that it is integer):
 *   V0 = 4 d0 - 5 d2 + d4            U0 = 6 g0
 *   V1 = d3 + d4 - 4 (d1 + d2)       U1 = -4 (g0 + g1 + g2)
 *   V2 = d4 - d3 + 4 (d1 - d2)       U2 = -4 (g0 - g1 + g2)
 *   V3 = d4 - d2 + 2 (d3 - d1)       U3 = g0 + 2 g1 + 4 g2
 *   V4 = d4 - d2 - 2 (d3 - d1)       U4 = g0 - 2 g1 + 4 g2
 *   V5 = d5 - d3 - 4 (d3 - d1)       U5 = 24 g2
 *   with m_j = V_j U_j:  24 y0 = m0 + m1 + m2 + m3 + m4,       24 y1 = m1 - m2 + 2 (m3 - m4),
 *                        24 y2 = m1 + m2 + 4 (m3 + m4),       24 y3 = m1 - m2 + 8 (m3 - m4) + m5.
 * Summed over the filter rows and input channels, each m_j is one GEMM row of k = filter_h * in_c products: the
 * code generator stores U_j as int16 in the wide layout (mcukit/codegen/ops/_isa.py wino_weight_layout), this
 * kernel transforms the input windows of two tiles (a tile = four neighbouring output pixels of a row) into the
 * matching int16 rows V_j in `scratch` and runs the wide GEMM step (mk_dsp_wide.h) over the six positions per
 * channel pair. 24 y is exactly divisible by 8: 3 y = (24 y) >> 3 goes into the wide epilogue, whose table scale
 * 2^lsh the generator multiplied by the inverse of 3 modulo 2^32, so (3 y) (2^lsh / 3) = y 2^lsh modulo 2^32 - and
 * the table's precondition keeps y 2^lsh + bias in int32, so it is exact.
 *
 * Bounds: raw int8 inputs (the input offset is folded into the bias; padded taps are the zero point, as in the
 * wide kernel), so |V| <= 1280 and |U| <= 3072 fit int16; the generator checks 24 * 128 * sum|w| < 2^31 per channel
 * so that 24 y fits int32. Sums in between may wrap: the arithmetic is modulo 2^32 and the result exact.
 *
 * Access order: two tiles (up to eight output pixels, possibly across a row end) are transformed into scratch, then
 * all their outputs are written channel pair by channel pair. scratch: mk_conv_wino_s8_dsp_scratch_bytes(p). */
#include "mcukit/mk_kernels_dsp.h"
#include "mk_dsp_dot.h"
#include "mk_dsp_wide.h"

#define MK_WINO_TILE 4 /* outputs per tile */
#define MK_WINO_POS 6  /* transformed positions per tile */

/* Blocks of 4 k-elements in one transformed row: filter_h * in_c / 4 (in_c is a multiple of 4). */
static int32_t mk_wino_blocks(const mk_conv_params *p)
{
    return p->filter_h * (p->in_c / 4);
}

size_t mk_conv_wino_s8_dsp_scratch_bytes(const mk_conv_params *p)
{
    /* six positions, each an interleaved pair of tiles: 16 bytes per block; then the edge columns of a filter row */
    return (size_t)mk_wino_blocks(p) * (16u * MK_WINO_POS) + MK_WINO_POS * (size_t)p->in_c;
}

/* The input transform of one filter row of a tile: `src` holds its six input columns (`ic` bytes apart, in_c % 4
 * == 0), `c4` blocks of 4 channels each; V0..V5 of block j go to q[4 j + 2 lane], q[pos + 4 j + 2 lane], ... (lane 0:
 * channels 0, 2 of the block - SXTB16 order - lane 1: channels 1, 3). Per lane: V0 = 4 (x0 - x2) + (x4 - x2),
 * V1 = (x4 + x3) - 4 (x1 + x2), V2 = (x4 - x3) + 4 (x1 - x2), V3 = (x4 - x2) + 2 (x3 - x1), V4 = (x4 - x2) -
 * 2 (x3 - x1), V5 = (x5 - x3) - 4 (x3 - x1); products by 2 and 4 are SADD16 doublings (no lane overflows: |V| <=
 * 1280). On DSP cores one assembly loop, 39 instructions per lane of a block: the six columns are loaded from two
 * bases by register offsets (ic, 2 ic) and the six positions stored from two bases by pos, 2 pos, 4 pos (GCC's
 * version kept the offsets on the stack and took ~120 per block). */
typedef struct {
    const int8_t *src;
    int32_t ic;
    int32_t *q;
    int32_t pos_bytes;
    int32_t c4;
} mk_wino_cols_args;

#if MK_DSP_NATIVE
/* r0 = column 0, r1 = column 3, r2 = ic, r3 = q, r4 = q + 3 pos, r5 = pos (bytes), r6 = end of column 0's run;
 * r7-r12 and lr the lane's values. */
#define MK_WINO_LANE(ror)                                                                                             \
    "ldr r7, [r0, r2, lsl #1]\n\t"                                                                                    \
    "sxtb16 r7, r7" ror "\n\t"         /* x2 */                                                                       \
    "ldr r8, [r0]\n\t"                                                                                                \
    "sxtb16 r8, r8" ror "\n\t"         /* x0 */                                                                       \
    "ssub16 r8, r8, r7\n\t"                                                                                           \
    "ldr r9, [r1, r2]\n\t"                                                                                            \
    "sxtb16 r9, r9" ror "\n\t"         /* x4 */                                                                       \
    "ssub16 r10, r9, r7\n\t"           /* p = x4 - x2 */                                                              \
    "sadd16 r8, r8, r8\n\t"                                                                                           \
    "sadd16 r8, r8, r8\n\t"                                                                                           \
    "sadd16 r8, r8, r10\n\t"                                                                                          \
    "str r8, [r3]\n\t"                 /* V0 */                                                                       \
    "ldr r8, [r0, r2]\n\t"                                                                                            \
    "sxtb16 r8, r8" ror "\n\t"         /* x1 */                                                                       \
    "sadd16 r11, r8, r7\n\t"           /* x1 + x2 */                                                                  \
    "ssub16 r7, r8, r7\n\t"            /* x1 - x2 */                                                                  \
    "ldr r12, [r1]\n\t"                                                                                               \
    "sxtb16 r12, r12" ror "\n\t"       /* x3 */                                                                       \
    "sadd16 lr, r9, r12\n\t"                                                                                          \
    "sadd16 r11, r11, r11\n\t"                                                                                        \
    "sadd16 r11, r11, r11\n\t"                                                                                        \
    "ssub16 lr, lr, r11\n\t"                                                                                          \
    "str lr, [r3, r5]\n\t"             /* V1 */                                                                       \
    "ssub16 lr, r9, r12\n\t"                                                                                          \
    "sadd16 r7, r7, r7\n\t"                                                                                           \
    "sadd16 r7, r7, r7\n\t"                                                                                           \
    "sadd16 lr, lr, r7\n\t"                                                                                           \
    "str lr, [r3, r5, lsl #1]\n\t"     /* V2 */                                                                       \
    "ssub16 r8, r12, r8\n\t"           /* x3 - x1 */                                                                  \
    "sadd16 r8, r8, r8\n\t"                                                                                           \
    "sadd16 lr, r10, r8\n\t"                                                                                          \
    "str lr, [r4]\n\t"                 /* V3 */                                                                       \
    "ssub16 lr, r10, r8\n\t"                                                                                          \
    "str lr, [r3, r5, lsl #2]\n\t"     /* V4 */                                                                       \
    "ldr r9, [r1, r2, lsl #1]\n\t"                                                                                    \
    "sxtb16 r9, r9" ror "\n\t"         /* x5 */                                                                       \
    "ssub16 r9, r9, r12\n\t"                                                                                          \
    "sadd16 r8, r8, r8\n\t"                                                                                           \
    "ssub16 r9, r9, r8\n\t"                                                                                           \
    "str r9, [r4, r5, lsl #1]\n\t"     /* V5 */

/* Contract: c4 >= 1. */
__attribute__((naked, noinline)) static void mk_wino_cols(const mk_wino_cols_args *args)
{
    (void)args;
    __asm__ volatile(
        "push {r4-r11, lr}\n\t"
        "ldm r0, {r0, r2, r3, r5, r6}\n\t"  /* src, ic, q, pos, c4 */
        "add r1, r2, r2, lsl #1\n\t"
        "add r1, r0, r1\n\t"                /* column 3 */
        "add r4, r5, r5, lsl #1\n\t"
        "add r4, r3, r4\n\t"                /* q + 3 pos */
        "add r6, r0, r6, lsl #2\n\t"        /* end of column 0's run */
        "1:\n\t"
        MK_WINO_LANE("")
        "adds r3, #4\n\t"
        "adds r4, #4\n\t"
        MK_WINO_LANE(", ror #8")
        "adds r3, #12\n\t"
        "adds r4, #12\n\t"
        "adds r0, #4\n\t"
        "adds r1, #4\n\t"
        "cmp r0, r6\n\t"
        "bne 1b\n\t"
        "pop {r4-r11, pc}");
}
#else
/* One lane of the transform: x0..x5 the same halfword pair of the six columns; V0..V5 to q[0], q[pos], ... */
static inline void mk_wino_lane(int32_t x0, int32_t x1, int32_t x2, int32_t x3, int32_t x4, int32_t x5, int32_t *q,
                                int32_t pos)
{
    const int32_t p = __ssub16(x4, x2), r = __ssub16(x3, x1), r2 = __sadd16(r, r);
    const int32_t t = __ssub16(x0, x2), t2 = __sadd16(t, t);
    const int32_t u = __sadd16(x1, x2), u2 = __sadd16(u, u);
    const int32_t w = __ssub16(x1, x2), w2 = __sadd16(w, w);
    q[0] = __sadd16(__sadd16(t2, t2), p);
    q[pos] = __ssub16(__sadd16(x4, x3), __sadd16(u2, u2));
    q[2 * pos] = __sadd16(__ssub16(x4, x3), __sadd16(w2, w2));
    q[3 * pos] = __sadd16(p, r2);
    q[4 * pos] = __ssub16(p, r2);
    q[5 * pos] = __ssub16(__ssub16(x5, x3), __sadd16(r2, r2));
}

static void mk_wino_cols(const mk_wino_cols_args *args)
{
    const int8_t *s = args->src;
    const size_t ic = (size_t)args->ic;
    const int32_t pos = args->pos_bytes / 4;
    int32_t *q = args->q;
    for (int32_t j = 0; j < args->c4; ++j, s += 4, q += 4) {
        int32_t d[MK_WINO_POS];
        for (int32_t k = 0; k < MK_WINO_POS; ++k) {
            d[k] = mk_read_s8x4(s + (size_t)k * ic);
        }
        mk_wino_lane(__sxtb16(d[0]), __sxtb16(d[1]), __sxtb16(d[2]), __sxtb16(d[3]), __sxtb16(d[4]), __sxtb16(d[5]),
                     q, pos);
        mk_wino_lane(mk_sxtb16_ror8(d[0]), mk_sxtb16_ror8(d[1]), mk_sxtb16_ror8(d[2]), mk_sxtb16_ror8(d[3]),
                     mk_sxtb16_ror8(d[4]), mk_sxtb16_ror8(d[5]), q + 1, pos);
    }
}
#endif

/* Tile `tile` (raster order over batch, output row, column quad) transformed into rows V0..V5 of its half of the
 * interleaved pair: dst is word 0 (tile a) or word 2 (tile b) of block 0 of V0; positions are `pos` words apart.
 * A filter row whose six columns are not all inside the image is first gathered into `edge` (6 in_c bytes) with
 * the zero point for the columns outside. */
static void mk_wino_tile(const mk_conv_params *p, const int8_t *input, int32_t tile, int32_t tiles_w, int8_t *edge,
                         int32_t *dst, int32_t pos)
{
    const int32_t tx = tile % tiles_w, rest = tile / tiles_w;
    const int32_t oy = rest % p->out_h, b = rest / p->out_h;
    const int32_t ix0 = MK_WINO_TILE * tx - p->pad_left, iy0 = oy * p->stride_h - p->pad_top;
    const int32_t c4 = p->in_c / 4;
    const size_t ic = (size_t)p->in_c;
    const int cols_in = ix0 >= 0 && ix0 + MK_WINO_POS <= p->in_w;
    for (int32_t fy = 0; fy < p->filter_h; ++fy) {
        const int32_t iy = iy0 + fy * p->dilation_h;
        const int row_in = iy >= 0 && iy < p->in_h;
        const int8_t *row = input + ((size_t)b * (size_t)p->in_h + (size_t)(row_in ? iy : 0)) * (size_t)p->in_w * ic;
        mk_wino_cols_args args = {row + (size_t)(cols_in ? ix0 : 0) * ic, p->in_c, dst + 4 * fy * c4, 4 * pos, c4};
        if (!(row_in && cols_in)) {
            for (int32_t k = 0; k < MK_WINO_POS; ++k) {
                const int32_t ix = ix0 + k;
                if (row_in && ix >= 0 && ix < p->in_w) {
                    memcpy(edge + (size_t)k * ic, row + (size_t)ix * ic, ic);
                } else {
                    memset(edge + (size_t)k * ic, -p->input_offset, ic);
                }
            }
            args.src = edge;
        }
        mk_wino_cols(&args);
    }
}

/* Runs n blocks of MK_WIDE_STEP from x and w on a0..a3 (two per iteration, as the wide kernel). */
#define MK_WINO_RUN(n)                                                                                                \
    do {                                                                                                              \
        const int32_t *end_ = x + 4 * (n);                                                                            \
        if ((n) & 1) {                                                                                                \
            MK_WIDE_STEP(w, x);                                                                                       \
        }                                                                                                             \
        while (x != end_) {                                                                                           \
            MK_WIDE_STEP(w, x);                                                                                       \
            MK_WIDE_STEP(w, x);                                                                                       \
        }                                                                                                             \
    } while (0)

/* The six GEMMs of one channel pair against the tile pair: m[j] = the four accumulators of position j, in the
 * order (c, tile a), (c + 1, tile a), (c, tile b), (c + 1, tile b); x runs from V0 through V5 and w through the
 * pair's six positions in one stream, the sums restarting every nb blocks. On DSP cores one assembly function built
 * from the wide kernel's block (mk_dsp_wide.h: an LDM of the tile pair's words and one of the channel pair's, eight
 * SMLAD; 10 instructions per 16 MACs, eight blocks per branch, the first with SMUAD) - GCC's loop around
 * MK_WIDE_STEP took 13 and reloaded the segment state. */
typedef struct {
    const int32_t *x;  /* V0, block 0 */
    const int32_t *w;  /* the pair's weights; advanced past them on return */
    int32_t *m;        /* MK_WINO_POS * 4 accumulators out */
    int32_t seg;       /* bytes of one position: 16 * nb */
    int32_t entry;     /* mk_wide_pairs_entry(nb, MK_WIDE_PAIRS_UNROLL): the block a segment enters the loop at */
} mk_wino_gemm_args;

#if MK_DSP_NATIVE
/* Contract: nb >= 2 (the entry computation). Registers as mk_wide_pairs: r12 = x, lr = w, r0-r7 a block's words,
 * r8-r11 the accumulators; the frame holds the arguments, the output pointer, the segment end and the entry. */
__attribute__((naked, noinline)) static void mk_wino_gemm(mk_wino_gemm_args *args)
{
    (void)args;
    __asm__ volatile(
        "push {r4-r11, lr}\n\t"
        "ldm r0, {r1-r5}\n\t"            /* x, w, m, seg, entry block */
        "adr.w r6, 3f\n\t"
        "movs r7, #40\n\t"
        "mla r5, r5, r7, r6\n\t"
        "orr r5, r5, #1\n\t"             /* a Thumb address for LDR PC */
        "add r6, r1, r4\n\t"             /* end of V0 */
        "add r7, r3, #96\n\t"            /* end of m */
        "mov r12, r1\n\t"
        "mov lr, r2\n\t"
        "push {r0, r3-r7}\n\t"           /* [sp] args, m, seg, entry address, segment end, m end */
        "1:\n\t"
        MK_WIDE_ASM_FIRST(MK_WIDE_ASM_LOAD16)
        "ldr pc, [sp, #12]\n\t"
        ".p2align 2\n\t"
        "3:\n\t"
        MK_WIDE_ASM_NEXT4(MK_WIDE_ASM_LOAD16) MK_WIDE_ASM_NEXT4(MK_WIDE_ASM_LOAD16)
        "ldr r0, [sp, #16]\n\t"
        "cmp r12, r0\n\t"
        "bne 3b\n\t"
        "ldrd r1, r2, [sp, #4]\n\t"      /* m, seg */
        "stmia r1!, {r8-r11}\n\t"
        "add r0, r0, r2\n\t"
        "ldr r3, [sp, #20]\n\t"
        "strd r1, r2, [sp, #4]\n\t"
        "str r0, [sp, #16]\n\t"
        "cmp r1, r3\n\t"
        "bne 1b\n\t"
        "ldr r0, [sp]\n\t"
        "str lr, [r0, #4]\n\t"           /* args->w */
        "add sp, #24\n\t"
        "pop {r4-r11, pc}");
}
#endif

/* The output transform of one (channel, tile) column of the six GEMM results m[j][i]: 3 y0..3 y3 into y[0..3][i]
 * (modulo 2^32: the sums may wrap, the results are exact). */
static inline void mk_wino_output(const int32_t m[MK_WINO_POS][4], int32_t i, int32_t y[MK_WINO_TILE][4])
{
    const uint32_t m1 = (uint32_t)m[1][i], m2 = (uint32_t)m[2][i], m3 = (uint32_t)m[3][i], m4 = (uint32_t)m[4][i];
    const uint32_t s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;
    y[0][i] = (int32_t)((uint32_t)m[0][i] + s12 + s34) >> 3;
    y[1][i] = (int32_t)(d12 + 2u * d34) >> 3;
    y[2][i] = (int32_t)(s12 + 4u * s34) >> 3;
    y[3][i] = (int32_t)(d12 + 8u * d34 + (uint32_t)m[5][i]) >> 3;
}

/* Store the four packed int8 results: bytes {c a, c+1 a, c b, c+1 b} to out_a + oc and out_b + oc (NULL: no such
 * pixel; last: the odd channel count's padding channel dropped). */
static inline void mk_wino_store(uint32_t v, int8_t *out_a, int8_t *out_b, int32_t oc, int last)
{
    if (out_a != NULL) {
        if (!last) {
            const uint16_t h = (uint16_t)v;
            memcpy(out_a + oc, &h, 2);
        } else {
            out_a[oc] = (int8_t)v;
        }
    }
    if (out_b != NULL) {
        if (!last) {
            const uint16_t h = (uint16_t)(v >> 16);
            memcpy(out_b + oc, &h, 2);
        } else {
            out_b[oc] = (int8_t)(v >> 16);
        }
    }
}

/* Output pixels of tile `tile`: out[k] = the k-th pixel of the tile, NULL past the row's end. */
static void mk_wino_pixels(const mk_conv_params *p, int8_t *output, int32_t tile, int32_t tiles_w,
                           int8_t *out[MK_WINO_TILE])
{
    const int32_t row = tile / tiles_w, x0 = MK_WINO_TILE * (tile % tiles_w);
    int8_t *base = output + ((size_t)row * (size_t)p->out_w + (size_t)x0) * (size_t)p->out_c;
    for (int32_t k = 0; k < MK_WINO_TILE; ++k) {
        out[k] = x0 + k < p->out_w ? base + (size_t)k * (size_t)p->out_c : NULL;
    }
}

mk_status mk_conv_wino_s8_dsp(const mk_conv_params *p, const int8_t *input, const int32_t *weights,
                              const int32_t *table, int8_t *output, int8_t *scratch)
{
    if (p->filter_in_c != p->in_c || p->in_c < 4 || p->in_c % 4 != 0 || p->filter_w != 3 || p->stride_w != 1 ||
        p->dilation_w != 1 || scratch == NULL || table == NULL || p->act_min < -128 || p->act_max > 127) {
        return MK_ERR_ARG;
    }
    const int32_t nb = mk_wino_blocks(p);
    const int32_t pos = 4 * nb; /* words between the positions V0..V5 */
    int32_t *v = (int32_t *)(void *)scratch;
    int8_t *edge = scratch + (size_t)nb * (16u * MK_WINO_POS);
    const int32_t lo4 = mk_splat8(p->act_min), hi4 = mk_splat8(p->act_max);
    const int32_t clamp = p->act_min > -128 || p->act_max < 127;
    const int32_t out_c = p->out_c;
    const int32_t tiles_w = (p->out_w + MK_WINO_TILE - 1) / MK_WINO_TILE;
    const int32_t tiles = p->batches * p->out_h * tiles_w;
    static int8_t *const none[MK_WINO_TILE] = {NULL, NULL, NULL, NULL};
    for (int32_t tile = 0; tile < tiles; tile += 2) {
        const int two = tile + 1 < tiles;
        int8_t *pa[MK_WINO_TILE], *pb[MK_WINO_TILE];
        mk_wino_tile(p, input, tile, tiles_w, edge, v, pos);
        mk_wino_tile(p, input, two ? tile + 1 : tile, tiles_w, edge, v + 2, pos);
        mk_wino_pixels(p, output, tile, tiles_w, pa);
        if (two) {
            mk_wino_pixels(p, output, tile + 1, tiles_w, pb);
        } else {
            memcpy(pb, none, sizeof pb);
        }
        const int32_t *w = weights;
        const int32_t *t = table;
        for (int32_t oc = 0; oc < out_c; oc += 2) {
            int32_t m[MK_WINO_POS][4];
#if MK_DSP_NATIVE
            if (nb >= 2) {
                mk_wino_gemm_args args = {v, w, &m[0][0], 16 * nb, mk_wide_pairs_entry(nb, MK_WIDE_PAIRS_UNROLL)};
                mk_wino_gemm(&args);
                w = args.w;
            } else
#endif
            {
                const int32_t *x = v;
                for (int32_t j = 0; j < MK_WINO_POS; ++j) {
                    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                    MK_WINO_RUN(nb);
                    m[j][0] = a0;
                    m[j][1] = a1;
                    m[j][2] = a2;
                    m[j][3] = a3;
                }
            }
            int32_t y[MK_WINO_TILE][4];
            for (int32_t i = 0; i < 4; ++i) {
                mk_wino_output(m, i, y);
            }
            const int last = oc + 1 >= out_c;
            const int32_t *t0 = t;
            for (int32_t k = 0; k < MK_WINO_TILE; ++k) {
                t = t0;
                const uint32_t r = mk_wide_epilogue(y[k][0], y[k][1], y[k][2], y[k][3], &t);
                mk_wino_store(r, pa[k], pb[k], oc, last);
            }
        }
    }
    if (clamp) { /* ReLU-style ranges: one pass over the outputs, as the wide kernel */
        mk_wide_clamp(output, (size_t)p->batches * (size_t)p->out_h * (size_t)p->out_w * (size_t)out_c, lo4, hi4);
    }
    return MK_OK;
}
