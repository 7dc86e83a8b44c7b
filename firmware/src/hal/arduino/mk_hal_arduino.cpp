/* mk_hal on top of an Arduino core (ArduinoCore-mbed for nano33/pico, STM32duino for the Nucleo boards, ...).
 *
 * NOT COMPILED IN THIS REPOSITORY'S CI: building it needs the Arduino core and the vendor platform, which are
 * downloaded by PlatformIO on first use and are not available offline. It was written against the documented
 * Arduino API (Serial, millis, micros, delay) and the Armv7-M / Armv8-M debug registers, and checked only by reading.
 *
 * - Link: `Serial` (USB CDC on nano33/xiao/pico, the ST-LINK virtual COM port on Nucleo boards). init waits for the
 *   host to open the port, so nothing the firmware says before that is lost.
 * - Counter: the DWT cycle counter on cores that have one (M3/M4/M7/M33/M55), in "cycles" at F_CPU; micros() on the
 *   M0+ (no DWT CYCCNT), in "us".
 * - Crashes: where the core's start-up file declares HardFault_Handler weak (CMSIS start-up files, STM32duino), a
 *   fault is recorded in RAM that survives the reset and the board resets; the next mk_hal_init() reports
 *   "HARDFAULT pc=0x... lr=0x... (before reset)" once the host connects. ArduinoCore-mbed (ARDUINO_ARCH_MBED) has
 *   its own strong fault handler (it halts and prints on the hardware UART), so there the host sees a timeout.
 * - I2C (mk_i2c.h) over the core's `Wire` at MK_I2C_HZ (400 kHz), compiled when the project has a current sensor
 *   (-DMK_INA219) or asks for it (-DMK_I2C_WIRE); only then does the program depend on the Wire library.
 * - Inference marker (mk_hal_marker): with -DMK_MARKER_PIN=<pin> that pin is driven high while the model runs, for
 *   an external meter's logic input; without it the runtime's no-op default is used. */
#include <Arduino.h>
#include <string.h>

#if defined(MK_INA219) && !defined(MK_I2C_WIRE)
#define MK_I2C_WIRE 1
#endif
#if MK_I2C_WIRE
#include <Wire.h>
#endif

extern "C" {
#include "mcukit/mk_hal.h"
#if MK_I2C_WIRE
#include "mcukit/mk_i2c.h"
#endif
}

#ifndef MK_BAUD
#define MK_BAUD 115200
#endif
#ifndef MK_BOARD_NAME
#define MK_BOARD_NAME "arduino"
#endif
#ifndef MK_I2C_HZ
#define MK_I2C_HZ 400000u /* fast mode: an INA219 four-register sample takes ~0.5 ms (~2 ms at 100 kHz) */
#endif
#ifndef MK_WAIT_FOR_HOST_MS
#define MK_WAIT_FOR_HOST_MS 0u /* 0: wait for the host forever (benchmarks need it) */
#endif

/* M3 (7-M), M4/M7 (7E-M), M33 (8-M Mainline) and M55 (8.1-M Mainline) have DWT CYCCNT; the M0+ does not. */
#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__) || \
    defined(__ARM_ARCH_8_1M_MAIN__)
#define MK_HAS_DWT 1
#else
#define MK_HAS_DWT 0
#endif

#define MK_REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define MK_DEMCR MK_REG32(0xE000EDFCu)
#define MK_DWT_CTRL MK_REG32(0xE0001000u)
#define MK_DWT_CYCCNT MK_REG32(0xE0001004u)
#define MK_DWT_LAR MK_REG32(0xE0001FB0u)
#define MK_SCB_AIRCR MK_REG32(0xE000ED0Cu)
#define MK_SCB_CFSR MK_REG32(0xE000ED28u)

/* A crash record in RAM that start-up code does not clear (".noinit" is kept out of .bss by the STM32duino and
 * CMSIS linker scripts; where a core's script has no such section the record is simply lost on reset). */
struct mk_fault_record {
    uint32_t magic;
    uint32_t pc;
    uint32_t lr;
    uint32_t cfsr;
};
static const uint32_t MK_FAULT_MAGIC = 0x4D4B4846u; /* "MKHF" */
static mk_fault_record s_fault __attribute__((section(".noinit")));

