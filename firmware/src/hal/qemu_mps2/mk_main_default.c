/* Default main() for the QEMU HAL: runs the HAL-independent entry point mk_main() (see mk_hal.h). Weak, so a
 * program that defines its own main() wins; mk_main is referenced weakly so such a program need not define it. */
#include "mcukit/mk_hal.h"

extern int mk_main(void) __attribute__((weak));

__attribute__((weak)) int main(void) {
    if (mk_main) {
        return mk_main();
    }
    return 0;
}
