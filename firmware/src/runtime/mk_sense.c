/* The current sensor inside the runtime's invoke (mk_sense.h). An INA219 answers with whatever its last completed
 * conversion left (532 us per 12-bit conversion, shunt and bus converted in turn), and the model has no natural
 * yield point, so sampling is coarse by construction: a baseline sample just before the inference window, one between
 * layers of a profiled invoke whenever a conversion period has passed, and one right after the window. The samples
 * go out as SENSOR records before TIMING; the host converts them (mcukit/measure/ina219.py). */
#include "mk_sense.h"

#ifdef MK_INA219

#include "mcukit/mk_hal.h"
#include "mcukit/mk_ina219.h"
#include "mcukit/mk_runtime.h"

/* The three words come from mcukit.measure.ina219.prepare(...).c_defines(); the project generator passes them. */
#ifndef MK_INA219_ADDRESS
#define MK_INA219_ADDRESS MK_INA219_ADDRESS_DEFAULT
#endif
#ifndef MK_INA219_CONFIG_WORD
#define MK_INA219_CONFIG_WORD MK_INA219_CONFIG_RESET
#endif
#ifndef MK_INA219_CALIBRATION_WORD
#error "MK_INA219 needs MK_INA219_CALIBRATION_WORD (see mcukit.measure.ina219.prepare(...).c_defines())"
#endif
/* The channel number the SENSOR records carry. */
#ifndef MK_INA219_CHANNEL
#define MK_INA219_CHANNEL 0u
#endif
/* Samples kept per invoke (12 bytes each); more are counted as dropped and reported on the link. */
#ifndef MK_INA219_MAX_SAMPLES
#define MK_INA219_MAX_SAMPLES 64u
#endif
/* How long start-up waits for the first conversion: the slowest setting (both ADCs averaging 128) takes 136.2 ms. */
#ifndef MK_INA219_FIRST_CONVERSION_MS
#define MK_INA219_FIRST_CONVERSION_MS 250u
#endif

static const mk_ina219 mk_sense_dev = {(uint8_t)(MK_INA219_ADDRESS), (uint16_t)(MK_INA219_CONFIG_WORD),
                                       (uint16_t)(MK_INA219_CALIBRATION_WORD)};
static mk_ina219_entry mk_sense_entries[MK_INA219_MAX_SAMPLES];
static mk_ina219_log mk_sense_log;
static uint8_t mk_sense_ready;   /* the sensor answered and converts: sample and send */
static uint32_t mk_sense_last;   /* counter value of the last sample */
static uint32_t mk_sense_period; /* one conversion (shunt + bus as configured) in counter ticks */
static uint32_t mk_sense_spent;  /* ticks spent sampling inside the current window */

/* Conversion time of a BADC/SADC field (datasheet 8.6.2.1: 0X00..0X11 are 9..12 bits, 1000 is 12 bits, 1001..1111
 * average 2..128 conversions). */
static uint32_t mk_sense_adc_us(uint32_t field) {
    static const uint32_t us[16] = {84u,  148u,  276u,  532u,  84u,   148u,   276u,   532u,
                                    532u, 1060u, 2130u, 4260u, 8510u, 17020u, 34050u, 68100u};
    return us[field & 0xFu];
}

static uint32_t mk_sense_conversion_us(uint16_t config) {
    const uint32_t mode = config & 7u;
    uint32_t t = 0;
    if (mode == MK_INA219_MODE_ADC_OFF) return 0;
    if (mode & 1u) t += mk_sense_adc_us((uint32_t)(config >> 3) & 0xFu); /* shunt */
    if (mode & 2u) t += mk_sense_adc_us((uint32_t)(config >> 7) & 0xFu); /* bus */
    return t;
}

static int mk_sense_triggered(void) {
    const uint32_t mode = mk_sense_dev.config & 7u;
    return mode >= MK_INA219_MODE_SHUNT_TRIGGERED && mode <= MK_INA219_MODE_BOTH_TRIGGERED;
}

/* ---- text lines without printf (no stdio on the board) ---- */
static char *mk_sense_put(char *p, const char *s) {
    while (*s) *p++ = *s++;
    return p;
}

static char *mk_sense_hex(char *p, uint32_t v, unsigned digits) {
    static const char hex[] = "0123456789abcdef";
    *p++ = '0';
    *p++ = 'x';
    while (digits-- > 0u) *p++ = hex[(v >> (4u * digits)) & 0xFu];
    return p;
}

static char *mk_sense_dec(char *p, uint32_t v) {
    char tmp[10];
    unsigned n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    while (n > 0u) *p++ = tmp[--n];
    return p;
}