static void put_text(const char *s) {
    Serial.write(reinterpret_cast<const uint8_t *>(s), strlen(s));
}

static void put_hex(const char *label, uint32_t v) {
    static const char digits[] = "0123456789abcdef";
    char buf[11] = {'0', 'x'};
    for (int i = 0; i < 8; ++i) {
        buf[2 + i] = digits[(v >> (28 - 4 * i)) & 0xFu];
    }
    buf[10] = '\0';
    put_text(label);
    put_text(buf);
}

extern "C" void mk_hal_init(void) {
    Serial.begin(MK_BAUD);
    const uint32_t start = millis();
    const uint32_t limit = MK_WAIT_FOR_HOST_MS; /* a variable, so `>= 0` is not a constant comparison */
    while (!Serial) { /* USB CDC: wait until the host opens the port (DTR) */
        if (limit != 0u && millis() - start >= limit) {
            break;
        }
        delay(10);
    }
#if MK_HAS_DWT
    MK_DEMCR |= 1u << 24; /* TRCENA: power the DWT */
#if defined(__ARM_ARCH_7EM__)
    MK_DWT_LAR = 0xC5ACCE55u; /* unlock; needed on Cortex-M7 parts (e.g. STM32H7), ignored elsewhere */
#endif
    MK_DWT_CYCCNT = 0u;
    MK_DWT_CTRL |= 1u; /* CYCCNTENA */
#endif
    if (s_fault.magic == MK_FAULT_MAGIC) {
        put_text("\r\nHARDFAULT");
        put_hex(" pc=", s_fault.pc);
        put_hex(" lr=", s_fault.lr);
        put_hex(" cfsr=", s_fault.cfsr);
        put_text(" (before reset)\r\n");
        Serial.flush();
    }
    s_fault.magic = 0u;
#if MK_I2C_WIRE
    Wire.begin();
    Wire.setClock(MK_I2C_HZ);
#endif
#ifdef MK_MARKER_PIN
    pinMode(MK_MARKER_PIN, OUTPUT);
    digitalWrite(MK_MARKER_PIN, LOW);
#endif
}

extern "C" void mk_hal_write(const uint8_t *data, size_t n) {
    while (n > 0u) {
        const size_t sent = Serial.write(data, n);
        data += sent;
        n -= sent;
    }
}

extern "C" size_t mk_hal_read(uint8_t *data, size_t n, uint32_t timeout_ms) {
    if (n == 0u) {
        return 0u;
    }
    const uint32_t start = millis();
    while (Serial.available() <= 0) {
        if (millis() - start >= timeout_ms) {
            return 0u;
        }
        yield();
    }
    size_t count = 0u;
    while (count < n && Serial.available() > 0) {
        const int c = Serial.read();
        if (c < 0) {
            break;
        }
        data[count++] = static_cast<uint8_t>(c);
    }
    return count;
}

extern "C" uint32_t mk_hal_counter(void) {
#if MK_HAS_DWT
    return MK_DWT_CYCCNT;
#else
    return static_cast<uint32_t>(micros());
#endif
}

extern "C" uint32_t mk_hal_counter_hz(void) {
#if MK_HAS_DWT
    return static_cast<uint32_t>(F_CPU);
#else
    return 1000000u;
#endif
}

extern "C" const char *mk_hal_counter_unit(void) {
#if MK_HAS_DWT
    return "cycles";
#else
    return "us";
#endif
}

extern "C" uint32_t mk_hal_millis(void) {
    return static_cast<uint32_t>(millis());
}

extern "C" void mk_hal_exit(int code) {
    /* A real board has nowhere to exit to: say so on the link and idle, so the host can still read the report. */
    put_text("\r\nEXIT ");
    char buf[12];
    int len = 0;
    uint32_t v = code < 0 ? static_cast<uint32_t>(-code) : static_cast<uint32_t>(code);
    do {
        buf[len++] = static_cast<char>('0' + v % 10u);
        v /= 10u;
    } while (v != 0u && len < 11);
    if (code < 0) {
        Serial.write('-');
    }
    while (len > 0) {
        Serial.write(buf[--len]);
    }
    put_text("\r\n");
    Serial.flush();
    for (;;) {
        delay(1000);
    }
}

