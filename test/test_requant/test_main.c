/* Requantization self-test: mk_requant.h's fixed-point steps at their edges, on the target's own compiler and
 * core (64-bit products, arithmetic shifts and int32 wrap-around are where targets differ from the host).
 * Expected values: mk_golden_requant.h (numpy model of gemmlowp/TFLite, test/gen_golden.py) plus a few facts of
 * the gemmlowp definition written out below. The single-rounding variant is checked in test_single.c. */
#include "mcukit/mk_hal.h"
#include "mcukit/mk_requant.h"
#include "mk_golden_requant.h"
#include "mk_test.h"

#define ROWS(a) (sizeof(a) / sizeof((a)[0]))

int test_requant_single_rounding_table(void); /* test_single.c: failing row index, or -1 */

/* volatile operands keep the compiler from folding the checks at build time: the target must compute them. */
static int32_t v32(int32_t x) {
    volatile int32_t v = x;
    return v;
}

static void srdhm_int32_min_squared_saturates(void) {
    /* (-1) * (-1) in Q31 is +1, which Q31 cannot hold: the one overflow case, saturated to INT32_MAX. */
    MK_CHECK_EQ(mk_sat_rounding_doubling_high_mul(v32(INT32_MIN), v32(INT32_MIN)), INT32_MAX);
    MK_CHECK_EQ(mk_sat_rounding_doubling_high_mul(v32(INT32_MIN), v32(INT32_MAX)), -INT32_MAX);
    MK_CHECK_EQ(mk_sat_rounding_doubling_high_mul(v32(INT32_MAX), v32(INT32_MAX)), INT32_MAX - 1);
}

static void srdhm_rounds_ties(void) {
    /* a*b = +-2^30 is exactly half a unit. gemmlowp's nudge rounds +0.5 up to 1 but -0.5 to 0 (its division
     * truncates after a nudge of 1 - 2^30), and -1.5 to -1: ties go towards +infinity. TFLite relies on that. */
    MK_CHECK_EQ(mk_sat_rounding_doubling_high_mul(v32(1 << 15), v32(1 << 15)), 1);
    MK_CHECK_EQ(mk_sat_rounding_doubling_high_mul(v32(-(1 << 15)), v32(1 << 15)), 0);
    MK_CHECK_EQ(mk_sat_rounding_doubling_high_mul(v32(3 << 15), v32(1 << 15)), 2);
    MK_CHECK_EQ(mk_sat_rounding_doubling_high_mul(v32(-(3 << 15)), v32(1 << 15)), -1);
}

static void srdhm_golden(void) {
    for (size_t i = 0; i < ROWS(mk_golden_srdhm); ++i) {
        const int32_t *r = mk_golden_srdhm[i];
        if (!MK_CHECK_EQ(mk_sat_rounding_doubling_high_mul(v32(r[0]), v32(r[1])), r[2])) {
            mk_test_note("row", (int64_t)i);
            return;
        }
    }
}

static void rdbpot_ties_both_signs(void) {
    /* RoundingDivideByPOT rounds ties away from zero on both sides. */
    MK_CHECK_EQ(mk_rounding_divide_by_pot(v32(3), 1), 2);
    MK_CHECK_EQ(mk_rounding_divide_by_pot(v32(-3), 1), -2);
    MK_CHECK_EQ(mk_rounding_divide_by_pot(v32(2), 2), 1);
    MK_CHECK_EQ(mk_rounding_divide_by_pot(v32(-2), 2), -1);
    MK_CHECK_EQ(mk_rounding_divide_by_pot(v32(-5), 2), -1); /* -1.25: not a tie */
}

static void rdbpot_shift_extremes(void) {
    MK_CHECK_EQ(mk_rounding_divide_by_pot(v32(INT32_MIN), 31), -1);
    MK_CHECK_EQ(mk_rounding_divide_by_pot(v32(INT32_MAX), 31), 1);
    MK_CHECK_EQ(mk_rounding_divide_by_pot(v32(INT32_MIN), 0), INT32_MIN);
    MK_CHECK_EQ(mk_rounding_divide_by_pot(v32(-(1 << 30)), 31), -1); /* -0.5: away from zero */
    MK_CHECK_EQ(mk_rounding_divide_by_pot(v32(1 << 30), 31), 1);     /* +0.5 */
}

static void rdbpot_golden(void) {
    for (size_t i = 0; i < ROWS(mk_golden_rdbpot); ++i) {
        const int32_t *r = mk_golden_rdbpot[i];
        if (!MK_CHECK_EQ(mk_rounding_divide_by_pot(v32(r[0]), (int)r[1]), r[2])) {
            mk_test_note("row", (int64_t)i);
            return;
        }
    }
}

static void requantize_double_rounding_golden(void) {
    /* Shifts -31..30, multipliers 2^30..2^31-1, negative and extreme accumulators. */
    for (size_t i = 0; i < ROWS(mk_golden_requant); ++i) {
        const int32_t *r = mk_golden_requant[i];
        if (!MK_CHECK_EQ(mk_requantize(v32(r[0]), r[1], r[2]), r[3])) {
            mk_test_note("row", (int64_t)i);
            return;
        }
    }
}

static void requantize_fc_follows_build_flag(void) {
    /* This program is built with the default MK_SINGLE_ROUNDING=0: FULLY_CONNECTED must round twice too. */
    MK_CHECK_EQ(MK_SINGLE_ROUNDING, 0);
    for (size_t i = 0; i < ROWS(mk_golden_requant); ++i) {
        const int32_t *r = mk_golden_requant[i];
        if (!MK_CHECK_EQ(mk_requantize_fc(v32(r[0]), r[1], r[2]), r[3])) {
            mk_test_note("row", (int64_t)i);
            return;
        }
    }
}

static void requantize_single_rounding_golden(void) {
    const int row = test_requant_single_rounding_table();
    if (!MK_CHECK_EQ(row, -1)) mk_test_note("row", row);
}

static void rounding_modes_differ_somewhere(void) {
    /* The table must tell the two conventions apart, or a build with the wrong one would pass. */
    size_t differ = 0;
    for (size_t i = 0; i < ROWS(mk_golden_requant); ++i) differ += mk_golden_requant[i][3] != mk_golden_requant[i][4];
    MK_CHECK(differ > 0);
}

int mk_main(void) {
    mk_hal_init();
    mk_test_begin("requant");
    MK_RUN(srdhm_int32_min_squared_saturates);
    MK_RUN(srdhm_rounds_ties);
    MK_RUN(srdhm_golden);
    MK_RUN(rdbpot_ties_both_signs);
    MK_RUN(rdbpot_shift_extremes);
    MK_RUN(rdbpot_golden);
    MK_RUN(requantize_double_rounding_golden);
    MK_RUN(requantize_fc_follows_build_flag);
    MK_RUN(requantize_single_rounding_golden);
    MK_RUN(rounding_modes_differ_somewhere);
    return mk_test_end();
}
