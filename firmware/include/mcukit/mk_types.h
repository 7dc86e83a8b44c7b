/* mcukit firmware: basic types shared by kernels, runtime and generated models. C99, no heap. */
#ifndef MK_TYPES_H
#define MK_TYPES_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    MK_OK = 0,
    MK_ERR_ARG = -1,   /* a parameter the kernel cannot handle (caught by Python prepare; never in generated code) */
} mk_status;

#define MK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define MK_MAX(a, b) ((a) > (b) ? (a) : (b))
#define MK_CLAMP(x, lo, hi) MK_MIN(MK_MAX((x), (lo)), (hi))

/* Constant arrays (weights, multipliers) are 16-byte aligned so DSP/MVE loads never straddle. */
#if defined(__GNUC__)
#define MK_ALIGNED(n) __attribute__((aligned(n)))
#else
#define MK_ALIGNED(n)
#endif

#endif /* MK_TYPES_H */
