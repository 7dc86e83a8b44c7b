/* CONV_2D with 3-wide filters at stride 1 along the width, as Winograd F(2, 3) along each filter row: two
 * neighbouring outputs of a row from 4 products per tap row and channel instead of 6. The arithmetic is integer
 * and exact, so the accumulators equal the direct convolution's bit for bit.
 *
 * The identity (d0..d3: four neighbouring input columns, g0..g2: the three taps of one filter row):
 *   m0 = (d0 - d2) 2 g0,  m1 = (d1 + d2)(g0 + g1 + g2),  m2 = (d2 - d1)(g0 - g1 + g2),  m3 = (d1 - d3) 2 g2
 *   m0 + m1 + m2 = 2 (d0 g0 + d1 g1 + d2 g2),   m1 - m2 - m3 = 2 (d1 g0 + d2 g1 + d3 g2)
 * Summed over the filter rows and input channels, each m_j is one GEMM row of k = filter_h * in_c products: the
 * code generator stores the transformed weights U_j (2 g0, g0 + g1 + g2, g0 - g1 + g2, -2 g2: the last negated so
 * that the loop only adds) as int16 in the wide layout, and this kernel transforms the input windows of two tiles
 * (a tile = two neighbouring output pixels of a row) into the matching int16 rows V_j in `scratch`, then runs the
 * wide GEMM step (mk_dsp_wide.h) over all four positions in one stream per channel pair, keeping the sums it needs:
 *   after V0: R = m0;  after V1: P = m0 + m1;  after V2: the sum is m0 + m1 + m2 = 2 y0;  then the sum restarts
 *   at 2P - R - 2 y0 = m1 - m2, and V3 with -U3 subtracts m3: 2 y1.
 * The doubled sums go straight into the wide epilogue with a table whose scale 2^lsh is halved (lsh >= 1 always):
 * (2 y) 2^(lsh - 1) = y 2^lsh, no extra shift.
 *
 * Bounds: raw int8 inputs (the input offset is folded into the bias; padded taps are the zero point, as in the
 * wide kernel), so |V| <= 256 and |U| <= 384 fit int16; 2 y fits int32 because the table's precondition bounds
 * y 2^lsh by 2^30. Sums in between may wrap: the arithmetic is modulo 2^32 and the result is exact.
 *
 * Access order: two tiles (four output pixels, possibly across a row end) are transformed into scratch, then all
 * their outputs are written channel pair by channel pair: in place, output pixel p is written while no window
 * after p + 3 has been read. scratch: mk_conv_wino_s8_dsp_scratch_bytes(p). */
#include "mcukit/mk_kernels_dsp.h"
#include "mk_dsp_dot.h"
#include "mk_dsp_wide.h"

/* Blocks of 4 k-elements in one transformed row: filter_h * in_c / 4 (in_c is a multiple of 4). */
static int32_t mk_wino_blocks(const mk_conv_params *p)
{
    return p->filter_h * (p->in_c / 4);
}

size_t mk_conv_wino_s8_dsp_scratch_bytes(const mk_conv_params *p)
{
    /* four positions, each an interleaved pair of tiles: 16 bytes per block */
    return (size_t)mk_wino_blocks(p) * 64u;
}

/* One block of 4 channels of the transform: the words d0..d3 of four neighbouring columns -> the halfword pairs of
 * V0..V3 (e = channels 0, 2 of the block, o = 1, 3: SXTB16 order) at q0..q3. */
static inline __attribute__((always_inline)) void mk_wino_block(int32_t d0, int32_t d1, int32_t d2, int32_t d3,
                                                               int32_t *q0, int32_t *q1, int32_t *q2, int32_t *q3)
{
    const int32_t e1 = __sxtb16(d1), o1 = mk_sxtb16_ror8(d1), e2 = __sxtb16(d2), o2 = mk_sxtb16_ror8(d2);
    q0[0] = __ssub16(__sxtb16(d0), e2);
    q0[1] = __ssub16(mk_sxtb16_ror8(d0), o2);
    q1[0] = __sadd16(e1, e2);
    q1[1] = __sadd16(o1, o2);
    q2[0] = __ssub16(e2, e1);
    q2[1] = __ssub16(o2, o1);
    q3[0] = __ssub16(e1, __sxtb16(d3));
    q3[1] = __ssub16(o1, mk_sxtb16_ror8(d3));
}

