/* Test-only: mk_i2c.h and the inference marker (mk_hal_marker) for the loopback firmware, forwarded line by line over
 * the process's stdin/stdout to the test, where a register-level INA219 model answers (tests/host/ina219/). Each
 * request carries mk_hal_counter() (microseconds with host_hal.c), so the model's clock follows the firmware's:
 *   "W <t_us> <addr> <reg> <hex bytes or ->"  -> "<rc>"
 *   "R <t_us> <addr> <reg> <n>"               -> "<rc> <hex bytes>"
 *   "M <t_us> <0|1>"                          -> "0"
 * Replies are awaited, so the model sees transfers and marker edges in program order. No answer (the test went
 * away) ends the process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mcukit/mk_hal.h"
#include "mcukit/mk_i2c.h"

static void bridge_reply(char *line, size_t cap) {
    fflush(stdout);
    if (fgets(line, (int)cap, stdin) == NULL) exit(4);
}

static int bridge_hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int mk_i2c_write_reg(uint8_t addr, uint8_t reg, const uint8_t *data, size_t n) {
    char line[64];
    printf("W %lu %u %u ", (unsigned long)mk_hal_counter(), (unsigned)addr, (unsigned)reg);
    if (n == 0) printf("-");
    for (size_t i = 0; i < n; ++i) printf("%02x", (unsigned)data[i]);
    printf("\n");
    bridge_reply(line, sizeof line);
    return atoi(line);
}

int mk_i2c_read_reg(uint8_t addr, uint8_t reg, uint8_t *data, size_t n) {
    char line[128];
    printf("R %lu %u %u %u\n", (unsigned long)mk_hal_counter(), (unsigned)addr, (unsigned)reg, (unsigned)n);
    bridge_reply(line, sizeof line);
    const int rc = atoi(line);
    if (rc != MK_I2C_OK) return rc;
    const char *hex = strchr(line, ' ');
    if (hex == NULL || strlen(hex + 1) < 2 * n) return MK_I2C_ERROR;
    for (size_t i = 0; i < n; ++i) {
        const int hi = bridge_hex(hex[1 + 2 * i]), lo = bridge_hex(hex[2 + 2 * i]);
        if (hi < 0 || lo < 0) return MK_I2C_ERROR;
        data[i] = (uint8_t)(hi << 4 | lo);
    }
    return MK_I2C_OK;
}

void mk_hal_marker(int on) {
    char line[16];
    printf("M %lu %d\n", (unsigned long)mk_hal_counter(), on ? 1 : 0);
    bridge_reply(line, sizeof line);
}
