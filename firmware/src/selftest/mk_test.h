/* mk_test: the firmware self-tests' tiny test framework (no heap, no printf, C99).
 *
 * A test program defines mk_main(), calls mk_test_begin(), runs test functions with MK_RUN(fn) and returns
 * mk_test_end(). Everything goes to the board's link (mk_hal_write) as lines a host parses
 * (test/test_custom_runner.py for `pio test`):
 *
 *     SELFTEST BEGIN <suite> board=<board>
 *     TEST <name> PASS
 *     TEST <name> FAIL <file>:<line> <what failed> (<details>)
 *     SELFTEST END suite=<suite> tests=<n> failures=<f>
 *
 * Names never contain spaces. A test fails when any check in it fails; only the first failed check is described
 * (the rest usually follow from it) and the count of failed checks is appended. mk_test_end() returns the number
 * of failed tests, capped at 100, which mk_main returns so the firmware's exit status is the failure count. */
#ifndef MK_TEST_H
#define MK_TEST_H

#include "mcukit/mk_types.h"

void mk_test_begin(const char *suite);
/* Run one test function as test `name`. */
void mk_test_run(const char *name, void (*fn)(void));
/* Print the summary line; returns the number of failed tests (<= 100). */
int mk_test_end(void);

/* Checks: each returns 1 when it passed, so a test can stop early (`if (!MK_CHECK(...)) return;`). */
int mk_test_check(int ok, const char *file, int line, const char *expr);
int mk_test_check_eq(int64_t got, int64_t want, const char *file, int line, const char *expr);
/* n bytes equal; on failure describes the first differing index and how many differ. */
int mk_test_check_bytes(const void *got, const void *want, size_t n, const char *file, int line, const char *what);

#define MK_CHECK(cond) mk_test_check((cond) != 0, __FILE__, __LINE__, #cond)
#define MK_CHECK_EQ(got, want) mk_test_check_eq((int64_t)(got), (int64_t)(want), __FILE__, __LINE__, #got)
#define MK_CHECK_BYTES(got, want, n) mk_test_check_bytes((got), (want), (n), __FILE__, __LINE__, #got)
#define MK_RUN(fn) mk_test_run(#fn, fn)

/* Append " label=value" to the description of the test's first failed check, e.g. the index of a failing table
 * row. Call it right after the check that failed; it does nothing once a second check has failed. */
void mk_test_note(const char *label, int64_t value);

/* Text output on the link, for tests that want to say more (keep it to whole lines). */
void mk_test_print(const char *s);
void mk_test_print_int(int64_t v);

/* Capture what the firmware writes to the link (mk_hal_write) into buf instead of sending it, e.g. to check a
 * frame encoder's bytes. Needs the program linked with -Wl,--wrap=mk_hal_write (platformio.ini does); without
 * it nothing is captured. mk_test_capture_end() stops capturing and returns the bytes captured (writes beyond
 * `cap` are counted but dropped). Do not print while capturing. */
void mk_test_capture_begin(uint8_t *buf, size_t cap);
size_t mk_test_capture_end(void);

#endif /* MK_TEST_H */
