/* mk_hal for the QEMU MPS2/MPS3 machines: CMSDK UART link, SysTick counter, semihosting exit.
 *
 * The machine-specific numbers arrive as -D flags from the mcukit-qemu PlatformIO platform (see mk_qemu_regs.h).
 * Timing: QEMU implements no DWT cycle counter (CYCCNT reads 0), so the counter is SysTick, which counts the
 * machine's reference clock (25 MHz on mps2, 32 MHz on an547). Under `-icount shift=0` it advances one tick per
 * (1e9 / MK_COUNTER_HZ) instructions, deterministically; without -icount it follows host time. */
#include <stdint.h>

#include "mcukit/mk_hal.h"
#include "mk_qemu_regs.h"

#ifndef MK_BOARD_NAME
#define MK_BOARD_NAME "qemu"
#endif

#ifndef MK_UART_RX_BUFFER
#define MK_UART_RX_BUFFER 2048u /* power of two */
#endif
#if (MK_UART_RX_BUFFER & (MK_UART_RX_BUFFER - 1u)) != 0
#error "MK_UART_RX_BUFFER must be a power of two"
#endif

/* ---- interrupt masking ------------------------------------------------------------------------------------- */

static inline uint32_t irq_save(void) {
    uint32_t primask;
    __asm volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
    return primask;
}

static inline void irq_restore(uint32_t primask) {
    __asm volatile("msr primask, %0" ::"r"(primask) : "memory");
}

/* ---- semihosting ------------------------------------------------------------------------------------------- */

