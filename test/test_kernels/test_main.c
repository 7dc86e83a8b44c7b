/* Kernel self-test: every int8 kernel family against golden vectors from the reference interpreter
 * (mk_golden_kernels.h, made by test/gen_golden.py from stored single-op models). One TEST line per case, named
 * after the model (conv_000, add_02, ...), plus guard checks: the kernel returns MK_OK and writes nothing past
 * its output. */
#include "mcukit/mk_hal.h"
#include "mk_golden_kernels.h"
#include "mk_test.h"

#define GUARD_BYTES 16
#define CANARY ((int8_t)0x5A)

/* Output buffer with a guard zone; word-aligned like the arena slices generated code passes. */
static int8_t s_out[MK_GOLDEN_MAX_OUTPUT + GUARD_BYTES] __attribute__((aligned(16)));
static const mk_golden_case *s_case;

static void run_case(void) {
    const mk_golden_case *c = s_case;
    for (size_t i = 0; i < sizeof s_out; ++i) s_out[i] = CANARY;
    const mk_status status = c->run(s_out);
    MK_CHECK_EQ(status, MK_OK);
    mk_test_check_bytes(s_out, c->want, (size_t)c->size, __FILE__, __LINE__, "output vs golden");
    int untouched = 1;
    for (size_t i = (size_t)c->size; i < (size_t)c->size + GUARD_BYTES; ++i) untouched &= s_out[i] == CANARY;
    MK_CHECK(untouched /* no write past the output */);
}

static void kernels_cover_every_family(void) {
    /* Guards the generator: a family silently dropped from KERNEL_CASES would otherwise just go untested. */
    static const char *const families[] = {"conv", "depthwise", "fc", "pool", "mean", "add", "mul", "softmax",
                                           "lut"};
    const size_t n_cases = sizeof mk_golden_cases / sizeof mk_golden_cases[0];
    for (size_t f = 0; f < sizeof families / sizeof families[0]; ++f) {
        int found = 0;
        for (size_t i = 0; i < n_cases; ++i) {
            const char *a = mk_golden_cases[i].family, *b = families[f];
            while (*a != '\0' && *a == *b) ++a, ++b;
            found |= *a == '\0' && *b == '\0';
        }
        if (!MK_CHECK(found)) {
            mk_test_note("family_index", (int64_t)f);
            return;
        }
    }
}

int mk_main(void) {
    mk_hal_init();
    mk_test_begin("kernels");
    MK_RUN(kernels_cover_every_family);
    for (size_t i = 0; i < sizeof mk_golden_cases / sizeof mk_golden_cases[0]; ++i) {
        s_case = &mk_golden_cases[i];
        mk_test_run(s_case->name, run_case);
    }
    return mk_test_end();
}