/* Tile `tile` (raster order over batch, output row, column pair) transformed into rows V0..V3 of its half of the
 * interleaved pair: dst is word 0 (tile a) or word 2 (tile b) of block 0 of V0; positions are `pos` words apart.
 * Columns outside the image read the zero point (pad4: a word of it), which then does not advance. */
static void mk_wino_tile(const mk_conv_params *p, const int8_t *input, int32_t tile, int32_t tiles_w,
                         const int8_t *pad4, int32_t *dst, int32_t pos)
{
    const int32_t tx = tile % tiles_w, rest = tile / tiles_w;
    const int32_t oy = rest % p->out_h, b = rest / p->out_h;
    const int32_t ix0 = 2 * tx - p->pad_left, iy0 = oy * p->stride_h - p->pad_top;
    const int32_t c4 = p->in_c / 4;
    const size_t ic = (size_t)p->in_c;
    const int cols_in = ix0 >= 0 && ix0 + 3 < p->in_w;
    for (int32_t fy = 0; fy < p->filter_h; ++fy) {
        const int32_t iy = iy0 + fy * p->dilation_h;
        const int row_in = iy >= 0 && iy < p->in_h;
        const int8_t *row = input + ((size_t)b * (size_t)p->in_h + (size_t)(row_in ? iy : 0)) * (size_t)p->in_w * ic;
        int32_t *q0 = dst + 4 * fy * c4, *q1 = q0 + pos, *q2 = q1 + pos, *q3 = q2 + pos;
        if (row_in && cols_in) { /* the common case: four whole columns, one pointer each */
            const int8_t *s0 = row + (size_t)ix0 * ic, *s1 = s0 + ic, *s2 = s1 + ic, *s3 = s2 + ic;
            for (int32_t j = 0; j < c4; ++j, s0 += 4, s1 += 4, s2 += 4, s3 += 4, q0 += 4, q1 += 4, q2 += 4, q3 += 4) {
                mk_wino_block(mk_read_s8x4(s0), mk_read_s8x4(s1), mk_read_s8x4(s2), mk_read_s8x4(s3), q0, q1, q2, q3);
            }
            continue;
        }
        const int8_t *c[4];
        int32_t step[4];
        for (int32_t j = 0; j < 4; ++j) {
            const int32_t ix = ix0 + j;
            const int in = row_in && ix >= 0 && ix < p->in_w;
            c[j] = in ? row + (size_t)ix * ic : pad4;
            step[j] = in ? 4 : 0;
        }
        for (int32_t j = 0; j < c4; ++j, q0 += 4, q1 += 4, q2 += 4, q3 += 4) {
            mk_wino_block(mk_read_s8x4(c[0]), mk_read_s8x4(c[1]), mk_read_s8x4(c[2]), mk_read_s8x4(c[3]), q0, q1, q2,
                          q3);
            c[0] += step[0];
            c[1] += step[1];
            c[2] += step[2];
            c[3] += step[3];
        }
    }
}

