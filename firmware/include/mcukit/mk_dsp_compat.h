/* The Arm C Language Extensions' SIMD32/DSP intrinsics used by the kernels in firmware/src/kernels/dsp/, with a
 * portable C emulation for every other target.
 *
 * Why: the DSP kernels must be bit-exact with the portable ones, and the fast way to show that is to run the very
 * same source through the host compiler against the stored model sweep (tests/host/test_dsp_kernels.py). On a
 * core with the DSP extension (__ARM_FEATURE_DSP: Cortex-M4/M7/M33/M55) the real <arm_acle.h> is used and each
 * call is one instruction; everywhere else (host gcc, Cortex-M0/M3) the functions below compute the same bits.
 * The emulations follow the Arm ARM pseudocode of each instruction, including its wrap-around: SMLAD's
 * accumulation and SXTAB16's halfword additions are modular (SMLAD only sets the sticky Q flag on overflow).
 *
 * Only the intrinsics the kernels use are here. MK_DSP_NATIVE tells which path was taken (1 = instructions).
 */
#ifndef MK_DSP_COMPAT_H
#define MK_DSP_COMPAT_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32) && !defined(MK_DSP_FORCE_EMULATION)
#define MK_DSP_NATIVE 1
#include <arm_acle.h>
#else
#define MK_DSP_NATIVE 0

/* Halfword k (0 = bottom) of a packed pair, sign-extended. */
static inline int32_t mk_compat_h(uint32_t x, int k)
{
    return (int32_t)(int16_t)(uint16_t)(x >> (16 * k));
}

/* Byte k (0 = lowest) of a packed word, sign-extended. */
static inline int32_t mk_compat_b(uint32_t x, int k)
{
    return (int32_t)(int8_t)(uint8_t)(x >> (8 * k));
}

static inline uint32_t mk_compat_pack16(int32_t lo, int32_t hi)
{
    return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}

/* SXTB16: bytes 0 and 2 sign-extended into the two halfwords. */
static inline int32_t __sxtb16(int32_t a)
{
    const uint32_t x = (uint32_t)a;
    return (int32_t)mk_compat_pack16(mk_compat_b(x, 0), mk_compat_b(x, 2));
}

/* SXTAB16: halfwords of a plus bytes 0 and 2 of b sign-extended, each modulo 2^16. */
static inline int32_t __sxtab16(int32_t a, int32_t b)
{
    const uint32_t x = (uint32_t)a, y = (uint32_t)b;
    return (int32_t)mk_compat_pack16(mk_compat_h(x, 0) + mk_compat_b(y, 0), mk_compat_h(x, 1) + mk_compat_b(y, 2));
}

/* SMLAD: c + a.lo * b.lo + a.hi * b.hi, modulo 2^32. */
static inline int32_t __smlad(int32_t a, int32_t b, int32_t c)
{
    const uint32_t x = (uint32_t)a, y = (uint32_t)b;
    const uint32_t p0 = (uint32_t)(mk_compat_h(x, 0) * mk_compat_h(y, 0));
    const uint32_t p1 = (uint32_t)(mk_compat_h(x, 1) * mk_compat_h(y, 1));
    return (int32_t)((uint32_t)c + p0 + p1);
}

/* SMLABB / SMLATT: c + (bottom|top halfword of a) * (same halfword of b), modulo 2^32. */
static inline int32_t __smlabb(int32_t a, int32_t b, int32_t c)
{
    return (int32_t)((uint32_t)c + (uint32_t)(mk_compat_h((uint32_t)a, 0) * mk_compat_h((uint32_t)b, 0)));
}

static inline int32_t __smlatt(int32_t a, int32_t b, int32_t c)
{
    return (int32_t)((uint32_t)c + (uint32_t)(mk_compat_h((uint32_t)a, 1) * mk_compat_h((uint32_t)b, 1)));
}

/* SSAT: clamp to the signed range of `bits` bits (a macro in ACLE because the width must be a constant). */
static inline int32_t mk_compat_ssat(int32_t x, int bits)
{
    const int32_t hi = (int32_t)((1u << (bits - 1)) - 1u);
    const int32_t lo = -hi - 1;
    return x < lo ? lo : (x > hi ? hi : x);
}
#define __ssat(x, bits) mk_compat_ssat((x), (bits))

/* QADD8: four saturating signed byte additions. */
static inline int32_t __qadd8(int32_t a, int32_t b)
{
    uint32_t out = 0;
    for (int k = 0; k < 4; ++k) {
        const int32_t s = mk_compat_ssat(mk_compat_b((uint32_t)a, k) + mk_compat_b((uint32_t)b, k), 8);
        out |= ((uint32_t)s & 0xFFu) << (8 * k);
    }
    return (int32_t)out;
}

/* SSUB8 sets the APSR.GE bits (one per byte: a >= b) that SEL then reads. The emulation keeps them in a per-file
 * variable, which is exact as long as __sel follows its __ssub8 with nothing in between that changes GE - the
 * same rule the instructions impose. */
static uint32_t mk_compat_ge __attribute__((unused));

static inline int32_t __ssub8(int32_t a, int32_t b)
{
    uint32_t out = 0, ge = 0;
    for (int k = 0; k < 4; ++k) {
        const int32_t d = mk_compat_b((uint32_t)a, k) - mk_compat_b((uint32_t)b, k);
        out |= ((uint32_t)d & 0xFFu) << (8 * k);
        ge |= (d >= 0 ? 1u : 0u) << k;
    }
    mk_compat_ge = ge;
    return (int32_t)out;
}

