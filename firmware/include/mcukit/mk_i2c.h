/* The I2C interface sensor drivers are written against: two register-level calls, implemented once per HAL
 * (Arduino Wire, a vendor SDK, a bit-banged bus) or by a simulated bus in host tests (tests/host/ina219/).
 *
 * Most I2C sensors speak the same register protocol: a write transfers the register pointer then data; a read
 * writes the pointer and, after a repeated start, reads n bytes. The bytes are passed through unchanged, so the byte
 * order of multi-byte registers is the driver's business (the INA219 sends the most significant byte first).
 * Addresses are 7-bit (0x00..0x7F), without the R/W bit. Both calls block until the transfer ends. */
#ifndef MK_I2C_H
#define MK_I2C_H

#include "mcukit/mk_types.h"

/* Status of a transfer. Anything but MK_I2C_OK means the transfer did not happen as asked; drivers pass it on. */
#define MK_I2C_OK 0
#define MK_I2C_NACK -1  /* no device answered at the address, or it refused a byte */
#define MK_I2C_ERROR -2 /* bus error, arbitration loss or timeout */

/* Write register `reg` of device `addr` with n bytes of data (n may be 0 to only set the register pointer). */
int mk_i2c_write_reg(uint8_t addr, uint8_t reg, const uint8_t *data, size_t n);

/* Read n bytes starting at register `reg` of device `addr` into data. */
int mk_i2c_read_reg(uint8_t addr, uint8_t reg, uint8_t *data, size_t n);

#endif /* MK_I2C_H */