/* 2P - R - S modulo 2^32 (the sums may wrap; the result is exact). */
static inline int32_t mk_wino_restart(int32_t p, int32_t r, int32_t s)
{
    return (int32_t)(2u * (uint32_t)p - (uint32_t)r - (uint32_t)s);
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

/* Clamp the four packed int8 results to [lo, hi] (ReLU-style ranges) and store them: bytes {c a, c+1 a, c b, c+1 b}
 * to out_a + oc and out_b + oc (out_b NULL: no pixel b; last: the odd channel count's padding channel dropped). */
static inline void mk_wino_store(uint32_t v, int32_t clamp, int32_t lo4, int32_t hi4, int8_t *out_a, int8_t *out_b,
                                 int32_t oc, int last)
{
    if (clamp) {
        v = (uint32_t)mk_min8(mk_max8((int32_t)v, lo4), hi4);
    }
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

mk_status mk_conv_wino_s8_dsp(const mk_conv_params *p, const int8_t *input, const int32_t *weights,
                              const int32_t *table, int8_t *output, int8_t *scratch)
{
    if (p->filter_in_c != p->in_c || p->in_c < 4 || p->in_c % 4 != 0 || p->filter_w != 3 || p->stride_w != 1 ||
        p->dilation_w != 1 || scratch == NULL || table == NULL || p->act_min < -128 || p->act_max > 127) {
        return MK_ERR_ARG;
    }
    const int32_t nb = mk_wino_blocks(p);
    const int32_t pos = 4 * nb;  /* words between the positions V0..V3 */
    int32_t *v = (int32_t *)(void *)scratch;
    const int32_t pad4 = mk_splat8(-p->input_offset);
    const int32_t lo4 = mk_splat8(p->act_min), hi4 = mk_splat8(p->act_max);
    const int32_t clamp = p->act_min > -128 || p->act_max < 127;
    const int32_t out_c = p->out_c, out_w = p->out_w;
    const int32_t tiles_w = (out_w + 1) / 2;
    const int32_t tiles = p->batches * p->out_h * tiles_w;
    for (int32_t tile = 0; tile < tiles; tile += 2) {
        const int two = tile + 1 < tiles;
        mk_wino_tile(p, input, tile, tiles_w, (const int8_t *)&pad4, v, pos);
        mk_wino_tile(p, input, two ? tile + 1 : tile, tiles_w, (const int8_t *)&pad4, v + 2, pos);
        /* output pixels: tile a at (row, 2 tx) and its right neighbour unless the row is odd and this its end */
        int8_t *pa0, *pa1 = NULL, *pb0 = NULL, *pb1 = NULL;
        {
            const int32_t row = tile / tiles_w, tx = tile % tiles_w;
            pa0 = output + ((size_t)row * (size_t)out_w + (size_t)(2 * tx)) * (size_t)out_c;
            if (2 * tx + 1 < out_w) {
                pa1 = pa0 + out_c;
            }
        }
        if (two) {
            const int32_t row = (tile + 1) / tiles_w, tx = (tile + 1) % tiles_w;
            pb0 = output + ((size_t)row * (size_t)out_w + (size_t)(2 * tx)) * (size_t)out_c;
            if (2 * tx + 1 < out_w) {
                pb1 = pb0 + out_c;
            }
        }
        const int32_t *w = weights;
        const int32_t *t = table;
        for (int32_t oc = 0; oc < out_c; oc += 2) {
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            const int32_t *x = v;
            MK_WINO_RUN(nb);
            const int32_t r0 = a0, r1 = a1, r2 = a2, r3 = a3;  /* m0 */
            MK_WINO_RUN(nb);
            const int32_t p0 = a0, p1 = a1, p2 = a2, p3 = a3;  /* m0 + m1 */
            MK_WINO_RUN(nb);
            const int32_t y0 = a0, y1 = a1, y2 = a2, y3 = a3;  /* 2 y0 = m0 + m1 + m2 */
            a0 = mk_wino_restart(p0, r0, y0);
            a1 = mk_wino_restart(p1, r1, y1);
            a2 = mk_wino_restart(p2, r2, y2);
            a3 = mk_wino_restart(p3, r3, y3);
            MK_WINO_RUN(nb);  /* + (-U3) V3: 2 y1 */
            const int32_t *t0 = t;
            const uint32_t left = mk_wide_epilogue(y0, y1, y2, y3, &t);
            t = t0;
            const uint32_t right = mk_wide_epilogue(a0, a1, a2, a3, &t);
            const int last = oc + 1 >= out_c;
            mk_wino_store(left, clamp, lo4, hi4, pa0, pb0, oc, last);
            mk_wino_store(right, clamp, lo4, hi4, pa1, pb1, oc, last);
        }
    }
    return MK_OK;
}
