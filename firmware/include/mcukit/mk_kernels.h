/* All mcukit kernels. Each family header documents its kernels' contracts at the declarations. */
#ifndef MK_KERNELS_H
#define MK_KERNELS_H

#include "mcukit/mk_types.h"
#include "mcukit/mk_requant.h"

#endif /* MK_KERNELS_H */
