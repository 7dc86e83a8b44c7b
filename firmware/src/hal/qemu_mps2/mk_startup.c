/* Bare-metal start-up for the QEMU MPS2/MPS3 machines: vector table, reset handler, fault handlers.
 *
 * QEMU loads the ELF itself (-kernel), so there is no boot loader: the core reads the initial stack pointer and
 * reset vector from the start of the code region (0x0 on mps2, ITCM at 0x10000000 on the Secure-booting an547),
 * which is where the linker script puts `.vectors`. */
#include <stdint.h>

#include "mcukit/mk_hal.h"
#include "mk_qemu_regs.h"

extern uint32_t __mk_data_load, __mk_data_start, __mk_data_end, __mk_bss_start, __mk_bss_end, __mk_stack_top;
extern void (*__mk_init_array_start[])(void);
extern void (*__mk_init_array_end[])(void);

int main(void);
void mk_qemu_uart_rx_isr(void);
void mk_qemu_systick_isr(void);

void mk_reset_handler(void);
void mk_hardfault_handler(void);
void mk_irq_dispatch(void);
void mk_exception_unexpected(void);

/* Interrupt lines in the vector table. The HAL enables exactly one external interrupt (the UART's RX line, whose
 * number comes from a -D flag) and the NVIC only takes enabled lines, so the table stops after that line: on the
 * mps2 machines (RX = IRQ 0) that is 17 entries instead of 112, 380 bytes of flash. A HAL extension that enables
 * another line must raise MK_NUM_IRQS above that line's number (the table has no entry for it otherwise).
 * The table sits at the very start of the code region, so it meets VTOR's alignment whatever its length. */
#ifndef MK_NUM_IRQS
#define MK_NUM_IRQS (MK_UART_RX_IRQ + 1)
#endif

typedef void (*mk_vector)(void);

/* Every external interrupt enters one dispatcher that looks at IPSR: the UART RX line number differs between the
 * machines and comes from a -D flag. The range designator (a GCC extension, also understood by clang) fills the
 * whole interrupt part of the table without a fixed-length initializer list. */
__attribute__((section(".vectors"), used)) const mk_vector mk_vector_table[16 + MK_NUM_IRQS] = {
    (mk_vector)(uintptr_t)&__mk_stack_top,
    mk_reset_handler,
    mk_exception_unexpected, /* NMI */
    mk_hardfault_handler,
    mk_hardfault_handler, /* MemManage (escalates to HardFault unless enabled; handled the same way) */
    mk_hardfault_handler, /* BusFault */
    mk_hardfault_handler, /* UsageFault */
    mk_hardfault_handler, /* SecureFault (v8-M) */
    0,
    0,
    0,
    mk_exception_unexpected, /* SVCall */
    mk_exception_unexpected, /* DebugMonitor */
    0,
    mk_exception_unexpected, /* PendSV */
    mk_qemu_systick_isr,
    [16 ... 16 + MK_NUM_IRQS - 1] = mk_irq_dispatch,
};

void mk_irq_dispatch(void) {
    uint32_t ipsr;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    if (ipsr == 16u + (uint32_t)MK_UART_RX_IRQ) {
        mk_qemu_uart_rx_isr();
        return;
    }
    mk_exception_unexpected();
}

/* The loops below must not be vectorised: on the M55 MVE instructions fault until CPACR grants the coprocessor,
 * and the C library is not ready before .data/.bss exist. */
__attribute__((noreturn, optimize("no-tree-loop-distribute-patterns", "no-tree-vectorize"))) void mk_reset_handler(
    void) {
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    /* Grant CP10/CP11 (FPU and Helium) full access before any compiler-generated FP/MVE code runs. */
    MK_SCB_CPACR |= 0xFu << 20;
    __asm volatile("dsb\n\tisb" ::: "memory");
#endif
    MK_SCB_VTOR = (uint32_t)(uintptr_t)mk_vector_table;

    const uint32_t *src = &__mk_data_load;
    for (uint32_t *dst = &__mk_data_start; dst < &__mk_data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &__mk_bss_start; dst < &__mk_bss_end;) {
        *dst++ = 0u;
    }
    /* C++ constructors / __attribute__((constructor)); -nostartfiles means nobody else runs them. */
    for (void (**fn)(void) = __mk_init_array_start; fn < __mk_init_array_end; ++fn) {
        (*fn)();
    }
    mk_hal_exit(main());
    for (;;) {
    }
}

/* Pick the stack the fault frame was pushed on (bit 2 of EXC_RETURN) and hand it to C. Naked so that no prologue
 * moves SP before we read it. */
__attribute__((naked)) void mk_hardfault_handler(void) {
    __asm volatile(
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "mov r1, lr\n\t"
        "b mk_qemu_hardfault_c\n\t");
}

__attribute__((noreturn, used)) void mk_qemu_hardfault_c(const uint32_t *frame, uint32_t exc_return) {
    mk_qemu_fault_report("HARDFAULT", frame, exc_return);
    mk_hal_exit(MK_EXIT_HARDFAULT);
    for (;;) {
    }
}

__attribute__((noreturn)) void mk_exception_unexpected(void) {
    uint32_t ipsr;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    mk_qemu_fault_report("UNEXPECTED EXCEPTION", (const uint32_t *)0, ipsr);
    mk_hal_exit(MK_EXIT_HARDFAULT);
    for (;;) {
    }
}
