/* The single-rounding build of mk_requantize_fc (MK_SINGLE_ROUNDING=1, TFLite's TFLITE_SINGLE_ROUNDING), compiled
 * in its own translation unit because the flag selects the inline function's body at compile time. */
#define MK_SINGLE_ROUNDING 1
#include "mcukit/mk_requant.h"
#include "mk_golden_requant.h"

int test_requant_single_rounding_table(void);

int test_requant_single_rounding_table(void) {
    for (size_t i = 0; i < sizeof mk_golden_requant / sizeof mk_golden_requant[0]; ++i) {
        volatile int32_t x = mk_golden_requant[i][0];
        if (mk_requantize_fc(x, mk_golden_requant[i][1], mk_golden_requant[i][2]) != mk_golden_requant[i][4]) {
            return (int)i;
        }
    }
    return -1;
}
