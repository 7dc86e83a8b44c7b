/* All mcukit kernels. Each family header documents its kernels' contracts at the declarations. */
#ifndef MK_KERNELS_H
#define MK_KERNELS_H

#include "mcukit/mk_types.h"
#include "mcukit/mk_requant.h"
#include "mcukit/mk_conv.h"
#include "mcukit/mk_elementwise.h"
#include "mcukit/mk_activation.h"
#include "mcukit/mk_pool.h"
#include "mcukit/mk_shape.h"
#include "mcukit/mk_kernels_dsp.h"
#include "mcukit/mk_kernels_mve.h"

#endif /* MK_KERNELS_H */
