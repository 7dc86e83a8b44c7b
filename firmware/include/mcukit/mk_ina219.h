/* TI INA219 current/power monitor over I2C (mk_i2c.h): configuration, calibration, raw register samples, and their
 * encoding as SENSOR records of the serial protocol (docs/protocol.md, "SENSOR payloads"; docs/energy.md).
 *
 * Integer only, no heap. The driver never converts to physical units: it returns raw register values, and the host
 * (mcukit/measure/ina219.py) applies the LSBs. Python is the "prepare" step: it picks the PGA range and computes
 * the calibration register from the shunt resistance and the largest expected current (datasheet SBOS448G
 * 8.5.1, Current_LSB = I_max / 2^15, Cal = trunc(0.04096 / (Current_LSB * R_shunt))), and passes both words here
 * as constants. Register facts below are from the datasheet's register map (8.6).
 *
 * Register units (fixed by the device):
 *   shunt voltage  signed, 10 uV per LSB (full scale +-4000 .. +-32000 depending on the PGA range)
 *   bus voltage    bits 15..3 = voltage, 4 mV per LSB; bit 1 CNVR (conversion ready); bit 0 OVF (math overflow)
 * Register units (set by the calibration, known to the host):
 *   current        signed, Current_LSB = 0.04096 / (Cal * R_shunt) amperes per LSB
 *   power          unsigned, 20 * Current_LSB watts per LSB */
#ifndef MK_INA219_H
#define MK_INA219_H

#include "mcukit/mk_types.h"

/* Register pointers. */
#define MK_INA219_REG_CONFIG 0x00u
#define MK_INA219_REG_SHUNT 0x01u
#define MK_INA219_REG_BUS 0x02u
#define MK_INA219_REG_POWER 0x03u
#define MK_INA219_REG_CURRENT 0x04u
#define MK_INA219_REG_CALIBRATION 0x05u

#define MK_INA219_ADDRESS_DEFAULT 0x40u /* A0 = A1 = GND */

/* Configuration register: RST(15) -(14) BRNG(13) PG(12..11) BADC(10..7) SADC(6..3) MODE(2..0). */
#define MK_INA219_CONFIG_RESET 0x399Fu /* power-on value: 32 V, /8 (320 mV), 12-bit, shunt+bus continuous */
#define MK_INA219_CONFIG_RST 0x8000u   /* writing it resets every register; the bit clears itself */
#define MK_INA219_CONFIG_USED 0x3FFFu  /* bits that read back as written (RST self-clears, bit 14 is unused) */

#define MK_INA219_BRNG_16V 0u
#define MK_INA219_BRNG_32V 1u
#define MK_INA219_PGA_40MV 0u /* gain 1 */
#define MK_INA219_PGA_80MV 1u /* /2 */
#define MK_INA219_PGA_160MV 2u
#define MK_INA219_PGA_320MV 3u
/* ADC resolution or averaging (BADC and SADC). 0x8 is also 12-bit; averaging always uses 12-bit conversions. */
#define MK_INA219_ADC_9BIT 0x0u   /* 84 us */
#define MK_INA219_ADC_10BIT 0x1u  /* 148 us */
#define MK_INA219_ADC_11BIT 0x2u  /* 276 us */
#define MK_INA219_ADC_12BIT 0x3u  /* 532 us */
#define MK_INA219_ADC_AVG2 0x9u   /* 1.06 ms */
#define MK_INA219_ADC_AVG4 0xAu   /* 2.13 ms */
#define MK_INA219_ADC_AVG8 0xBu   /* 4.26 ms */
#define MK_INA219_ADC_AVG16 0xCu  /* 8.51 ms */
#define MK_INA219_ADC_AVG32 0xDu  /* 17.02 ms */
#define MK_INA219_ADC_AVG64 0xEu  /* 34.05 ms */
#define MK_INA219_ADC_AVG128 0xFu /* 68.10 ms */
#define MK_INA219_MODE_POWER_DOWN 0u
#define MK_INA219_MODE_SHUNT_TRIGGERED 1u
#define MK_INA219_MODE_BUS_TRIGGERED 2u
#define MK_INA219_MODE_BOTH_TRIGGERED 3u
#define MK_INA219_MODE_ADC_OFF 4u
#define MK_INA219_MODE_SHUNT_CONTINUOUS 5u
#define MK_INA219_MODE_BUS_CONTINUOUS 6u
#define MK_INA219_MODE_BOTH_CONTINUOUS 7u

