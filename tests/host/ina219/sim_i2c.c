/* Test-only I2C bus (mk_i2c.h) that forwards every transfer to callbacks set from Python (ctypes), where a
 * register-level INA219 model answers (tests/host/ina219/ina219_sim.py). Also captures what the runtime's frame
 * writer sends (mk_hal_write), so SENSOR frames can be decoded by the host's framing code. */
#include <string.h>

#include "mcukit/mk_hal.h"
#include "mcukit/mk_i2c.h"

typedef int (*sim_write_fn)(uint8_t addr, uint8_t reg, const uint8_t *data, size_t n);
typedef int (*sim_read_fn)(uint8_t addr, uint8_t reg, uint8_t *data, size_t n);

static sim_write_fn sim_write;
static sim_read_fn sim_read;

void sim_set_bus(sim_write_fn w, sim_read_fn r) {
    sim_write = w;
    sim_read = r;
}

int mk_i2c_write_reg(uint8_t addr, uint8_t reg, const uint8_t *data, size_t n) {
    return sim_write != NULL ? sim_write(addr, reg, data, n) : MK_I2C_NACK;
}

int mk_i2c_read_reg(uint8_t addr, uint8_t reg, uint8_t *data, size_t n) {
    return sim_read != NULL ? sim_read(addr, reg, data, n) : MK_I2C_NACK;
}

#define SIM_OUT_BYTES 65536u
static uint8_t sim_out[SIM_OUT_BYTES];
static size_t sim_out_len;
static int sim_out_overflow;

void mk_hal_write(const uint8_t *data, size_t n) {
    if (sim_out_len + n > SIM_OUT_BYTES) {
        sim_out_overflow = 1;
        return;
    }
    memcpy(&sim_out[sim_out_len], data, n);
    sim_out_len += n;
}

/* Copies what was written since the last call (at most cap bytes); -1 if the capture buffer overflowed. */
long sim_take_output(uint8_t *out, size_t cap) {
    size_t n = sim_out_len < cap ? sim_out_len : cap;
    if (sim_out_overflow) return -1;
    memcpy(out, sim_out, n);
    sim_out_len = 0;
    return (long)n;
}
