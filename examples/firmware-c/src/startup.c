/* Minimal Cortex-M4 startup: the vector table, a reset handler that enables the FPU,
 * copies .data from flash, zeroes .bss and calls main, and fault handlers. In the proof a
 * fault (a Rust panic halts on `udf`, which escalates to HardFault) prints where it
 * happened and exits with failure through semihosting; in the footprint probe
 * (-DPROVKIT_PROBE, linked but never run) the handlers halt, as cortex-m-rt's defaults do. */
#include <stdint.h>
#include <string.h>

#ifndef PROVKIT_PROBE
#include "board.h"
#endif
#include "toolchain.h"

extern uint32_t _stack_top;
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss;

int main(void);

void Reset_Handler(void);
void HardFault_Handler(void);
void Default_Handler(void);
void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("Default_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

typedef void (*vector)(void);

/* The 16 system exceptions; mps2-an386's external interrupts are never enabled here. */
__attribute__((section(".vector_table"), used)) static const vector vectors[16] = {
    (vector)&_stack_top,
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    0,
    0,
    0,
    0,
    SVC_Handler,
    DebugMon_Handler,
    0,
    PendSV_Handler,
    SysTick_Handler,
};

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

/* Word loops, as cortex-m-rt's reset handler: GCC would otherwise make them calls to
 * memcpy and memset, and link memset (248 bytes) for this alone. */
KEEP_LOOPS void Reset_Handler(void)
{
    /* Full access to CP10 and CP11 (the FPU) before any code that may use it: the
     * library and this program are built for the hard-float ABI. */
    SCB_CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    for (uint32_t *src = &_sidata, *dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0;
    }
    int status = main();
#ifdef PROVKIT_PROBE
    (void)status;
    for (;;) {
        __asm__ volatile("wfi");
    }
#else
    sh_exit(status == 0);
#endif
}

#ifdef PROVKIT_PROBE

void HardFault_Handler(void)
{
    for (;;) {
        __asm__ volatile("wfi");
    }
}

void Default_Handler(void)
{
    for (;;) {
        __asm__ volatile("wfi");
    }
}

#else

/* The exception frame: r0-r3, r12, lr, pc, xpsr. Kept: only the handler's assembly
 * refers to it, which link-time optimization does not see. */
__attribute__((used)) void fault_report(const uint32_t *frame, uint32_t exc_return);

__attribute__((naked)) void HardFault_Handler(void)
{
    __asm__ volatile(
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "mov r1, lr\n\t"
        "b fault_report\n\t");
}

__attribute__((used)) void fault_report(const uint32_t *frame, uint32_t exc_return)
{
    (void)exc_return;
    out_str("[FAIL] HardFault at pc 0x");
    uint8_t pc[4] = {(uint8_t)(frame[6] >> 24), (uint8_t)(frame[6] >> 16),
                     (uint8_t)(frame[6] >> 8), (uint8_t)frame[6]};
    out_hex(pc, sizeof pc);
    out_str(" (a Rust panic halts on `udf`: see the map file)");
    out_end();
    sh_exit(false);
}

void Default_Handler(void)
{
    fail("unexpected exception");
}

#endif