#define MK_INA219_CONFIG(brng, pga, badc, sadc, mode)                                                               \
    ((uint16_t)((((brng)&1u) << 13) | (((pga)&3u) << 11) | (((badc)&0xFu) << 7) | (((sadc)&0xFu) << 3) |          \
                ((mode)&7u)))

/* Bus voltage register flags. */
#define MK_INA219_BUS_CNVR 0x0002u /* set when a conversion completed; cleared by reading POWER or a new mode */
#define MK_INA219_BUS_OVF 0x0001u  /* current or power out of range: those two registers are meaningless */

/* Calibration bit 0 does not exist in the device (reads 0), so an odd value is written as value & ~1. */
#define MK_INA219_CALIBRATION_MASK 0xFFFEu

/* Status codes. */
#define MK_INA219_OK 0
#define MK_INA219_ERR_I2C -1     /* a transfer failed (no device at the address, bus error) */
#define MK_INA219_ERR_VERIFY -2  /* configuration or calibration did not read back as written */
#define MK_INA219_ERR_TIMEOUT -3 /* no conversion completed within the polls allowed */

/* One device: its address and the two words Python computed. */
typedef struct {
    uint8_t address;      /* 7-bit, 0x40..0x4F */
    uint16_t config;      /* MK_INA219_CONFIG(...) */
    uint16_t calibration; /* 0 leaves current and power at 0 (only shunt and bus voltages are measured) */
} mk_ina219;

/* Raw registers of one sample. */
typedef struct {
    int16_t shunt;   /* 10 uV per LSB */
    uint16_t bus;    /* bits 15..3 voltage (4 mV per LSB), CNVR, OVF */
    int16_t current; /* Current_LSB per LSB */
    uint16_t power;  /* 20 * Current_LSB per LSB */
} mk_ina219_reading;

static inline uint32_t mk_ina219_bus_mv(uint16_t bus) { return (uint32_t)(bus >> 3) * 4u; }
static inline int32_t mk_ina219_shunt_uv(int16_t shunt) { return (int32_t)shunt * 10; }
static inline int mk_ina219_overflow(uint16_t bus) { return (bus & MK_INA219_BUS_OVF) != 0u; }
static inline int mk_ina219_ready(uint16_t bus) { return (bus & MK_INA219_BUS_CNVR) != 0u; }

/* Register access (16-bit, most significant byte first on the wire). */
int mk_ina219_write(uint8_t address, uint8_t reg, uint16_t value);
int mk_ina219_read_reg(uint8_t address, uint8_t reg, uint16_t *value);

/* Reset the device, write configuration and calibration, and read both back. Call once before sampling. */
int mk_ina219_init(const mk_ina219 *dev);

/* Start one conversion in a triggered mode (rewriting the mode starts it; harmless in continuous modes). */
int mk_ina219_trigger(const mk_ina219 *dev);

/* Read the four data registers now, without waiting: bus first (so its CNVR/OVF describe the data read), then
 * shunt, current and power; reading power last clears CNVR, so the next CNVR means a new conversion. In a
 * continuous mode a conversion may complete between the reads (the registers then mix two adjacent conversions);
 * triggered mode + mk_ina219_sample() avoids it. */
int mk_ina219_read(const mk_ina219 *dev, mk_ina219_reading *out);

