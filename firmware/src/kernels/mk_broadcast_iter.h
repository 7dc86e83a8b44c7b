/* Private to the ADD/MUL kernels: walks an mk_broadcast description one innermost row at a time, so the kernels'
 * hot loop is a plain strided loop and the odometer runs once per row, not per element. */
#ifndef MK_BROADCAST_ITER_H
#define MK_BROADCAST_ITER_H

#include "mcukit/mk_elementwise.h"

typedef struct {
    int32_t index[MK_BROADCAST_MAX_DIMS];
    int32_t offset1, offset2;   /* element offsets of the current row's start in input 1 and input 2 */
} mk_broadcast_iter;

static inline void mk_broadcast_begin(mk_broadcast_iter *it)
{
    for (int k = 0; k < MK_BROADCAST_MAX_DIMS; ++k) {
        it->index[k] = 0;
    }
    it->offset1 = 0;
    it->offset2 = 0;
}

/* Advance to the next row; returns 0 after the last one. */
static inline int mk_broadcast_next(const mk_broadcast *b, mk_broadcast_iter *it)
{
    for (int k = b->dims - 2; k >= 0; --k) {
        it->index[k] += 1;
        it->offset1 += b->stride1[k];
        it->offset2 += b->stride2[k];
        if (it->index[k] < b->shape[k]) {
            return 1;
        }
        it->offset1 -= b->stride1[k] * b->shape[k];
        it->offset2 -= b->stride2[k] * b->shape[k];
        it->index[k] = 0;
    }
    return 0;
}

static inline int mk_broadcast_valid(const mk_broadcast *b)
{
    if (b->dims < 1 || b->dims > MK_BROADCAST_MAX_DIMS) {
        return 0;
    }
    for (int k = 0; k < b->dims; ++k) {
        if (b->shape[k] < 1) {
            return 0;
        }
    }
    return 1;
}

#endif /* MK_BROADCAST_ITER_H */
