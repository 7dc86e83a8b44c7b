/* Registers of the Arm MPS2/MPS3 FPGA images as QEMU models them (mps2-an385/an386/an500, mps3-an547).
 * Only what the HAL touches. The machine-specific numbers (UART base, its RX interrupt, the SysTick rate) come
 * from the board definition as -D flags set by the mcukit-qemu PlatformIO platform. */
#ifndef MK_QEMU_REGS_H
#define MK_QEMU_REGS_H

#include <stdint.h>

#ifndef MK_UART_BASE
#error "MK_UART_BASE is not defined: build this HAL through the mcukit-qemu platform (it passes the board's UART base)"
#endif
#ifndef MK_UART_RX_IRQ
#error "MK_UART_RX_IRQ is not defined: build this HAL through the mcukit-qemu platform"
#endif
#ifndef MK_COUNTER_HZ
#error "MK_COUNTER_HZ is not defined: build this HAL through the mcukit-qemu platform"
#endif

#define MK_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* CMSDK APB UART. It has a one-byte receive buffer, so bytes must be drained promptly (interrupt + ring). */
#define MK_UART_DATA MK_REG(MK_UART_BASE + 0x00u)
#define MK_UART_STATE MK_REG(MK_UART_BASE + 0x04u)
#define MK_UART_CTRL MK_REG(MK_UART_BASE + 0x08u)
#define MK_UART_INTSTATUS MK_REG(MK_UART_BASE + 0x0Cu) /* write 1 to clear */
#define MK_UART_BAUDDIV MK_REG(MK_UART_BASE + 0x10u)
#define MK_UART_STATE_TXFULL (1u << 0)
#define MK_UART_STATE_RXFULL (1u << 1)
#define MK_UART_CTRL_TXEN (1u << 0)
#define MK_UART_CTRL_RXEN (1u << 1)
#define MK_UART_CTRL_RXINTEN (1u << 3)
#define MK_UART_INT_RX (1u << 1)

/* System control space (same on every M-profile core used here). */
#define MK_SYST_CSR MK_REG(0xE000E010u)
#define MK_SYST_RVR MK_REG(0xE000E014u)
#define MK_SYST_CVR MK_REG(0xE000E018u)
#define MK_SCB_ICSR MK_REG(0xE000ED04u)
#define MK_SCB_VTOR MK_REG(0xE000ED08u)
#define MK_SCB_CFSR MK_REG(0xE000ED28u)
#define MK_SCB_HFSR MK_REG(0xE000ED2Cu)
#define MK_SCB_MMFAR MK_REG(0xE000ED34u)
#define MK_SCB_BFAR MK_REG(0xE000ED38u)
#define MK_SCB_CPACR MK_REG(0xE000ED88u)
#define MK_NVIC_ISER(n) MK_REG(0xE000E100u + 4u * (n))
#define MK_NVIC_ICPR(n) MK_REG(0xE000E280u + 4u * (n))

#define MK_SCB_ICSR_PENDSTSET (1u << 26)
#define MK_SYST_CSR_ENABLE_TICKINT_CORECLK 7u
#define MK_SYST_MAX 0x00FFFFFFu

/* Semihosting (what QEMU implements with -semihosting-config enable=on). */
#define MK_SH_SYS_WRITE0 0x04u
#define MK_SH_SYS_EXIT_EXTENDED 0x20u
#define MK_SH_ADP_STOPPED_APPLICATION_EXIT 0x20026u

/* Internal helpers shared by the HAL's translation units. */
uint32_t mk_qemu_semihost(uint32_t op, const void *arg);
void mk_qemu_uart_putc_raw(uint8_t c);
void mk_qemu_uart_puts_raw(const char *s);
void mk_qemu_fault_report(const char *what, const uint32_t *frame, uint32_t exc_return);

#endif /* MK_QEMU_REGS_H */
