/* INA219 driver (mk_ina219.h). Raw registers only: converting to amperes needs the shunt resistance and the
 * calibration, which the host knows (it computed them), so doing it here would only add rounding and code. */
#include "mcukit/mk_ina219.h"

#include "mcukit/mk_i2c.h"
#include "mcukit/mk_protocol.h"

int mk_ina219_write(uint8_t address, uint8_t reg, uint16_t value) {
    /* The INA219 takes the most significant byte first. */
    const uint8_t bytes[2] = {(uint8_t)(value >> 8), (uint8_t)(value & 0xFFu)};
    return mk_i2c_write_reg(address, reg, bytes, sizeof bytes) == MK_I2C_OK ? MK_INA219_OK : MK_INA219_ERR_I2C;
}

int mk_ina219_read_reg(uint8_t address, uint8_t reg, uint16_t *value) {
    uint8_t bytes[2] = {0, 0};
    if (mk_i2c_read_reg(address, reg, bytes, sizeof bytes) != MK_I2C_OK) return MK_INA219_ERR_I2C;
    *value = (uint16_t)(((uint16_t)bytes[0] << 8) | bytes[1]);
    return MK_INA219_OK;
}

int mk_ina219_init(const mk_ina219 *dev) {
    uint16_t config = 0, calibration = 0;
    int rc;
    /* Reset first so nothing a previous program left (triggered mode, an old calibration) survives. */
    if ((rc = mk_ina219_write(dev->address, MK_INA219_REG_CONFIG, MK_INA219_CONFIG_RST)) != MK_INA219_OK) return rc;
    if ((rc = mk_ina219_write(dev->address, MK_INA219_REG_CONFIG, dev->config)) != MK_INA219_OK) return rc;
    if ((rc = mk_ina219_write(dev->address, MK_INA219_REG_CALIBRATION, dev->calibration)) != MK_INA219_OK) return rc;
    /* Read back: an answering device that is not an INA219 (or a wrong address) shows up here, not as odd data. */
    if ((rc = mk_ina219_read_reg(dev->address, MK_INA219_REG_CONFIG, &config)) != MK_INA219_OK) return rc;
    if ((rc = mk_ina219_read_reg(dev->address, MK_INA219_REG_CALIBRATION, &calibration)) != MK_INA219_OK) return rc;
    if ((config & MK_INA219_CONFIG_USED) != (dev->config & MK_INA219_CONFIG_USED)) return MK_INA219_ERR_VERIFY;
    if (calibration != (dev->calibration & MK_INA219_CALIBRATION_MASK)) return MK_INA219_ERR_VERIFY;
    return MK_INA219_OK;
}

static int mk_ina219_triggered(uint16_t config) {
    const uint16_t mode = config & 7u;
    return mode >= MK_INA219_MODE_SHUNT_TRIGGERED && mode <= MK_INA219_MODE_BOTH_TRIGGERED;
}

int mk_ina219_trigger(const mk_ina219 *dev) {
    return mk_ina219_write(dev->address, MK_INA219_REG_CONFIG, dev->config);
}

int mk_ina219_read(const mk_ina219 *dev, mk_ina219_reading *out) {
    uint16_t bus = 0, shunt = 0, current = 0, power = 0;
    int rc;
    if ((rc = mk_ina219_read_reg(dev->address, MK_INA219_REG_BUS, &bus)) != MK_INA219_OK) return rc;
    if ((rc = mk_ina219_read_reg(dev->address, MK_INA219_REG_SHUNT, &shunt)) != MK_INA219_OK) return rc;
    if ((rc = mk_ina219_read_reg(dev->address, MK_INA219_REG_CURRENT, &current)) != MK_INA219_OK) return rc;
    if ((rc = mk_ina219_read_reg(dev->address, MK_INA219_REG_POWER, &power)) != MK_INA219_OK) return rc;
    out->bus = bus;
    /* Two's complement registers: reinterpret the bits (the conversion of an out-of-range value to int16_t is
     * implementation-defined in C99, so go through the sign explicitly). */
    out->shunt = (int16_t)(shunt >= 0x8000u ? (int32_t)shunt - 0x10000 : (int32_t)shunt);
    out->current = (int16_t)(current >= 0x8000u ? (int32_t)current - 0x10000 : (int32_t)current);
    out->power = power;
    return MK_INA219_OK;
}

int mk_ina219_sample(const mk_ina219 *dev, uint32_t max_polls, mk_ina219_reading *out) {
    int rc;
    if (mk_ina219_triggered(dev->config) && (rc = mk_ina219_trigger(dev)) != MK_INA219_OK) return rc;
    if (max_polls > 0u) {
        uint32_t polls = 0;
        uint16_t bus = 0;
        do {
            if (polls == max_polls) return MK_INA219_ERR_TIMEOUT;
            if ((rc = mk_ina219_read_reg(dev->address, MK_INA219_REG_BUS, &bus)) != MK_INA219_OK) return rc;
            ++polls;
        } while (!mk_ina219_ready(bus));
    }
    return mk_ina219_read(dev, out);
}

void mk_ina219_log_init(mk_ina219_log *log, const mk_ina219 *dev, mk_ina219_entry *storage, uint16_t capacity) {
    log->dev = dev;
    log->entries = storage;
    log->capacity = capacity;
    mk_ina219_log_clear(log);
}

void mk_ina219_log_clear(mk_ina219_log *log) {
    log->count = 0;
    log->dropped = 0;
    log->errors = 0;
}

int mk_ina219_log_sample(mk_ina219_log *log, uint32_t counter) {
    mk_ina219_reading s;
    const int rc = mk_ina219_read(log->dev, &s);
    if (rc != MK_INA219_OK) {
        if (log->errors < 0xFFFFu) ++log->errors;
        return rc;
    }
    if (log->count >= log->capacity) {
        if (log->dropped < 0xFFFFu) ++log->dropped;
        return MK_INA219_OK;
    }
    log->entries[log->count].counter = counter;
    log->entries[log->count].s = s;
    ++log->count;
    return MK_INA219_OK;
}

void mk_sensor_payload(uint8_t out[MK_SENSOR_PAYLOAD_BYTES], uint32_t counter, uint8_t channel, uint8_t kind,
                       int32_t value) {
    mk_put_u32(&out[0], counter);
    out[4] = channel;
    out[5] = kind;
    mk_put_u32(&out[6], (uint32_t)value); /* two's complement bits of the i32 */
}

void mk_ina219_payloads(const mk_ina219_entry *e, uint8_t channel,
                        uint8_t out[MK_INA219_RECORDS_PER_SAMPLE][MK_SENSOR_PAYLOAD_BYTES]) {
    mk_sensor_payload(out[0], e->counter, channel, MK_SENSOR_KIND_INA219_SHUNT, e->s.shunt);
    mk_sensor_payload(out[1], e->counter, channel, MK_SENSOR_KIND_INA219_BUS, e->s.bus);
    mk_sensor_payload(out[2], e->counter, channel, MK_SENSOR_KIND_INA219_CURRENT, e->s.current);
    mk_sensor_payload(out[3], e->counter, channel, MK_SENSOR_KIND_INA219_POWER, e->s.power);
}