uint32_t mk_qemu_semihost(uint32_t op, const void *arg) {
    register uint32_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void mk_hal_exit(int code) {
    /* SYS_EXIT_EXTENDED carries the full status; QEMU's own exit status becomes `code`. */
    const uint32_t block[2] = {MK_SH_ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
    mk_qemu_semihost(MK_SH_SYS_EXIT_EXTENDED, block);
    for (;;) { /* only reached when QEMU runs without semihosting, where the bkpt above does not return */
    }
}

/* ---- SysTick counter --------------------------------------------------------------------------------------- */

static volatile uint32_t s_systick_wraps; /* periods of 2^24 ticks completed since init */

void mk_qemu_systick_isr(void) {
    s_systick_wraps++;
}

/* 64-bit tick count since init. With interrupts masked the ISR cannot run, so the wrap count is stable; a wrap that
 * happened but is not yet counted shows as SysTick pending, and then CVR is re-read after the wrap. */
static uint64_t ticks64(void) {
    uint32_t primask = irq_save();
    uint32_t wraps = s_systick_wraps;
    uint32_t cvr = MK_SYST_CVR;
    if (MK_SCB_ICSR & MK_SCB_ICSR_PENDSTSET) {
        cvr = MK_SYST_CVR;
        wraps++;
    }
    irq_restore(primask);
    return ((uint64_t)wraps << 24) | (uint64_t)(MK_SYST_MAX - cvr);
}

uint32_t mk_hal_counter(void) {
    return (uint32_t)ticks64();
}

uint32_t mk_hal_counter_hz(void) {
    return (uint32_t)MK_COUNTER_HZ;
}

const char *mk_hal_counter_unit(void) {
    return "ticks";
}

/* floor(ticks64() / K) mod 2^32 with K = ticks per ms, without a 64-bit division (libgcc's __udivmoddi4 alone is
 * 700 bytes of flash). With ticks = wraps * 2^24 + low, 2^24 = q*K + r and wraps = a*K + b:
 *   ticks / K = wraps*q + a*r + (b*r + low) / K        (exactly; b*r + low < K^2 + 2^24 < 2^32 for K <= 65000)
 * and every term is an integer, so summing them modulo 2^32 gives the same result as the 64-bit expression. */
#define MK_TICKS_PER_MS ((uint32_t)MK_COUNTER_HZ / 1000u)
#if (MK_COUNTER_HZ / 1000u) == 0u || (MK_COUNTER_HZ / 1000u) > 65000u
#error "mk_hal_millis needs 1 <= MK_COUNTER_HZ / 1000 <= 65000"
#endif

uint32_t mk_hal_millis(void) {
    const uint64_t t = ticks64();
    const uint32_t wraps = (uint32_t)(t >> 24);
    const uint32_t low = (uint32_t)t & MK_SYST_MAX;
    const uint32_t q = (1u << 24) / MK_TICKS_PER_MS;
    const uint32_t r = (1u << 24) % MK_TICKS_PER_MS;
    const uint32_t a = wraps / MK_TICKS_PER_MS;
    const uint32_t b = wraps % MK_TICKS_PER_MS;
    return wraps * q + a * r + (b * r + low) / MK_TICKS_PER_MS;
}

static void systick_init(void) {
    MK_SYST_CSR = 0u;
    MK_SYST_RVR = MK_SYST_MAX;
    MK_SYST_CVR = 0u; /* any write clears the counter; it loads RVR on the next tick */
    MK_SYST_CSR = MK_SYST_CSR_ENABLE_TICKINT_CORECLK;
    /* Quirk: while CVR is still 0 the first reload has not happened, the count would read as MAX - 0 and then
     * jump back, and that first 0 -> RVR transition raises no interrupt. Wait for the load so that time starts
     * at zero and only ever increases. Bounded, in case the timer never starts. */
    for (uint32_t spin = 0; MK_SYST_CVR == 0u && spin < 10000000u; ++spin) {
    }
}

/* ---- UART -------------------------------------------------------------------------------------------------- */

static uint8_t s_rx_ring[MK_UART_RX_BUFFER];
static volatile uint32_t s_rx_head; /* written by the ISR (and by drains with interrupts masked) */
static volatile uint32_t s_rx_tail; /* written by mk_hal_read */

/* Move received bytes into the ring. When the ring is full the byte stays in the UART, which QEMU treats as
 * "busy": the chardev stops delivering until DATA is read, so nothing is dropped (natural flow control). The RX
 * interrupt is switched off meanwhile and mk_hal_read switches it back on. Call with interrupts masked. */
static void uart_drain(void) {
    while (MK_UART_STATE & MK_UART_STATE_RXFULL) {
        uint32_t head = s_rx_head;
        if (head - s_rx_tail >= MK_UART_RX_BUFFER) {
            MK_UART_CTRL &= ~MK_UART_CTRL_RXINTEN;
            break;
        }
        s_rx_ring[head & (MK_UART_RX_BUFFER - 1u)] = (uint8_t)MK_UART_DATA;
        s_rx_head = head + 1u;
    }
    MK_UART_INTSTATUS = MK_UART_INT_RX;
}

void mk_qemu_uart_rx_isr(void) {
    uart_drain();
}

void mk_qemu_uart_putc_raw(uint8_t c) {
    while (MK_UART_STATE & MK_UART_STATE_TXFULL) {
    }
    MK_UART_DATA = c;
}

void mk_qemu_uart_puts_raw(const char *s) {
    while (*s) {
        mk_qemu_uart_putc_raw((uint8_t)*s++);
    }
}

void mk_hal_write(const uint8_t *data, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        mk_qemu_uart_putc_raw(data[i]);
    }
}

/* Waits (sleeping in WFI, which lets QEMU deliver host bytes sooner than a busy poll) until at least one byte is
 * there or timeout_ms passes, then returns what is buffered, up to n, without waiting for more. */
size_t mk_hal_read(uint8_t *data, size_t n, uint32_t timeout_ms) {
    if (n == 0u) {
        return 0u;
    }
    const uint32_t start = mk_hal_millis();
    for (;;) {
        uint32_t primask = irq_save();
        MK_UART_CTRL |= MK_UART_CTRL_RXINTEN;
        uart_drain();
        if (s_rx_head != s_rx_tail) {
            irq_restore(primask);
            break;
        }
        if (mk_hal_millis() - start >= timeout_ms) {
            irq_restore(primask);
            return 0u;
        }
        /* WFI with interrupts masked still wakes on a pending interrupt, so a byte arriving between the check
         * above and here cannot be slept through. */
        __asm volatile("wfi" ::: "memory");
        irq_restore(primask);
    }
    size_t count = 0;
    uint32_t tail = s_rx_tail;
    while (count < n && tail != s_rx_head) {
        data[count++] = s_rx_ring[tail & (MK_UART_RX_BUFFER - 1u)];
        tail++;
    }
    s_rx_tail = tail;
    return count;
}

static void uart_init(void) {
    MK_UART_CTRL = 0u;
    MK_UART_BAUDDIV = 16u; /* QEMU ignores the rate but rejects a divider below 16 */
    MK_UART_CTRL = MK_UART_CTRL_TXEN | MK_UART_CTRL_RXEN;
    /* Quirk: read DATA once after enabling RX, otherwise QEMU can hold the first received byte for about 1 s. */
    (void)MK_UART_DATA;
    MK_UART_INTSTATUS = MK_UART_INT_RX;
    MK_NVIC_ICPR((uint32_t)MK_UART_RX_IRQ / 32u) = 1u << ((uint32_t)MK_UART_RX_IRQ % 32u);
    MK_NVIC_ISER((uint32_t)MK_UART_RX_IRQ / 32u) = 1u << ((uint32_t)MK_UART_RX_IRQ % 32u);
    MK_UART_CTRL |= MK_UART_CTRL_RXINTEN;
}

/* ---- fault reports ----------------------------------------------------------------------------------------- */

static void put_hex(const char *label, uint32_t v) {
    static const char digits[] = "0123456789abcdef";
    char buf[11];
    buf[0] = '0';
    buf[1] = 'x';
    for (int i = 0; i < 8; ++i) {
        buf[2 + i] = digits[(v >> (28 - 4 * i)) & 0xFu];
    }
    buf[10] = '\0';
    mk_qemu_uart_puts_raw(label);
    mk_qemu_uart_puts_raw(buf);
}

/* One line on the UART (what the host reads) and the same words on the semihosting console (QEMU's stdout, which
 * the launcher captures), so a crash is visible whichever side is looking. */
void mk_qemu_fault_report(const char *what, const uint32_t *frame, uint32_t exc_return) {
    mk_qemu_uart_puts_raw("\r\n");
    mk_qemu_uart_puts_raw(what);
    if (frame) {
        put_hex(" pc=", frame[6]);
        put_hex(" lr=", frame[5]);
        put_hex(" cfsr=", MK_SCB_CFSR);
        put_hex(" hfsr=", MK_SCB_HFSR);
        put_hex(" bfar=", MK_SCB_BFAR);
        put_hex(" exc_return=", exc_return);
    } else {
        put_hex(" ipsr=", exc_return);
    }
    mk_qemu_uart_puts_raw("\r\n");
    mk_qemu_semihost(MK_SH_SYS_WRITE0, what);
    mk_qemu_semihost(MK_SH_SYS_WRITE0, "\n");
}

/* ---- init / identity --------------------------------------------------------------------------------------- */

void mk_hal_init(void) {
    uart_init();
    systick_init();
    __asm volatile("cpsie i" ::: "memory");
}

const char *mk_hal_board_name(void) {
    return MK_BOARD_NAME;
}