/* After a reset the registers are 0 until a conversion completes: wait for one, so the first sample is real data
 * (and a device that answers but never converts is noticed). */
static int mk_sense_first_conversion(void) {
    if (mk_sense_conversion_us(mk_sense_dev.config) == 0u) return MK_INA219_OK; /* power-down / ADC off: by choice */
    if (mk_sense_triggered()) {
        const int rc = mk_ina219_trigger(&mk_sense_dev);
        if (rc != MK_INA219_OK) return rc;
    }
    const uint32_t start = mk_hal_millis();
    for (;;) {
        uint16_t bus = 0;
        const int rc = mk_ina219_read_reg(mk_sense_dev.address, MK_INA219_REG_BUS, &bus);
        if (rc != MK_INA219_OK) return rc;
        if (mk_ina219_ready(bus)) return MK_INA219_OK;
        if (mk_hal_millis() - start > MK_INA219_FIRST_CONVERSION_MS) return MK_INA219_ERR_TIMEOUT;
    }
}

static void mk_sense_try_init(void) {
    char line[96];
    char *p = mk_sense_hex(mk_sense_put(line, "mk: INA219 at "), mk_sense_dev.address, 2);
    int rc = mk_ina219_init(&mk_sense_dev);
    if (rc == MK_INA219_OK) rc = mk_sense_first_conversion();
    mk_sense_ready = (uint8_t)(rc == MK_INA219_OK);
    if (mk_sense_ready) {
        p = mk_sense_hex(mk_sense_put(p, " ready, calibration "), mk_sense_dev.calibration, 4);
        p = mk_sense_put(mk_sense_dec(mk_sense_put(p, ", conversion "), mk_sense_conversion_us(mk_sense_dev.config)),
                         " us");
    } else {
        p = mk_sense_put(p, rc == MK_INA219_ERR_I2C      ? " not answering (I2C error)"
                            : rc == MK_INA219_ERR_VERIFY ? " did not keep its configuration (not an INA219?)"
                                                         : " never finished a conversion");
        p = mk_sense_put(p, ": no SENSOR records");
    }
    *p = '\0';
    mk_log(line);
}

void mk_sense_start(void) {
    const uint64_t us = mk_sense_conversion_us(mk_sense_dev.config);
    mk_ina219_log_init(&mk_sense_log, &mk_sense_dev, mk_sense_entries, (uint16_t)MK_INA219_MAX_SAMPLES);
    mk_sense_period = (uint32_t)((us * mk_hal_counter_hz() + 999999u) / 1000000u);
    mk_sense_try_init();
}

void mk_sense_hello(void) {
    if (!mk_sense_ready) mk_sense_try_init();
}

static void mk_sense_sample(uint32_t now) {
    (void)mk_ina219_log_sample(&mk_sense_log, now); /* a failed read is counted in the log and reported */
    mk_sense_last = now;
    /* Triggered mode converts once per trigger: start the conversion the next sample will read. */
    if (mk_sense_triggered()) (void)mk_ina219_trigger(&mk_sense_dev);
}

void mk_sense_before(void) {
    mk_ina219_log_clear(&mk_sense_log);
    mk_sense_spent = 0;
    if (mk_sense_ready) mk_sense_sample(mk_hal_counter());
}

void mk_sense_between_layers(void) {
    if (!mk_sense_ready) return;
    const uint32_t now = mk_hal_counter();
    /* Reading again before a new conversion completed would only repeat the last one (and weigh it twice). */
    if (now - mk_sense_last < mk_sense_period) return;
    mk_sense_sample(now);
    mk_sense_spent += mk_hal_counter() - now;
}

uint32_t mk_sense_overhead(void) { return mk_sense_spent; }

void mk_sense_after(void) {
    if (mk_sense_ready) mk_sense_sample(mk_hal_counter());
}

void mk_sense_send(uint8_t seq) {
    if (!mk_sense_ready) return;
    (void)mk_ina219_log_send(&mk_sense_log, (uint8_t)(MK_INA219_CHANNEL), seq);
    if (mk_sense_log.dropped != 0u || mk_sense_log.errors != 0u) {
        char line[96];
        char *p = mk_sense_dec(mk_sense_put(line, "mk: INA219 samples dropped "), mk_sense_log.dropped);
        p = mk_sense_dec(mk_sense_put(p, " (log full), reads failed "), mk_sense_log.errors);
        *p = '\0';
        mk_log(line);
    }
}

#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int mk_sense_not_built;
#endif /* MK_INA219 */