extern "C" const char *mk_hal_board_name(void) {
    return MK_BOARD_NAME;
}

/* ---- I2C over Wire (mk_i2c.h) ------------------------------------------------------------------------------ */
#if MK_I2C_WIRE
/* endTransmission() status: 0 success, 2 address NACK, 3 data NACK, anything else a bus error or time-out. */
static int mk_wire_status(uint8_t status) {
    if (status == 0u) {
        return MK_I2C_OK;
    }
    return (status == 2u || status == 3u) ? MK_I2C_NACK : MK_I2C_ERROR;
}

extern "C" int mk_i2c_write_reg(uint8_t addr, uint8_t reg, const uint8_t *data, size_t n) {
    Wire.beginTransmission(addr);
    Wire.write(reg);
    for (size_t i = 0u; i < n; ++i) {
        Wire.write(data[i]);
    }
    return mk_wire_status(static_cast<uint8_t>(Wire.endTransmission()));
}

extern "C" int mk_i2c_read_reg(uint8_t addr, uint8_t reg, uint8_t *data, size_t n) {
    if (n > 255u) {
        return MK_I2C_ERROR; /* Wire's buffer is far smaller; the INA219 reads 2 bytes */
    }
    Wire.beginTransmission(addr);
    Wire.write(reg);
    /* No stop between the pointer write and the read: a repeated start, as register reads expect. */
    const int rc = mk_wire_status(static_cast<uint8_t>(Wire.endTransmission(false)));
    if (rc != MK_I2C_OK) {
        return rc;
    }
    const size_t got = static_cast<size_t>(Wire.requestFrom(addr, static_cast<uint8_t>(n)));
    if (got != n) {
        return MK_I2C_NACK;
    }
    for (size_t i = 0u; i < n; ++i) {
        const int c = Wire.read();
        if (c < 0) {
            return MK_I2C_ERROR;
        }
        data[i] = static_cast<uint8_t>(c);
    }
    return MK_I2C_OK;
}
#endif

/* ---- inference marker (mk_hal.h) --------------------------------------------------------------------------- */
#ifdef MK_MARKER_PIN
extern "C" void mk_hal_marker(int on) {
    digitalWrite(MK_MARKER_PIN, on ? HIGH : LOW);
}
#endif

/* ---- entry point: the Arduino core owns main(), so setup() runs the application once ---------------------- */

void setup() {
    mk_hal_exit(mk_main());
}

void loop() {
}

/* ---- HardFault: record and reset (not on ArduinoCore-mbed, whose handler is strong) ----------------------- */
#if !defined(ARDUINO_ARCH_MBED) && (MK_HAS_DWT || defined(__ARM_ARCH_6M__))
extern "C" __attribute__((used)) void mk_arduino_fault_record(const uint32_t *frame) {
    s_fault.pc = frame[6];
    s_fault.lr = frame[5];
#if MK_HAS_DWT
    s_fault.cfsr = MK_SCB_CFSR;
#else
    s_fault.cfsr = 0u; /* Armv6-M has no CFSR */
#endif
    s_fault.magic = MK_FAULT_MAGIC;
    __asm volatile("dsb" ::: "memory");
    MK_SCB_AIRCR = 0x05FA0004u; /* VECTKEY | SYSRESETREQ */
    __asm volatile("dsb" ::: "memory");
    for (;;) {
    }
}

/* Naked: pick the stack the exception frame is on before any prologue touches SP. The Armv6-M variant avoids IT
 * blocks and `tst lr, #imm`, which Thumb-1 lacks. */
extern "C" __attribute__((naked)) void HardFault_Handler(void) {
#if MK_HAS_DWT
    __asm volatile(
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "b mk_arduino_fault_record\n\t");
#else
    __asm volatile(
        "movs r0, #4\n\t"
        "mov r1, lr\n\t"
        "tst r0, r1\n\t"
        "bne 1f\n\t"
        "mrs r0, msp\n\t"
        "b 2f\n\t"
        "1:\n\t"
        "mrs r0, psp\n\t"
        "2:\n\t"
        "ldr r1, =mk_arduino_fault_record\n\t"
        "bx r1\n\t");
#endif
}
#endif
