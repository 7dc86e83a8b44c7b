/* The board interface the runtime is written against. One implementation per HAL under firmware/src/hal/<name>/
 * (bare-metal QEMU mps2/mps3, Arduino core, ...). Everything a board does differently lives behind these calls. */
#ifndef MK_HAL_H
#define MK_HAL_H

#include "mcukit/mk_types.h"

/* Clocks, UART/USB serial, cycle counter. Called once before anything else. */
void mk_hal_init(void);

/* Blocking write of n bytes to the host link. */
void mk_hal_write(const uint8_t *data, size_t n);

/* Read up to n bytes, waiting at most timeout_ms for the first one; returns the count read (0 on timeout). */
size_t mk_hal_read(uint8_t *data, size_t n, uint32_t timeout_ms);

/* Free-running counter for timing and what it counts ("cycles" from DWT, "ticks" from SysTick, ...).
 * mk_hal_counter_hz() is its rate, so host tools can convert to time. */
uint32_t mk_hal_counter(void);
uint32_t mk_hal_counter_hz(void);
const char *mk_hal_counter_unit(void);

/* Milliseconds since init, for timeouts. */
uint32_t mk_hal_millis(void);

/* End the program: emulated boards exit QEMU with this status; real boards report and halt/reset. */
void mk_hal_exit(int code);

/* Status a HAL exits with by itself after reporting a crash ("HARDFAULT pc=0x... lr=0x..." on the link).
 * 70 is EX_SOFTWARE from sysexits.h; kept clear of 1, which QEMU uses for its own start-up errors. */
#define MK_EXIT_HARDFAULT 70

/* OPTIONAL: the inference marker. The runtime calls mk_hal_marker(1) right before and mk_hal_marker(0) right after
 * mk_model_invoke(), outside the timed window, so a GPIO driven here can feed an external power meter's logic input
 * (PPK2, Joulescope) that cuts its trace into inferences (docs/energy.md). The runtime has a weak no-op default
 * (GCC/Clang), so a HAL without a marker pin defines nothing. Keep it a single pin write: it must not block. */
void mk_hal_marker(int on);

/* A short name of the board, for the handshake. */
const char *mk_hal_board_name(void);

/* The application's entry point, the same on every HAL (added by the board/HAL work): define `int mk_main(void)`
 * and the HAL calls it once after start-up -- the bare-metal HALs from their default main(), the Arduino HAL from
 * setup() -- and passes its return value to mk_hal_exit(). mk_main must call mk_hal_init() itself. A bare-metal
 * program may define main() instead, which then takes precedence. */
int mk_main(void);

#endif /* MK_HAL_H */