/* SEL: byte k from a where GE[k] is set, else from b. */
static inline uint32_t __sel(uint32_t a, uint32_t b)
{
    uint32_t out = 0;
    for (int k = 0; k < 4; ++k) {
        const uint32_t m = 0xFFu << (8 * k);
        out |= ((mk_compat_ge >> k) & 1u) ? (a & m) : (b & m);
    }
    return out;
}

/* QADD16: two saturating signed halfword additions. */
static inline int32_t __qadd16(int32_t a, int32_t b)
{
    const uint32_t x = (uint32_t)a, y = (uint32_t)b;
    return (int32_t)mk_compat_pack16(mk_compat_ssat(mk_compat_h(x, 0) + mk_compat_h(y, 0), 16),
                                     mk_compat_ssat(mk_compat_h(x, 1) + mk_compat_h(y, 1), 16));
}

/* UXTB16: bytes 0 and 2 zero-extended into the two halfwords. */
static inline int32_t __uxtb16(int32_t a)
{
    return (int32_t)((uint32_t)a & 0x00FF00FFu);
}

/* SADD16: two modular halfword sums; GE bits as SSUB16's (set where a sum is >= 0). */
static inline int32_t __sadd16(int32_t a, int32_t b)
{
    const uint32_t x = (uint32_t)a, y = (uint32_t)b;
    const int32_t s0 = mk_compat_h(x, 0) + mk_compat_h(y, 0), s1 = mk_compat_h(x, 1) + mk_compat_h(y, 1);
    mk_compat_ge = (s0 >= 0 ? 3u : 0u) | (s1 >= 0 ? 12u : 0u);
    return (int32_t)mk_compat_pack16(s0, s1);
}

/* SSUB16: two modular halfword differences; GE[1:0] from the bottom one (a >= b), GE[3:2] from the top one, so
 * SEL then picks whole halfwords. */
static inline int32_t __ssub16(int32_t a, int32_t b)
{
    const uint32_t x = (uint32_t)a, y = (uint32_t)b;
    const int32_t d0 = mk_compat_h(x, 0) - mk_compat_h(y, 0), d1 = mk_compat_h(x, 1) - mk_compat_h(y, 1);
    mk_compat_ge = (d0 >= 0 ? 3u : 0u) | (d1 >= 0 ? 12u : 0u);
    return (int32_t)mk_compat_pack16(d0, d1);
}
#endif /* DSP instructions or emulation */

/* Rotate right: GCC's <arm_acle.h> has no __ror, and this pattern compiles to one ROR (or folds into the
 * rotated operand of SXTB16/SXTAB16). r in 1..31. */
static inline int32_t mk_ror(int32_t x, unsigned r)
{
    const uint32_t u = (uint32_t)x;
    return (int32_t)((u >> r) | (u << (32u - r)));
}

/* SXTB16 / SXTAB16 of the operand rotated right by 8, i.e. of bytes 1 and 3. The instructions have this rotated
 * form for free, but GCC 12 does not fold a C rotate into them (measured on the M4: one extra ROR per widening,
 * a quarter of the dot-product loop), so on DSP cores they are written as one instruction each. */
#if MK_DSP_NATIVE
static inline int32_t mk_sxtb16_ror8(int32_t x)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

static inline int32_t mk_sxtab16_ror8(int32_t a, int32_t x)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}
#else
static inline int32_t mk_sxtb16_ror8(int32_t x)
{
    return __sxtb16(mk_ror(x, 8));
}

static inline int32_t mk_sxtab16_ror8(int32_t a, int32_t x)
{
    return __sxtab16(a, mk_ror(x, 8));
}
#endif

/* Four int8 as one 32-bit word from any address: memcpy becomes a single LDR on cores that allow unaligned word
 * loads (ARMv7E-M, ARMv8-M Mainline), and stays correct everywhere else. */
static inline int32_t mk_read_s8x4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void mk_write_s8x4(int8_t *p, int32_t v)
{
    memcpy(p, &v, sizeof v);
}

/* Both halfwords set to v (v in int16 range): the operand SXTAB16 adds to a pair of sign-extended bytes. */
static inline int32_t mk_pair16(int32_t v)
{
    return (int32_t)(((uint32_t)v & 0xFFFFu) | ((uint32_t)v << 16));
}

/* All four bytes set to the low byte of v: an int8 bound (act_min, act_max, a zero point) for the per-byte ops. */
static inline int32_t mk_splat8(int32_t v)
{
    return (int32_t)(((uint32_t)v & 0xFFu) * 0x01010101u);
}

/* Per-byte signed max(a, b) and min(a, b): SSUB8 sets GE where a >= b, SEL picks by it. Clamping four int8 to
 * [lo, hi] is mk_min8(mk_max8(v, mk_splat8(lo)), mk_splat8(hi)). */
static inline int32_t mk_max8(int32_t a, int32_t b)
{
    (void)__ssub8(a, b);
    return (int32_t)__sel((uint32_t)a, (uint32_t)b);
}

static inline int32_t mk_min8(int32_t a, int32_t b)
{
    (void)__ssub8(a, b);
    return (int32_t)__sel((uint32_t)b, (uint32_t)a);
}

#endif /* MK_DSP_COMPAT_H */
