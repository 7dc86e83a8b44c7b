/* mk_test: see mk_test.h. Formats its own numbers because printf would drag in newlib's stdio and its _write
 * hook, which differs per HAL; every byte goes through mk_hal_write. */
#include "mk_test.h"

#include "mcukit/mk_hal.h"

#define MK_TEST_DETAIL_MAX 200u
#define MK_TEST_MAX_EXIT 100

static const char *s_suite = "";
static int s_tests;
static int s_failed_tests;
static int s_failed_checks;           /* in the running test */
static char s_detail[MK_TEST_DETAIL_MAX];
static size_t s_detail_len;

static size_t mk_strlen(const char *s) {
    size_t n = 0;
    while (s[n] != '\0') ++n;
    return n;
}

void mk_test_print(const char *s) { mk_hal_write((const uint8_t *)s, mk_strlen(s)); }

/* Decimal text of v into buf (at least 21 bytes); returns the start of the digits inside buf. */
static const char *mk_format_int(int64_t v, char *buf, size_t size) {
    /* Work on the magnitude as unsigned so INT64_MIN does not overflow. */
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t pos = size - 1;
    buf[pos] = '\0';
    do {
        buf[--pos] = (char)('0' + (int)(mag % 10u));
        mag /= 10u;
    } while (mag != 0u && pos > 1);
    if (v < 0) buf[--pos] = '-';
    return &buf[pos];
}

void mk_test_print_int(int64_t v) {
    char buf[24];
    mk_test_print(mk_format_int(v, buf, sizeof buf));
}

static void detail_str(const char *s) {
    while (*s != '\0' && s_detail_len + 1 < MK_TEST_DETAIL_MAX) {
        /* Keep the line one line: a newline in an expression text would split the report. */
        const char c = *s++;
        s_detail[s_detail_len++] = (c == '\n' || c == '\r') ? ' ' : c;
    }
    s_detail[s_detail_len] = '\0';
}

static void detail_int(int64_t v) {
    char buf[24];
    detail_str(mk_format_int(v, buf, sizeof buf));
}

static const char *basename_of(const char *path) {
    const char *base = path;
    for (const char *p = path; *p != '\0'; ++p) {
        if (*p == '/' || *p == '\\') base = p + 1;
    }
    return base;
}

/* Records a failed check; only the first one of a test is described. Returns 1 if this is the first. */
static int record_failure(const char *file, int line, const char *expr) {
    if (s_failed_checks++ > 0) return 0;
    s_detail_len = 0;
    detail_str(basename_of(file));
    detail_str(":");
    detail_int(line);
    detail_str(" ");
    detail_str(expr);
    return 1;
}

int mk_test_check(int ok, const char *file, int line, const char *expr) {
    if (!ok) record_failure(file, line, expr);
    return ok;
}

int mk_test_check_eq(int64_t got, int64_t want, const char *file, int line, const char *expr) {
    if (got == want) return 1;
    if (record_failure(file, line, expr)) {
        detail_str(" (got ");
        detail_int(got);
        detail_str(", want ");
        detail_int(want);
        detail_str(")");
    }
    return 0;
}

int mk_test_check_bytes(const void *got, const void *want, size_t n, const char *file, int line,
                        const char *what) {
    const int8_t *g = (const int8_t *)got;
    const int8_t *w = (const int8_t *)want;
    size_t first = n, differ = 0;
    for (size_t i = 0; i < n; ++i) {
        if (g[i] != w[i]) {
            if (first == n) first = i;
            ++differ;
        }
    }
    if (differ == 0) return 1;
    if (record_failure(file, line, what)) {
        detail_str(" (");
        detail_int((int64_t)differ);
        detail_str(" of ");
        detail_int((int64_t)n);
        detail_str(" bytes differ; first at ");
        detail_int((int64_t)first);
        detail_str(": got ");
        detail_int(g[first]);
        detail_str(", want ");
        detail_int(w[first]);
        detail_str(")");
    }
    return 0;
}

void mk_test_note(const char *label, int64_t value) {
    if (s_failed_checks != 1) return;
    detail_str(" ");
    detail_str(label);
    detail_str("=");
    detail_int(value);
}

void mk_test_begin(const char *suite) {
    s_suite = suite;
    s_tests = 0;
    s_failed_tests = 0;
    mk_test_print("\nSELFTEST BEGIN ");
    mk_test_print(suite);
    mk_test_print(" board=");
    mk_test_print(mk_hal_board_name());
    mk_test_print("\n");
}

void mk_test_run(const char *name, void (*fn)(void)) {
    s_failed_checks = 0;
    s_detail_len = 0;
    s_detail[0] = '\0';
    fn();
    ++s_tests;
    mk_test_print("TEST ");
    mk_test_print(name);
    if (s_failed_checks == 0) {
        mk_test_print(" PASS\n");
        return;
    }
    ++s_failed_tests;
    mk_test_print(" FAIL ");
    mk_test_print(s_detail);
    if (s_failed_checks > 1) {
        mk_test_print(" [+");
        mk_test_print_int(s_failed_checks - 1);
        mk_test_print(" more failed checks]");
    }
    mk_test_print("\n");
}

int mk_test_end(void) {
    mk_test_print("SELFTEST END suite=");
    mk_test_print(s_suite);
    mk_test_print(" tests=");
    mk_test_print_int(s_tests);
    mk_test_print(" failures=");
    mk_test_print_int(s_failed_tests);
    mk_test_print("\n");
    return s_failed_tests > MK_TEST_MAX_EXIT ? MK_TEST_MAX_EXIT : s_failed_tests;
}

/* ---- link capture (active only when linked with -Wl,--wrap=mk_hal_write) ------------------------------------ */

static uint8_t *s_cap_buf;
static size_t s_cap_size;
static size_t s_cap_len;
static int s_capturing;

void mk_test_capture_begin(uint8_t *buf, size_t cap) {
    s_cap_buf = buf;
    s_cap_size = cap;
    s_cap_len = 0;
    s_capturing = 1;
}

size_t mk_test_capture_end(void) {
    s_capturing = 0;
    return s_cap_len;
}

void __real_mk_hal_write(const uint8_t *data, size_t n);
void __wrap_mk_hal_write(const uint8_t *data, size_t n);

void __wrap_mk_hal_write(const uint8_t *data, size_t n) {
    if (!s_capturing) {
        __real_mk_hal_write(data, n);
        return;
    }
    for (size_t i = 0; i < n; ++i) {
        if (s_cap_len < s_cap_size) s_cap_buf[s_cap_len] = data[i];
        ++s_cap_len;
    }
}