/* One fresh sample: in a triggered mode start a conversion, then poll the bus register up to max_polls times for
 * CNVR and read the registers. max_polls = 0 reads at once (whatever the last conversion left). Returns
 * MK_INA219_ERR_TIMEOUT (out untouched) when no conversion completed within max_polls. */
int mk_ina219_sample(const mk_ina219 *dev, uint32_t max_polls, mk_ina219_reading *out);

/* ---- Samples during an inference window ----
 * A log keeps samples in caller-provided storage (static, no heap) while the model runs; the runtime sends them as
 * SENSOR records after the invoke. Sampling costs four register reads (~0.5 ms at 400 kHz I2C, ~2 ms at
 * 100 kHz), so invokes that are sampled should not be the ones whose time is reported. */
typedef struct {
    uint32_t counter; /* mk_hal_counter() when the sample was taken */
    mk_ina219_reading s;
} mk_ina219_entry;

typedef struct {
    const mk_ina219 *dev;
    mk_ina219_entry *entries;
    uint16_t capacity;
    uint16_t count;
    uint16_t dropped; /* samples that did not fit */
    uint16_t errors;  /* reads that failed */
} mk_ina219_log;

void mk_ina219_log_init(mk_ina219_log *log, const mk_ina219 *dev, mk_ina219_entry *storage, uint16_t capacity);
void mk_ina219_log_clear(mk_ina219_log *log);
/* Read one sample without waiting (never blocks on a conversion) and keep it with `counter`. Returns the read's
 * status; a full log counts the sample as dropped and returns MK_INA219_OK. */
int mk_ina219_log_sample(mk_ina219_log *log, uint32_t counter);

/* ---- SENSOR records (protocol message MK_MSG_SENSOR) ----
 * Payload: u32 counter, u8 channel, u8 kind, i32 value (little-endian, 10 bytes). Kinds 1..3 are the generic units
 * the protocol reserves; the INA219 kinds carry raw registers, and a CALIBRATION record (value = the calibration
 * word read back from the device) precedes a channel's samples so the host can check it knows Current_LSB. */
#define MK_SENSOR_PAYLOAD_BYTES 10u
#define MK_SENSOR_KIND_CURRENT_UA 0x01u
#define MK_SENSOR_KIND_VOLTAGE_MV 0x02u
#define MK_SENSOR_KIND_POWER_UW 0x03u
#define MK_SENSOR_KIND_INA219_CALIBRATION 0x10u /* value: calibration register */
#define MK_SENSOR_KIND_INA219_SHUNT 0x11u       /* value: shunt register, sign-extended */
#define MK_SENSOR_KIND_INA219_BUS 0x12u         /* value: bus register as read (flags included) */
#define MK_SENSOR_KIND_INA219_CURRENT 0x13u     /* value: current register, sign-extended */
#define MK_SENSOR_KIND_INA219_POWER 0x14u       /* value: power register */
#define MK_INA219_RECORDS_PER_SAMPLE 4u

void mk_sensor_payload(uint8_t out[MK_SENSOR_PAYLOAD_BYTES], uint32_t counter, uint8_t channel, uint8_t kind,
                       int32_t value);
/* The four records of one sample, in the order shunt, bus, current, power. */
void mk_ina219_payloads(const mk_ina219_entry *e, uint8_t channel,
                        uint8_t out[MK_INA219_RECORDS_PER_SAMPLE][MK_SENSOR_PAYLOAD_BYTES]);

/* Send a log as SENSOR frames answering command `seq`: one CALIBRATION record (read back from the device; if that
 * read fails the word the log was configured with is sent), then four records per sample. Uses the runtime's frame
 * writer (mk_protocol.h), so it lives in its own file (mk_ina219_send.c). Returns the number of frames sent. */
uint32_t mk_ina219_log_send(const mk_ina219_log *log, uint8_t channel, uint8_t seq);

#endif /* MK_INA219_H */
